"""Gating: waivers, the severity gate and every exit code, vending mode, shards."""

import json
import re
import textwrap
from html import escape, unescape

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from rootguard.accounts import SESSION_NAME
from tests.conftest import REPO

SUITE = str(REPO / "tests_compliance")
MEMBER = "210987654321"
# The member fails root-mfa (critical) and budget-alerts (low); the hub passes root-mfa.
SCENARIO = f"""\
organization: {{}}
accounts:
  - id: "123456789012"
    name: hub
  - id: "{MEMBER}"
    name: member
    root: {{mfa: none, password: true}}
"""


def run(pytester, profile_extra="", *args, scenario=SCENARIO, organization=True):
    scenario_path = pytester.path / "scenario.yaml"
    scenario_path.write_text(textwrap.dedent(scenario))
    profile = pytester.path / "gate.yaml"
    body = f"backend: moto\nscenario: {scenario_path}\n"
    if organization:
        body += "organization: {}\n"
    profile.write_text(body + textwrap.dedent(profile_extra))
    pack = pytester.path / f"pack{len(list(pytester.path.glob('pack*')))}"
    result = pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pack), *args)
    data = json.loads((pack / "results.json").read_text()) if (pack / "results.json").exists() else None
    return result, data


def outcome(data, control, account):
    return next(r for r in data["results"] if r["control"] == control and r["account_id"] == account)


WAIVER = f"""\
waivers:
  - control: root-mfa
    accounts: ["{MEMBER}"]
    justification: hardware key in the post, ticket SEC-1234
    approved_by: ciso@example.com
    expires: {{expires}}
"""


def test_waived_failure_does_not_fail_the_gate(pytester):
    result, data = run(pytester, WAIVER.format(expires="2099-12-31"), "-k", "test_root_mfa")
    entry = outcome(data, "root-mfa", MEMBER)
    assert entry["outcome"] == "waived"
    assert "[waived until 2099-12-31, approved by ciso@example.com: hardware key in the post" in entry["message"]
    assert result.ret == 0
    assert data["waivers"][0]["waived"] == 1 and data["gate"]["exit_code"] == 0
    # report.html's row for it: its log is the verdict, waiver and approver included.
    page = (pytester.path / "pack0" / "report.html").read_text()
    rows = json.loads(unescape(re.search(r'data-jsonblob="([^"]*)"', page).group(1)))["tests"]
    (row,) = [tests[0] for nodeid, tests in rows.items() if nodeid.endswith(f"-{MEMBER}]")]
    assert row["result"] == "Waived" and row["log"] == escape(entry["message"]) + "\n"


def test_expired_waiver_no_longer_applies_and_says_when(pytester):
    result, data = run(pytester, WAIVER.format(expires="2020-01-31"), "-k", "test_root_mfa")
    entry = outcome(data, "root-mfa", MEMBER)
    assert entry["outcome"] == "failed"
    assert "[the waiver approved by ciso@example.com expired on 2020-01-31]" in entry["message"]
    assert result.ret == 1


def test_waiver_matching_nothing_is_reported(pytester):
    waiver = WAIVER.format(expires="2099-12-31").replace(MEMBER, "999999999999")
    result, data = run(pytester, waiver, "-k", "test_root_mfa")
    assert data["waivers"][0]["matched"] == 0
    assert "waiver for root-mfa on 999999999999 (approved by ciso@example.com) matches nothing judged in this run" in result.stdout.str()


