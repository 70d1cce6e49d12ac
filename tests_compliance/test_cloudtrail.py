"""CloudTrail controls: a multi-region trail, log file validation and CloudWatch Logs delivery."""

import datetime as dt

from rootguard.controls import control, fail
from rootguard.facts import Unreadable
from rootguard.controls.partial import Gaps
from rootguard.controls.trail_logs import logging_trails


@control(
    id="cloudtrail-multi-region",
    title="A multi-region trail logs read and write management events",
    severity="high",
    rationale="""Without a trail in every region, root activity in an unused region leaves no record;
        the investigation of a root compromise starts from this log.""",
    remediation="""Create a multi-region trail (or an organization trail from the management account)
        recording All management events, and start logging: CloudTrail > Trails > Create trail.""",
    passes_when="""at least one multi-region trail (own or organization trail) is logging and records read and
        write management events""",
    facts=["cloudtrail.trails", "cloudtrail.statuses", "cloudtrail.all_management_events"],
    frameworks={
        "soc2": ["CC7.2", "CC7.3"],
        "iso27001": ["A.8.15", "A.8.16"],
        "cis-v3": ["3.1"],
        "cis-v5": ["3.1"],
        "cis-v6": ["4.1"],
        "cis-v7": ["4.1"],
        "securityhub": ["CloudTrail.1"],
    },
)
def test_cloudtrail_multi_region(account):
    listing = account.fact("cloudtrail.trails")
    gaps, reasons = Gaps(), []
    for trail in listing.multi_region:
        status = account.attempt("cloudtrail.status", trail=trail.arn)
        events = account.attempt("cloudtrail.management_events", trail=trail.arn)
        logging = None if isinstance(status, Unreadable) else status.logging
        recorded = None if isinstance(events, Unreadable) else events
        if logging is False:
            reasons.append(f"{trail.describe()}: not logging")
        elif recorded is not None and not recorded.both:
            reasons.append(f"{trail.describe()}: records {recorded.describe()}")
        elif logging and recorded is not None:
            account.passes_because(f"{trail.describe()} is logging and records read and write management events{gaps.note()}")
            return
        else:
            gaps.read(status, f"the status of {trail.describe()}")
            gaps.read(events, f"the event selectors of {trail.describe()}")
    if gaps:
        gaps.undecided("whether a multi-region trail logs read and write management events")
    if not listing.multi_region:
        fail("no multi-region trail (own or organization trail) is visible; create one applying to all regions: CloudTrail > Trails > Create trail")
    fail(
        f"no multi-region trail both logs and records read and write management events ({'; '.join(reasons)}); "
        "start logging and record All management events"
    )



@control(
    id="cloudtrail-log-validation",
    title="Every trail logging for the account validates its log files",
    severity="medium",
    rationale="""Log file validation lets an investigator prove the trail's log files were not changed
        or deleted after delivery, which an auditor relies on when the log is evidence.""",
    remediation="""Enable log file validation on each trail: CloudTrail > Trails > (trail) > Edit >
        Log file validation (aws cloudtrail update-trail --enable-log-file-validation).""",
    passes_when="every trail logging for the account has log file validation; no logging trail at all fails",
    facts=["cloudtrail.trails", "cloudtrail.statuses"],
    frameworks={
        "soc2": ["CC7.2", "CC7.3"],
        "iso27001": ["A.8.15", "A.5.28"],
        "cis-v3": ["3.2"],
        "cis-v5": ["3.2"],
        "cis-v6": ["4.2"],
        "cis-v7": ["4.2"],
        "securityhub": ["CloudTrail.4"],
    },
)
def test_cloudtrail_log_validation(account):
    listing = account.fact("cloudtrail.trails")
    gaps = Gaps()
    # A trail that validates its files passes whatever its status; one that does not fails if it logs.
    unvalidated = [t for t in listing.trails if not t.log_file_validation]
    unvalidated_logging = logging_trails(account, unvalidated, gaps)
    if unvalidated_logging:
        names = ", ".join(t.describe() for t in unvalidated_logging)
        fail(f"log file validation is off on {names}; enable it: CloudTrail > Trails > Edit > Log file validation{gaps.note()}")
    for region, error in listing.unlisted:
        gaps.add(f"the trails of {region}, where a trail without validation could log", error)
    if gaps:
        gaps.undecided("whether every logging trail validates its log files")
    logging = logging_trails(account, [t for t in listing.trails if t.log_file_validation], gaps)
    if not logging:
        if gaps:
            gaps.undecided("whether any trail is logging")
        fail("no trail is logging for this account, so no log file is validated; create a multi-region trail with log file validation")
    account.passes_because(
        f"all {len(logging)} logging trail(s) validate log files: {', '.join(t.describe() for t in logging)}{gaps.note()}"
    )



@control(
    id="cloudtrail-cloudwatch-logs",
    title="A multi-region trail delivers to CloudWatch Logs, last delivery under 24 hours ago",
    severity="medium",
    rationale="""Alarms on root use read the trail's CloudWatch Logs group; a trail that does not deliver
        there, or stopped delivering, leaves those alarms blind.""",
    remediation="""Configure the multi-region trail to send events to a CloudWatch Logs group with a role
        CloudTrail can assume, and fix any delivery error shown in the trail's status.""",
    passes_when="""a multi-region logging trail delivers to a CloudWatch Logs group and its last delivery is
        under `cloudwatch_delivery_max_hours` ({cloudwatch_delivery_max_hours}) old""",
    facts=["cloudtrail.trails", "cloudtrail.statuses"],
    frameworks={
        "soc2": ["CC7.2", "CC7.3"],
        "iso27001": ["A.8.15", "A.8.16"],
        "securityhub": ["CloudTrail.5"],
    },
)
def test_cloudtrail_cloudwatch_logs(account):
    max_hours = account.params["cloudwatch_delivery_max_hours"]
    gaps = Gaps()
    candidates = logging_trails(account, account.fact("cloudtrail.trails").multi_region, gaps)
    reasons = []
    for trail in candidates:
        if not trail.log_group_arn:
            reasons.append(f"{trail.describe()} sends no events to CloudWatch Logs")
            continue
        status = account.fact("cloudtrail.status", trail=trail.arn)
        delivered = status.latest_cloudwatch_delivery
        if delivered is None:
            error = f" (delivery error: {status.cloudwatch_delivery_error})" if status.cloudwatch_delivery_error else ""
            reasons.append(f"{trail.describe()} has never delivered to {trail.log_group_name}{error}")
            continue
        age = account.now - delivered
        if age < dt.timedelta(hours=max_hours):
            account.passes_because(
                f"{trail.describe()} delivers to log group {trail.log_group_name}; last delivery {delivered:%Y-%m-%d %H:%M}Z "
                f"({age.total_seconds() / 3600:.1f} h ago){gaps.note()}"
            )
            return
        error = f", delivery error: {status.cloudwatch_delivery_error}" if status.cloudwatch_delivery_error else ""
        reasons.append(
            f"{trail.describe()} last delivered to {trail.log_group_name} at {delivered:%Y-%m-%d %H:%M}Z "
            f"({age.total_seconds() / 3600:.0f} h ago, over {max_hours} h{error})"
        )
    if gaps:
        gaps.undecided("whether a multi-region trail delivers to CloudWatch Logs")
    if not candidates:
        fail("no multi-region trail is logging, so nothing reaches CloudWatch Logs; create one and send it to a log group")
    fail("; ".join(reasons) + "; configure CloudWatch Logs delivery on the trail and fix its delivery role")
