"""The evidence pack: every file present, hashes that catch any change, replay, compare, interruption, redaction."""

import json
import textwrap
from pathlib import Path

import pytest
from botocore.client import BaseClient

from rootguard.cli import main as rootguard
from rootguard.controls import Target
from rootguard.evidence.pack import pack_files, sha256_file, write_json_atomic
from tests.conftest import REPO

DEMO = str(REPO / "profiles" / "demo.yaml")
SUITE = str(REPO / "tests_compliance")


def run_demo(pytester, pack: Path, *args):
    result = pytester.runpytest(SUITE, "--profile", DEMO, "--report-dir", str(pack), *args)
    return result, json.loads((pack / "results.json").read_text())


def outcomes(data) -> dict:
    return {(r["control"], r["account_id"], r["region"]): r["outcome"] for r in data["results"]}


def test_pack_holds_every_part(demo_pack):
    for part in ("results.json", "report.html", "junit.xml", "manifest.json", "framework-matrix.json"):
        assert (demo_pack / part).is_file(), part
    assert any((demo_pack / "allure-results").glob("*-result.json"))
    assert (demo_pack / "allure-results" / "categories.json").is_file()
    assert (demo_pack / "allure-results" / "environment.properties").is_file()
    data = json.loads((demo_pack / "results.json").read_text())
    assert data["complete"] is True and len(data["results"]) == 161
    for result in data["results"]:
        assert result["evidence"], result
        for path in result["evidence"]:
            document = json.loads((demo_pack / path).read_text())
            assert document["account_id"] and document["calls"] and document["caller"]["Account"]
            assert all({"action", "region", "parameters", "requested_at"} <= set(call) for call in document["calls"])
    # One test case per (control, account) in JUnit, named so a CI system shows both.
    junit = (demo_pack / "junit.xml").read_text()
    assert 'name="test_root_mfa[payments-prod-222233334444]"' in junit
    assert '<property name="control" value="root-mfa"' in junit


def test_manifest_hashes_every_other_file(demo_pack):
    manifest = json.loads((demo_pack / "manifest.json").read_text())
    assert set(manifest["files"]) == set(pack_files(demo_pack))
    assert "manifest.json" not in manifest["files"]
    assert all(manifest["files"][p] == sha256_file(demo_pack / p) for p in manifest["files"])
    assert manifest["complete"] is True and manifest["profile"] == "demo" and manifest["results"] == 161


