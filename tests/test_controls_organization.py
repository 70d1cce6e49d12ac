"""Organization controls on seeded moto state: SCPs that deny root, and centralized root access."""

import pytest

from tests.shared_runs import accounts, judged

NARROWED = """\
Version: "2012-10-17"
Statement:
  - Effect: Deny
    Action: "*"
    Resource: "*"
    Condition:
      StringLike: {"aws:PrincipalArn": "arn:aws:iam::*:root"}
      StringEquals: {"aws:RequestedRegion": "us-east-1"}
"""
EC2_ONLY = """\
Version: "2012-10-17"
Statement:
  - {Effect: Deny, Action: "ec2:*", Resource: "*", Condition: {StringLike: {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}
"""
MFA_EXCEPTION = """\
Version: "2012-10-17"
Statement:
  - Effect: Deny
    NotAction: ["iam:EnableMFADevice"]
    Resource: "*"
    Condition: {ArnLike: {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
"""


def scp(name: str, document: str, target: str) -> str:
    return f"  - name: {name}\n    targets: [{target}]\n    document:\n" + "".join(f"      {line}\n" for line in document.splitlines())


SCPS = accounts(
    '- {id: "210000000001", name: through-ou, ou: Denied}\n',
    '- {id: "210000000002", name: on-account}\n',
    '- {id: "210000000003", name: no-scp}\n',
    '- {id: "210000000004", name: region-only, ou: Narrow}\n',
    '- {id: "210000000005", name: ec2-only, ou: Partial}\n',
    '- {id: "210000000006", name: mfa-exception, ou: Excepted}\n',
    '- {id: "210000000007", name: outsider, standalone: true}\n',
    organization="ous: [{name: Denied}, {name: Narrow}, {name: Partial}, {name: Excepted}]\n"
    "service_control_policies:\n"
    "  - {name: deny-root, document: deny-root, targets: [Denied, on-account]}\n"
    + scp("deny-root-in-us-east-1", NARROWED, "Narrow")
    + scp("deny-root-ec2", EC2_ONLY, "Partial")
    + scp("deny-root-but-mfa", MFA_EXCEPTION, "Excepted"),
)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("through-ou", "passed", "SCP deny-root (on OU ou-"),
        ("on-account", "passed", "SCP deny-root (on the account) denies every action to arn:aws:iam::210000000002:root"),
        ("no-scp", "failed", "no SCP above the account denies its root user (SCPs: SCP FullAWSAccess (on the account)"),
        ("region-only", "failed", "SCP deny-root-in-us-east-1 (on OU ou-"),
        ("region-only", "failed", "applies only with StringEquals aws:RequestedRegion"),
        ("ec2-only", "failed", "denies root only ec2:*"),
        ("mfa-exception", "failed", "leaves iam:EnableMFADevice to root"),
        ("hub", "skipped", "this is the management account of o-"),
        ("outsider", "skipped", "the account is not in an AWS Organization"),
    ],
    ids=[
        "deny-on-ou",
        "deny-on-account",
        "fullawsaccess-only",
        "narrowed-by-region",
        "narrowed-names-condition",
        "only-some-actions",
        "exception-not-allowed",
        "management-account",
        "outside-organization",
    ],
)
def test_scp_deny_root(judge, account, outcome, says):
    verdicts = judged(judge, SCPS, "scp-deny-root")
    assert verdicts.outcome("scp-deny-root", account) == outcome
    assert says in verdicts.message("scp-deny-root", account)


def test_scp_deny_root_exception_the_profile_allows(judge):
    verdicts = judged(judge, SCPS, "scp-deny-root", profile_extra="params:\n  scp_root_allowed_actions: [iam:EnableMFADevice]\n")
    assert verdicts.outcome("scp-deny-root", "mfa-exception") == "passed"
    assert "except iam:EnableMFADevice (allowed by params.scp_root_allowed_actions)" in verdicts.message("scp-deny-root", "mfa-exception")
    assert verdicts.outcome("scp-deny-root", "ec2-only") == "failed"


def member_root_access(features: str) -> str:
    return accounts(
        '- {id: "210000000001", name: member}\n',
        '- {id: "210000000002", name: own-org-on, standalone: true, own_organization: {root_credentials_management: true, root_sessions: true}}\n',
        '- {id: "210000000003", name: own-org-off, standalone: true, own_organization: {}}\n',
        '- {id: "210000000004", name: outsider, standalone: true}\n',
        organization=features,
    )


BOTH_ON = member_root_access("root_credentials_management: true\nroot_sessions: true\n")
SESSIONS_OFF = member_root_access("root_credentials_management: true\nroot_sessions: false\n")


@pytest.mark.parametrize(
    "scenario, account, outcome, says",
    [
        (BOTH_ON, "hub", "passed", "has RootCredentialsManagement and RootSessions enabled (judged once, from the management view)"),
        (BOTH_ON, "member", "passed", "has RootCredentialsManagement and RootSessions enabled"),
        (BOTH_ON, "own-org-on", "passed", "has RootCredentialsManagement and RootSessions enabled"),
        (BOTH_ON, "own-org-off", "failed", "(management account 210000000003) has not enabled RootCredentialsManagement, RootSessions"),
        (BOTH_ON, "outsider", "skipped", "the account is not in an AWS Organization"),
        (SESSIONS_OFF, "hub", "failed", "(management account 123456789012) has not enabled RootSessions; enable it"),
        (SESSIONS_OFF, "member", "failed", "has not enabled RootSessions"),
    ],
    ids=[
        "management-both-enabled",
        "member-from-management-view",
        "own-organization-enabled",
        "own-organization-neither",
        "outside-organization",
        "management-sessions-off",
        "member-sessions-off",
    ],
)
def test_centralized_root_access(judge, scenario, account, outcome, says):
    verdicts = judged(judge, scenario, "centralized-root-access")
    assert verdicts.outcome("centralized-root-access", account) == outcome
    assert says in verdicts.message("centralized-root-access", account)


def test_centralized_root_access_is_read_once_for_the_organization(judge):
    verdicts = judged(judge, BOTH_ON, "centralized-root-access")
    member = verdicts.entry("centralized-root-access", "member")
    assert any(path.startswith("evidence/123456789012/iam.organizations_features") for path in member["evidence"])
    assert not any(path.startswith("evidence/210000000001/iam.organizations_features") for path in member["evidence"])
