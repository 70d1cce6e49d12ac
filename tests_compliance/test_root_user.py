"""Root user controls: MFA, hardware MFA, access keys and recent use."""

import datetime as dt

from rootguard.controls import control, fail
from rootguard.errors import FactError
from rootguard.controls.partial import Gaps

NO_CREDENTIALS = (
    "root has no password and no access keys (removed, e.g. by centralized root access in AWS Organizations), "
    "so nobody can sign in as root and MFA is neither possible nor needed"
)


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d} ({(now - moment).days} days ago)"


def _root(account):
    """Root's credential report row and account summary, each None where unread (noted in the gaps)."""
    gaps = Gaps()
    report = gaps.read(account.attempt("iam.root_report"), "root's row of the credential report")
    summary = gaps.read(account.attempt("iam.root_summary"), "root's account summary")
    return report, summary, gaps


def _root_with_mfa_question(account):
    """For the MFA controls: report, summary, gaps, and whether root has credentials; passes when it has none."""
    report, summary, gaps = _root(account)
    if summary is None:
        gaps.undecided("whether root has MFA (GetAccountSummary is the live record)")
    credentials, which = _credentials(report, summary)
    if credentials is False:
        account.passes_because(NO_CREDENTIALS + gaps.note())
    return report, summary, gaps, credentials, which


def _credentials(report, summary) -> tuple[bool | None, str]:
    """Whether root can sign in or call APIs (None: cannot be told), and which credential says so."""
    if summary.access_keys_present or (report is not None and report.access_keys):
        return True, "an access key"
    if summary.password_present:
        return True, "a password"
    if summary.password_present is None:
        if report is not None and report.password_last_used is not None:
            return True, f"a password (used {report.password_last_used:%Y-%m-%d})"
        return None, ""
    return False, ""


def _password_unknown(question: str) -> FactError:
    return FactError(
        f"iam:GetAccountSummary: the response has no AccountPasswordPresent (in the API since November 2024), and root has "
        f"no access key and no recorded password use, so whether root can sign in, and {question}, cannot be told",
        action="iam:GetAccountSummary",
        code="UnexpectedResponse",
    )


@control(
    id="root-mfa",
    title="The root user has MFA",
    severity="critical",
    rationale="""Root can do anything in the account, including close it; a password alone
        is one phishing email away from a takeover. MFA is the last line of defence.""",
    remediation="""Sign in as root, open Security credentials and assign an MFA device (a hardware
        key for production), or remove root credentials centrally: AWS Organizations >
        IAM > Root access management.""",
    passes_when="""the root user has MFA (GetAccountSummary `AccountMFAEnabled`, with the credential report's
        `mfa_active` agreeing where it was read), or root has no credentials (no password, no access
        keys)""",
    facts=["iam.root_report", "iam.root_summary"],
    frameworks={
        "soc2": ["CC6.1", "CC6.6"],
        "iso27001": ["A.8.5", "A.8.2", "A.5.17"],
        "cis-v3": ["1.5"],
        "cis-v5": ["1.4"],
        "cis-v6": ["2.4"],
        "cis-v7": ["2.5"],
        "securityhub": ["IAM.9"],
    },
)
def test_root_mfa(account):
    report, summary, gaps, credentials, which = _root_with_mfa_question(account)
    if credentials is False:
        return
    if summary.mfa_enabled and (report is None or report.mfa_active):
        shown = ", credential report mfa_active = true" if report is not None else ""
        account.passes_because(f"root has MFA (GetAccountSummary AccountMFAEnabled = 1{shown}){gaps.note()}")
        return
    if report is not None and summary.mfa_enabled != report.mfa_active:
        raise FactError(
            f"GetAccountSummary says root MFA is {'on' if summary.mfa_enabled else 'off'} but the credential report generated "
            f"{report.generated_at:%Y-%m-%d %H:%M}Z says {'on' if report.mfa_active else 'off'}; "
            "the report is at most 4 hours old: run again once it is regenerated",
            action="iam:GetCredentialReport",
            code="Inconsistent",
        )
    if credentials is None:
        raise _password_unknown("so whether it needs MFA")
    fail(
        f"root user has {which} and no MFA; sign in as root > Security credentials > Assign MFA device "
        f"(hardware key for production){gaps.note()}"
    )


