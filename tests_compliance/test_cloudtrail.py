"""CloudTrail controls: a multi-region trail, log file validation and CloudWatch Logs delivery."""

import datetime as dt

from rootguard.controls import control, fail


@control(
    id="cloudtrail-multi-region",
    title="A multi-region trail logs read and write management events",
    severity="high",
    rationale="""Without a trail in every region, root activity in an unused region leaves no record;
        the investigation of a root compromise starts from this log.""",
    remediation="""Create a multi-region trail (or an organization trail from the management account)
        recording All management events, and start logging: CloudTrail > Trails > Create trail.""",
    facts=["cloudtrail.trails"],
    frameworks={"soc2": ["CC7.2", "CC7.3"], "iso27001": ["A.8.15", "A.8.16"], "cis-v3": ["3.1"], "cis-v5": ["3.1"], "securityhub": ["CloudTrail.1"]},
)
def test_cloudtrail_multi_region(account):
    multi = [t for t in account.fact("cloudtrail.trails") if t.multi_region]
    good = [t for t in multi if t.logging and t.management_events.both]
    if good:
        account.passes_because(f"{good[0].describe()} is logging and records read and write management events")
        return
    if not multi:
        fail("no multi-region trail (own or organization trail) is visible; create one applying to all regions: CloudTrail > Trails > Create trail")
    reasons = "; ".join(
        f"{t.describe()}: {'not logging' if not t.logging else 'records ' + t.management_events.describe()}" for t in multi
    )
    fail(f"no multi-region trail both logs and records read and write management events ({reasons}); start logging and record All management events")


@control(
    id="cloudtrail-log-validation",
    title="Every trail logging for the account validates its log files",
    severity="medium",
    rationale="""Log file validation lets an investigator prove the trail's log files were not changed
        or deleted after delivery, which an auditor relies on when the log is evidence.""",
    remediation="""Enable log file validation on each trail: CloudTrail > Trails > (trail) > Edit >
        Log file validation (aws cloudtrail update-trail --enable-log-file-validation).""",
    facts=["cloudtrail.trails"],
    frameworks={"soc2": ["CC7.2", "CC7.3"], "iso27001": ["A.8.15", "A.5.28"], "cis-v3": ["3.2"], "cis-v5": ["3.2"], "securityhub": ["CloudTrail.4"]},
)
def test_cloudtrail_log_validation(account):
    logging = [t for t in account.fact("cloudtrail.trails") if t.logging]
    if not logging:
        fail("no trail is logging for this account, so no log file is validated; create a multi-region trail with log file validation")
    unvalidated = [t for t in logging if not t.log_file_validation]
    if unvalidated:
        names = ", ".join(t.describe() for t in unvalidated)
        fail(f"log file validation is off on {names}; enable it: CloudTrail > Trails > Edit > Log file validation")
    account.passes_because(f"all {len(logging)} logging trail(s) validate log files: {', '.join(t.describe() for t in logging)}")


@control(
    id="cloudtrail-cloudwatch-logs",
    title="A multi-region trail delivers to CloudWatch Logs, last delivery under 24 hours ago",
    severity="medium",
    rationale="""Alarms on root use read the trail's CloudWatch Logs group; a trail that does not deliver
        there, or stopped delivering, leaves those alarms blind.""",
    remediation="""Configure the multi-region trail to send events to a CloudWatch Logs group with a role
        CloudTrail can assume, and fix any delivery error shown in the trail's status.""",
    facts=["cloudtrail.trails"],
    frameworks={"soc2": ["CC7.2", "CC7.3"], "iso27001": ["A.8.15", "A.8.16"], "securityhub": ["CloudTrail.5"]},
)
def test_cloudtrail_cloudwatch_logs(account):
    max_hours = account.params["cloudwatch_delivery_max_hours"]
    candidates = [t for t in account.fact("cloudtrail.trails") if t.multi_region and t.logging]
    if not candidates:
        fail("no multi-region trail is logging, so nothing reaches CloudWatch Logs; create one and send it to a log group")
    reasons = []
    for trail in candidates:
        if not trail.log_group_arn:
            reasons.append(f"{trail.describe()} sends no events to CloudWatch Logs")
            continue
        delivered = trail.latest_cloudwatch_delivery
        if delivered is None:
            error = f" (delivery error: {trail.cloudwatch_delivery_error})" if trail.cloudwatch_delivery_error else ""
            reasons.append(f"{trail.describe()} has never delivered to {trail.log_group_name}{error}")
            continue
        age = account.now - delivered
        if age < dt.timedelta(hours=max_hours):
            account.passes_because(
                f"{trail.describe()} delivers to log group {trail.log_group_name}; last delivery {delivered:%Y-%m-%d %H:%M}Z "
                f"({age.total_seconds() / 3600:.1f} h ago)"
            )
            return
        error = f", delivery error: {trail.cloudwatch_delivery_error}" if trail.cloudwatch_delivery_error else ""
        reasons.append(
            f"{trail.describe()} last delivered to {trail.log_group_name} at {delivered:%Y-%m-%d %H:%M}Z "
            f"({age.total_seconds() / 3600:.0f} h ago, over {max_hours} h{error})"
        )
    fail("; ".join(reasons) + "; configure CloudWatch Logs delivery on the trail and fix its delivery role")
