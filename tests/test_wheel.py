"""rootguard installed from its wheel, as a user outside the checkout would have it.

The wheel is built from a copy of this checkout and installed, with nothing else of the
checkout, into a new virtual environment; every run happens in an empty folder elsewhere
(with a failing test file of its own, which a sweep must never collect). Without the demo
extra a moto profile is a one-line usage error; with it, `rootguard run` and the pytest form
sweep the demo with the same verdicts as the checkout, and `rootguard verify` checks the pack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

# What a checkout holds that is not source: left out of the copy the wheel is built from.
LEFT_OUT_AT_TOP = {".git", ".venv", "node_modules", "reports", "build", "mutants"}
LEFT_OUT = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.egg-info")
# The two sweeps are minutes apart, and the demo's dates are counted back from each run's start.
WHEN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\dZ|\d+(\.\d+)? h ago")


def run(command: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    # Nothing of the checkout on the path: not the working folder, not PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def said(completed: subprocess.CompletedProcess) -> str:
    return completed.stdout[-4000:] + completed.stderr[-4000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (so the checkout gets no build/ folder)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=lambda folder, names: (
        LEFT_OUT(folder, names) | (LEFT_OUT_AT_TOP & set(names) if Path(folder) == REPO else set())))
    built = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", base / "dist", source], cwd=base)
    assert built.returncode == 0, said(built)
    return next((base / "dist").glob("rootguard-*.whl"))


def cells(results: dict) -> dict:
    return {(r["control"], r["account_id"], r["region"]): (r["outcome"], WHEN.sub("(time)", r["message"])) for r in results["results"]}


def test_the_wheel_carries_the_suite_and_moto_only_as_an_extra(wheel):
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    for control in (REPO / "tests_compliance").glob("test_*.py"):
        assert f"rootguard/tests_compliance/{control.name}" in names
    for catalog in (REPO / "frameworks").glob("*.yaml"):
        assert f"rootguard/catalogs/{catalog.name}" in names
    for profile in (REPO / "profiles").glob("*.yaml"):
        assert f"rootguard/profiles/{profile.name}" in names
    assert {"rootguard/policy/readonly-policy.json", "rootguard/fixtures/scenarios/demo.yaml", "rootguard/pytest.ini"} <= names
    assert not any(name.startswith(("fixtures/", "tests/", "tests_compliance/")) for name in names)
    metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    moto = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: moto")]
    assert moto and all('extra == "demo"' in line for line in moto), moto
    # The packaged pytest.ini is the checkout's (rootguard/pytest.ini links to it), not a copy that could drift.
    assert archive.read("rootguard/pytest.ini").decode() == (REPO / "pytest.ini").read_text()


def test_installed_alone_it_sweeps_from_anywhere_as_the_checkout_does(wheel, demo_pack, tmp_path):
    """One test, in steps, so that one virtual environment serves them all (xdist would split tests)."""
    venv, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    made = run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    assert made.returncode == 0, said(made)
    bin_ = venv / "bin"
    pip = [bin_ / "python", "-m", "pip", "install", "--quiet", "--no-compile", "-c", REPO / "constraints.txt"]
    done = run([*pip, wheel], cwd=tmp_path)
    assert done.returncode == 0, said(done)
    elsewhere.mkdir()
    (elsewhere / "test_not_rootguard.py").write_text("def test_someone_elses():\n    assert False\n")

    # Without the demo extra: a moto profile is one line, exit 4, and no pack.
    done = run([bin_ / "rootguard", "run", "--profile", "demo"], cwd=elsewhere)
    assert done.returncode == 4, said(done)
    assert "Traceback" not in said(done)
    assert re.search(r"demo\.yaml: backend: moto needs moto.*pip install 'rootguard\[demo\]'", said(done)), said(done)
    assert not (elsewhere / "reports").exists()

    done = run([*pip, f"{wheel}[demo]"], cwd=tmp_path)
    assert done.returncode == 0, said(done)

    # `rootguard run`: the whole demo, the pack under ./reports/, the checkout's verdicts.
    done = run([bin_ / "rootguard", "run", "--profile", "demo", "-q"], cwd=elsewhere)
    assert done.returncode == 1, said(done)  # the demo has findings: the gate fails, as in `make demo`
    assert "test_someone_elses" not in said(done)
    packs = list((elsewhere / "reports" / "demo").iterdir())
    assert len(packs) == 1, packs
    assert cells(json.loads((packs[0] / "results.json").read_text())) == cells(json.loads((demo_pack / "results.json").read_text()))
    assert not list(venv.glob("lib/python3*/site-packages/rootguard/**/manifest.json"))  # no pack inside the package

    checked = run([bin_ / "rootguard", "verify", packs[0]], cwd=elsewhere)
    assert checked.returncode == 0, said(checked)
    assert re.search(r": OK, \d+ files match the manifest; not signed; run complete, profile demo", checked.stdout), said(checked)

    # Without the ledger extra: `rootguard ledger` says what to install, before reading any pack.
    done = run([bin_ / "rootguard", "ledger", packs[0], "--from", "2026-01-01", "--to", "2026-12-31", "--output", "ledger"], cwd=elsewhere)
    assert done.returncode == 4 and "Traceback" not in said(done), said(done)
    assert "need matplotlib: pip install 'rootguard[ledger]'" in said(done) and not (elsewhere / "ledger").exists()

    # The pytest form: only the controls are collected, with the installed pytest.ini in force.
    pack = tmp_path / "pack"
    done = run([bin_ / "python", "-m", "pytest", "--profile", "demo", "--report-dir", pack, "-q", "-k", "root_mfa", "--export", "none"],
               cwd=elsewhere)
    assert done.returncode == 1, said(done)
    assert "test_someone_elses" not in said(done)
    assert {r["control"] for r in json.loads((pack / "results.json").read_text())["results"]} == {"root-mfa"}
    assert not (elsewhere / ".pytest_cache").exists()