@control(
    id="root-hardware-mfa",
    title="The root user's MFA is a hardware device, not a virtual one",
    severity="high",
    rationale="""A virtual MFA lives on a phone that is lost, replaced or backed up to the cloud;
        the root user's second factor should be a dedicated hardware key kept under control.""",
    remediation="""Sign in as root, add a hardware MFA or FIDO security key under Security credentials,
        then remove the virtual device; or remove root credentials centrally in AWS Organizations.""",
    passes_when="""root has MFA and no virtual MFA device is assigned to the root ARN, or root has no
        credentials""",
    facts=["iam.root_report", "iam.root_summary", "iam.root_virtual_mfa"],
    frameworks={
        "soc2": ["CC6.1", "CC6.6"],
        "iso27001": ["A.8.5", "A.8.2"],
        "cis-v3": ["1.6"],
        "cis-v5": ["1.5"],
        "cis-v6": ["2.5"],
        "cis-v7": ["2.6"],
        "securityhub": ["IAM.6"],
    },
)
def test_root_hardware_mfa(account):
    report, summary, gaps, credentials, which = _root_with_mfa_question(account)
    if credentials is False:
        return
    if not summary.mfa_enabled:
        if credentials is None:
            raise _password_unknown("so whether it needs a hardware MFA device")
        fail(f"root user has {which} and no MFA at all, so none of it is hardware; assign a hardware MFA device to root{gaps.note()}")
    virtual = account.fact("iam.root_virtual_mfa")
    if virtual:
        fail(
            f"root MFA is a virtual device ({', '.join(virtual)}); replace it with a hardware key: sign in as root > "
            f"Security credentials{gaps.note()}"
        )
    account.passes_because(f"root has MFA and no virtual MFA device is assigned to it, so its MFA is a hardware device{gaps.note()}")


@control(
    id="root-access-keys",
    title="The root user has no access keys",
    severity="critical",
    rationale="""A root access key gives unrestricted, MFA-free API access to the whole account and
        tends to end up in scripts and CI settings; even an inactive one can be turned back on.""",
    remediation="""Sign in as root, open Security credentials > Access keys and delete every key (use IAM
        roles instead), or remove root credentials centrally in AWS Organizations.""",
    passes_when="""root has no access keys, active or inactive (credential report and
        `AccountAccessKeysPresent`)""",
    facts=["iam.root_report", "iam.root_summary"],
    frameworks={
        "soc2": ["CC6.1", "CC6.3"],
        "iso27001": ["A.8.2", "A.5.17"],
        "cis-v3": ["1.4"],
        "cis-v5": ["1.3"],
        "cis-v6": ["2.3"],
        "cis-v7": ["2.4"],
        "securityhub": ["IAM.4"],
    },
)
def test_root_access_keys(account):
    report, summary, gaps = _root(account)
    if report is not None and report.access_keys:
        keys = ", ".join(
            f"access_key_{k.slot} ({'active' if k.active else 'inactive'}"
            + (f", last used {k.last_used:%Y-%m-%d}" if k.last_used else "") + ")"
            for k in report.access_keys
        )
        fail(
            f"root user has {len(report.access_keys)} access key(s): {keys}; delete them: sign in as root > "
            f"Security credentials > Access keys{gaps.note()}"
        )
    if summary is None:
        gaps.undecided("whether root has an access key (the credential report shows none, but it can be 4 hours old)")
    if summary.access_keys_present:
        fail(
            "GetAccountSummary reports AccountAccessKeysPresent = 1 (a root access key exists, newer than the credential report); "
            f"delete it: sign in as root > Security credentials > Access keys{gaps.note()}"
        )
    if report is None:
        account.passes_because(f"GetAccountSummary reports AccountAccessKeysPresent = 0: root has no access keys{gaps.note()}")
        return
    account.passes_because(f"root has no access keys, active or inactive (credential report and GetAccountSummary agree){gaps.note()}")


@control(
    id="root-recent-use",
    title="The root user is not used for daily work",
    severity="high",
    rationale="""Root should be used only for the few tasks that need it; recent sign-ins or key use
        mean people work as root, without the least privilege and traceability of IAM roles.""",
    remediation="""Find out who used root and why (CloudTrail, userIdentity.type = Root); move that work to
        IAM roles, and keep root for the tasks that require it.""",
    passes_when="""neither the root password nor a root access key was used within `root_recent_use_days`
        ({root_recent_use_days})""",
    facts=["iam.root_report"],
    frameworks={
        "soc2": ["CC6.3", "CC7.2"],
        "iso27001": ["A.8.2", "A.5.15"],
        "cis-v3": ["1.7"],
        "cis-v5": ["1.6"],
        "cis-v6": ["2.6"],
        "cis-v7": ["2.7"],
    },
)
def test_root_recent_use(account):
    days = account.params["root_recent_use_days"]
    since = account.now - dt.timedelta(days=days)
    root = account.fact("iam.root_report")
    recent = [(what, when) for what, when in root.last_used if when >= since]
    if recent:
        uses = "; ".join(f"{what} used on {_when(when, account.now)}" for what, when in sorted(recent, key=lambda u: u[1], reverse=True))
        fail(f"root was used within the last {days} days: {uses}; move that work to IAM roles and keep root for root-only tasks")
    if root.last_used:
        what, when = max(root.last_used, key=lambda u: u[1])
        account.passes_because(f"root last used: {what} on {_when(when, account.now)}, more than {days} days ago")
    else:
        account.passes_because("the credential report shows no use of the root password or access keys")