def test_verify_passes_then_catches_one_changed_byte(demo_pack, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_pack, copy)
    assert rootguard(["verify", str(copy)]) == 0
    assert "OK, " in capsys.readouterr().out

    evidence = sorted((copy / "evidence").glob("*/*.json"))[3]
    raw = bytearray(evidence.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit of one byte
    evidence.write_bytes(bytes(raw))
    (copy / "junit.xml").unlink()
    (copy / "notes.txt").write_text("added later")
    assert rootguard(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert f"changed: {evidence.relative_to(copy).as_posix()}" in out
    assert "missing: junit.xml" in out
    assert "added: notes.txt" in out
    assert "FAILED, 3 file(s) differ" in out


def test_verify_of_something_that_is_not_a_pack(tmp_path, capsys):
    assert rootguard(["verify", str(tmp_path)]) == 2
    assert "no manifest" in capsys.readouterr().err


def test_replay_without_any_aws_reproduces_every_outcome(pytester, demo_pack, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)

    def no_aws(self, operation, params):
        raise AssertionError(f"replay called AWS: {operation}")

    monkeypatch.setattr(BaseClient, "_make_api_call", no_aws)
    replay = pytester.path / "replay"
    result = pytester.runpytest(SUITE, "--replay", str(demo_pack), "--report-dir", str(replay))
    assert result.ret == 0  # every verdict reproduced (the original's gate failed: exit 1 then)
    original = json.loads((demo_pack / "results.json").read_text())
    again = json.loads((replay / "results.json").read_text())
    assert outcomes(again) == outcomes(original)
    assert {(r["control"], r["account_id"]): r["message"] for r in again["results"]} == {
        (r["control"], r["account_id"]): r["message"] for r in original["results"]
    }
    comparison = json.loads((replay / "comparison.json").read_text())
    assert comparison["unchanged"] == 161 and not comparison["newly_failing"] and not comparison["changed"]
    assert again["replay_of"]["pack"] == str(demo_pack)
    assert "161 unchanged, 0 different" in result.stdout.str()
    assert "replay: every verdict reproduced: exit 0" in result.stdout.str()
    # The verdicts are the original's moment's: its start and finish stay paired, the replay's own beside them.
    assert (again["started_at"], again["finished_at"]) == (original["started_at"], original["finished_at"])
    assert again["replay_of"]["finished_at"] == original["finished_at"]
    assert again["replayed"]["started_at"] >= original["finished_at"] and again["replayed"]["finished_at"] >= again["replayed"]["started_at"]


def test_replay_that_differs_exits_7(pytester, demo_pack, tmp_path):
    """A recorded answer changed (and the pack re-hashed, so it verifies): the replay no longer reproduces the verdict."""
    import shutil

    from rootguard.evidence.pack import read_manifest, write_manifest

    copy = tmp_path / "copy"
    shutil.copytree(demo_pack, copy)
    path = copy / "evidence" / "222233334444" / "iam.account_summary--us-east-1.json"
    document = json.loads(path.read_text())
    document["calls"][0]["response"]["SummaryMap"]["AccountMFAEnabled"] = 1 - document["calls"][0]["response"]["SummaryMap"]["AccountMFAEnabled"]
    path.write_text(json.dumps(document))
    manifest = read_manifest(copy)
    write_manifest(copy, {k: v for k, v in manifest.items() if k not in ("files", "pack_format", "algorithm")})
    result = pytester.runpytest(SUITE, "--replay", str(copy), "--report-dir", str(tmp_path / "replay"), "-k", "root_mfa")
    assert result.ret == 7
    assert "verdict(s) differ from the pack's: exit 7" in result.stdout.str()


def test_a_narrowed_replay_compares_what_it_selected(pytester, demo_pack):
    """--account and -k re-perform part of a pack: the verdicts left out are not reported as lost (sample relies on it)."""
    replay = pytester.path / "narrow"
    result = pytester.runpytest(SUITE, "--replay", str(demo_pack), "--report-dir", str(replay), "-k", "root_mfa or alternate_contacts",
                                "--account", "222233334444")
    assert result.ret == 0, result.stdout.str()[-2000:]
    comparison = json.loads((replay / "comparison.json").read_text())
    assert comparison["scope"] == {"controls": ["alternate-contacts", "root-mfa"], "accounts": ["222233334444"]}
    assert comparison["unchanged"] == 2 and not comparison["removed"] and not comparison["added"]


def test_compare_with_a_missing_or_changed_baseline_stops_before_aws(pytester, demo_pack, tmp_path, monkeypatch):
    import shutil

    def no_aws(self, operation, params):
        raise AssertionError(f"called AWS: {operation}")

    monkeypatch.setattr(BaseClient, "_make_api_call", no_aws)
    missing = pytester.runpytest(SUITE, "--profile", "demo", "--compare", str(tmp_path / "nosuch"), "--report-dir", str(tmp_path / "a"))
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in missing.errlines if line.strip()] == [
        f"ERROR: --compare {tmp_path / 'nosuch'}: {tmp_path / 'nosuch' / 'manifest.json'}: no manifest: not a rootguard evidence pack, "
        "or the run is still writing it"
    ]
    changed = tmp_path / "changed"
    shutil.copytree(demo_pack, changed)
    (changed / "results.json").write_text("{}")
    refused = pytester.runpytest(SUITE, "--profile", "demo", "--compare", str(changed), "--report-dir", str(tmp_path / "b"))
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: --compare {changed}: 1 file(s) differ from its manifest (results.json ...); see `rootguard verify {changed}`" in refused.errlines
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_replay_missing_a_response_says_so_and_asks_aws_nothing(pytester, demo_pack, tmp_path, monkeypatch):
    """A recorded response gone from the pack: the verdicts that need it are `error`, and no request leaves."""
    import shutil

    from rootguard.evidence.pack import read_manifest, write_manifest

    copy = tmp_path / "copy"
    shutil.copytree(demo_pack, copy)
    (copy / "evidence" / "222233334444" / "iam.account_summary--us-east-1.json").unlink()
    manifest = read_manifest(copy)
    write_manifest(copy, {k: v for k, v in manifest.items() if k not in ("files", "pack_format", "algorithm")})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    attempts = []

    def no_aws(self, operation, params):
        attempts.append(operation)
        raise AssertionError(f"replay called AWS: {operation}")

    monkeypatch.setattr(BaseClient, "_make_api_call", no_aws)
    replay = tmp_path / "replay"
    pytester.runpytest(SUITE, "--replay", str(copy), "--report-dir", str(replay), "-k", "root_mfa or root_recent_use")
    again = {(r["control"], r["account_id"]): r for r in json.loads((replay / "results.json").read_text())["results"]}
    assert attempts == []
    entry = again[("root-mfa", "222233334444")]
    assert entry["outcome"] == "error"
    assert "iam:GetAccountSummary: the pack has no recorded response for this request" in entry["message"]
    # Verdicts that do not need it are re-performed as recorded.
    assert again[("root-recent-use", "222233334444")]["outcome"] == "failed"
    assert again[("root-mfa", "123456789012")]["outcome"] == "passed"


def test_replay_refuses_a_tampered_pack(pytester, demo_pack, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_pack, copy)
    path = copy / "results.json"
    path.write_text(path.read_text().replace('"failed"', '"passed"'))
    result = pytester.runpytest(SUITE, "--replay", str(copy), "--report-dir", str(tmp_path / "out"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "differ from its manifest (results.json" in result.errlines[0]


SCENARIO = """\
organization: {{}}
accounts:
  - id: "123456789012"
    name: hub
  - id: "210987654321"
    name: member
    root: {{mfa: {mfa}, password: true}}
    alternate_contacts:
      billing: {{name: B, email: b@example.com}}
      operations: {{name: O, email: o@example.com}}
      security: {{name: S, email: s@example.com}}
"""


def test_compare_lists_newly_failing_and_newly_passing(pytester):
    def run(mfa: str, pack: str, *extra):
        scenario = pytester.path / f"{pack}.scenario.yaml"
        scenario.write_text(textwrap.dedent(SCENARIO.format(mfa=mfa)))
        profile = pytester.path / f"{pack}.yaml"
        profile.write_text(f"backend: moto\nscenario: {scenario}\norganization: {{}}\n")
        return pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pytester.path / pack), "-k", "mfa", *extra)

    run("hardware", "before")
    result = run("none", "after", "--compare", str(pytester.path / "before"))
    comparison = json.loads((pytester.path / "after" / "comparison.json").read_text())
    failing = {(e["control"], e["account_id"]) for e in comparison["newly_failing"]}
    assert failing == {("root-mfa", "210987654321"), ("root-hardware-mfa", "210987654321")}
    assert "newly failing: root-mfa on 210987654321: passed -> failed" in result.stdout.str()
    back = run("hardware", "later", "--compare", str(pytester.path / "after"))
    comparison = json.loads((pytester.path / "later" / "comparison.json").read_text())
    assert {(e["control"], e["account_id"]) for e in comparison["newly_passing"]} == failing
    assert "newly passing: root-mfa on 210987654321: failed -> passed" in back.stdout.str()


def test_interrupted_run_leaves_a_consistent_incomplete_pack(pytester, monkeypatch):
    real_fact = Target.fact
    calls = {"n": 0}

    def interrupt_midway(self, name, region=None, **params):
        calls["n"] += 1
        if calls["n"] == 25:
            raise KeyboardInterrupt
        return real_fact(self, name, region, **params)

    monkeypatch.setattr(Target, "fact", interrupt_midway)
    pack = pytester.path / "pack"
    result = pytester.runpytest(SUITE, "--profile", DEMO, "--report-dir", str(pack), no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    data = json.loads((pack / "results.json").read_text())
    manifest = json.loads((pack / "manifest.json").read_text())
    assert data["complete"] is False and manifest["complete"] is False
    assert 0 < len(data["results"]) < 161
    for entry in data["results"]:
        assert all((pack / path).is_file() for path in entry["evidence"])
    assert rootguard(["verify", str(pack)]) == 0
    assert "marked incomplete" in result.stdout.str()


SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEPT//////////wEaDEXAMPLETOKEN"
PASSWORD = "correct-horse-battery-staple"
KEY_ID = "AKIAZZZZPLANTEDKEY9Q"


def test_no_secret_token_password_or_full_key_id_anywhere_in_the_pack(pytester, monkeypatch):
    real = BaseClient._make_api_call

    def plant(self, operation, params):
        response = real(self, operation, params)
        if operation == "GetAccountSummary":
            response["Credentials"] = {"AccessKeyId": KEY_ID, "SecretAccessKey": SECRET, "SessionToken": TOKEN}
            response["Password"] = PASSWORD
        if operation == "DescribeTrails":
            for trail in response.get("trailList", []):
                trail["Notes"] = f"rotated {KEY_ID} after the leak"
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", plant)
    pack = pytester.path / "pack"
    pytester.runpytest(SUITE, "--profile", DEMO, "--report-dir", str(pack))
    files = pack_files(pack) + ["manifest.json"]
    assert "report.html" in files and any(f.startswith("allure-results/") for f in files)
    for relative in files:
        text = (pack / relative).read_bytes().decode("utf-8", "replace")
        for planted in (SECRET, TOKEN, PASSWORD, KEY_ID):
            assert planted not in text, f"{planted} found in {relative}"
    summary = next((pack / "evidence" / "123456789012").glob("iam.account_summary*.json")).read_text()
    assert "[redacted]" in summary and KEY_ID[-4:] in summary  # kept, but masked to its last four


@pytest.mark.parametrize("passes", [1, 2])  # the second with every field name's answer already kept
def test_redaction_replaces_secrets_by_field_name_and_masks_key_ids_wherever_they_stand(passes):
    from rootguard.evidence.documents import redact

    document = {
        "Credentials": {"AccessKeyId": "ASIAABCDEFGHIJKL", "SecretAccessKey": "s3cr3t", "SessionToken": "tok", "Expiration": None},
        "Users": [{"password": "pw", "Client_Secret": "cs", "PasswordLastUsed": "2026-01-01", "Token": None}],
        "Notes": ("rotated AKIAABCDEFGHIJKLMNOP after the leak", "AKIA12345678901", "AKIA123456789012"),
        7: "AKIAZZZZZZZZZZZZ",
        "Arn": "arn:aws:iam::123456789012:user/alice",
    }
    for _ in range(passes):
        redacted = redact(document)
    assert redacted == {
        "Credentials": {"AccessKeyId": "************IJKL", "SecretAccessKey": "[redacted]", "SessionToken": "[redacted]", "Expiration": None},
        # Any case of a secret's name; an absent secret stays absent; a name merely containing one is kept.
        "Users": [{"password": "[redacted]", "Client_Secret": "[redacted]", "PasswordLastUsed": "2026-01-01", "Token": None}],
        # Inside text too; fifteen characters are too short for a key id, sixteen are not.
        "Notes": ["rotated ****************MNOP after the leak", "AKIA12345678901", "************9012"],
        7: "************ZZZZ",
        "Arn": "arn:aws:iam::123456789012:user/alice",
    }


def test_framework_matrix_covers_and_admits_gaps(demo_pack):
    matrix = json.loads((demo_pack / "framework-matrix.json").read_text())
    assert set(matrix) == {"soc2", "iso27001", "cis-v3", "cis-v5", "cis-v6", "cis-v7", "securityhub"}
    assert matrix["iso27001"]["requirements_total"] == 93
    # The renumbered root recommendations of CIS v6.0.0 (2.3-2.6) and v7.0.0 (2.1.1, 2.4-2.7; 5.3 in both).
    cis6 = {row["id"]: row["controls"] for row in matrix["cis-v6"]["requirements"]}
    cis7 = {row["id"]: row["controls"] for row in matrix["cis-v7"]["requirements"]}
    assert (cis6["2.3"], cis6["2.4"], cis6["2.5"], cis6["2.6"]) == (["root-access-keys"], ["root-mfa"], ["root-hardware-mfa"], ["root-recent-use"])
    assert (cis7["2.4"], cis7["2.5"], cis7["2.6"], cis7["2.7"]) == (["root-access-keys"], ["root-mfa"], ["root-hardware-mfa"], ["root-recent-use"])
    assert cis7["2.1.1"] == ["centralized-root-access"] and cis6["5.3"] == cis7["5.3"] == ["root-usage-alarm"]
    rows = {row["id"]: row for row in matrix["soc2"]["requirements"]}
    assert "root-mfa" in rows["CC6.1"]["controls"] and rows["CC6.1"]["status"] == "supported"
    assert rows["CC1.1"]["status"] == "not tested" and rows["CC1.1"]["controls"] == []
    data = json.loads((demo_pack / "results.json").read_text())
    mapped = [r for r in data["results"] if "CC6.1" in r["frameworks"].get("soc2", [])]
    assert sum(rows["CC6.1"]["counts"].values()) == len(mapped)
    assert matrix["soc2"]["requirements_supported"] == sum(1 for row in rows.values() if row["controls"])


def test_framework_matrix_counts_each_requirements_results_in_run_order():
    """Outcomes per requirement and per account, in the order the run reached them, for controls
    that share requirements and results that interleave controls and accounts."""
    import random
    from types import SimpleNamespace

    from rootguard.frameworks import load_catalogs
    from rootguard.reports.framework_matrix import framework_matrix

    catalogs = load_catalogs()
    soc2, iso = list(catalogs["soc2"].requirements), list(catalogs["iso27001"].requirements)
    controls = [
        SimpleNamespace(id="c-a", frameworks={"soc2": (soc2[0], soc2[1]), "iso27001": (iso[0],)}),
        SimpleNamespace(id="c-b", frameworks={"soc2": (soc2[1],)}),
        SimpleNamespace(id="c-c", frameworks={"iso27001": (iso[0], iso[2])}),
        SimpleNamespace(id="c-d", frameworks={}),
    ]
    draw = random.Random(7)
    results = [
        SimpleNamespace(control=draw.choice(controls), account_id=draw.choice(["111111111111", "222222222222", "333333333333"]),
                        outcome=draw.choice(["passed", "failed", "error", "skipped", "waived"]))
        for _ in range(400)
    ]

    def expected_row(key, requirement):
        mapped = sorted(c.id for c in controls if requirement in c.frameworks.get(key, ()))
        counts, per_account = {}, {}
        for r in results:
            if r.control.id in mapped:
                counts[r.outcome] = counts.get(r.outcome, 0) + 1
                tally = per_account.setdefault(r.account_id, {})
                tally[r.outcome] = tally.get(r.outcome, 0) + 1
        return mapped, counts, per_account

    matrix = framework_matrix(results, catalogs)
    for key in ("soc2", "iso27001", "securityhub"):
        for row in matrix[key]["requirements"]:
            mapped, counts, per_account = expected_row(key, row["id"])
            # Compared as JSON text: the order of keys is the order the run reached them.
            assert (row["controls"], json.dumps(row["counts"]), json.dumps(row["accounts"])) == (
                mapped, json.dumps(counts), json.dumps(per_account)
            ), row["id"]
    rows = {row["id"]: row for row in matrix["soc2"]["requirements"]}
    assert rows[soc2[1]]["controls"] == ["c-a", "c-b"]
    assert sum(rows[soc2[1]]["counts"].values()) == sum(r.control.id in ("c-a", "c-b") for r in results)
    assert matrix["soc2"]["requirements_supported"] == 2 and matrix["iso27001"]["requirements_supported"] == 2


def test_framework_option_selects_mapped_controls(pytester):
    pack = pytester.path / "pack"
    _, data = run_demo(pytester, pack, "--framework", "cis-v3")
    controls = {r["control"] for r in data["results"]}
    assert "root-mfa" in controls and "cloudtrail-multi-region" in controls
    assert "budget-alerts" not in controls and "cloudtrail-cloudwatch-logs" not in controls  # no CIS v3.0 id
    assert all(r["frameworks"].get("cis-v3") for r in data["results"])


def test_unknown_framework_id_is_a_collection_error(pytester):
    pytester.makepyfile(
        test_bad_control='''
        from rootguard.controls import control

        @control(id="made-up", title="t", severity="low", rationale="r", remediation="m", passes_when="p",
                 facts=["iam.root_report"], frameworks={"soc2": ["CC99.9"]})
        def test_made_up(account):
            pass
        '''
    )
    result = pytester.runpytest("test_bad_control.py", "--profile", DEMO, "--report-dir", str(pytester.path / "pack"))
    assert result.ret == pytest.ExitCode.INTERRUPTED  # pytest stops on collection errors
    result.stdout.fnmatch_lines(["*control made-up: soc2 id 'CC99.9' is not in frameworks/soc2.yaml*"])


def test_report_dir_that_cannot_be_written_is_a_usage_error_before_aws(pytester, monkeypatch):
    blocker = pytester.path / "a-file"
    blocker.write_text("")

    def no_aws(self, operation, params):
        raise AssertionError("AWS was called")

    monkeypatch.setattr(BaseClient, "_make_api_call", no_aws)
    result = pytester.runpytest(SUITE, "--profile", DEMO, "--report-dir", str(blocker / "pack"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "cannot write there" in result.errlines[0]


def test_report_dir_holding_a_pack_is_refused(pytester, demo_pack):
    result = pytester.runpytest(SUITE, "--profile", DEMO, "--report-dir", str(demo_pack))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "already holds an evidence pack" in result.errlines[0]


def test_json_files_have_the_text_json_dumps_gives_in_utf_8(tmp_path):
    # With values json needs `default` for, and text beyond ASCII, written as UTF-8.
    document = {
        "results": [{"account_id": f"{n:012d}", "message": f"d\u00e9j\u00e0 vu {n}", "at": Path(f"/p/{n}")} for n in range(6000)],
        "nested": {"empty": [], "none": None, "flag": True, "ratio": 0.5, "large": 10**12, "tuple": (1, "a")},
    }
    path = tmp_path / "document.json"
    write_json_atomic(path, document)
    assert path.read_text(encoding="utf-8") == json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n"
    assert "d\u00e9j\u00e0 vu 0" in path.read_text(encoding="utf-8")
    write_json_atomic(path, {"at": Path("/x")}, default=lambda value: f"path:{value}")
    assert json.loads(path.read_text(encoding="utf-8")) == {"at": "path:/x"}
    assert [p.name for p in tmp_path.iterdir()] == ["document.json"], "no temporary file is left behind"
