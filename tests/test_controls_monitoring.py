"""The root-usage alarm on seeded moto state: the full chain, and each link that can break it."""

import textwrap

import pytest

from tests.conftest import hub
from tests.shared_runs import accounts, judged

MEMBER = "222233334444"

TRAIL = "- name: main\n  cloudwatch_logs: {log_group: trail-logs, last_delivery: {hours_ago: 1}}\n"
TRAIL_WITHOUT_LOGS = "- name: main\n"
CIS_FILTER = "- {log_group: trail-logs, name: root-usage, pattern: cis, metric: RootAccountUsage}\n"
ROOT_ONLY_FILTER = """- log_group: trail-logs
  name: root-usage
  pattern: '{ $.userIdentity.type = "Root" }'
  metric: RootAccountUsage
"""
CONSOLE_LOGIN_FILTER = """- log_group: trail-logs
  name: root-console-login
  pattern: '{ $.userIdentity.type = "Root" && $.eventName = "ConsoleLogin" }'
  metric: RootAccountUsage
"""
ALARM = "- {name: root-usage, metric: RootAccountUsage, topic: security-alerts}\n"
ALARM_ON_OTHER_METRIC = "- {name: other-alarm, metric: SomethingElse, topic: security-alerts}\n"
ALARM_WITHOUT_TOPIC = "- {name: root-usage, metric: RootAccountUsage}\n"
CONFIRMED = "- name: security-alerts\n  subscriptions: [{endpoint: secops@example.com}]\n"
PENDING = "- name: security-alerts\n  subscriptions: [{endpoint: secops@example.com, confirmed: false}]\n"
NO_SUBSCRIPTION = "- name: security-alerts\n  subscriptions: []\n"


def chain(trails=TRAIL, metric_filters=CIS_FILTER, alarms=ALARM, topics=CONFIRMED) -> str:
    """The hub with trail -> metric filter -> alarm -> topic; pass None to leave a link out."""
    sections = {"trails": trails, "metric_filters": metric_filters, "alarms": alarms, "topics": topics}
    return hub(**{key: body for key, body in sections.items() if body is not None})


@pytest.mark.parametrize(
    "scenario, outcome, says",
    [
        (
            chain(),
            "passed",
            "filter root-usage on log group trail-logs feeds alarm root-usage, which goes to ALARM on one event "
            "(Sum >= 1, 1 per event) and notifies security-alerts with 1 confirmed subscription(s) (email)",
        ),
        (chain(metric_filters=ROOT_ONLY_FILTER), "passed", "filter root-usage on log group trail-logs feeds alarm root-usage"),
        (chain(metric_filters=None), "failed", "no metric filter on log group trail-logs matches root use"),
        (chain(metric_filters=CONSOLE_LOGIN_FILTER), "failed", "no metric filter on log group trail-logs matches root use"),
        (
            chain(alarms=ALARM_ON_OTHER_METRIC),
            "failed",
            "filter root-usage on trail-logs feeds metric CISBenchmark/RootAccountUsage, but no alarm watches it",
        ),
        (chain(alarms=ALARM_WITHOUT_TOPIC, topics=None), "failed", "alarm root-usage notifies no SNS topic"),
        (
            chain(topics=PENDING),
            "failed",
            "alarm root-usage notifies topic security-alerts, which has no confirmed subscription (1 pending confirmation)",
        ),
        (
            chain(topics=NO_SUBSCRIPTION),
            "failed",
            "alarm root-usage notifies topic security-alerts, which has no confirmed subscription;",
        ),
        (chain(trails=TRAIL_WITHOUT_LOGS), "failed", "no multi-region logging trail delivers to CloudWatch Logs"),
    ],
    ids=[
        "full-chain-cis",
        "equivalent-pattern",
        "no-metric-filter",
        "console-login-only-filter",
        "no-alarm-on-metric",
        "alarm-without-topic",
        "pending-subscription-only",
        "no-subscription",
        "trail-without-log-group",
    ],
)
def test_root_usage_alarm(judge, scenario, outcome, says):
    verdicts = judge(scenario, "root-usage-alarm")
    assert verdicts.outcome("root-usage-alarm") == outcome
    assert says in verdicts.message("root-usage-alarm")


ORG_TRAIL_WATCHED_BY_HUB = f"""\
regions: [us-east-1]
organization: {{}}
accounts:
  - id: "123456789012"
    name: hub
    trails:
      - name: org-trail
        organization: true
        cloudwatch_logs: {{log_group: org-trail-logs, last_delivery: {{hours_ago: 1}}}}
    metric_filters:
      - {{log_group: org-trail-logs, name: root-usage, pattern: cis, metric: RootAccountUsage}}
    alarms:
{textwrap.indent(ALARM, "      ")}    topics:
{textwrap.indent(CONFIRMED, "      ")}  - id: "{MEMBER}"
    name: member
"""


def test_root_usage_alarm_member_through_management_chain(judge):
    verdicts = judge(ORG_TRAIL_WATCHED_BY_HUB, "root-usage-alarm")
    assert verdicts.outcome("root-usage-alarm", "member") == "passed"
    message = verdicts.message("root-usage-alarm", "member")
    assert "feeds alarm root-usage, which goes to ALARM on one event (Sum >= 1, 1 per event) and notifies security-alerts" in message
    assert "(in account hub (123456789012))" in message


def test_root_usage_alarm_member_alone_is_judged_through_the_hub(judge):
    """Judging the member alone, the run still reads the management account: it is the hub's own."""
    verdicts = judge(ORG_TRAIL_WATCHED_BY_HUB, "root-usage-alarm", args=("--account", MEMBER))
    assert verdicts.outcome("root-usage-alarm", "member") == "passed"
    assert "(in account hub (123456789012))" in verdicts.message("root-usage-alarm", "member")


