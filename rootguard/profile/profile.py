"""Profiles: one YAML file per environment, validated on load into a `Profile`.

The fields are the contract of DESIGN.md; unknown keys, wrong types and bad
account ids or role ARNs are rejected with `file:line: field: problem`. One reader
per section of the file, in the file's order: longer than most modules (about 400
lines), because each check has to name the file, line and field it rejects.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rootguard import resources
from rootguard.errors import ProfileError
from rootguard.vocabulary import ACCOUNT_ID, CONTROL_ID, SEVERITIES
from rootguard.profile.yamlsource import Document, expect_list, expect_mapping, expect_type, read_document

ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
OU_ID = re.compile(r"^(?:ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")
ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,64}$")

# Per-control settings and their defaults; the README's control table documents each.
PARAM_DEFAULTS: dict[str, Any] = {
    "root_recent_use_days": 90,
    "cloudwatch_delivery_max_hours": 24,
    # signin-failure-alarm: the alarm fires on at most this many failed sign-ins in one period.
    "signin_failure_events": 5,
    "min_password_length": 14,
    "log_retention_days": 365,
    "require_mfa_delete": False,
    "scp_root_allowed_actions": (),
}
IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")


@dataclass(frozen=True)
class Credentials:
    """How to reach the hub: a named profile (SSO works through it) and optionally a role to assume first."""

    aws_profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class ListedAccount:
    id: str
    name: str
    role_arn: str | None = None
    aws_profile: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class OrganizationScope:
    role_name: str = "OrganizationAccountAccessRole"
    include_ous: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    external_id: str | None = None


@dataclass(frozen=True)
class Vending:
    """A just-made account, named with --account: reached through role_name, waiting until it can be."""

    role_name: str = "OrganizationAccountAccessRole"
    wait_seconds: int = 900
    retry_seconds: int = 15
    external_id: str | None = None


@dataclass(frozen=True)
class Waiver:
    control: str
    accounts: tuple[str, ...]
    justification: str
    approved_by: str
    expires: dt.date
    account_pattern: str | None = None
    line: int = 0


@dataclass
class Profile:
    name: str
    path: str
    description: str = ""
    backend: str = "live"
    scenario: str | None = None
    endpoint_url: str | None = None
    home_region: str = "us-east-1"
    regions: tuple[str, ...] | str = ("us-east-1",)
    credentials: Credentials = field(default_factory=Credentials)
    accounts: tuple[ListedAccount, ...] = ()
    organization: OrganizationScope | None = None
    vending: "Vending | None" = None
    params: dict[str, Any] = field(default_factory=lambda: dict(PARAM_DEFAULTS))
    min_severity: str = "low"
    waivers: tuple[Waiver, ...] = ()

    @property
    def all_regions(self) -> bool:
        return self.regions == "all"


TOP_LEVEL = (
    "description",
    "backend",
    "scenario",
    "endpoint_url",
    "home_region",
    "regions",
    "credentials",
    "accounts",
    "organization",
    "vending",
    "params",
    "gate",
    "waivers",
)


def resolve_profile_path(value: str, rootdir: Path) -> tuple[str, str]:
    """Map `--profile` to (path to open, path to show). A bare name is looked up in profiles/."""
    looks_like_path = os.sep in value or "/" in value or value.endswith((".yaml", ".yml"))
    if looks_like_path:
        return value, value
    for base in profile_homes(rootdir):
        for suffix in (".yaml", ".yml"):
            candidate = base / "profiles" / f"{value}{suffix}"
            if os.path.isfile(candidate):  # unlike Path.is_file, False for a name too long to exist
                return str(candidate), os.path.relpath(candidate) if _under_cwd(candidate) else str(candidate)
    raise ProfileError(unknown_profile(value, rootdir))


def profile_homes(rootdir: Path) -> tuple[Path, ...]:
    """Where profiles/ is looked for: the run's root, the working folder, then the suite's own examples."""
    return tuple(dict.fromkeys((Path(rootdir), Path.cwd(), resources.home())))


def unknown_profile(value: str, rootdir: Path) -> str:
    """One line for a profile name that names no file: where it was looked for, what there is, the nearest."""
    names = sorted({p.stem for base in profile_homes(rootdir) for p in (base / "profiles").glob("*.y*ml") if p.suffix in (".yaml", ".yml")})
    # prod.example answers to "prod" too: the example profiles are named for what they become.
    keys = {key: name for name in names for key in (name.split(".")[0], name)}
    near = [keys[key] for key in difflib.get_close_matches(value, list(keys), n=1, cutoff=0.5)]
    hint = f"; did you mean {near[0]!r}?" if near else ""
    available = f"profiles available: {', '.join(names)}" if names else "no profiles/ folder here; give a path to a profile YAML"
    return f"--profile {value}: no profiles/{value}.yaml ({available}){hint}"


def _under_cwd(path: Path) -> bool:
    try:
        path.resolve().relative_to(Path.cwd().resolve())
        return True
    except ValueError:
        return False


def load_profile(value: str, rootdir: Path) -> Profile:
    path, shown = resolve_profile_path(value, rootdir)
    doc = read_document(path, ProfileError, shown_as=shown)
    name = Path(path).stem
    # A scenario path is read from the run's root, the profile's folder, the project holding
    # profiles/, or the suite's own (a copy of demo.yaml keeps finding the demo scenario).
    folder = Path(path).resolve().parent
    return parse_profile(doc, name=name, base_dirs=(rootdir, folder, folder.parent, resources.home()))


def parse_profile(doc: Document, name: str, base_dirs: tuple[Path, ...] = ()) -> Profile:
    data = expect_mapping(doc, doc.data, (), TOP_LEVEL)
    profile = Profile(name=name, path=doc.path)

    def text(key: str, where: tuple | None = None, value: Any = None, *, optional: bool = True) -> str | None:
        where = where or (key,)
        value = data.get(key) if value is None and len(where) == 1 else value
        if value is None:
            if optional:
                return None
            raise doc.error(where, "is required")
        expect_type(doc, value, where, str, "a text")
        if not value.strip():
            raise doc.error(where, "must not be empty")
        return value

    profile.description = text("description") or ""
    backend = text("backend") or "live"
    if backend not in ("live", "moto"):
        raise doc.error(("backend",), f"must be 'live' or 'moto', not {backend!r}")
    profile.backend = backend

    scenario = text("scenario")
    if scenario and backend != "moto":
        raise doc.error(("scenario",), "only applies to 'backend: moto'")
    if backend == "moto":
        if not scenario:
            raise doc.error(("backend",), "'backend: moto' needs a 'scenario' file to seed the mock accounts")
        profile.scenario = _existing_file(doc, ("scenario",), scenario, base_dirs)

    endpoint = text("endpoint_url")
    if endpoint and not re.match(r"^https?://[^\s/]+", endpoint):
        raise doc.error(("endpoint_url",), f"must be an http(s) URL, not {endpoint!r}")
    profile.endpoint_url = endpoint

    profile.home_region = _region(doc, ("home_region",), data.get("home_region", "us-east-1"))
    regions = data.get("regions")
    if regions is None:
        profile.regions = (profile.home_region,)
    elif regions == "all":
        profile.regions = "all"
    else:
        if isinstance(regions, str):
            raise doc.error(("regions",), "must be a list of region names or the word 'all'")
        listed = expect_list(doc, regions, ("regions",), lambda v, w: _region(doc, w, v))
        if not listed:
            raise doc.error(("regions",), "must name at least one region")
        profile.regions = tuple(dict.fromkeys(listed))

    profile.credentials = _credentials(doc, data.get("credentials"))
    profile.accounts = tuple(expect_list(doc, data.get("accounts"), ("accounts",), lambda v, w: _account(doc, v, w)))
    seen: dict[str, int] = {}
    for index, account in enumerate(profile.accounts):
        if account.id in seen:
            raise doc.error(("accounts", index, "id"), f"account {account.id} is listed twice (also accounts[{seen[account.id]}])")
        seen[account.id] = index
    if data.get("organization") is not None:
        profile.organization = _organization(doc, data["organization"])
    if data.get("vending") is not None:
        profile.vending = _vending(doc, data["vending"])
    if not profile.accounts and profile.organization is None and profile.vending is None and backend == "live":
        raise doc.error((), "names no accounts: add 'accounts' or 'organization'")

    profile.params = _params(doc, data.get("params"))
    gate = data.get("gate")
    if gate is not None:
        expect_mapping(doc, gate, ("gate",), ("min_severity",))
        severity = gate.get("min_severity", "low")
        if severity not in SEVERITIES:
            raise doc.error(("gate", "min_severity"), f"must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        profile.min_severity = severity
    profile.waivers = tuple(expect_list(doc, data.get("waivers"), ("waivers",), lambda v, w: parse_waiver(doc, v, w)))
    return profile


def _existing_file(doc: Document, where: tuple, value: str, base_dirs: tuple[Path, ...]) -> str:
    candidate = Path(value)
    options = [candidate] if candidate.is_absolute() else [base / candidate for base in base_dirs] + [Path.cwd() / candidate]
    for option in options:
        if os.path.isfile(option):
            return str(option)
    raise doc.error(where, f"file {value!r} not found")


def _region(doc: Document, where: tuple, value: Any) -> str:
    expect_type(doc, value, where, str, "a region name")
    if not REGION.match(value):
        raise doc.error(where, f"{value!r} is not an AWS region name (like us-east-1)")
    return value


def _account_id(doc: Document, where: tuple, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads 012345678901 unquoted as a number and drops the leading zero.
        raise doc.error(where, f"write the account id in quotes (\"{value:012d}\"): YAML reads a bare number and may drop leading zeros")
    expect_type(doc, value, where, str, "a 12-digit account id in quotes")
    if not ACCOUNT_ID.match(value):
        raise doc.error(where, f"{value!r} is not a 12-digit AWS account id")
    return value


def _role_arn(doc: Document, where: tuple, value: Any) -> str:
    expect_type(doc, value, where, str, "a role ARN")
    if not ROLE_ARN.match(value):
        raise doc.error(where, f"{value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)")
    return value


def _external_id(doc: Document, where: tuple, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    expect_type(doc, value, where, str, "a text")
    if not re.match(r"^[\w+=,.@:/-]{2,1224}$", value):
        raise doc.error(where, "must be 2 to 1224 characters of letters, digits and +=,.@:/-")
    return value


def _plain_text(doc: Document, where: tuple, value: Any) -> str:
    expect_type(doc, value, where, str, "a text")
    if not value.strip():
        raise doc.error(where, "must not be empty")
    return value


def _credentials(doc: Document, value: Any) -> Credentials:
    if value is None:
        return Credentials()
    expect_mapping(doc, value, ("credentials",), ("aws_profile", "role_arn", "external_id"))
    where = ("credentials",)
    return Credentials(
        aws_profile=_plain_text(doc, where + ("aws_profile",), value["aws_profile"]) if value.get("aws_profile") is not None else None,
        role_arn=_role_arn(doc, where + ("role_arn",), value["role_arn"]) if value.get("role_arn") is not None else None,
        external_id=_external_id(doc, where + ("external_id",), value.get("external_id")),
    )


def _account(doc: Document, value: Any, where: tuple) -> ListedAccount:
    expect_mapping(doc, value, where, ("id", "name", "role_arn", "aws_profile", "external_id"), required=("id",))
    account_id = _account_id(doc, where + ("id",), value["id"])
    role_arn = _role_arn(doc, where + ("role_arn",), value["role_arn"]) if value.get("role_arn") is not None else None
    if role_arn and ROLE_ARN.match(role_arn).group(1) != account_id:
        raise doc.error(where + ("role_arn",), f"role is in account {ROLE_ARN.match(role_arn).group(1)}, not {account_id}")
    aws_profile = _plain_text(doc, where + ("aws_profile",), value["aws_profile"]) if value.get("aws_profile") is not None else None
    if role_arn and aws_profile:
        raise doc.error(where, "give either role_arn or aws_profile, not both")
    external_id = _external_id(doc, where + ("external_id",), value.get("external_id"))
    if external_id and not role_arn:
        raise doc.error(where + ("external_id",), "only applies with role_arn")
    name = _plain_text(doc, where + ("name",), value["name"]) if value.get("name") is not None else account_id
    return ListedAccount(id=account_id, name=name, role_arn=role_arn, aws_profile=aws_profile, external_id=external_id)


def _organization(doc: Document, value: Any) -> OrganizationScope:
    where = ("organization",)
    expect_mapping(doc, value, where, ("role_name", "include_ous", "exclude_accounts", "external_id"))
    role_name = value.get("role_name", "OrganizationAccountAccessRole")
    expect_type(doc, role_name, where + ("role_name",), str, "a role name")
    if not ROLE_NAME.match(role_name):
        raise doc.error(where + ("role_name",), f"{role_name!r} is not an IAM role name")

    def ou(item: Any, at: tuple) -> str:
        expect_type(doc, item, at, str, "an OU id (ou-...) or name")
        if item.startswith(("ou-", "r-")) and not OU_ID.match(item):
            raise doc.error(at, f"{item!r} is not an organizational unit id (ou-xxxx-xxxxxxxx)")
        return item

    return OrganizationScope(
        role_name=role_name,
        include_ous=tuple(expect_list(doc, value.get("include_ous"), where + ("include_ous",), ou)),
        exclude_accounts=tuple(
            expect_list(doc, value.get("exclude_accounts"), where + ("exclude_accounts",), lambda v, w: _account_id(doc, w, v))
        ),
        external_id=_external_id(doc, where + ("external_id",), value.get("external_id")),
    )


def _vending(doc: Document, value: Any) -> Vending:
    where = ("vending",)
    expect_mapping(doc, value, where, ("role_name", "wait_seconds", "retry_seconds", "external_id"))
    role_name = value.get("role_name", Vending.role_name)
    expect_type(doc, role_name, where + ("role_name",), str, "a role name")
    if not ROLE_NAME.match(role_name):
        raise doc.error(where + ("role_name",), f"{role_name!r} is not an IAM role name")
    numbers = {}
    for key, low, high in (("wait_seconds", 0, 3600), ("retry_seconds", 1, 300)):
        number = value.get(key, getattr(Vending, key))
        expect_type(doc, number, where + (key,), int, "a whole number of seconds")
        if not low <= number <= high:
            raise doc.error(where + (key,), f"must be between {low} and {high}")
        numbers[key] = number
    return Vending(role_name=role_name, external_id=_external_id(doc, where + ("external_id",), value.get("external_id")), **numbers)


def _params(doc: Document, value: Any) -> dict[str, Any]:
    params = dict(PARAM_DEFAULTS)
    if value is None:
        return params
    expect_mapping(doc, value, ("params",), PARAM_DEFAULTS.keys())
    for key, given in value.items():
        where = ("params", key)
        default = PARAM_DEFAULTS[key]
        if isinstance(default, bool):
            expect_type(doc, given, where, bool, "true or false")
        elif isinstance(default, int):
            expect_type(doc, given, where, int, "a whole number")
            if given < 1:
                raise doc.error(where, "must be at least 1")
        elif isinstance(default, tuple):
            given = tuple(expect_list(doc, given, where, lambda v, w: _action_name(doc, w, v)))
        params[key] = given
    return params


def _action_name(doc: Document, where: tuple, value: Any) -> str:
    expect_type(doc, value, where, str, "an IAM action name (like iam:EnableMFADevice)")
    if not IAM_ACTION.match(value):
        raise doc.error(where, f"{value!r} is not an IAM action name (service:Action, like iam:EnableMFADevice)")
    return value


def parse_waiver(doc: Document, value: Any, where: tuple) -> Waiver:
    expect_mapping(
        doc,
        value,
        where,
        ("control", "accounts", "account_pattern", "justification", "approved_by", "expires"),
        required=("control", "justification", "approved_by", "expires"),
    )
    control = _plain_text(doc, where + ("control",), value["control"])
    if not CONTROL_ID.match(control):
        raise doc.error(where + ("control",), f"{control!r} is not a control id (like root-mfa)")
    accounts = tuple(expect_list(doc, value.get("accounts"), where + ("accounts",), lambda v, w: _account_id(doc, w, v)))
    pattern = value.get("account_pattern")
    if pattern is not None:
        expect_type(doc, pattern, where + ("account_pattern",), str, "a pattern (fnmatch style, like 1234*)")
    if not accounts and pattern is None:
        raise doc.error(where, "needs 'accounts' (ids) or 'account_pattern'")
    expires = value["expires"]
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise doc.error(where + ("expires",), "must be a date (YYYY-MM-DD)")
    return Waiver(
        control=control,
        accounts=accounts,
        account_pattern=pattern,
        justification=_plain_text(doc, where + ("justification",), value["justification"]),
        approved_by=_plain_text(doc, where + ("approved_by",), value["approved_by"]),
        expires=expires,
        line=doc.line(where),
    )
