"""Judging from partial evidence: one piece AWS refuses makes `error` only of the verdicts it could change.

Each account of one scenario has one piece refused (fixtures/overrides.py, by resource, so a
second trail, topic, budget or bucket of the same account still answers). A verdict that
what could be read proves stands and names what could not be read; one the refused piece
could change is `error`, naming it; a verdict that never needed the piece does not mention it.
"""

from __future__ import annotations

import json

import pytest

from rootguard.fixtures.overrides import Canned, serving
from tests.conftest import REPO, profile_for
from tests.shared_runs import accounts

REFUSED = ("AccessDeniedException", "User is not authorized to perform this action", 400)
SNS_REFUSED = ("AuthorizationError", "User is not authorized to perform: SNS:ListSubscriptionsByTopic", 403)
IAM_REFUSED = ("AccessDenied", "User is not authorized to perform: iam:GetAccountSummary", 403)
S3_REFUSED = ("AccessDenied", "Access Denied", 403)


def trail_arn(account: str, name: str) -> str:
    return f"arn:aws:cloudtrail:us-east-1:{account}:trail/{name}"


def lone(account: str, name: str, body: str) -> str:
    return f'- id: "{account}"\n  name: {name}\n  standalone: true\n' + "".join(f"  {line}\n" for line in body.strip().splitlines())


WATCHED = """\
trails: [{name: main, cloudwatch_logs: {log_group: trail-logs}}]
metric_filters: [{log_group: trail-logs, name: root-usage, pattern: cis, metric: RootAccountUsage}]
topics: [{name: alerts, subscriptions: [{endpoint: soc@example.com}]}, {name: aaa-pager, subscriptions: [{endpoint: pager@example.com}]}]
"""
SCENARIO = accounts(
    lone("210000000401", "selectors-of-one-refused", "trails: [{name: alpha}, {name: beta}]"),
    lone("210000000402", "selectors-of-only-refused", "trails: [{name: alpha}]"),
    lone("210000000403", "status-of-unvalidated-refused",
         "trails: [{name: alpha}, {name: beta, multi_region: false, log_file_validation: false}]"),
    lone("210000000404", "region-unlisted", "trails: [{name: alpha}]"),
    lone("210000000405", "topic-of-two-refused", WATCHED
         + "alarms: [{name: root-usage, metric: RootAccountUsage, topic: aaa-pager, actions: ['arn:aws:sns:us-east-1:210000000405:alerts']}]"),
    lone("210000000406", "only-topic-refused", WATCHED + "alarms: [{name: root-usage, metric: RootAccountUsage, topic: alerts}]"),
    lone("210000000407", "budget-of-two-refused", """
budgets:
  - {name: aaa-refused, notifications: [{subscribers: [{address: a@example.com}]}]}
  - {name: monthly, notifications: [{subscribers: [{address: finance@example.com}]}]}
"""),
    lone("210000000408", "only-budget-refused", "budgets: [{name: monthly, notifications: [{subscribers: [{address: f@example.com}]}]}]"),
    lone("210000000409", "contact-refused-other-unset", "alternate_contacts: {operations: {name: Opal, email: ops@example.com}}"),
    lone("210000000410", "contact-refused-others-set", """
alternate_contacts: {billing: {name: Bill, email: billing@example.com}, operations: {name: Opal, email: ops@example.com}}
"""),
    lone("210000000411", "config-region-refused", "config_recorders: [{region: us-east-1}]"),
    lone("210000000412", "config-only-region-refused", "config_recorders: [{region: us-east-1}]"),
    lone("210000000413", "summary-refused-key-shown",
         "root: {password: true, mfa: hardware, access_keys: [{active: true, created: {days_ago: 30}}]}"),
    lone("210000000414", "summary-refused-no-key", "root: {password: true, mfa: hardware, password_last_used: {days_ago: 200}}"),
    lone("210000000415", "bucket-acl-of-one-refused", """
trails: [{name: alpha, s3_bucket: alpha-logs-415}, {name: beta, s3_bucket: beta-logs-415}]
buckets: [{name: alpha-logs-415, public_access_block: all, versioning: Enabled}, {name: beta-logs-415, public_acl: true, versioning: Enabled}]
"""),
    regions="[us-east-1, eu-west-1]",
)
ANSWERS = [
    Canned("210000000401", "cloudtrail:GetEventSelectors", {"TrailName": trail_arn("210000000401", "alpha")}, error=REFUSED),
    Canned("210000000402", "cloudtrail:GetEventSelectors", {"TrailName": trail_arn("210000000402", "alpha")}, error=REFUSED),
    Canned("210000000403", "cloudtrail:GetTrailStatus", {"Name": trail_arn("210000000403", "beta")}, error=REFUSED),
    Canned("210000000404", "cloudtrail:DescribeTrails", region="eu-west-1", error=REFUSED),
    Canned("210000000405", "sns:ListSubscriptionsByTopic", {"TopicArn": "arn:aws:sns:us-east-1:210000000405:aaa-pager"}, error=SNS_REFUSED),
    Canned("210000000406", "sns:ListSubscriptionsByTopic", error=SNS_REFUSED),
    Canned("210000000407", "budgets:DescribeNotificationsForBudget", {"BudgetName": "aaa-refused"}, error=REFUSED),
    Canned("210000000408", "budgets:DescribeNotificationsForBudget", error=REFUSED),
    Canned("210000000409", "account:GetAlternateContact", {"AlternateContactType": "SECURITY"}, error=REFUSED),
    Canned("210000000410", "account:GetAlternateContact", {"AlternateContactType": "SECURITY"}, error=REFUSED),
    Canned("210000000411", "config:DescribeConfigurationRecorders", region="eu-west-1", error=REFUSED),
    Canned("210000000412", "config:DescribeConfigurationRecorders", region="us-east-1", error=REFUSED),
    Canned("210000000413", "iam:GetAccountSummary", error=IAM_REFUSED),
    Canned("210000000414", "iam:GetAccountSummary", error=IAM_REFUSED),
    Canned("210000000415", "s3:GetBucketAcl", {"Bucket": "alpha-logs-415"}, error=S3_REFUSED),
]
_RUN: dict = {}


