"""CloudTrail facts: the trails that log for the account, and each trail's status and event selectors.

Trails are listed in each profile region with shadow trails included, so a
multi-region trail whose home region is outside the profile, and an
organization trail owned by the management account, are both seen. A trail's
status and selectors are read by ARN in its home region, in the account that
owns it: AWS refuses a member account's GetEventSelectors (and GetTrailStatus)
on its organization trail's ARN with CloudTrailARNInvalidException, so an
organization trail is read in its management account, through the run's view of
that account, once for every member.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rootguard.errors import FactError, UnexpectedResponse
from rootguard.facts.registry import Unreadable, fact
from rootguard.facts.shapes import maybe, need, timestamp

DESCRIBE = "cloudtrail:DescribeTrails"
STATUS = "cloudtrail:GetTrailStatus"
SELECTORS = "cloudtrail:GetEventSelectors"


@fact("cloudtrail.trail_list", regional=True)
def trail_list(ctx) -> list:
    """DescribeTrails in one region, shadow trails included."""
    return need(ctx.call("cloudtrail", "describe_trails", includeShadowTrails=True), "trailList", list, DESCRIBE)


@fact("cloudtrail.trail_status", regional=True, read_across_accounts=True)
def trail_status(ctx, trail: str) -> dict:
    """GetTrailStatus for one trail ARN, asked in its home region."""
    return ctx.call("cloudtrail", "get_trail_status", Name=trail)


@fact("cloudtrail.event_selectors", regional=True, read_across_accounts=True)
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
    """A trail as DescribeTrails shows it to the account; its status and selectors are facts of their own."""

    arn: str
    name: str
    home_region: str
    owner_account: str
    multi_region: bool
    organization: bool
    log_file_validation: bool
    log_group_arn: str | None
    s3_bucket: str | None

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


@dataclass(frozen=True)
class TrailListing:
    """The trails the account's DescribeTrails showed, and the regions where it could not be read.

    A multi-region trail shows in every region's listing, so one region read is enough to
    know all of them; a single-region trail shows only in its own region.
    """

    trails: tuple[Trail, ...]
    unlisted: tuple[tuple[str, FactError], ...] = ()  # (region, why DescribeTrails failed there)

    @property
    def multi_region(self) -> list[Trail]:
        return [t for t in self.trails if t.multi_region]


@dataclass(frozen=True)
class TrailStatus:
    logging: bool
    latest_cloudwatch_delivery: dt.datetime | None
    cloudwatch_delivery_error: str | None


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


def read_trail(entry: dict) -> Trail:
    arn = need(entry, "TrailARN", str, DESCRIBE)
    return Trail(
        arn=arn,
        name=need(entry, "Name", str, DESCRIBE),
        home_region=need(entry, "HomeRegion", str, DESCRIBE),
        owner_account=arn.split(":")[4],
        multi_region=need(entry, "IsMultiRegionTrail", bool, DESCRIBE),
        organization=bool(maybe(entry, "IsOrganizationTrail", bool, DESCRIBE)),
        log_file_validation=need(entry, "LogFileValidationEnabled", bool, DESCRIBE),
        log_group_arn=maybe(entry, "CloudWatchLogsLogGroupArn", str, DESCRIBE),
        s3_bucket=maybe(entry, "S3BucketName", str, DESCRIBE),
    )


@fact("cloudtrail.trails")
def trails(ctx) -> TrailListing:
    """Every trail visible to the account in the profile regions, deduplicated (DescribeTrails in each)."""
    seen: dict[str, Trail] = {}
    unlisted = []
    for region in ctx.store.regions():
        listing = ctx.attempt("cloudtrail.trail_list", region=region)
        if isinstance(listing, Unreadable):
            unlisted.append((region, listing.error))
            continue
        for entry in listing:
            trail = read_trail(entry)
            seen.setdefault(trail.arn, trail)
    if unlisted and len(unlisted) == len(ctx.store.regions()):
        raise unlisted[0][1]  # nothing is known of the account's trails
    # The account's own trails first, then those it sees from elsewhere (an organization trail).
    ordered = sorted(seen.values(), key=lambda t: (t.owner_account != ctx.account.id, t.arn))
    return TrailListing(tuple(ordered), tuple(unlisted))


def _at_home(ctx, raw: str, trail: str) -> dict:
    """A raw per-trail fact read in the account that owns the trail, in its home region."""
    owner, home = trail.split(":")[4], trail.split(":")[3]
    if owner == ctx.account.id:
        return ctx.fact(raw, region=home, trail=trail)
    store = ctx.peer(owner)
    if store is not None:
        try:
            return ctx.fact_of(store, raw, region=home, trail=trail)
        except FactError as exc:
            raise FactError(f"{exc} (asked in account {owner}, which owns trail {trail})", action=exc.action, code=exc.code) from None
    try:
        # No way into the owner's account: the account's own view, which AWS refuses for an
        # organization trail (CloudTrailARNInvalidException), is all there is.
        return ctx.fact(raw, region=home, trail=trail)
    except FactError as exc:
        raise FactError(
            f"{exc}; trail {trail} belongs to account {owner}, which this run cannot read: add account {owner} "
            f"to the profile (or run from its hub) with {STATUS} and {SELECTORS} allowed there",
            action=exc.action,
            code=exc.code,
        ) from None


@fact("cloudtrail.status")
def status(ctx, trail: str) -> TrailStatus:
    """Whether a trail is logging, and its last CloudWatch Logs delivery (GetTrailStatus where the trail lives)."""
    response = _at_home(ctx, "cloudtrail.trail_status", trail)
    delivery = maybe(response, "LatestCloudWatchLogsDeliveryTime", (dt.datetime, str), STATUS)
    return TrailStatus(
        logging=need(response, "IsLogging", bool, STATUS),
        latest_cloudwatch_delivery=timestamp(delivery, "LatestCloudWatchLogsDeliveryTime", STATUS) if delivery else None,
        cloudwatch_delivery_error=maybe(response, "LatestCloudWatchLogsDeliveryError", str, STATUS),
    )


@fact("cloudtrail.management_events")
def management_events(ctx, trail: str) -> ManagementEvents:
    """Which management events a trail records (GetEventSelectors where the trail lives)."""
    return read_management_events(_at_home(ctx, "cloudtrail.event_selectors", trail))


@fact("cloudtrail.statuses")
def statuses(ctx) -> dict:
    """Every listed trail's status, fetched ahead for the controls (trail ARN -> status or Unreadable)."""
    return {t.arn: ctx.attempt("cloudtrail.status", trail=t.arn) for t in ctx.fact("cloudtrail.trails").trails}


@fact("cloudtrail.all_management_events")
def all_management_events(ctx) -> dict:
    """Every listed multi-region trail's management events, fetched ahead (trail ARN -> events or Unreadable)."""
    return {t.arn: ctx.attempt("cloudtrail.management_events", trail=t.arn) for t in ctx.fact("cloudtrail.trails").multi_region}
