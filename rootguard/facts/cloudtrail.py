"""CloudTrail facts: every trail that logs for the account, with its status and event selectors.

Trails are listed in each profile region with shadow trails included, so a
multi-region trail whose home region is outside the profile, and an
organization trail owned by the management account, are both seen; status and
selectors are read in the trail's home region by ARN.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rootguard.errors import UnexpectedResponse
from rootguard.facts import fact
from rootguard.facts.shapes import maybe, need, timestamp

DESCRIBE = "cloudtrail:DescribeTrails"
STATUS = "cloudtrail:GetTrailStatus"
SELECTORS = "cloudtrail:GetEventSelectors"


@fact("cloudtrail.trail_list", regional=True)
def trail_list(ctx) -> list:
    """DescribeTrails in one region, shadow trails included."""
    return need(ctx.call("cloudtrail", "describe_trails", includeShadowTrails=True), "trailList", list, DESCRIBE)


@fact("cloudtrail.trail_status", regional=True)
def trail_status(ctx, trail: str) -> dict:
    """GetTrailStatus for one trail ARN, asked in its home region."""
    return ctx.call("cloudtrail", "get_trail_status", Name=trail)


@fact("cloudtrail.event_selectors", regional=True)
def event_selectors(ctx, trail: str) -> dict:
    """GetEventSelectors for one trail ARN, asked in its home region."""
    return ctx.call("cloudtrail", "get_event_selectors", TrailName=trail)


@dataclass(frozen=True)
class ManagementEvents:
    read: bool
    write: bool

    @property
    def both(self) -> bool:
        return self.read and self.write

    def describe(self) -> str:
        if self.both:
            return "read and write management events"
        if self.read or self.write:
            return f"only {'read' if self.read else 'write'} management events"
        return "no management events"


@dataclass(frozen=True)
class Trail:
    arn: str
    name: str
    home_region: str
    owner_account: str
    multi_region: bool
    organization: bool
    log_file_validation: bool
    log_group_arn: str | None
    s3_bucket: str | None
    logging: bool
    latest_cloudwatch_delivery: dt.datetime | None
    cloudwatch_delivery_error: str | None
    management_events: ManagementEvents

    @property
    def log_group_region(self) -> str | None:
        return self.log_group_arn.split(":")[3] if self.log_group_arn else None

    @property
    def log_group_account(self) -> str | None:
        return self.log_group_arn.split(":")[4] if self.log_group_arn else None

    @property
    def log_group_name(self) -> str | None:
        if not self.log_group_arn:
            return None
        name = self.log_group_arn.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name

    def describe(self) -> str:
        kind = "organization trail" if self.organization else ("multi-region trail" if self.multi_region else "trail")
        return f"{kind} {self.name} ({self.home_region})"


def read_management_events(response: dict) -> ManagementEvents:
    """Which management events a trail records, from basic or advanced event selectors."""
    basic = maybe(response, "EventSelectors", list, SELECTORS)
    advanced = maybe(response, "AdvancedEventSelectors", list, SELECTORS)
    if basic is None and advanced is None:
        raise UnexpectedResponse(f"{SELECTORS}: neither EventSelectors nor AdvancedEventSelectors in the response", action=SELECTORS)
    read = write = False
    for selector in basic or []:
        if not need(selector, "IncludeManagementEvents", bool, SELECTORS):
            continue
        kind = need(selector, "ReadWriteType", str, SELECTORS)
        read |= kind in ("All", "ReadOnly")
        write |= kind in ("All", "WriteOnly")
    for selector in advanced or []:
        fields = need(selector, "FieldSelectors", list, SELECTORS)
        by_field = {need(f, "Field", str, SELECTORS): f for f in fields}
        category = by_field.get("eventCategory")
        if category is None or category.get("Equals") != ["Management"]:
            continue
        read_only = by_field.get("readOnly")
        if read_only is None:
            read = write = True
            continue
        operators = {k for k in read_only if k != "Field"}
        if operators == {"Equals"} and read_only["Equals"] in (["true"], ["false"]):
            records_reads = read_only["Equals"] == ["true"]
        elif operators == {"NotEquals"} and read_only["NotEquals"] in (["true"], ["false"]):
            records_reads = read_only["NotEquals"] == ["false"]
        else:
            continue  # a readOnly condition rootguard cannot read is not counted as coverage
        read |= records_reads
        write |= not records_reads
    return ManagementEvents(read=read, write=write)


@fact("cloudtrail.trails")
def trails(ctx) -> list[Trail]:
    """Every trail visible to the account in the profile regions, deduplicated, with status and selectors."""
    seen: dict[str, dict] = {}
    for region in ctx.store.regions():
        for entry in ctx.fact("cloudtrail.trail_list", region=region):
            seen.setdefault(need(entry, "TrailARN", str, DESCRIBE), entry)
    result = []
    for arn, entry in sorted(seen.items()):
        home = need(entry, "HomeRegion", str, DESCRIBE)
        status = ctx.fact("cloudtrail.trail_status", region=home, trail=arn)
        delivery = maybe(status, "LatestCloudWatchLogsDeliveryTime", (dt.datetime, str), STATUS)
        result.append(
            Trail(
                arn=arn,
                name=need(entry, "Name", str, DESCRIBE),
                home_region=home,
                owner_account=arn.split(":")[4],
                multi_region=need(entry, "IsMultiRegionTrail", bool, DESCRIBE),
                organization=bool(maybe(entry, "IsOrganizationTrail", bool, DESCRIBE)),
                log_file_validation=need(entry, "LogFileValidationEnabled", bool, DESCRIBE),
                log_group_arn=maybe(entry, "CloudWatchLogsLogGroupArn", str, DESCRIBE),
                s3_bucket=maybe(entry, "S3BucketName", str, DESCRIBE),
                logging=need(status, "IsLogging", bool, STATUS),
                latest_cloudwatch_delivery=timestamp(delivery, "LatestCloudWatchLogsDeliveryTime", STATUS) if delivery else None,
                cloudwatch_delivery_error=maybe(status, "LatestCloudWatchLogsDeliveryError", str, STATUS),
                management_events=read_management_events(ctx.fact("cloudtrail.event_selectors", region=home, trail=arn)),
            )
        )
    return result