def test_waiver_pattern_and_waivers_file(pytester):
    waivers = pytester.path / "waivers.yaml"
    waivers.write_text(
        "- control: root-mfa\n  account_pattern: '2109*'\n  justification: j\n  approved_by: a@example.com\n  expires: 2099-01-01\n"
    )
    result, data = run(pytester, "", "-k", "test_root_mfa", "--waivers", str(waivers))
    assert outcome(data, "root-mfa", MEMBER)["outcome"] == "waived"
    assert result.ret == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "- control: root-mfa\n  accounts: ['1']\n  justification: j\n  approved_by: a\n  expires: 2099-01-01\n",
            "waivers.yaml:2: [0].accounts[0]: '1' is not a 12-digit AWS account id",
        ),
        ("- control: root-mfa\n  accounts: ['123456789012']\n  justification: j\n  approved_by: a\n", "waivers.yaml:1: [0]: missing required key 'expires'"),
        ("waivers: nope\n", "waivers.yaml:1: waivers: expected a list of waivers"),
        ("- {control: root-mfa, accounts: ['123456789012'], justification: j, approved_by: a, expires: 2099-01-01, note: x}\n", "[0].note: unknown key"),
    ],
)
def test_malformed_waiver_file_is_one_line_before_anything_runs(pytester, monkeypatch, text, expected):
    def no_aws(self, operation, params):
        raise AssertionError("AWS was called")

    monkeypatch.setattr(BaseClient, "_make_api_call", no_aws)
    waivers = pytester.path / "waivers.yaml"
    waivers.write_text(text)
    result, _ = run(pytester, "", "--waivers", str(waivers))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert len([line for line in result.errlines if line.strip()]) == 1
    assert expected in result.errlines[0], result.errlines


def test_gate_severity_from_profile_and_command_line(pytester):
    # Only budget-alerts (low) fails on both accounts.
    scenario = SCENARIO.replace("    root: {mfa: none, password: true}\n", "")
    result, data = run(pytester, "gate:\n  min_severity: medium\n", "-k", "test_budget_alerts or test_root_mfa", scenario=scenario)
    assert {r["outcome"] for r in data["results"] if r["control"] == "budget-alerts"} == {"failed"}
    assert result.ret == 0
    assert "gate: passed at medium (2 below medium reported, not gating): exit 0" in result.stdout.str()
    result, _ = run(pytester, "gate:\n  min_severity: medium\n", "-k", "test_budget_alerts", "--gate-severity", "low", scenario=scenario)
    assert result.ret == 1
    assert "gate: 2 failed/error outcome(s) at or above low: exit 1" in result.stdout.str()


def test_error_at_or_above_the_gate_fails_it(pytester, monkeypatch):
    def deny(self, operation, params):
        if operation == "GetAccountSummary":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, operation)
        return real(self, operation, params)

    real = BaseClient._make_api_call
    monkeypatch.setattr(BaseClient, "_make_api_call", deny)
    result, data = run(pytester, "gate:\n  min_severity: critical\n", "-k", "test_root_mfa")
    assert {r["outcome"] for r in data["results"]} == {"error"}
    assert result.ret == 1


def test_nothing_selected_is_a_usage_error_without_a_pack(pytester):
    result, _ = run(pytester, "", "-k", "no_such_control")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()][-1].startswith("ERROR: nothing selected: -k 'no_such_control' matched no control;")
    assert not list(pytester.path.glob("pack*"))


def test_no_account_reachable_exits_6(pytester, monkeypatch):
    real = BaseClient._make_api_call

    def deny(self, operation, params):
        if operation == "AssumeRole" and params.get("RoleSessionName") == SESSION_NAME:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", deny)
    # Only the member, which is reached through a role that refuses.
    result, data = run(pytester, "", "--account", MEMBER, "-k", "test_root_mfa")
    assert result.ret == 6
    assert outcome(data, "root-mfa", MEMBER)["outcome"] == "error"


VENDING = """\
vending:
  role_name: OrganizationAccountAccessRole
  wait_seconds: {wait}
  retry_seconds: 1
"""


def refuse_assume_role(monkeypatch, times):
    real = BaseClient._make_api_call
    refused = {"n": 0}

    def call(self, operation, params):
        if operation == "AssumeRole" and params.get("RoleSessionName") == SESSION_NAME and refused["n"] < times:
            refused["n"] += 1
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "role not there yet"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    return refused


def test_vending_account_whose_role_becomes_assumable_late(pytester, monkeypatch):
    refused = refuse_assume_role(monkeypatch, times=2)
    result, data = run(pytester, VENDING.format(wait=30), "--account", MEMBER, "-k", "test_root_mfa", organization=False)
    assert refused["n"] == 2
    entry = outcome(data, "root-mfa", MEMBER)
    assert entry["outcome"] == "failed" and entry["account_name"] == f"new-{MEMBER}"
    assert result.ret == 1


