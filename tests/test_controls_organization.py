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



def test_scp_evidence_is_the_accounts_own_place_and_where_every_scp_is_attached(judge):
    evidence = judged(judge, SCPS, "scp-deny-root").entry("scp-deny-root", "through-ou")["evidence"]
    hub = [path.split("/")[-1].removesuffix(".json") for path in evidence if path.startswith("evidence/123456789012/")]
    # Its place: the root, the root's OUs (where Denied is listed), Denied's own accounts; no other OU's listing.
    place = [name.split("--") for name in hub if name.startswith(("organizations.roots", "organizations.child_units", "organizations.accounts_for_parent"))]
    assert sorted(fact for fact, *_ in place) == ["organizations.accounts_for_parent", "organizations.child_units", "organizations.roots"]
    (root,) = [params[-1] for fact, *params in place if fact == "organizations.child_units"]
    (unit,) = [params[-1] for fact, *params in place if fact == "organizations.accounts_for_parent"]
    assert root.startswith("r-") and unit.startswith("ou-")
    # Where every SCP is attached: FullAWSAccess and the four the scenario made, and their listing.
    assert sum(name.startswith("organizations.policy_targets") for name in hub) == 5
    assert "organizations.scp_attachments--us-east-1" in hub


def test_scp_reads_cost_requests_per_ou_and_policy_and_an_unknown_attachment_decides_only_what_it_could_change(judge, monkeypatch):
    from tests.test_run import inject

    calls: list[str] = []
    hidden: set[str] = set()

    def decide(client, operation, params):
        calls.append(operation)
        if operation == "ListTargetsForPolicy":
            if not hidden:
                hidden.update(p["Id"] for p in client.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == "deny-root-ec2")
            if params["PolicyId"] in hidden:
                return "AccessDenied"
        return None

    inject(monkeypatch, decide)
    verdicts = judge(SCPS, args=("-k", "test_scp_deny_root"))
    # Six members under one root and four OUs, five SCPs: the hub's requests follow the OUs and
    # the policies; none is made per account (ListParents and ListPoliciesForTarget would be).
    assert "ListParents" not in calls and "ListPoliciesForTarget" not in calls
    assert calls.count("ListAccountsForParent") == 5 and calls.count("ListOrganizationalUnitsForParent") == 5
    assert calls.count("ListTargetsForPolicy") == 5
    # Nobody knows where deny-root-ec2 is attached: a deny elsewhere still proves the pass, and says what was not read ...
    assert verdicts.outcome("scp-deny-root", "through-ou") == "passed"
    assert "organizations:ListTargetsForPolicy failed: AccessDenied" in verdicts.message("scp-deny-root", "through-ou")
    # ... but where no readable SCP denies root, the unknown one might: error, not failed.
    for account in ("no-scp", "ec2-only", "region-only"):
        assert verdicts.outcome("scp-deny-root", account) == "error", account
        assert "where it is attached" in verdicts.message("scp-deny-root", account)
    assert verdicts.outcome("scp-deny-root", "hub") == "skipped"
