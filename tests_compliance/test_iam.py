"""IAM controls: a way in that is not root, console MFA for IAM users, and the password policy."""

from rootguard.controls import control, fail
from rootguard.errors import FactError

REUSE_PREVENTION = 24


@control(
    id="break-glass-admins",
    title="At least two administrators besides root, every IAM user among them with MFA",
    severity="medium",
    rationale="""With one administrator, a lost device or a departed person leaves root as the only way in,
        and root then gets used; two independent administrators keep root in the safe. An administrator
        that is an IAM user with a password or key alone is the easiest account takeover there is.""",
    remediation="""Keep at least two principals with AdministratorAccess (roles assumed through SSO, or
        break-glass IAM users), and assign an MFA device to every IAM user among them:
        IAM > Users > (user) > Security credentials > Assign MFA device.""",
    passes_when="""at least two distinct principals (IAM users or roles) hold administrator access
        (AdministratorAccess, or a customer managed or inline policy allowing `*` on `*`, directly
        or through a group), and every IAM user among them has MFA (credential report)""",
    facts=["iam.administrators", "iam.users"],
    frameworks={"soc2": ["CC6.1", "CC6.2", "CC6.3"], "iso27001": ["A.8.2", "A.5.18", "A.8.5"]},
)
def test_break_glass_admins(account):
    admins = account.fact("iam.administrators")
    users = {u.arn: u for u in account.fact("iam.users")}
    unknown = [a for a in admins if a.kind == "user" and a.arn not in users]
    if unknown:
        raise FactError(
            f"IAM user {unknown[0].name} holds administrator access but is not in the credential report yet; "
            "the report is at most 4 hours old: run again once it is regenerated",
            action="iam:GetCredentialReport",
            code="Inconsistent",
        )
    without_mfa = [a for a in admins if a.kind == "user" and not users[a.arn].mfa]
    if without_mfa:
        names = "; ".join(a.describe() for a in without_mfa)
        fail(f"IAM user(s) with administrator access and no MFA: {names}; assign MFA: IAM > Users > Security credentials")
    if len(admins) < 2:
        held = admins[0].describe() if admins else "no principal"
        fail(
            f"only {len(admins)} principal(s) hold administrator access ({held}); keep at least two "
            "(a second SSO role or an MFA-protected break-glass user) so root is not the only way back in"
        )
    account.passes_because(f"{len(admins)} principals hold administrator access: " + "; ".join(a.describe() for a in admins))


@control(
    id="iam-console-mfa",
    title="Every IAM user with a console password has MFA",
    severity="high",
    rationale="""A console password alone falls to phishing and reuse; an IAM user who signs in to the
        console without MFA is a way into the account that bypasses everything done for root.""",
    remediation="""Assign an MFA device to each listed user (IAM > Users > (user) > Security credentials >
        Assign MFA device), or remove the console password of users who do not need one.""",
    passes_when="every IAM user with a console password has MFA (credential report); no such user passes",
    facts=["iam.users"],
    frameworks={
        "soc2": ["CC6.1"],
        "iso27001": ["A.8.5", "A.5.17"],
        "cis-v3": ["1.10"],
        "cis-v5": ["1.9"],
        "cis-v6": ["2.9"],
        "cis-v7": ["2.10"],
        "securityhub": ["IAM.5"],
    },
)
def test_iam_console_mfa(account):
    with_password = [u for u in account.fact("iam.users") if u.console_password]
    without_mfa = [u.name for u in with_password if not u.mfa]
    if without_mfa:
        fail(
            f"{len(without_mfa)} IAM user(s) with a console password have no MFA: {', '.join(without_mfa)}; "
            "assign MFA or remove the password: IAM > Users > Security credentials"
        )
    if not with_password:
        account.passes_because("no IAM user has a console password (credential report)")
        return
    account.passes_because(f"all {len(with_password)} IAM user(s) with a console password have MFA (credential report)")


@control(
    id="password-policy",
    title="The IAM password policy asks for long passwords and prevents reuse",
    severity="medium",
    rationale="""IAM users' passwords are only as strong as the account's password policy lets them be;
        without one AWS accepts 8 characters and the same password again after every rotation.""",
    remediation="""Set a password policy with a minimum length of at least 14 and "prevent password reuse"
        of 24: IAM > Account settings > Password policy
        (aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24).""",
    passes_when="""the IAM password policy requires at least `min_password_length` ({min_password_length})
        characters and prevents reuse of the last 24 passwords; no policy fails""",
    facts=["iam.password_policy"],
    frameworks={
        "soc2": ["CC6.1"],
        "iso27001": ["A.5.17"],
        "cis-v3": ["1.8", "1.9"],
        "cis-v5": ["1.7", "1.8"], "cis-v6": ["2.7", "2.8"], "cis-v7": ["2.8", "2.9"],
        "securityhub": ["IAM.15", "IAM.16"],
    },
)
def test_password_policy(account):
    minimum = account.params["min_password_length"]
    policy = account.fact("iam.password_policy")
    if policy is None:
        fail(
            f"no IAM password policy is set, so AWS's default (8 characters, reuse allowed) applies; set a minimum length of "
            f"{minimum} and prevent reuse of {REUSE_PREVENTION}: IAM > Account settings"
        )
    problems = []
    if policy.min_length < minimum:
        problems.append(f"minimum length is {policy.min_length}, not at least {minimum}")
    if (policy.reuse_prevention or 0) < REUSE_PREVENTION:
        reuse = f"only the last {policy.reuse_prevention} passwords" if policy.reuse_prevention else "no earlier password"
        problems.append(f"it keeps users from reusing {reuse}, not the last {REUSE_PREVENTION}")
    if problems:
        fail(f"IAM password policy: {'; '.join(problems)}; raise it: IAM > Account settings > Password policy")
    account.passes_because(
        f"IAM password policy: minimum length {policy.min_length}, prevents reuse of the last {policy.reuse_prevention} passwords"
    )
