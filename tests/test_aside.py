"""OSCAL and OCSF written aside: a second process writes them while the run finishes its other reports.

The child's word is taken for what it wrote; anything it did not say is written by the run
itself, so a pack has the same exports, with the same bytes, whichever process wrote them.
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from rootguard.cli import main as rootguard
from rootguard.reports import aside
from rootguard.reports import exports as exports_module
from rootguard.reports.ocsf import OcsfComplianceFindings
from rootguard.reports.oscal import OscalAssessmentResults
from tests.conftest import REPO

ASIDE = {"oscal": "oscal-assessment-results.json", "ocsf": "ocsf-compliance-findings.jsonl"}


def broken(export, data, directory):
    raise RuntimeError("disk on fire")


@pytest.fixture
def two_cores_any_size(monkeypatch):
    """Writing aside pays for any run here: a demo sweep has fewer verdicts than MIN_VERDICTS."""
    monkeypatch.setattr(aside, "MIN_VERDICTS", 1)
    monkeypatch.setattr(aside.os, "sched_getaffinity", lambda pid: {0, 1})


def sweep(pytester, *args: str):
    pack = pytester.path / "pack"
    run = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", "demo", "--report-dir", str(pack), "-k", "root_mfa", *args)
    return run, pack, json.loads((pack / "manifest.json").read_text())


def test_the_child_writes_each_named_export_and_says_so_line_by_line(demo_pack, tmp_path, capsys):
    pack = shutil.copytree(demo_pack, tmp_path / "pack")
    for filename in ASIDE.values():
        (pack / filename).unlink()
    chosen = [aside.spec(OcsfComplianceFindings), aside.spec(OscalAssessmentResults)]
    assert chosen == ["rootguard.reports.ocsf:OcsfComplianceFindings", "rootguard.reports.oscal:OscalAssessmentResults"]
    assert aside.main([str(pack), *chosen, "rootguard.reports.sarif:Sarif", "rootguard.reports.aside:Aside"]) == 0
    said = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert said[:2] == [
        {"name": "ocsf", "file": ASIDE["ocsf"], "media_type": "application/x-ndjson"},
        {"name": "oscal", "file": ASIDE["oscal"], "media_type": "application/oscal.assessment-results+json"},
    ]
    assert said[2]["error"].startswith("no export 'rootguard.reports.sarif:Sarif' (No module named")
    assert said[3] == {"name": "rootguard.reports.aside:Aside", "error": "'rootguard.reports.aside:Aside' is not an export"}
    for filename in ASIDE.values():
        assert (pack / filename).read_bytes() == (demo_pack / filename).read_bytes(), filename


def test_the_child_says_why_an_export_was_not_written(demo_pack, tmp_path, capsys, monkeypatch):
    pack = shutil.copytree(demo_pack, tmp_path / "pack")
    monkeypatch.setattr(aside, "write_export", broken)
    assert aside.main([str(pack), aside.spec(OscalAssessmentResults)]) == 0
    assert json.loads(capsys.readouterr().out) == {"name": "oscal", "error": "RuntimeError: disk on fire"}
    assert aside.main([str(pack)]) == 2  # a pack and no export: a usage error


def test_a_run_writes_oscal_and_ocsf_in_a_second_process(pytester, monkeypatch, two_cores_any_size, tmp_path):
    # This process cannot write an export at all; the child, its own interpreter, can.
    monkeypatch.setattr(exports_module, "write_export", broken)
    run, pack, manifest = sweep(pytester, "--export", "csv,oscal,ocsf")
    assert run.ret == 1
    assert manifest["exports"] == {
        "csv": {"file": None, "error": "RuntimeError: disk on fire"},
        "oscal": {"file": ASIDE["oscal"], "media_type": "application/oscal.assessment-results+json"},
        "ocsf": {"file": ASIDE["ocsf"], "media_type": "application/x-ndjson"},
    }
    assert aside.running(pack) is None  # read and forgotten before the manifest
    monkeypatch.undo()
    assert rootguard(["verify", str(pack)]) == 0
    # The bytes `rootguard export` writes from the same pack.
    assert rootguard(["export", str(pack), "--output", str(tmp_path / "again"), "--export", "oscal,ocsf"]) == 0
    for filename in ASIDE.values():
        assert (tmp_path / "again" / filename).read_bytes() == (pack / filename).read_bytes(), filename


def test_what_the_child_did_not_say_the_run_writes_itself(pytester, monkeypatch, two_cores_any_size, tmp_path):
    # A child that reports OSCAL's failure, prints something else, and dies without a word on OCSF.
    said = json.dumps({"name": "oscal", "error": "RuntimeError: disk on fire"})
    monkeypatch.setattr(aside, "command", lambda pack, chosen: [sys.executable, "-c", f"print({said!r}); print('noise'); raise SystemExit(3)"])
    run, pack, manifest = sweep(pytester, "--export", "oscal,ocsf")
    assert manifest["exports"]["oscal"] == {"file": None, "error": "RuntimeError: disk on fire"}
    assert f"the oscal export ({ASIDE['oscal']}) was not written: RuntimeError: disk on fire" in "\n".join(run.errlines)
    assert not (pack / ASIDE["oscal"]).exists()
    assert manifest["exports"]["ocsf"] == {"file": ASIDE["ocsf"], "media_type": "application/x-ndjson"}
    assert rootguard(["export", str(pack), "--output", str(tmp_path / "again"), "--export", "ocsf"]) == 0
    assert (tmp_path / "again" / ASIDE["ocsf"]).read_bytes() == (pack / ASIDE["ocsf"]).read_bytes()
    assert rootguard(["verify", str(pack)]) == 0


def test_a_child_still_running_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(aside, "command", lambda pack, chosen: [sys.executable, "-c", "import time; time.sleep(60)"])
    child = aside.start(tmp_path, [OscalAssessmentResults])
    assert aside.start(tmp_path, [OscalAssessmentResults]) is child  # one child per pack
    assert child.process.poll() is None
    aside.stop_all()
    assert child.process.returncode is not None and aside.running(tmp_path) is None
    assert aside.start(tmp_path, []) is None


def test_writing_aside_needs_enough_verdicts_and_a_second_core(monkeypatch):
    monkeypatch.setattr(aside.os, "sched_getaffinity", lambda pid: {0, 1})
    assert aside.pays(aside.MIN_VERDICTS) and not aside.pays(aside.MIN_VERDICTS - 1)
    monkeypatch.setattr(aside.os, "sched_getaffinity", lambda pid: {0})
    assert not aside.pays(aside.MIN_VERDICTS * 100)
