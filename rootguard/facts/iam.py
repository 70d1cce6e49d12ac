"""IAM and STS facts: who we are, the root user's credentials, IAM users and administrators, the password policy.

Kept in one module (about 340 lines) because they share the credential report and its
readers: the root user's row and the IAM users' rows are two views of one document.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from dataclasses import dataclass

from rootguard.errors import FactError, UnexpectedResponse
from rootguard.facts.registry import fact
from rootguard.facts.shapes import flag, listing, maybe, need, timestamp
from rootguard.facts.policy_documents import grants_everything, parse_document, statements

REPORT_ACTION = "iam:GetCredentialReport"
ROOT_ROW = "<root_account>"
NO_DATE = ("N/A", "no_information", "not_supported", "")


# Read across accounts: every fact of an account stands on it, those read from other accounts too.
@fact("sts.caller_identity", read_across_accounts=True)
def caller_identity(ctx) -> dict:
    """Who the account's credentials are; also proves they reach the account we mean."""
    response = ctx.call("sts", "get_caller_identity")
    action = "sts:GetCallerIdentity"
    account = need(response, "Account", str, action)
    identity = {"Account": account, "Arn": need(response, "Arn", str, action), "UserId": need(response, "UserId", str, action)}
    if account != ctx.account.id:
        raise FactError(
            f"sts:GetCallerIdentity: the credentials for {ctx.account.label} reach account {account}; refusing to judge it",
            action=action,
            code="WrongAccount",
        )
    return identity


@fact("iam.credential_report")
def credential_report(ctx, wait_seconds: float = 60.0) -> dict:
    """The IAM credential report, parsed (GenerateCredentialReport, then GetCredentialReport)."""
    deadline = time.monotonic() + wait_seconds
    pause = 0.2
    while True:
        state = need(ctx.call("iam", "generate_credential_report"), "State", str, "iam:GenerateCredentialReport")
        if state == "COMPLETE":
            break
        if time.monotonic() > deadline:
            raise FactError(
                f"iam:GenerateCredentialReport: report still {state} after {wait_seconds:.0f} s",
                action="iam:GenerateCredentialReport",
                code="ReportNotReady",
            )
        time.sleep(pause)
        pause = min(pause * 2, 3.0)
    response = ctx.call("iam", "get_credential_report")
    content = need(response, "Content", (bytes, str), REPORT_ACTION)
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    # Keep the report readable in the evidence rather than as bytes.
    ctx.result.calls[-1].response = dict(response, Content=text)
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "user" not in rows[0]:
        raise UnexpectedResponse(f"{REPORT_ACTION}: report has no rows or no 'user' column", action=REPORT_ACTION)
    return {"generated_at": timestamp(need(response, "GeneratedTime", (dt.datetime, str), REPORT_ACTION), "GeneratedTime", REPORT_ACTION), "rows": rows}


@fact("iam.account_summary")
def account_summary(ctx) -> dict:
    """GetAccountSummary's SummaryMap."""
    return need(ctx.call("iam", "get_account_summary"), "SummaryMap", dict, "iam:GetAccountSummary")


@fact("iam.virtual_mfa_devices")
def virtual_mfa_devices(ctx) -> list:
    """Every assigned virtual MFA device (ListVirtualMFADevices, all pages)."""
    action = "iam:ListVirtualMFADevices"
    return listing(ctx, "iam", "list_virtual_mfa_devices", ("VirtualMFADevices",), action, token="Marker", AssignmentStatus="Assigned")[
        "VirtualMFADevices"
    ]


@dataclass(frozen=True)
class RootAccessKey:
    slot: int
    active: bool
    last_rotated: dt.datetime | None
    last_used: dt.datetime | None


@dataclass(frozen=True)
class RootReport:
    """The root user's row of the credential report: MFA, the password's and keys' last use.

    The report is at most four hours old. AWS writes `not_supported` in root's
    password_enabled column, so whether root has a password is GetAccountSummary's to say.
    """

    arn: str
    generated_at: dt.datetime
    mfa_active: bool
    password_last_used: dt.datetime | None
    access_keys: tuple[RootAccessKey, ...]  # every key slot the row shows a trace of

    @property
    def last_used(self) -> list[tuple[str, dt.datetime]]:
        uses = [("password", self.password_last_used)] + [(f"access key {k.slot}", k.last_used) for k in self.access_keys]
        return [(what, when) for what, when in uses if when is not None]


@dataclass(frozen=True)
class RootSummary:
    """What GetAccountSummary says of the root user, live."""

    password_present: bool | None  # None: the response has no AccountPasswordPresent (in the API since November 2024)
    mfa_enabled: bool
    access_keys_present: bool


