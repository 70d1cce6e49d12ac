"""signin-failure-alarm on seeded moto state: the chain root-usage-alarm walks, for failed console sign-ins."""

import pytest

from tests.shared_runs import accounts, judged

MEMBER = "210000000061"
EQUIVALENT = '{ $.eventName = "ConsoleLogin" && $.responseElements.ConsoleLogin = "Failure" }'


def chain(pattern: str, alarm_metric: str = "SigninFailures", confirmed: str = "true", organization: str = "false") -> str:
    """trail -> metric filter -> alarm -> SNS topic, as one account's YAML keys."""
    return (
        f"trails: [{{name: main, organization: {organization}, cloudwatch_logs: {{log_group: trail-logs}}}}]\n"
        f"metric_filters: [{{log_group: trail-logs, name: signin, pattern: '{pattern}', metric: SigninFailures}}]\n"
        f"alarms: [{{name: signin, metric: {alarm_metric}, topic: alerts}}]\n"
        f"topics: [{{name: alerts, subscriptions: [{{endpoint: soc@example.com, confirmed: {confirmed}}}]}}]\n"
    )


def standalone(name: str, account_id: str, keys: str) -> str:
    return f'- id: "{account_id}"\n  name: {name}\n  standalone: true\n' + "".join(f"  {line}\n" for line in keys.splitlines())


SIGNIN = accounts(
    f'- {{id: "{MEMBER}", name: member}}\n',
    standalone("equivalent", "210000000062", chain(EQUIVALENT)),
    standalone("root-filter-only", "210000000063", chain("cis")),
    standalone("any-login", "210000000064", chain("{ $.eventName = ConsoleLogin }")),
    standalone("no-alarm", "210000000065", chain("cis-signin-failures", alarm_metric="Other")),
    standalone("pending", "210000000066", chain("cis-signin-failures", confirmed="false")),
    standalone("no-log-group", "210000000067", "trails: [{name: plain}]"),
    hub=chain("cis-signin-failures", organization="true"),
    organization="{}\n",
)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "filter signin on log group trail-logs feeds alarm signin, which goes to ALARM on one event (Sum >= 1, 1 per event) and notifies alerts with 1 confirmed subscription(s) (email)"),
        ("member", "passed", "and notifies alerts with 1 confirmed subscription(s) (email) (in account hub (123456789012))"),
        ("equivalent", "passed", "filter signin on log group trail-logs feeds alarm signin"),
        ("root-filter-only", "failed", "no metric filter on log group trail-logs matches failed console sign-ins"),
        ("any-login", "failed", "no metric filter on log group trail-logs matches failed console sign-ins"),
        ("no-alarm", "failed", "filter signin on trail-logs feeds metric CISBenchmark/SigninFailures, but no alarm watches it"),
        ("pending", "failed", "alarm signin notifies topic alerts, which has no confirmed subscription (1 pending confirmation)"),
        ("no-log-group", "failed", "no multi-region logging trail delivers to CloudWatch Logs, so no metric filter can watch failed console sign-ins"),
    ],
    ids=["cis-pattern", "member-through-organization-trail", "equivalent-pattern", "root-filter-only", "any-console-login",
         "no-alarm-on-metric", "pending-subscription", "no-log-group"],
)
def test_signin_failure_alarm(judge, account, outcome, says):
    verdicts = judged(judge, SIGNIN, "signin-failure-alarm")
    assert verdicts.outcome("signin-failure-alarm", account) == outcome
    assert says in verdicts.message("signin-failure-alarm", account)


def test_signin_failure_alarm_member_alone_is_judged_through_the_hub(judge):
    verdicts = judge(SIGNIN, "signin-failure-alarm", args=("--account", MEMBER))
    assert verdicts.outcome("signin-failure-alarm", "member") == "passed"
    assert "(in account hub (123456789012))" in verdicts.message("signin-failure-alarm", "member")
