"""Detection facts: GuardDuty detectors and AWS Config recorders, region by region."""

from __future__ import annotations

from dataclasses import dataclass

from rootguard.errors import UnexpectedResponse
from rootguard.facts.registry import fact
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


IAM_TYPES = ("AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Role", "AWS::IAM::Policy")


@dataclass(frozen=True)
class Recorder:
    region: str
    name: str
    strategy: str  # ALL_SUPPORTED_RESOURCE_TYPES | EXCLUSION_BY_RESOURCE_TYPES | INCLUSION_BY_RESOURCE_TYPES
    excluded: tuple[str, ...]  # resource types left out (EXCLUSION_BY_RESOURCE_TYPES)
    records_iam: bool  # IAM's global resource types are recorded here
    service: str | None  # the service a service-linked recorder records for; None for the account's own
    recording: bool
    last_status: str | None

    def describe(self) -> str:
        kind = f"service-linked recorder for {self.service}" if self.service else "recorder"
        return f"{kind} {self.name} ({self.region})"


def read_recorder(entry: dict, region: str, status: dict | None) -> Recorder:
    """One recorder in either shape: allSupported / includeGlobalResourceTypes, or the 2023 recordingStrategy.

    With recordingStrategy EXCLUSION_BY_RESOURCE_TYPES, allSupported is false and every type
    not listed in exclusionByResourceTypes is recorded, IAM's global types included unless
    listed (https://docs.aws.amazon.com/config/latest/APIReference/API_RecordingGroup.html).
    A recorder without recordingStrategy is of the shape before 2023.
    """
    name = need(entry, "name", str, RECORDERS)
    group = need(entry, "recordingGroup", dict, RECORDERS)
    all_supported = bool(maybe(group, "allSupported", bool, RECORDERS))
    include_global = bool(maybe(group, "includeGlobalResourceTypes", bool, RECORDERS))
    chosen = maybe(group, "recordingStrategy", dict, RECORDERS)
    if chosen is not None:
        strategy = need(chosen, "useOnly", str, RECORDERS)
    else:
        strategy = "ALL_SUPPORTED_RESOURCE_TYPES" if all_supported else "INCLUSION_BY_RESOURCE_TYPES"
    excluded: tuple[str, ...] = ()
    if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        exclusion = maybe(group, "exclusionByResourceTypes", dict, RECORDERS) or {}
        excluded = tuple(maybe(exclusion, "resourceTypes", list, RECORDERS) or [])
        records_iam = not any(t in excluded for t in IAM_TYPES)
    elif strategy == "ALL_SUPPORTED_RESOURCE_TYPES":
        records_iam = all_supported and include_global
    else:
        listed = maybe(group, "resourceTypes", list, RECORDERS) or []
        records_iam = all(t in listed for t in IAM_TYPES)
    return Recorder(
        region=region,
        name=name,
        strategy=strategy,
        excluded=excluded,
        records_iam=records_iam,
        service=maybe(entry, "servicePrincipal", str, RECORDERS),
        recording=need(status, "recording", bool, RECORDER_STATUS) if status is not None else False,
        last_status=maybe(status, "lastStatus", str, RECORDER_STATUS) if status is not None else None,
    )


@fact("config.region_recorders", regional=True)
def region_recorders(ctx) -> list[Recorder]:
    """The configuration recorders of one region, with what each records and whether it is on."""
    statuses = {need(s, "name", str, RECORDER_STATUS): s for s in ctx.fact("config.recorder_statuses", region=ctx.region)}
    return [read_recorder(entry, ctx.region, statuses.get(need(entry, "name", str, RECORDERS))) for entry in ctx.fact("config.recorders", region=ctx.region)]


@fact("config.recorders_everywhere")
def recorders_everywhere(ctx) -> dict:
    """Every profile region's recorders (region -> recorders, or Unreadable for a region that could not be read)."""
    return {region: ctx.attempt("config.region_recorders", region=region) for region in ctx.store.regions()}