def verdict(pytester, control: str, account: str) -> dict:
    if "results" not in _RUN:
        scenario = pytester.path / "partial.yaml"
        scenario.write_text(SCENARIO)
        profile = pytester.path / "partial-profile.yaml"
        profile.write_text(profile_for(scenario, SCENARIO))
        pack = pytester.path / "partial-pack"
        with serving(ANSWERS) as served:
            result = pytester.runpytest(
                str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack), "-p", "no:html", "-p", "no:allure_pytest",
                "--export", "none",
            )
        assert (pack / "results.json").is_file(), "\n".join(result.outlines[-30:])
        assert all(served.counts[i] for i in range(len(ANSWERS))), served.counts
        _RUN["results"] = {(r["control"], r["account_name"]): r for r in json.loads((pack / "results.json").read_text())["results"]}
    return _RUN["results"][(control, account)]


@pytest.mark.parametrize(
    "control, account, outcome, names, absent",
    [
        # One trail's selectors refused: another trail proves the pass; log validation never needed them.
        ("cloudtrail-multi-region", "selectors-of-one-refused", "passed", "not needed for this verdict: the event selectors of multi-region trail alpha (us-east-1): cloudtrail:GetEventSelectors failed: AccessDeniedException", None),
        ("cloudtrail-log-validation", "selectors-of-one-refused", "passed", None, "GetEventSelectors"),
        ("cloudtrail-multi-region", "selectors-of-only-refused", "error", "cloudtrail:GetEventSelectors failed: AccessDeniedException", None),
        ("cloudtrail-log-validation", "selectors-of-only-refused", "passed", None, "GetEventSelectors"),
        ("cloudtrail-cloudwatch-logs", "selectors-of-only-refused", "failed", None, "GetEventSelectors"),
        # The refused status is of a trail without validation: it may log, so validation cannot be told.
        ("cloudtrail-log-validation", "status-of-unvalidated-refused", "error", "the status of trail beta (us-east-1): cloudtrail:GetTrailStatus failed: AccessDeniedException", None),
        ("cloudtrail-multi-region", "status-of-unvalidated-refused", "passed", None, "GetTrailStatus"),
        # A region whose trails cannot be listed: a multi-region trail shows in every region's listing.
        ("cloudtrail-multi-region", "region-unlisted", "passed", None, "DescribeTrails"),
        ("cloudtrail-log-validation", "region-unlisted", "error", "the trails of eu-west-1, where a trail without validation could log: cloudtrail:DescribeTrails failed: AccessDeniedException", None),
        ("root-usage-alarm", "topic-of-two-refused", "passed", "the subscriptions of topic aaa-pager: sns:ListSubscriptionsByTopic failed: AuthorizationError", None),
        ("root-usage-alarm", "only-topic-refused", "error", "sns:ListSubscriptionsByTopic failed: AuthorizationError", None),
        ("budget-alerts", "budget-of-two-refused", "passed", "the alerts of cost budget aaa-refused: budgets:DescribeNotificationsForBudget failed: AccessDeniedException", None),
        ("budget-alerts", "only-budget-refused", "error", "budgets:DescribeNotificationsForBudget failed: AccessDeniedException", None),
        # An unset contact fails the control whatever the refused one says.
        ("alternate-contacts", "contact-refused-other-unset", "failed", "alternate contact not set: billing; set it", None),
        ("alternate-contacts", "contact-refused-others-set", "error", "the security contact: account:GetAlternateContact failed: AccessDeniedException", None),
        ("config-recorder", "config-region-refused", "passed", "the recorders of eu-west-1: config:DescribeConfigurationRecorders failed: AccessDeniedException", None),
        ("config-recorder", "config-only-region-refused", "error", "the recorders of us-east-1: config:DescribeConfigurationRecorders failed: AccessDeniedException", None),
        # GetAccountSummary refused: the credential report still shows keys and use.
        ("root-access-keys", "summary-refused-key-shown", "failed", "access_key_1 (active)", None),
        ("root-access-keys", "summary-refused-no-key", "error", "iam:GetAccountSummary failed: AccessDenied", None),
        ("root-recent-use", "summary-refused-no-key", "passed", None, "GetAccountSummary"),
        ("root-mfa", "summary-refused-no-key", "error", "iam:GetAccountSummary failed: AccessDenied", None),
        ("cloudtrail-bucket-private", "bucket-acl-of-one-refused", "failed", "its ACL grants READ to everyone", None),
        ("cloudtrail-bucket-versioning", "bucket-acl-of-one-refused", "passed", None, "GetBucketAcl"),
    ],
)
def test_a_refused_piece_spoils_only_what_it_could_change(pytester, control, account, outcome, names, absent):
    found = verdict(pytester, control, account)
    assert found["outcome"] == outcome, found["message"]
    if names:
        assert names in found["message"]
    if absent:
        assert absent not in found["message"]


def test_a_proven_failure_names_what_could_not_be_read(pytester):
    message = verdict(pytester, "cloudtrail-bucket-private", "bucket-acl-of-one-refused")["message"]
    assert "not read, and not needed for this verdict: bucket alpha-logs-415 of multi-region trail alpha (us-east-1): s3:GetBucketAcl failed: AccessDenied" in message
    message = verdict(pytester, "alternate-contacts", "contact-refused-other-unset")["message"]
    assert "the security contact: account:GetAlternateContact failed: AccessDeniedException" in message