def test_vending_account_that_never_becomes_reachable(pytester, monkeypatch):
    refuse_assume_role(monkeypatch, times=1000)
    result, data = run(pytester, VENDING.format(wait=2), "--account", MEMBER, "-k", "test_root_mfa", organization=False)
    entry = outcome(data, "root-mfa", MEMBER)
    assert entry["outcome"] == "error"
    assert "never became assumable within 2 s" in entry["message"] and "AccessDenied" in entry["message"]
    assert result.ret == 6


def test_vending_profile_needs_an_account(pytester):
    result, _ = run(pytester, VENDING.format(wait=2), organization=False)
    assert result.ret == 6
    assert "a vending profile judges the account(s) named with --account ID" in "\n".join(result.outlines + result.errlines)


def test_shards_cover_every_account_exactly_once(pytester):
    scenario = REPO / "fixtures" / "scenarios" / "demo.yaml"
    profile = pytester.path / "demo-org.yaml"
    profile.write_text(f"backend: moto\nscenario: {scenario}\norganization: {{}}\n")
    seen = []
    for index in range(1, 4):
        pack = pytester.path / f"shard{index}"
        pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pack), "--shard", f"{index}/3", "-k", "test_root_mfa")
        data = json.loads((pack / "results.json").read_text())
        assert data["shard"] == f"{index}/3"
        seen.extend(a["account_id"] for a in data["accounts"])
    everyone = pytester.path / "all"
    pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(everyone), "-k", "test_root_mfa")
    all_accounts = [a["account_id"] for a in json.loads((everyone / "results.json").read_text())["accounts"]]
    assert sorted(seen) == sorted(all_accounts) and len(set(seen)) == len(seen) == 6


def test_bad_shard_option(pytester):
    result, _ = run(pytester, "", "--shard", "4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'4/3' is not a shard I/N" in "\n".join(result.errlines)


def test_merged_shards_equal_one_sweep_and_verify(pytester, capsys):
    from rootguard.cli import main as rootguard

    scenario = REPO / "fixtures" / "scenarios" / "demo.yaml"
    profile = pytester.path / "demo-org.yaml"
    profile.write_text(f"backend: moto\nscenario: {scenario}\norganization: {{}}\n")
    shards = []
    for index in (1, 2):
        pack = pytester.path / f"shard{index}"
        pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pack), "--shard", f"{index}/2", "-k", "mfa or contacts")
        shards.append(str(pack))
    whole = pytester.path / "whole"
    pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(whole), "-k", "mfa or contacts")
    merged = pytester.path / "merged"
    assert rootguard(["merge", *shards, "--output", str(merged)]) == 0
    assert rootguard(["verify", str(merged)]) == 0
    capsys.readouterr()

    def outcomes(pack):
        data = json.loads((pack / "results.json").read_text())
        return {(r["control"], r["account_id"]): r["outcome"] for r in data["results"]}

    assert outcomes(merged) == outcomes(whole)
    data = json.loads((merged / "results.json").read_text())
    assert data["complete"] and [m["shard"] for m in data["merged_from"]] == ["1/2", "2/2"]
    junit = (merged / "junit.xml").read_text()
    assert junit.count("<testcase") == len(data["results"])
    assert all((merged / path).is_file() for r in data["results"] for path in r["evidence"])
    assert (merged / "framework-matrix.json").is_file() and (merged / "shards" / "1" / "report.html").is_file()
    # The merged pack's procedures and exports are those of one sweep.
    assert (merged / "controls.json").read_text() == (whole / "controls.json").read_text()
    assert (merged / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    manifest = json.loads((merged / "manifest.json").read_text())
    assert sorted(manifest["exports"]) == ["csv", "ocsf", "oscal", "xlsx"]
    assert all(manifest["files"].get(entry["file"]) for entry in manifest["exports"].values())

    # A pack changed after the fact, or the same account twice, is never merged.
    assert rootguard(["merge", shards[0], shards[0], "--output", str(pytester.path / "twice")]) == 2
    assert "is in both" in capsys.readouterr().err
    (pytester.path / "shard2" / "junit.xml").write_text("<testsuites/>")
    assert rootguard(["merge", *shards, "--output", str(pytester.path / "tampered")]) == 2
    assert "differ from its manifest" in capsys.readouterr().err
