"""Profiles: every field of DESIGN.md loads, and every kind of bad input is one clear line."""

import os
import textwrap
from pathlib import Path

import pytest

from rootguard.errors import ProfileError
from rootguard.profile import PARAM_DEFAULTS, load_profile

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path), REPO)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ":")
    return message


def test_full_profile_loads(tmp_path):
    path = write(
        tmp_path,
        """\
        description: Production accounts
        backend: live
        endpoint_url: http://127.0.0.1:5000
        home_region: eu-west-1
        regions: [us-east-1, eu-west-1]
        credentials:
          aws_profile: audit-hub
        accounts:
          - id: "123456789012"
            name: payments-prod
            role_arn: arn:aws:iam::123456789012:role/ComplianceAudit
            external_id: optional
          - id: "210987654321"
            name: data-prod
            aws_profile: data
        organization:
          role_name: OrganizationAccountAccessRole
          include_ous: [ou-ab12-cdefgh34, Production]
          exclude_accounts: ["999999999999"]
        params:
          root_recent_use_days: 30
        gate:
          min_severity: high
        waivers:
          - control: root-hardware-mfa
            accounts: ["123456789012"]
            justification: hardware key ordered, ticket SEC-1234
            approved_by: ciso@example.com
            expires: 2027-03-31
        """,
    )
    profile = load_profile(str(path), REPO)
    assert profile.name == "p"
    assert profile.home_region == "eu-west-1"
    assert profile.regions == ("us-east-1", "eu-west-1")
    assert profile.credentials.aws_profile == "audit-hub"
    assert [a.id for a in profile.accounts] == ["123456789012", "210987654321"]
    assert profile.accounts[0].external_id == "optional"
    assert profile.accounts[1].aws_profile == "data"
    assert profile.organization.include_ous == ("ou-ab12-cdefgh34", "Production")
    assert profile.organization.exclude_accounts == ("999999999999",)
    assert profile.params["root_recent_use_days"] == 30
    assert profile.params["cloudwatch_delivery_max_hours"] == PARAM_DEFAULTS["cloudwatch_delivery_max_hours"]
    assert profile.min_severity == "high"
    assert profile.waivers[0].expires.isoformat() == "2027-03-31"


def test_defaults_for_a_minimal_profile(tmp_path):
    profile = load_profile(str(write(tmp_path, 'accounts: [{id: "123456789012"}]\n')), REPO)
    assert profile.backend == "live"
    assert profile.regions == ("us-east-1",)
    assert profile.accounts[0].name == "123456789012"
    assert profile.params == PARAM_DEFAULTS
    assert profile.min_severity == "low"


def test_regions_all(tmp_path):
    profile = load_profile(str(write(tmp_path, 'regions: all\naccounts: [{id: "123456789012"}]\n')), REPO)
    assert profile.all_regions


def test_profile_by_name_comes_from_profiles_dir():
    profile = load_profile("demo", REPO)
    assert profile.backend == "moto"
    assert profile.scenario and Path(profile.scenario).is_file()