def watched(account_id: str, name: str, alarm: str, filter_extra: str = "", confirmed: str = "true") -> str:
    """A standalone account whose trail's log group has the CIS filters, one alarm on each metric, and a topic."""
    return (
        f'- id: "{account_id}"\n  name: {name}\n  standalone: true\n'
        "  trails: [{name: main, cloudwatch_logs: {log_group: trail-logs}}]\n"
        "  metric_filters:\n"
        f"    - {{log_group: trail-logs, name: root-usage, pattern: cis, metric: RootAccountUsage{filter_extra}}}\n"
        f"    - {{log_group: trail-logs, name: signin-failures, pattern: cis-signin-failures, metric: SigninFailures{filter_extra}}}\n"
        f"  topics: [{{name: alerts, subscriptions: [{{endpoint: soc@example.com, confirmed: {confirmed}}}]}}]\n"
        "  alarms:\n"
        f"    - {{name: root-usage, metric: RootAccountUsage, topic: alerts{alarm}}}\n"
        f"    - {{name: signin-failures, metric: SigninFailures, topic: alerts{alarm}}}\n"
    )


ALARM_SETTINGS = accounts(
    watched("210000000301", "threshold-2", ", threshold: 2"),
    watched("210000000302", "threshold-5", ", threshold: 5"),
    watched("210000000303", "threshold-6", ", threshold: 6"),
    watched("210000000304", "greater-than-1", ", comparison: GreaterThanThreshold"),
    watched("210000000305", "less-than", ", comparison: LessThanThreshold, threshold: 5"),
    watched("210000000306", "two-datapoints", ", evaluation_periods: 3, datapoints_to_alarm: 2"),
    watched("210000000307", "one-of-three", ", evaluation_periods: 3, datapoints_to_alarm: 1"),
    watched("210000000308", "average-2", ", statistic: Average, threshold: 2"),
    watched("210000000309", "sample-count", ", statistic: SampleCount"),
    watched("210000000310", "math-metric", ", math: metric"),
    watched("210000000311", "math-rate", ", math: RATE(m1)"),
    watched("210000000312", "actions-disabled", ", actions_enabled: false"),
    watched("210000000313", "lambda-too", ", actions: ['arn:aws:lambda:us-east-1:210000000313:function:page']"),
    watched("210000000314", "value-field", "", filter_extra=", value: $.count"),
    watched("210000000315", "per-user", "", filter_extra=", dimensions: {user: $.userIdentity.arn}"),
    watched("210000000316", "percentile", ", statistic: p99"),
)
ALARM_CONTROLS = ("root-usage-alarm", "signin-failure-alarm")


@pytest.mark.parametrize(
    "account, root, signin, says",
    [
        ("threshold-2", "failed", "passed", "goes to ALARM only on 2 events in one period (Sum >= 2, 1 per event), more than 1"),
        ("threshold-5", "failed", "passed", "only on 5 events in one period"),
        ("threshold-6", "failed", "failed", "only on 6 events in one period (Sum >= 6, 1 per event), more than"),
        ("greater-than-1", "failed", "passed", "only on 2 events in one period (Sum > 1, 1 per event)"),
        ("less-than", "failed", "failed", "it compares LessThanThreshold: more events never cross that threshold"),
        ("two-datapoints", "failed", "failed", "it needs 2 breaching datapoints"),
        ("one-of-three", "passed", "passed", "goes to ALARM on one event"),
        ("average-2", "failed", "failed", "its Average reads 1 however many events come, and needs >= 2"),
        ("sample-count", "passed", "passed", "goes to ALARM on one event (SampleCount >= 1)"),
        ("math-metric", "passed", "passed", "goes to ALARM on one event (Sum >= 1, 1 per event)"),
        ("math-rate", "failed", "failed", "it alarms on metric math expression 'RATE(m1)', not on the filter's metric itself"),
        ("actions-disabled", "failed", "failed", "alarm root-usage has its actions disabled"),
        ("lambda-too", "passed", "passed", "notifies alerts with 1 confirmed subscription(s)"),
        ("value-field", "failed", "failed", "the filter's metricValue '$.count' is not a positive number"),
        ("per-user", "failed", "failed", "the filter publishes its metric per user"),
        ("percentile", "failed", "failed", "its statistic p99 is not one whose reading rootguard can work out"),
    ],
)
def test_alarm_settings_decide_whether_one_event_reaches_someone(judge, account, root, signin, says):
    verdicts = judged(judge, ALARM_SETTINGS, *ALARM_CONTROLS)
    assert verdicts.outcome("root-usage-alarm", account) == root
    assert verdicts.outcome("signin-failure-alarm", account) == signin
    assert says in verdicts.message("root-usage-alarm", account) or says in verdicts.message("signin-failure-alarm", account)


def test_signin_failure_events_sets_the_burst_the_sign_in_alarm_may_need(judge):
    verdicts = judged(judge, ALARM_SETTINGS, *ALARM_CONTROLS, profile_extra="params:\n  signin_failure_events: 6\n")
    assert verdicts.outcome("signin-failure-alarm", "threshold-6") == "passed"
    assert "goes to ALARM on 6 events in one period" in verdicts.message("signin-failure-alarm", "threshold-6")
    strict = judged(judge, ALARM_SETTINGS, *ALARM_CONTROLS, profile_extra="params:\n  signin_failure_events: 1\n")
    assert strict.outcome("signin-failure-alarm", "threshold-2") == "failed"
    assert "more than 1" in strict.message("signin-failure-alarm", "threshold-2")
