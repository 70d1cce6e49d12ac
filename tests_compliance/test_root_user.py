"""Root user controls: MFA, hardware MFA, access keys and recent use."""

import datetime as dt

from rootguard.controls import control, fail
from rootguard.errors import FactError

NO_CREDENTIALS = (
    "root has no password and no access keys (removed, e.g. by centralized root access in AWS Organizations), "
    "so nobody can sign in as root and MFA is neither possible nor needed"
)


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d} ({(now - moment).days} days ago)"


@control(
    id="root-mfa",
    title="The root user has MFA",
    severity="critical",
    rationale="""Root can do anything in the account, including close it; a password alone
        is one phishing email away from a takeover. MFA is the last line of defence.""",
    remediation="""Sign in as root, open Security credentials and assign an MFA device (a hardware
        key for production), or remove root credentials centrally: AWS Organizations >
        IAM > Root access management.""",
    facts=["iam.root"],
    frameworks={"soc2": ["CC6.1", "CC6.6"], "iso27001": ["A.8.5", "A.8.2", "A.5.17"], "cis-v3": ["1.5"], "cis-v5": ["1.4"], "securityhub": ["IAM.9"]},
)
def test_root_mfa(account):
    root = account.fact("iam.root")
    if not root.has_credentials:
        account.passes_because(NO_CREDENTIALS)
        return
    if root.mfa_enabled and root.report_mfa_active:
        account.passes_because("root has MFA (GetAccountSummary AccountMFAEnabled = 1, credential report mfa_active = true)")
        return
    if root.mfa_enabled != root.report_mfa_active:
        raise FactError(
            f"GetAccountSummary says root MFA is {'on' if root.mfa_enabled else 'off'} but the credential report generated "
            f"{root.report_generated_at:%Y-%m-%d %H:%M}Z says {'on' if root.report_mfa_active else 'off'}; "
            "the report is at most 4 hours old: run again once it is regenerated",
            action="iam:GetCredentialReport",
            code="Inconsistent",
        )
    fail("root user has no MFA; sign in as root > Security credentials > Assign MFA device (hardware key for production)")


@control(
    id="root-hardware-mfa",
    title="The root user's MFA is a hardware device, not a virtual one",
    severity="high",
    rationale="""A virtual MFA lives on a phone that is lost, replaced or backed up to the cloud;
        the root user's second factor should be a dedicated hardware key kept under control.""",
    remediation="""Sign in as root, add a hardware MFA or FIDO security key under Security credentials,
        then remove the virtual device; or remove root credentials centrally in AWS Organizations.""",
    facts=["iam.root", "iam.root_virtual_mfa"],
    frameworks={"soc2": ["CC6.1", "CC6.6"], "iso27001": ["A.8.5", "A.8.2"], "cis-v3": ["1.6"], "cis-v5": ["1.5"], "securityhub": ["IAM.6"]},
)
def test_root_hardware_mfa(account):
    root = account.fact("iam.root")
    if not root.has_credentials:
        account.passes_because(NO_CREDENTIALS)
        return
    if not root.mfa_enabled:
        fail("root user has no MFA at all, so none of it is hardware; assign a hardware MFA device to root")
    virtual = account.fact("iam.root_virtual_mfa")
    if virtual:
        fail(f"root MFA is a virtual device ({', '.join(virtual)}); replace it with a hardware key: sign in as root > Security credentials")
    account.passes_because("root has MFA and no virtual MFA device is assigned to it, so its MFA is a hardware device")


@control(
    id="root-access-keys",
    title="The root user has no access keys",
    severity="critical",
    rationale="""A root access key gives unrestricted, MFA-free API access to the whole account and
        tends to end up in scripts and CI settings; even an inactive one can be turned back on.""",
    remediation="""Sign in as root, open Security credentials > Access keys and delete every key (use IAM
        roles instead), or remove root credentials centrally in AWS Organizations.""",
    facts=["iam.root"],
    frameworks={"soc2": ["CC6.1", "CC6.3"], "iso27001": ["A.8.2", "A.5.17"], "cis-v3": ["1.4"], "cis-v5": ["1.3"], "securityhub": ["IAM.4"]},
)
def test_root_access_keys(account):
    root = account.fact("iam.root")
    if root.access_keys:
        keys = ", ".join(f"access_key_{k.slot} ({'active' if k.active else 'inactive'})" for k in root.access_keys)
        fail(f"root user has {len(root.access_keys)} access key(s): {keys}; delete them: sign in as root > Security credentials > Access keys")
    if root.access_keys_present:
        fail(
            "GetAccountSummary reports AccountAccessKeysPresent = 1 (a root access key exists, newer than the credential report); "
            "delete it: sign in as root > Security credentials > Access keys"
        )
    account.passes_because("root has no access keys, active or inactive (credential report and GetAccountSummary agree)")


@control(
    id="root-recent-use",
    title="The root user is not used for daily work",
    severity="high",
    rationale="""Root should be used only for the few tasks that need it; recent sign-ins or key use
        mean people work as root, without the least privilege and traceability of IAM roles.""",
    remediation="""Find out who used root and why (CloudTrail, userIdentity.type = Root); move that work to
        IAM roles, and keep root for the tasks that require it.""",
    facts=["iam.root"],
    frameworks={"soc2": ["CC6.3", "CC7.2"], "iso27001": ["A.8.2", "A.5.15"], "cis-v3": ["1.7"], "cis-v5": ["1.6"]},
)
def test_root_recent_use(account):
    days = account.params["root_recent_use_days"]
    since = account.now - dt.timedelta(days=days)
    root = account.fact("iam.root")
    recent = [(what, when) for what, when in root.last_used if when >= since]
    if recent:
        uses = "; ".join(f"{what} used on {_when(when, account.now)}" for what, when in sorted(recent, key=lambda u: u[1], reverse=True))
        fail(f"root was used within the last {days} days: {uses}; move that work to IAM roles and keep root for root-only tasks")
    if root.last_used:
        what, when = max(root.last_used, key=lambda u: u[1])
        account.passes_because(f"root last used: {what} on {_when(when, account.now)}, more than {days} days ago")
    else:
        account.passes_because("the credential report shows no use of the root password or access keys")
