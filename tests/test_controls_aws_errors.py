"""An AWS error behind any of the new facts ends as `error`, naming the action; never as passed or failed."""

import pytest

from tests.shared_runs import accounts
from tests.test_run import inject

MEMBER = "210000000071"
SCENARIO = accounts(
    f'- {{id: "{MEMBER}", name: member}}\n',
    hub="""\
    trails: [{name: main, s3_bucket: main-trail-logs, cloudwatch_logs: {log_group: main-logs}}]
    iam: {password_policy: {min_length: 14, reuse_prevention: 24}}
    """,
    organization="root_credentials_management: true\nroot_sessions: true\n",
)
# One failing operation per fact family; a control reading it must say so.
FAILING = {
    "ListTargetsForPolicy": ("scp-deny-root", "member", "organizations:ListTargetsForPolicy failed: AccessDenied"),
    "ListOrganizationsFeatures": ("centralized-root-access", "member", "iam:ListOrganizationsFeatures failed: AccessDenied"),
    "GetContactInformation": ("root-contact-details", "hub", "account:GetContactInformation failed: AccessDenied"),
    "GetAccountAuthorizationDetails": ("break-glass-admins", "hub", "iam:GetAccountAuthorizationDetails failed: AccessDenied"),
    "GetAccountPasswordPolicy": ("password-policy", "hub", "iam:GetAccountPasswordPolicy failed: AccessDenied"),
    "ListDetectors": ("guardduty-enabled", "hub", "guardduty:ListDetectors failed: AccessDenied"),
    "DescribeConfigurationRecorders": ("config-recorder", "hub", "config:DescribeConfigurationRecorders failed: AccessDenied"),
    "GetBucketPolicyStatus": ("cloudtrail-bucket-private", "hub", "s3:GetBucketPolicyStatus failed: AccessDenied"),
    "GetBucketVersioning": ("cloudtrail-bucket-versioning", "hub", "s3:GetBucketVersioning failed: AccessDenied"),
    "DescribeLogGroups": ("log-retention", "hub", "logs:DescribeLogGroups failed: AccessDenied"),
}
_VERDICTS = {}


@pytest.fixture
def verdicts(judge, monkeypatch):
    if "run" not in _VERDICTS:
        inject(monkeypatch, lambda client, operation, params: "AccessDenied" if operation in FAILING else None)
        _VERDICTS["run"] = judge(SCENARIO, args=("-k", " or ".join("test_" + c.replace("-", "_") for c, _, _ in FAILING.values())))
    return _VERDICTS["run"]


@pytest.mark.parametrize("operation", sorted(FAILING))
def test_aws_error_is_error(verdicts, operation):
    control, account, says = FAILING[operation]
    found = [r for r in verdicts.data["results"] if r["control"] == control and r["account_name"] == account]
    assert found and {r["outcome"] for r in found} == {"error"}
    assert all(says in r["message"] for r in found)

