"""Detection facts: GuardDuty detectors and AWS Config recorders, region by region."""

from __future__ import annotations

from dataclasses import dataclass

from rootguard.errors import UnexpectedResponse
from rootguard.facts import fact
from rootguard.facts.shapes import maybe, need

DETECTOR = "guardduty:GetDetector"
RECORDERS = "config:DescribeConfigurationRecorders"
RECORDER_STATUS = "config:DescribeConfigurationRecorderStatus"


@fact("guardduty.detector_ids", regional=True)
def detector_ids(ctx) -> list:
    """ListDetectors in one region (an account has at most one detector per region)."""
    return ctx.paginate("guardduty", "list_detectors", "DetectorIds")


@fact("guardduty.detector", regional=True)
def detector(ctx, detector_id: str) -> dict:
    """GetDetector for one detector."""
    return ctx.call("guardduty", "get_detector", DetectorId=detector_id)


@dataclass(frozen=True)
class Detector:
    id: str
    status: str  # ENABLED | DISABLED


@fact("guardduty.detectors", regional=True)
def detectors(ctx) -> list[Detector]:
    """The region's GuardDuty detectors with their status."""
    result = []
    for detector_id in ctx.fact("guardduty.detector_ids", region=ctx.region):
        if not isinstance(detector_id, str):
            raise UnexpectedResponse(f"guardduty:ListDetectors: a detector id is {type(detector_id).__name__}", action="guardduty:ListDetectors")
        status = need(ctx.fact("guardduty.detector", region=ctx.region, detector_id=detector_id), "Status", str, DETECTOR)
        result.append(Detector(detector_id, status))
    return result


@fact("config.recorders", regional=True)
def recorders(ctx) -> list:
    """DescribeConfigurationRecorders in one region."""
    return need(ctx.call("config", "describe_configuration_recorders"), "ConfigurationRecorders", list, RECORDERS)


@fact("config.recorder_statuses", regional=True)
def recorder_statuses(ctx) -> list:
    """DescribeConfigurationRecorderStatus in one region."""
    return need(ctx.call("config", "describe_configuration_recorder_status"), "ConfigurationRecordersStatus", list, RECORDER_STATUS)


@dataclass(frozen=True)
class Recorder:
    region: str
    name: str
    all_supported: bool
    include_global: bool
    recording: bool
    last_status: str | None

    def describe(self) -> str:
        return f"recorder {self.name} ({self.region})"


@fact("config.recorders_everywhere")
def recorders_everywhere(ctx) -> list[Recorder]:
    """Every configuration recorder in the profile regions, with what it records and whether it is on."""
    result = []
    for region in ctx.store.regions():
        statuses = {
            need(s, "name", str, RECORDER_STATUS): s for s in ctx.fact("config.recorder_statuses", region=region)
        }
        for entry in ctx.fact("config.recorders", region=region):
            name = need(entry, "name", str, RECORDERS)
            group = need(entry, "recordingGroup", dict, RECORDERS)
            status = statuses.get(name)
            result.append(
                Recorder(
                    region=region,
                    name=name,
                    all_supported=need(group, "allSupported", bool, RECORDERS),
                    include_global=need(group, "includeGlobalResourceTypes", bool, RECORDERS),
                    recording=need(status, "recording", bool, RECORDER_STATUS) if status is not None else False,
                    last_status=maybe(status, "lastStatus", str, RECORDER_STATUS) if status is not None else None,
                )
            )
    return result