def _report_date(row: dict, column: str) -> dt.datetime | None:
    if column not in row:
        raise UnexpectedResponse(f"{REPORT_ACTION}: root row has no {column!r} column", action=REPORT_ACTION)
    value = row[column]
    if value in NO_DATE:
        return None
    return timestamp(value, f"root {column}", REPORT_ACTION)


def _summary_flag(summary: dict, key: str) -> bool:
    value = need(summary, key, int, "iam:GetAccountSummary")
    if value not in (0, 1):
        raise UnexpectedResponse(f"iam:GetAccountSummary: {key} is {value}, not 0 or 1", action="iam:GetAccountSummary")
    return value == 1


@fact("iam.root_report")
def root_report(ctx) -> RootReport:
    """The root user's row of the credential report: MFA, password use and access keys."""
    report = ctx.fact("iam.credential_report")
    rows = [row for row in report["rows"] if row.get("user") == ROOT_ROW]
    if len(rows) != 1:
        raise UnexpectedResponse(f"{REPORT_ACTION}: expected one {ROOT_ROW} row, found {len(rows)}", action=REPORT_ACTION)
    row = rows[0]
    keys = []
    for slot in (1, 2):
        active = flag(row.get(f"access_key_{slot}_active"), f"root access_key_{slot}_active", REPORT_ACTION)
        rotated = _report_date(row, f"access_key_{slot}_last_rotated")
        used = _report_date(row, f"access_key_{slot}_last_used_date")
        # AWS writes N/A in last_rotated for a key that is not active, while its last use stays:
        # an inactive key shows only through that use, and the use is root's all the same.
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
        if active or rotated is not None or used is not None:
            keys.append(RootAccessKey(slot, active, rotated, used))
    return RootReport(
        arn=need(row, "arn", str, REPORT_ACTION),
        generated_at=report["generated_at"],
        mfa_active=flag(row.get("mfa_active"), "root mfa_active", REPORT_ACTION),
        password_last_used=_report_date(row, "password_last_used"),
        access_keys=tuple(keys),
    )


@fact("iam.root_summary")
def root_summary(ctx) -> RootSummary:
    """What GetAccountSummary says of root: password, MFA and access keys, live."""
    summary = ctx.fact("iam.account_summary")
    # AccountPasswordPresent came to the API in November 2024; AWS's own example response
    # (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html) lacks it.
    password = _summary_flag(summary, "AccountPasswordPresent") if "AccountPasswordPresent" in summary else None
    return RootSummary(
        password_present=password,
        mfa_enabled=_summary_flag(summary, "AccountMFAEnabled"),
        access_keys_present=_summary_flag(summary, "AccountAccessKeysPresent"),
    )


@fact("iam.root_virtual_mfa")
def root_virtual_mfa(ctx) -> list[str]:
    """Serial numbers of virtual MFA devices assigned to the root user."""
    action = "iam:ListVirtualMFADevices"
    root_arn = re.compile(rf"^arn:aws[\w-]*:iam::{ctx.account.id}:root$")
    serials = []
    for device in ctx.fact("iam.virtual_mfa_devices"):
        serial = need(device, "SerialNumber", str, action)
        user = device.get("User")
        user_arn = need(user, "Arn", str, action) if user is not None else ""
        if root_arn.match(user_arn) or serial.endswith(":mfa/root-account-mfa-device"):
            serials.append(serial)
    return serials


@fact("ec2.enabled_regions")
def enabled_regions(ctx) -> list[str]:
    """The regions enabled for the account (profile `regions: all`)."""
    regions = need(ctx.call("ec2", "describe_regions"), "Regions", list, "ec2:DescribeRegions")
    names = [
        need(r, "RegionName", str, "ec2:DescribeRegions")
        for r in regions
        if r.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")
    ]
    if not names:
        raise UnexpectedResponse("ec2:DescribeRegions: no enabled region", action="ec2:DescribeRegions")
    return sorted(names)


# --- IAM users, administrators and the password policy --------------------------------------

DETAILS = "iam:GetAccountAuthorizationDetails"
ADMINISTRATOR_ACCESS = re.compile(r"^arn:aws[\w-]*:iam::aws:policy/AdministratorAccess$")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int
    reuse_prevention: int | None  # how many earlier passwords cannot be reused; None: reuse allowed


@fact("iam.password_policy")
def password_policy(ctx) -> PasswordPolicy | None:
    """GetAccountPasswordPolicy; None when the account has none (NoSuchEntity)."""
    action = "iam:GetAccountPasswordPolicy"
    response = ctx.call("iam", "get_account_password_policy", absent=("NoSuchEntity",))
    if response is None:
        return None
    policy = need(response, "PasswordPolicy", dict, action)
    reuse = maybe(policy, "PasswordReusePrevention", int, action)
    return PasswordPolicy(need(policy, "MinimumPasswordLength", int, action), reuse or None)


