"""The root-usage alarm on seeded moto state: the full chain, and each link that can break it."""

import textwrap

import pytest

from tests.conftest import hub

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
            "filter root-usage on log group trail-logs feeds alarm root-usage, which notifies security-alerts "
            "with 1 confirmed subscription(s) (email)",
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
    assert "feeds alarm root-usage, which notifies security-alerts" in message
    assert "(in account hub (123456789012))" in message


def test_root_usage_alarm_member_alone_is_skipped(judge):
    verdicts = judge(ORG_TRAIL_WATCHED_BY_HUB, "root-usage-alarm", args=("--account", MEMBER))
    assert verdicts.outcome("root-usage-alarm", "member") == "skipped"
    assert "the log group of organization trail org-trail (us-east-1) is in account 123456789012" in verdicts.message(
        "root-usage-alarm", "member"
    )