@pytest.mark.parametrize(
    "text, expected",
    [
        ('acounts: []\n', ':1: acounts: unknown key'),
        ('accounts:\n  - id: "123456789012"\n    nmae: x\n', ':3: accounts[0].nmae: unknown key'),
        ('accounts:\n  - id: 123456789012\n', ':2: accounts[0].id: write the account id in quotes'),
        ('accounts:\n  - id: "12345"\n', ":2: accounts[0].id: '12345' is not a 12-digit AWS account id"),
        ('accounts:\n  - id: "123456789012"\n    role_arn: arn:aws:iam::123456789012:user/bob\n', ":3: accounts[0].role_arn: 'arn:aws:iam::123456789012:user/bob' is not an IAM role ARN"),
        ('accounts:\n  - id: "123456789012"\n    role_arn: arn:aws:iam::210987654321:role/A\n', ":3: accounts[0].role_arn: role is in account 210987654321, not 123456789012"),
        ('accounts:\n  - id: "123456789012"\n  - id: "123456789012"\n', ":3: accounts[1].id: account 123456789012 is listed twice"),
        ('regions: us-east-1\naccounts: [{id: "123456789012"}]\n', ":1: regions: must be a list of region names or the word 'all'"),
        ('regions: [us-east-1, Moon-1]\naccounts: [{id: "123456789012"}]\n', ":1: regions[1]: 'Moon-1' is not an AWS region name"),
        ('home_region: 5\naccounts: [{id: "123456789012"}]\n', ":1: home_region: expected a region name, got a number"),
        ('backend: mocked\n', ":1: backend: must be 'live' or 'moto'"),
        ('backend: moto\n', ":1: backend: 'backend: moto' needs a 'scenario' file"),
        ('backend: moto\nscenario: nowhere.yaml\n', ":2: scenario: file 'nowhere.yaml' not found"),
        ('scenario: fixtures/scenarios/demo.yaml\naccounts: [{id: "123456789012"}]\n', ":1: scenario: only applies to 'backend: moto'"),
        ('endpoint_url: localhost:5000\naccounts: [{id: "123456789012"}]\n', ":1: endpoint_url: must be an http(s) URL"),
        ('description: x\n', ":1: (top level): names no accounts"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  root_recent_use_dayz: 3\n', ":3: params.root_recent_use_dayz: unknown key"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  root_recent_use_days: "90"\n', ":3: params.root_recent_use_days: expected a whole number, got the text '90'"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  root_recent_use_days: true\n', ":3: params.root_recent_use_days: expected a whole number, got a boolean"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  require_mfa_delete: 1\n', ":3: params.require_mfa_delete: expected true or false, got a number"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  scp_root_allowed_actions: iam:*\n', ":3: params.scp_root_allowed_actions: expected a list, got the text 'iam:*'"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  scp_root_allowed_actions: [EnableMFADevice]\n', ":3: params.scp_root_allowed_actions[0]: 'EnableMFADevice' is not an IAM action name"),
        ('accounts: [{id: "123456789012"}]\nparams:\n  log_retention_days: 0\n', ":3: params.log_retention_days: must be at least 1"),
        ('accounts: [{id: "123456789012"}]\ngate:\n  min_severity: urgent\n', ":3: gate.min_severity: must be one of low, medium, high, critical"),
        ('accounts: [{id: "123456789012"}]\ncredentials:\n  role_arn: nope\n', ":3: credentials.role_arn: 'nope' is not an IAM role ARN"),
        ('organization:\n  include_ous: [ou-x]\n', ":2: organization.include_ous[0]: 'ou-x' is not an organizational unit id"),
        ('organization:\n  exclude_accounts: ["1"]\n', ":2: organization.exclude_accounts[0]: '1' is not a 12-digit AWS account id"),
        ('organization: [x]\n', ":1: organization: expected a mapping, got a list"),
        ('accounts: [{id: "123456789012"}]\nwaivers:\n  - control: root-mfa\n    accounts: ["123456789012"]\n    justification: j\n    approved_by: a\n', ":3: waivers[0]: missing required key 'expires'"),
        ('accounts: [{id: "123456789012"}]\nwaivers:\n  - control: root-mfa\n    accounts: ["123456789012"]\n    justification: j\n    approved_by: a\n    expires: soon\n', ":7: waivers[0].expires: must be a date"),
        ('accounts: [{id: "123456789012"}]\naccounts: []\n', ":2: accounts: given twice"),
        ('accounts: [{id: "123456789012"}\n', ": (file): invalid YAML"),
        ('- just\n- a list\n', ":1: (top level): expected a mapping, got a list"),
    ],
)
def test_bad_profile_is_one_line_naming_file_line_and_field(tmp_path, text, expected):
    message = load_error(tmp_path, text)
    assert expected in message, message


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match=r"nope\.yaml:0: \(file\): no such file"):
        load_profile(str(tmp_path / "nope.yaml"), REPO)


def test_unknown_profile_name_lists_the_profiles_and_the_nearest():
    with pytest.raises(ProfileError) as raised:
        load_profile("nosuchprofile", REPO)
    assert str(raised.value) == (
        "--profile nosuchprofile: no profiles/nosuchprofile.yaml (profiles available: demo, prod.example, vending.example)"
    )
    with pytest.raises(ProfileError) as raised:
        load_profile("prdo", REPO)
    assert str(raised.value).endswith("; did you mean 'prod.example'?")


def test_unknown_profile_name_where_there_is_no_profiles_folder_offers_the_suites_examples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfileError) as raised:
        load_profile("prod", tmp_path)
    assert str(raised.value) == (
        "--profile prod: no profiles/prod.yaml (profiles available: demo, prod.example, vending.example); did you mean 'prod.example'?"
    )


def test_a_profile_name_falls_back_to_the_suites_own_examples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_profile("demo", tmp_path).path.endswith("profiles/demo.yaml")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "demo.yaml").write_text((REPO / "profiles" / "demo.yaml").read_text().replace("Demo organization", "Ours"))
    assert load_profile("demo", tmp_path).description.startswith("Ours")  # the folder's own comes first


def test_directory_and_binary_and_alias_bomb(tmp_path):
    with pytest.raises(ProfileError, match="is a directory"):
        load_profile(str(tmp_path) + "/", REPO)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(ProfileError, match="binary data"):
        load_profile(str(binary), REPO)
    latin = tmp_path / "l.yaml"
    latin.write_bytes(b"description: caf\xe9\n")
    with pytest.raises(ProfileError, match=":1: \\(file\\): not UTF-8"):
        load_profile(str(latin), REPO)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    with pytest.raises(ProfileError, match="expands to more than"):
        load_profile(str(write(tmp_path, bomb, "bomb.yaml")), REPO)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "description: x\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # Tests run as root in CI, where chmod 0 does not stop a read; refuse the open instead.
    monkeypatch.setattr("rootguard.profile.yamlsource.open", refuse, raising=False)
    with pytest.raises(ProfileError, match=r"p\.yaml:0: \(file\): not readable \(permission denied\)"):
        load_profile(str(path), REPO)


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ProfileError, match="not a regular file"):
        load_profile(str(fifo), REPO)


def test_huge_file_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("description: " + "x" * 2_000_000 + "\n")
    with pytest.raises(ProfileError, match="too large"):
        load_profile(str(path), REPO)


@pytest.mark.parametrize("name", ["demo", "prod.example", "vending.example"])
def test_shipped_profiles_load(name):
    profile = load_profile(str(REPO / "profiles" / f"{name}.yaml"), REPO)
    assert profile.name == name
    if name == "vending.example":
        assert profile.vending.role_name == "OrganizationAccountAccessRole" and profile.vending.wait_seconds == 900