@fact("iam.authorization_details")
def authorization_details(ctx) -> dict:
    """Users, groups, roles and customer managed policies with their documents (all pages)."""
    return listing(
        ctx,
        "iam",
        "get_account_authorization_details",
        ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"),
        DETAILS,
        token="Marker",
        Filter=["User", "Role", "Group", "LocalManagedPolicy"],
    )


@dataclass(frozen=True)
class IamUser:
    name: str
    arn: str
    console_password: bool
    mfa: bool


@fact("iam.users")
def users(ctx) -> list[IamUser]:
    """Every IAM user with whether it has a console password and MFA (credential report)."""
    result = []
    for row in ctx.fact("iam.credential_report")["rows"]:
        if row.get("user") == ROOT_ROW:
            continue
        result.append(
            IamUser(
                name=need(row, "user", str, REPORT_ACTION),
                arn=need(row, "arn", str, REPORT_ACTION),
                console_password=flag(row.get("password_enabled"), "password_enabled", REPORT_ACTION),
                mfa=flag(row.get("mfa_active"), "mfa_active", REPORT_ACTION),
            )
        )
    return result


@dataclass(frozen=True)
class Administrator:
    """A principal that holds administrator access, and the policies that give it."""

    kind: str  # user | role
    name: str
    arn: str
    through: tuple[str, ...]  # "AdministratorAccess", "inline policy x", "group admins: policy y"

    def describe(self) -> str:
        return f"{self.kind} {self.name} ({', '.join(self.through)})"


def _admin_policies(entry: dict, inline_key: str, admin_arns: dict[str, str], label: str = "") -> list[str]:
    """Which of an entity's managed and inline policies grant everything."""
    found = []
    for attached in need(entry, "AttachedManagedPolicies", list, DETAILS):
        arn = need(attached, "PolicyArn", str, DETAILS)
        if arn in admin_arns:
            found.append(label + admin_arns[arn])
    for inline in need(entry, inline_key, list, DETAILS):
        document = parse_document(need(inline, "PolicyDocument", (dict, str), DETAILS), DETAILS)
        if any(grants_everything(s) for s in statements(document, DETAILS)):
            found.append(f"{label}inline policy {need(inline, 'PolicyName', str, DETAILS)}")
    return found


@fact("iam.administrators")
def administrators(ctx) -> list[Administrator]:
    """Users and roles with AdministratorAccess or a policy allowing every action on every resource.

    AdministratorAccess is recognised by its ARN (AWS managed, it is not in the listing);
    customer managed policies by their default version, inline policies by their document.
    A user also holds what its groups' policies grant.
    """
    details = ctx.fact("iam.authorization_details")
    admin_arns: dict[str, str] = {}
    for managed in details["Policies"]:
        default = [v for v in need(managed, "PolicyVersionList", list, DETAILS) if need(v, "IsDefaultVersion", bool, DETAILS)]
        if len(default) != 1:
            raise UnexpectedResponse(f"{DETAILS}: policy {managed.get('Arn')} has {len(default)} default versions", action=DETAILS)
        document = parse_document(need(default[0], "Document", (dict, str), DETAILS), DETAILS)
        if any(grants_everything(s) for s in statements(document, DETAILS)):
            arn = need(managed, "Arn", str, DETAILS)
            admin_arns[arn] = f"policy {arn.rsplit('/', 1)[-1]}"

    def with_aws_admin(entry: dict) -> None:
        for attached in need(entry, "AttachedManagedPolicies", list, DETAILS):
            arn = need(attached, "PolicyArn", str, DETAILS)
            if ADMINISTRATOR_ACCESS.match(arn):
                admin_arns[arn] = "AdministratorAccess"

    for kind in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        for entry in details[kind]:
            with_aws_admin(entry)
    groups = {
        need(g, "GroupName", str, DETAILS): _admin_policies(g, "GroupPolicyList", admin_arns, f"group {g['GroupName']}: ")
        for g in details["GroupDetailList"]
    }
    result = []
    for user in details["UserDetailList"]:
        through = _admin_policies(user, "UserPolicyList", admin_arns)
        for group in need(user, "GroupList", list, DETAILS):
            through += groups.get(group, [])
        if through:
            result.append(Administrator("user", need(user, "UserName", str, DETAILS), need(user, "Arn", str, DETAILS), tuple(through)))
    for role in details["RoleDetailList"]:
        through = _admin_policies(role, "RolePolicyList", admin_arns)
        if through:
            result.append(Administrator("role", need(role, "RoleName", str, DETAILS), need(role, "Arn", str, DETAILS), tuple(through)))
    return result
