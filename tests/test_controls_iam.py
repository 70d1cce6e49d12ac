"""IAM controls on seeded moto state: break-glass administrators, console MFA and the password policy."""

import pytest

from tests.shared_runs import accounts, judged

IAM_CONTROLS = ("break-glass-admins", "iam-console-mfa", "password-policy")
IAM = accounts(
    """\
    - id: "210000000011"
      name: mixed-admins
      iam:
        policies: [{name: full-admin, document: admin}]
        users: [{name: carol, mfa: true, policies: [full-admin]}]
        roles: [{name: ops, inline_policies: [{name: everything, document: admin}]}]
    """,
    """\
    - id: "210000000012"
      name: single-admin
      iam:
        password_policy: {min_length: 8, reuse_prevention: 24}
        policies:
          - name: s3-only
            document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}
        users: [{name: dave, console_password: true, policies: [s3-only]}]
        roles: [{name: solo, policies: [AdministratorAccess]}]
    """,
    """\
    - id: "210000000013"
      name: unprotected-admin
      iam:
        password_policy: {min_length: 14, reuse_prevention: 10}
        users: [{name: erin, console_password: true, policies: [AdministratorAccess]}]
        roles: [{name: responder, policies: [AdministratorAccess]}]
    """,
    """\
    - id: "210000000014"
      name: no-admin
      iam:
        password_policy: {min_length: 14}
    """,
    """\
    - id: "210000000015"
      name: api-user
      iam:
        users: [{name: frank}, {name: gina, console_password: true, mfa: true}]
    """,
    hub="""\
    iam:
      password_policy: {min_length: 14, reuse_prevention: 24}
      groups: [{name: admins, policies: [AdministratorAccess]}]
      users:
        - {name: alice, console_password: true, mfa: true, policies: [AdministratorAccess]}
        - {name: bob, console_password: true, mfa: true, groups: [admins]}
    """,
)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "2 principals hold administrator access: user alice (AdministratorAccess); user bob (group admins: AdministratorAccess)"),
        ("mixed-admins", "passed", "user carol (policy full-admin); role ops (inline policy everything)"),
        ("single-admin", "failed", "only 1 principal(s) hold administrator access (role solo (AdministratorAccess)); keep at least two"),
        ("no-admin", "failed", "only 0 principal(s) hold administrator access (no principal)"),
        ("unprotected-admin", "failed", "IAM user(s) with administrator access and no MFA: user erin (AdministratorAccess)"),
    ],
    ids=["two-users-with-mfa", "customer-and-inline-policies", "one-admin-narrow-policy-ignored", "no-admin", "admin-user-without-mfa"],
)
def test_break_glass_admins(judge, account, outcome, says):
    verdicts = judged(judge, IAM, *IAM_CONTROLS)
    assert verdicts.outcome("break-glass-admins", account) == outcome
    assert says in verdicts.message("break-glass-admins", account)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "all 2 IAM user(s) with a console password have MFA (credential report)"),
        ("mixed-admins", "passed", "no IAM user has a console password"),
        ("api-user", "passed", "all 1 IAM user(s) with a console password have MFA"),
        ("single-admin", "failed", "1 IAM user(s) with a console password have no MFA: dave;"),
        ("unprotected-admin", "failed", "have no MFA: erin;"),
    ],
    ids=["all-with-mfa", "no-console-users", "api-only-user-without-mfa", "console-user-without-mfa", "admin-without-mfa"],
)
def test_iam_console_mfa(judge, account, outcome, says):
    verdicts = judged(judge, IAM, *IAM_CONTROLS)
    assert verdicts.outcome("iam-console-mfa", account) == outcome
    assert says in verdicts.message("iam-console-mfa", account)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "IAM password policy: minimum length 14, prevents reuse of the last 24 passwords"),
        ("mixed-admins", "failed", "no IAM password policy is set, so AWS's default (8 characters, reuse allowed) applies"),
        ("single-admin", "failed", "IAM password policy: minimum length is 8, not at least 14;"),
        ("unprotected-admin", "failed", "it keeps users from reusing only the last 10 passwords, not the last 24"),
        ("no-admin", "failed", "it keeps users from reusing no earlier password, not the last 24"),
    ],
    ids=["strong", "no-policy", "too-short", "remembers-too-few", "reuse-allowed"],
)
def test_password_policy(judge, account, outcome, says):
    verdicts = judged(judge, IAM, *IAM_CONTROLS)
    assert verdicts.outcome("password-policy", account) == outcome
    assert says in verdicts.message("password-policy", account)


def test_password_policy_minimum_length_from_the_profile(judge):
    verdicts = judged(judge, IAM, "password-policy", profile_extra="params:\n  min_password_length: 20\n")
    assert verdicts.outcome("password-policy", "hub") == "failed"
    assert "minimum length is 14, not at least 20" in verdicts.message("password-policy", "hub")
