"""Monitoring controls: someone is told when root is used, and when console sign-ins fail."""

from rootguard.controls.alerting import search_alarms
from rootguard.controls import control, fail, not_applicable
from rootguard.controls.partial import Gaps
from rootguard.controls.patterns import matches_console_signin_failures, matches_root_usage
from rootguard.controls.trail_logs import logging_trails

FACTS = ["cloudtrail.trails", "cloudtrail.statuses", "monitoring.log_group_watch"]


def _judge(account, matches, event: str, most: int, fix: str) -> None:
    """Pass on a working alarm chain on a multi-region logging trail's log group; else say why each breaks."""
    gaps = Gaps()
    trails = logging_trails(account, [t for t in account.fact("cloudtrail.trails").multi_region if t.log_group_arn], gaps)
    search = search_alarms(account, trails, matches, event, most, gaps)
    if search.found:
        account.passes_because(search.found + gaps.note())
        return
    if gaps:
        gaps.undecided(f"whether {event} reach someone")
    if not trails:
        fail(f"no multi-region logging trail delivers to CloudWatch Logs, so no metric filter can watch {event}; configure one first")
    if search.elsewhere and not search.broken:
        not_applicable("; ".join(search.elsewhere) + ", which this run does not include; add that account to the profile to judge it")
    fail("; ".join(search.broken + search.elsewhere) + f"; {fix}")


@control(
    id="root-usage-alarm",
    title="Root use raises an alarm that reaches a confirmed subscriber",
    severity="high",
    rationale="""Root use should be rare and always noticed; a metric filter and alarm turn the trail into
        a page to a person, but only if the alarm notifies a topic someone has actually subscribed to.""",
    remediation="""On the multi-region trail's log group, add the CIS root-usage metric filter, a CloudWatch
        alarm on its metric (threshold >= 1) and an SNS topic with a confirmed email or pager subscription.""",
    passes_when="""a metric filter matching root use on the log group of a multi-region logging trail feeds a
        CloudWatch alarm that goes to ALARM on one matching event, with actions enabled and an SNS
        topic among its alarm actions that has at least one confirmed subscription""",
    facts=FACTS,
    frameworks={
        "soc2": ["CC7.2", "CC7.3"],
        "iso27001": ["A.8.16", "A.8.15"],
        "cis-v3": ["4.3"],
        "cis-v5": ["4.3"],
        "cis-v6": ["5.3"],
        "cis-v7": ["5.3"],
        "securityhub": ["CloudWatch.1"],
    },
)
def test_root_usage_alarm(account):
    _judge(account, matches_root_usage, "root use", 1, "add the CIS root-usage filter, an alarm that fires on one event and a confirmed SNS subscription")


@control(
    id="signin-failure-alarm",
    title="Failed console sign-ins raise an alarm that reaches a confirmed subscriber",
    severity="medium",
    rationale="""A run of failed console sign-ins is how password guessing against root and IAM users
        shows up; an alarm on them gives a person the chance to act before one succeeds.""",
    remediation="""On the multi-region trail's log group, add the CIS metric filter for console
        authentication failures, a CloudWatch alarm on its metric and an SNS topic with a confirmed
        subscription.""",
    passes_when="""as root-usage-alarm, for failed console sign-ins, with an alarm that goes to ALARM on at
        most `signin_failure_events` ({signin_failure_events}) of them in one period""",
    facts=FACTS,
    frameworks={
        "soc2": ["CC7.2", "CC7.3"],
        "iso27001": ["A.8.16", "A.8.15"],
        "cis-v3": ["4.6"],
        "cis-v5": ["4.6"],
        "cis-v6": ["5.6"],
        "cis-v7": ["5.6"],
        "securityhub": ["CloudWatch.6"],
    },
)
def test_signin_failure_alarm(account):
    _judge(
        account,
        matches_console_signin_failures,
        "failed console sign-ins",
        account.params["signin_failure_events"],
        f"add the CIS console sign-in failure filter, an alarm that fires on at most {account.params['signin_failure_events']} "
        "failures in one period (params.signin_failure_events) and a confirmed SNS subscription",
    )
