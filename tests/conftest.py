"""Shared harness: run the real compliance suite through pytest itself on a seeded moto scenario."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import moto.cloudwatch.models  # noqa: F401
import moto.logs.models  # noqa: F401
import moto.organizations.models  # noqa: F401
import moto.s3.models  # noqa: F401
import moto.sts.models  # noqa: F401
import openpyxl.writer.excel  # noqa: F401
import py_ocsf_models.events.findings.compliance_finding  # noqa: F401
import pytest
import trestle.oscal.assessment_results  # noqa: F401

from rootguard.fixtures import motoext
from rootguard.fixtures.scenario import load_scenario_text

# pytester's in-process runs drop the modules first imported inside them; importing moto's
# services and patching them here makes every run share one moto instead of a fresh copy
# next to stale references (and the exports' libraries are imported once, not once a run).
motoext.install()

REPO = Path(__file__).resolve().parent.parent
HUB = "123456789012"


@pytest.fixture(autouse=True)
def keep_botocore_models(monkeypatch):
    """In-process sweeps of one worker keep botocore's parsed service models from one run to the next.

    A sweep lets go of them once its facts are fetched (its reports never call AWS, and they
    are its largest allocation); the next pytester run in the same process would parse the
    same JSON again, a tenth to half a second a run. What the sweep judges does not depend on it.
    """
    monkeypatch.setattr("rootguard.run.forget_botocore_models", lambda: None)


def pytest_configure(config):
    # The pytest processes the tests start leave out hypothesis's plugin: it imports hypothesis
    # at every run's end (a fifth of a second), and a user's install has no hypothesis. This
    # process and its xdist workers keep it (the fault-injection tests draw with it).
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", None):
        os.environ["PYTEST_ADDOPTS"] = " ".join(filter(None, [os.environ.get("PYTEST_ADDOPTS"), "-p no:hypothesispytest"]))


@dataclass
class Verdicts:
    """What one run decided: results.json, indexed by (control, account name or id)."""

    result: pytest.RunResult
    data: dict

    def entry(self, control: str, account: str, region: str | None = None) -> dict:
        found = [
            r
            for r in self.data["results"]
            if r["control"] == control and account in (r["account_name"], r["account_id"]) and (region is None or r["region"] == region)
        ]
        assert len(found) == 1, f"expected one result for {control} on {account}, got {len(found)}: {self.data['results']}"
        return found[0]

    def outcome(self, control: str, account: str = "hub") -> str:
        return self.entry(control, account)["outcome"]

    def message(self, control: str, account: str = "hub") -> str:
        return self.entry(control, account)["message"]


def profile_for(scenario_path: Path, scenario_text: str, regions: list[str] | None = None, extra: str = "", leave_out=()) -> str:
    """A moto profile listing every ACTIVE account of the scenario but those in `leave_out`, reached as in production."""
    scenario = load_scenario_text(scenario_text, str(scenario_path))
    lines = [
        "backend: moto",
        f"scenario: {scenario_path}",
        f"home_region: {scenario.regions[0]}",
        f"regions: [{', '.join(regions or scenario.regions)}]",
        "accounts:",
    ]
    for account in scenario.accounts:
        if account.status != "ACTIVE" or account.id in leave_out:
            continue
        lines.append(f'  - id: "{account.id}"')
        lines.append(f"    name: {account.name}")
        if account.id != HUB:
            lines.append(f"    role_arn: arn:aws:iam::{account.id}:role/OrganizationAccountAccessRole")
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


# A judge() run reads results.json only: the HTML, Allure and export writers (a second or more
# of each run) are left out; the tests of those reports run whole sweeps of their own.
JUDGE_ONLY = ("--export", "none", "-p", "no:html", "-p", "no:allure_pytest")


@pytest.fixture
def judge(pytester: pytest.Pytester):
    """judge(scenario_yaml, control=None, regions=None, profile_extra="", args=(), leave_out=()) -> Verdicts."""

    def run(scenario: str, control: str | None = None, *, regions=None, profile_extra: str = "", args=(), leave_out=()) -> Verdicts:
        scenario_text = textwrap.dedent(scenario)
        scenario_path = pytester.path / "scenario.yaml"
        scenario_path.write_text(scenario_text)
        profile_path = pytester.path / "profile.yaml"
        profile_path.write_text(profile_for(scenario_path, scenario_text, regions, profile_extra, leave_out))
        # A pack of its own per run: a test may judge twice, and a pack is never written over.
        runs = sorted(pytester.path.glob("pack*"))
        pack = pytester.path / ("pack" if not runs else f"pack-{len(runs)}")
        selection = ["-k", "test_" + control.replace("-", "_")] if control else []
        result = pytester.runpytest(
            str(REPO / "tests_compliance"), "--profile", str(profile_path), "--report-dir", str(pack), *selection, *JUDGE_ONLY, *args
        )
        results_file = pack / "results.json"
        assert results_file.is_file(), "\n".join(result.outlines + result.errlines)
        return Verdicts(result, json.loads(results_file.read_text()))

    return run


@pytest.fixture(scope="session")
def demo_pack(tmp_path_factory, worker_id) -> Path:
    """One pack of the whole demo, made once per test session for the tests that only read it.

    Made in a child process, like a user's run; tests that change a pack copy it first. Under
    xdist the workers share it: the first to ask makes it, under a lock, in the session's
    common temporary folder.
    """
    base = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        base = base.parent
    pack = base / "demo-shared" / "pack"
    with open(base / "demo-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (pack / "manifest.json").is_file():
            completed = subprocess.run(
                [sys.executable, "-m", "pytest", "--profile", "demo", "--report-dir", str(pack), "-q"],
                cwd=REPO, capture_output=True, text=True, timeout=600,
            )
            assert (pack / "manifest.json").is_file(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return pack


ONE_ACCOUNT = """\
accounts:
  - id: "123456789012"
    name: hub
"""


def hub(regions: str = "[us-east-1]", **sections: str) -> str:
    """A one-account scenario: the hub account with the given YAML sections."""
    text = f"regions: {regions}\n" + ONE_ACCOUNT
    for key, body in sections.items():
        text += f"    {key}:\n" + textwrap.indent(textwrap.dedent(body), "      ")
    return text
