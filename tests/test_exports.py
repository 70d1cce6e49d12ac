"""The exports: results.csv, results.xlsx, OSCAL assessment results and OCSF compliance findings.

Each is checked against the pack's own results.json (and controls.json, framework-matrix.json),
validated with the library that defines the format, covered by the manifest, and written
again with the same bytes by `rootguard export PACK`.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from trestle.oscal.assessment_results import AssessmentResults

from rootguard.cli import main as rootguard
from rootguard.evidence.pack import sha256_file
from rootguard.reports.exports import PackData, export_names
from rootguard.reports.oscal import requirement_state, token
from rootguard.reports.workbook import ResultsWorkbook
from rootguard.reports.csv_export import ResultsCsv
from tests.conftest import REPO

EXPORTS = {
    "csv": "results.csv",
    "xlsx": "results.xlsx",
    "oscal": "oscal-assessment-results.json",
    "ocsf": "ocsf-compliance-findings.jsonl",
}


def results_of(pack) -> dict:
    return json.loads((pack / "results.json").read_text())


def csv_rows(pack) -> list[dict]:
    return list(csv.DictReader(io.StringIO((pack / "results.csv").read_text(encoding="utf-8-sig"))))


def sheet_rows(book, title: str) -> list[list]:
    rows = [[cell for cell in row] for row in book[title].iter_rows(values_only=True)]
    return [[("" if cell is None else cell) for cell in row] for row in rows]


def oscal_of(pack):
    return AssessmentResults.oscal_read(pack / "oscal-assessment-results.json")


def plain(value) -> str:
    """A trestle value as text: its root types and enums unwrapped."""
    while not isinstance(value, str):
        value = getattr(value, "root", None) if hasattr(value, "root") else value.value
    return value


def ocsf_of(pack) -> list[dict]:
    return [json.loads(line) for line in (pack / "ocsf-compliance-findings.jsonl").read_text().splitlines()]


def test_every_export_is_in_the_pack_its_manifest_and_the_registry(demo_pack):
    assert export_names() == list(EXPORTS)
    manifest = json.loads((demo_pack / "manifest.json").read_text())
    for name, filename in EXPORTS.items():
        assert (demo_pack / filename).is_file()
        assert manifest["files"][filename] == sha256_file(demo_pack / filename)
        assert manifest["exports"][name]["file"] == filename
    assert manifest["files"]["controls.json"] == sha256_file(demo_pack / "controls.json")


def test_the_csv_has_one_row_per_verdict_as_results_json_says(demo_pack):
    results = results_of(demo_pack)["results"]
    rows = csv_rows(demo_pack)
    assert (demo_pack / "results.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 by its BOM
    assert len(rows) == len(results) > 100
    for row, entry in zip(rows, results):
        assert (row["account_id"], row["control"], row["outcome"], row["message"], row["severity"]) == (
            entry["account_id"], entry["control"], entry["outcome"], entry["message"], entry["severity"]
        )
        assert row["region"] == (entry["region"] or "")
        assert row["evidence"].split() == entry["evidence"]
        assert row["frameworks"].split() == [f"{k}:{i}" for k, ids in entry["frameworks"].items() for i in ids]


def test_the_workbook_opens_and_every_sheet_matches_the_pack(demo_pack):
    results = results_of(demo_pack)
    matrix = json.loads((demo_pack / "framework-matrix.json").read_text())
    controls = json.loads((demo_pack / "controls.json").read_text())["controls"]
    book = openpyxl.load_workbook(demo_pack / "results.xlsx", read_only=True)
    assert book.sheetnames == [
        "Summary", "Accounts x controls", "Verdicts", *matrix, "Waivers", "Population", "Procedures",
    ]

    summary = dict(sheet_rows(book, "Summary")[1:])
    assert summary["profile"] == "demo" and summary["data source"].startswith("MOCK DATA: these accounts are moto's in-process mock of AWS")
    assert summary["verdicts"] == len(results["results"])
    assert {o: summary[o] for o in results["counts"]} == results["counts"]

    verdicts = sheet_rows(book, "Verdicts")
    assert verdicts[0][:8] == ["account_id", "account_name", "control", "title", "region", "outcome", "severity", "message"]
    assert [(r[0], r[2], r[4], r[5], r[7], r[9].split("\n")) for r in verdicts[1:]] == [
        (e["account_id"], e["control"], e["region"] or "", e["outcome"], e["message"], e["evidence"]) for e in results["results"]
    ]

    grid = sheet_rows(book, "Accounts x controls")
    header = grid[0]
    assert header[:2] == ["account_id", "account_name"] and header[2:] == sorted({e["control"] for e in results["results"]})
    by_cell = {(row[0], control): row[2 + index] for row in grid[1:] for index, control in enumerate(header[2:])}
    for entry in results["results"]:
        shown = by_cell[(entry["account_id"], entry["control"])].split("\n")
        assert (f"{entry['region']}: {entry['outcome']}" if entry["region"] else entry["outcome"]) in shown
    assert [row[0] for row in grid[1:]] == [a["account_id"] for a in results["accounts"]]

    for key, entry in matrix.items():
        rows = sheet_rows(book, key)
        assert len(rows) - 1 == entry["requirements_total"]
        for row, requirement in zip(rows[1:], entry["requirements"]):
            assert row[0] == requirement["id"] and row[2] == requirement["status"]
            assert (row[3].split("\n") if row[3] else []) == requirement["controls"]
            assert row[4:9] == [requirement["counts"].get(o, 0) for o in ("passed", "failed", "error", "skipped", "waived")]
            failing = sorted(a for a, tally in requirement["accounts"].items() if tally.get("failed"))
            assert (row[9].split("\n") if row[9] else []) == failing

    population = sheet_rows(book, "Population")[1:]
    assert [(r[0], r[3]) for r in population] == [(a["account_id"], "yes") for a in results["accounts"]]
    procedures = sheet_rows(book, "Procedures")[1:]
    assert [(r[0], r[5]) for r in procedures] == [(c["id"], c["pass_criteria"]) for c in controls]
    recent = next(r for r in procedures if r[0] == "root-recent-use")
    assert "root_recent_use_days = 90" in recent[6] and "`root_recent_use_days` (90)" in recent[5]

    # Every sheet's header row is bold, and every cell of several lines wraps, top-aligned.
    styled = openpyxl.load_workbook(demo_pack / "results.xlsx")
    wrapped = 0
    for sheet in styled.worksheets:
        assert all(cell.font.b for cell in sheet[1]), sheet.title
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and "\n" in cell.value:
                    assert (cell.alignment.wrap_text, cell.alignment.vertical) == (True, "top"), (sheet.title, cell.coordinate)
                    wrapped += 1
                else:
                    assert not cell.font.b and not cell.alignment.wrap_text, (sheet.title, cell.coordinate)
    assert wrapped > 100


def test_the_oscal_document_validates_with_trestle_and_traces_every_verdict_to_hashed_evidence(demo_pack):
    results = results_of(demo_pack)
    document = oscal_of(demo_pack)  # parsing through trestle's models is the validation
    assert plain(document.metadata.oscal_version) == "1.2.1"
    (result,) = document.results
    resources = {r.uuid: r for r in document.back_matter.resources}
    assert document.import_ap.href.lstrip("#") in resources
    assert len(result.observations) == len(results["results"])
    accounts = {item.uuid: item for item in result.local_definitions.inventory_items}
    assert len(accounts) == len(results["accounts"])
    for observation, entry in zip(result.observations, results["results"]):
        outcome = next(p.value for p in observation.props if p.name == "outcome")
        assert outcome == entry["outcome"] and observation.description == entry["message"]
        assert observation.subjects[0].subject_uuid in accounts
        assert entry["account_id"] in accounts[observation.subjects[0].subject_uuid].description
        linked = [resources[e.href.lstrip("#")] for e in observation.relevant_evidence]
        assert [r.rlinks[0].href for r in linked] == entry["evidence"]
        for resource in linked:
            assert resource.rlinks[0].hashes[0].algorithm == "SHA-256"
            assert resource.rlinks[0].hashes[0].value == sha256_file(demo_pack / resource.rlinks[0].href)

    # A finding per mapped requirement, satisfied only when every mapped verdict passed.
    matrix = json.loads((demo_pack / "framework-matrix.json").read_text())
    findings = {f.target.target_id: f for f in result.findings}
    observed = {o.uuid: next(p.value for p in o.props if p.name == "outcome") for o in result.observations}
    for key, entry in matrix.items():
        for requirement in entry["requirements"]:
            if not requirement["controls"]:
                assert token(key, requirement["id"]) not in findings
                continue
            finding = findings[token(key, requirement["id"])]
            outcomes = [observed[r.observation_uuid] for r in finding.related_observations]
            assert sorted(outcomes) == sorted(o for o, n in requirement["counts"].items() for _ in range(n))
            satisfied = all(o in ("passed", "skipped") for o in outcomes) and "passed" in outcomes
            assert plain(finding.target.status.state) == ("satisfied" if satisfied else "not-satisfied")
            assert ", ".join(requirement["controls"]) in finding.description
    assert plain(findings["cis-v7_2.5"].target.status.state) == "not-satisfied"  # root MFA fails in the demo


def test_requirement_status_never_claims_more_than_the_verdicts_show():
    assert requirement_state(["passed", "passed", "skipped"])[:2] == ("satisfied", "pass")
    assert requirement_state(["passed", "failed"])[:2] == ("not-satisfied", "fail")
    assert requirement_state(["passed", "waived"])[:2] == ("not-satisfied", "fail")
    assert requirement_state(["passed", "error"])[:2] == ("not-satisfied", "other")
    assert requirement_state(["skipped"])[:2] == ("not-satisfied", "other")


def test_the_ocsf_findings_validate_and_state_each_verdict(demo_pack):
    results = results_of(demo_pack)
    lines = (demo_pack / "ocsf-compliance-findings.jsonl").read_text().splitlines()
    assert len(lines) == len(results["results"])
    digests = {}
    for line, entry in zip(lines, results["results"]):
        finding = ComplianceFinding.model_validate_json(line)
        # Nothing the model does not know: validating and writing back gives the same line.
        assert finding.model_dump_json(exclude_none=True) == line
        data = json.loads(line)
        assert (data["class_uid"], data["category_uid"], data["type_uid"], data["activity_id"]) == (2003, 2, 200301, 1)
        assert data["metadata"]["version"] == "1.5.0" and data["metadata"]["product"]["name"] == "rootguard"
        assert data["compliance"]["control"] == entry["control"]
        assert data["compliance"]["status_id"] == {"passed": 1, "failed": 3, "error": 0, "skipped": 99, "waived": 3}[entry["outcome"]]
        assert data["compliance"]["requirements"] == [f"{k}:{i}" for k, ids in entry["frameworks"].items() for i in ids]
        assert data["status_code"] == entry["outcome"].upper() and data["status_detail"] == entry["message"]
        assert data["resources"][0]["uid"] == entry["account_id"]
        assert data["finding_info"]["uid"] == f"rootguard:{entry['control']}:{entry['account_id']}:{entry['region'] or 'global'}"
        assert data["remediation"]["desc"]
        files = {e["data"]["file"] for e in data["evidences"]}
        assert files == set(entry["evidence"])
        for evidence in data["evidences"]:
            digests[evidence["data"]["file"]] = evidence["data"]["sha256"]
            assert ":" in evidence["api"]["operation"]  # iam:GetAccountSummary, as the evidence names it
    assert all(sha256_file(demo_pack / path) == sha for path, sha in digests.items())


def test_rootguard_export_writes_the_same_bytes_as_the_run(demo_pack, tmp_path):
    assert rootguard(["export", str(demo_pack), "--output", str(tmp_path / "again")]) == 0
    for filename in EXPORTS.values():
        assert (tmp_path / "again" / filename).read_bytes() == (demo_pack / filename).read_bytes(), filename


def test_rootguard_export_into_a_pack_keeps_it_verifiable_and_refuses_a_changed_or_signed_one(demo_pack, tmp_path, capsys):
    pack = tmp_path / "pack"
    shutil.copytree(demo_pack, pack)
    for filename in EXPORTS.values():
        (pack / filename).unlink()
    manifest = json.loads((pack / "manifest.json").read_text())
    for filename in EXPORTS.values():
        del manifest["files"][filename]
    del manifest["exports"]
    (pack / "manifest.json").write_text(json.dumps(manifest))  # a pack written before the exports existed
    assert rootguard(["verify", str(pack)]) == 0
    assert rootguard(["export", str(pack), "--export", "csv,ocsf"]) == 0
    assert rootguard(["verify", str(pack)]) == 0
    assert sorted(json.loads((pack / "manifest.json").read_text())["exports"]) == ["csv", "ocsf"]
    assert (pack / "results.csv").read_bytes() == (demo_pack / "results.csv").read_bytes()
    assert not (pack / "results.xlsx").exists()
    capsys.readouterr()

    (pack / "results.json").write_text((pack / "results.json").read_text().replace('"failed"', '"passed"'))
    assert rootguard(["export", str(pack)]) == 2
    assert "differ from its manifest" in capsys.readouterr().err

    signed = tmp_path / "signed"
    shutil.copytree(demo_pack, signed)
    assert rootguard(["keygen", "--private", str(tmp_path / "k.pem"), "--public", str(tmp_path / "k.pub")]) == 0
    assert rootguard(["sign", str(signed), "--key", str(tmp_path / "k.pem")]) == 0
    capsys.readouterr()
    assert rootguard(["export", str(signed)]) == 2
    assert "is signed" in capsys.readouterr().err
    assert rootguard(["export", str(signed), "--output", str(tmp_path / "out")]) == 0
    assert rootguard(["verify", str(signed), "--key", str(tmp_path / "k.pub")]) == 0


def test_a_changed_export_fails_verification(demo_pack, tmp_path, capsys):
    pack = tmp_path / "pack"
    shutil.copytree(demo_pack, pack)
    with (pack / "ocsf-compliance-findings.jsonl").open("a") as out:
        out.write("{}\n")
    assert rootguard(["verify", str(pack)]) == 1
    assert "changed: ocsf-compliance-findings.jsonl" in capsys.readouterr().out


def test_export_chooses_formats_and_names_a_wrong_one_in_one_line(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "pytest", "--profile", "demo", "-q", "-k", "root_mfa", "-p", "no:cacheprovider", *args],
            cwd=REPO, capture_output=True, text=True, timeout=600,
        )

    chosen = tmp_path / "chosen"
    completed = run("--report-dir", str(chosen), "--export", "oscal,csv")
    assert completed.returncode == 1, completed.stdout[-2000:]
    assert sorted(p.name for p in chosen.iterdir() if p.name in EXPORTS.values()) == ["oscal-assessment-results.json", "results.csv"]
    assert sorted(json.loads((chosen / "manifest.json").read_text())["exports"]) == ["csv", "oscal"]

    none = tmp_path / "none"
    completed = run("--report-dir", str(none), "--export", "none")
    assert completed.returncode == 1
    assert not [p for p in none.iterdir() if p.name in EXPORTS.values()]

    wrong = run("--report-dir", str(tmp_path / "wrong"), "--export", "pdf")
    assert wrong.returncode == 4
    assert "--export: 'pdf': choose from csv, xlsx, oscal, ocsf" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    """An account name from AWS Organizations is data: a spreadsheet must not run it."""
    pack = tmp_path / "pack"
    pack.mkdir()
    entry = {
        "control": "root-mfa", "account_id": "111122223333", "account_name": '=HYPERLINK("http://x","y")', "region": None,
        "outcome": "failed", "message": "+1 root has no MFA", "severity": "critical", "frameworks": {"soc2": ["CC6.1"]},
        "evidence": [], "title": "The root user has MFA",
    }
    (pack / "results.json").write_text(json.dumps({
        "profile": "p", "started_at": "2026-01-02T03:04:05Z", "finished_at": "2026-01-02T03:05:05Z", "suite_version": "1",
        "caller": None, "accounts": [{"account_id": "111122223333", "account_name": entry["account_name"], "source": "listed"}],
        "counts": {"failed": 1}, "results": [entry],
    }))
    data = PackData(pack)
    rows = list(csv.reader(io.StringIO(ResultsCsv((), None).render(data).decode("utf-8-sig"))))
    assert rows[1][1] == "'" + entry["account_name"] and rows[1][7] == "'+1 root has no MFA"
    book = openpyxl.load_workbook(io.BytesIO(ResultsWorkbook((), None).render(data)))
    cell = book["Verdicts"]["B2"]
    assert cell.value == entry["account_name"] and cell.data_type == "s"
    assert book["Population"]["B2"].data_type == "s"
    assert book.properties.created.isoformat() == "2026-01-02T03:04:05"


def test_waivers_are_risks_and_suppressed_findings(demo_pack, tmp_path):
    failing = next(e for e in results_of(demo_pack)["results"] if e["outcome"] == "failed" and e["control"] == "root-hardware-mfa")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        f'waivers:\n  - control: root-hardware-mfa\n    accounts: ["{failing["account_id"]}"]\n'
        "    justification: hardware keys ship next quarter\n    approved_by: ciso@example.com\n    expires: 2099-01-31\n"
    )
    pack = tmp_path / "pack"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--profile", "demo", "-q", "-k", "hardware", "--waivers", str(waivers), "--report-dir", str(pack)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert (pack / "manifest.json").is_file(), completed.stdout[-2000:]
    (result,) = oscal_of(pack).results
    (risk,) = result.risks
    assert plain(risk.status) == "deviation-approved" and risk.description == "hardware keys ship next quarter"
    assert risk.deadline.date().isoformat() == "2099-01-31"
    assert any(p.name == "approved-by" and p.value == "ciso@example.com" for p in risk.props)
    waived_observation = next(o for o in result.observations if failing["account_id"] in o.title)
    assert [r.observation_uuid for r in risk.related_observations] == [waived_observation.uuid]
    finding = next(f for f in result.findings if f.target.target_id == "cis-v7_2.6")
    assert [r.risk_uuid for r in finding.related_risks] == [risk.uuid]

    lines = {json.loads(l)["resources"][0]["uid"]: json.loads(l) for l in (pack / "ocsf-compliance-findings.jsonl").read_text().splitlines()}
    waived = lines[failing["account_id"]]
    assert waived["status_id"] == 3 and waived["compliance"]["status_id"] == 3 and waived["status_code"] == "WAIVED"

    book = openpyxl.load_workbook(pack / "results.xlsx", read_only=True)
    register = sheet_rows(book, "Waivers")
    assert register[1][:6] == ["root-hardware-mfa", failing["account_id"], "", "hardware keys ship next quarter", "ciso@example.com", "2099-01-31"]
    assert register[1][7:] == [1, 1]


def test_a_replay_exports_the_same_verdicts(demo_pack, tmp_path):
    replay = tmp_path / "replay"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--replay", str(demo_pack), "--report-dir", str(replay), "-q", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert (replay / "manifest.json").is_file(), completed.stdout[-2000:]
    # The CSV holds verdicts only: the same bytes.
    assert (replay / "results.csv").read_bytes() == (demo_pack / "results.csv").read_bytes()

    # OCSF: the same findings; the replay names its own backend and its own evidence files' digests.
    def comparable(line: dict) -> dict:
        line = json.loads(json.dumps(line))
        del line["unmapped"]["rootguard"]["backend"]
        for evidence in line["evidences"]:
            del evidence["data"]["sha256"]
        return line

    assert [comparable(x) for x in ocsf_of(replay)] == [comparable(x) for x in ocsf_of(demo_pack)]

    # OSCAL: the same observations, findings and their statuses, under the same uuids.
    def statements(pack):
        (result,) = oscal_of(pack).results
        return (
            [(o.uuid, o.title, o.description, [e.href for e in o.relevant_evidence or []]) for o in result.observations],
            [(f.uuid, f.target.target_id, plain(f.target.status.state), [r.observation_uuid for r in f.related_observations]) for f in result.findings],
        )

    assert statements(replay) == statements(demo_pack)

    # The workbook: every sheet but the summary (backend and times) the same.
    original, again = (openpyxl.load_workbook(p / "results.xlsx", read_only=True) for p in (demo_pack, replay))
    assert original.sheetnames == again.sheetnames
    for title in original.sheetnames[1:]:
        assert sheet_rows(again, title) == sheet_rows(original, title), title
    summary = dict(sheet_rows(again, "Summary")[1:])
    assert summary["data source"].startswith("REPLAY: no AWS call was made")


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_an_export_that_fails_leaves_the_pack_and_says_so(pytester, name, monkeypatch):
    from rootguard.reports import exports as module

    def broken(export, data, directory):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, "write_export", broken)
    pack = pytester.path / "pack"
    run = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", "demo", "--report-dir", str(pack), "-k", "root_mfa", "--export", name)
    assert run.ret == 1
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["exports"][name] == {"file": None, "error": "RuntimeError: disk on fire"}
    assert f"the {name} export ({EXPORTS[name]}) was not written: RuntimeError: disk on fire" in "\n".join(run.errlines)
    assert rootguard(["verify", str(pack)]) == 0


def test_trestles_own_validator_accepts_the_oscal_document(demo_pack, tmp_path):
    """What the README tells a user to run: `trestle validate` in a trestle workspace."""
    trestle = Path(sys.executable).with_name("trestle")  # installed with rootguard, beside this Python
    assert trestle.is_file()
    assert subprocess.run([trestle, "init"], cwd=tmp_path, capture_output=True, text=True).returncode == 0
    target = tmp_path / "assessment-results" / "demo" / "assessment-results.json"
    target.parent.mkdir(parents=True)
    shutil.copy(demo_pack / "oscal-assessment-results.json", target)
    checked = subprocess.run([trestle, "validate", "-f", str(target)], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0 and "VALID: Model" in checked.stdout + checked.stderr, checked.stdout + checked.stderr


def test_the_oscal_file_is_what_trestle_writes_for_the_whole_document(demo_pack):
    """It is written piece by piece; read back whole and written by trestle, it is the same bytes."""
    written = (demo_pack / "oscal-assessment-results.json").read_bytes()
    assert oscal_of(demo_pack).oscal_serialize_json_bytes() + b"\n" == written
