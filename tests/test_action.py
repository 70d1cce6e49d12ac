"""The GitHub Action (action.yml): its step run as GitHub runs it, with the environment GitHub sets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from rootguard.action import cell, summary, sweep_arguments
from tests.conftest import REPO


def github_environment(workspace, **inputs) -> dict:
    """What GitHub sets for a composite action's step, with the inputs action.yml maps."""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("AWS_", "GITHUB_", "INPUT_"))}
    (workspace / "summary.md").write_text("")
    (workspace / "output").write_text("")
    env.update(
        GITHUB_ACTIONS="true", CI="true", GITHUB_WORKSPACE=str(workspace), GITHUB_ACTION_PATH=str(REPO),
        GITHUB_STEP_SUMMARY=str(workspace / "summary.md"), GITHUB_OUTPUT=str(workspace / "output"),
        GITHUB_RUN_ID="4242", GITHUB_REPOSITORY="example/landing-zone",
    )
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return env


def run_step(workspace, **inputs) -> tuple[int, str, dict]:
    step = yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"][-1]
    assert step["run"] == "python -m rootguard.action"
    completed = subprocess.run([sys.executable, "-m", "rootguard.action"], cwd=workspace, env=github_environment(workspace, **inputs),
                               capture_output=True, text=True, timeout=600)
    outputs = dict(line.split("=", 1) for line in (workspace / "output").read_text().splitlines())
    return completed.returncode, (workspace / "summary.md").read_text(), outputs


def test_action_maps_every_input_to_the_step():
    action = yaml.safe_load((REPO / "action.yml").read_text())
    step = action["runs"]["steps"][-1]
    for name in action["inputs"]:
        if name != "python-version":
            assert step["env"][f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"
    assert set(action["outputs"]) == {"pack", "exit-code"}


def test_sweep_of_an_organization_fails_the_step_and_summarizes(tmp_path):
    code, text, outputs = run_step(tmp_path, profile="demo")
    assert code == 1 and outputs["exit-code"] == "1"
    pack = tmp_path / "rootguard-pack"
    assert outputs["pack"] == str(pack)
    results = json.loads((pack / "results.json").read_text())
    assert text == summary(results, 1)
    assert text.startswith("## rootguard: profile demo, exit code 1\n")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(" in line]
    assert len(rows) == len(results["accounts"]) == 7
    findings = [r for r in results["results"] if r["outcome"] in ("failed", "error")]
    assert f"### Findings ({len(findings)})" in text
    assert sum(1 for line in text.splitlines() if line.startswith("- failed ") or line.startswith("- error ")) == min(len(findings), 100)
    assert subprocess.run([sys.executable, "-m", "rootguard.cli", "verify", str(pack)], capture_output=True).returncode == 0


def test_gating_a_vended_account(tmp_path):
    """One account, as an account-vending pipeline gates it; the profile is a file of the caller's repository."""
    (tmp_path / "profiles").mkdir()
    demo = (REPO / "profiles" / "demo.yaml").read_text()
    (tmp_path / "profiles" / "landing.yaml").write_text(demo.replace("scenario: fixtures/", f"scenario: {REPO}/fixtures/"))
    code, text, outputs = run_step(tmp_path, profile="profiles/landing.yaml", accounts="111122223333", report_dir="packs/vend")
    results = json.loads((tmp_path / "packs" / "vend" / "results.json").read_text())
    assert [a["account_id"] for a in results["accounts"]] == ["111122223333"]
    failing = [r for r in results["results"] if r["outcome"] in ("failed", "error")]
    assert code == (1 if failing else 0) and outputs["exit-code"] == str(code)
    assert text.count("(111122223333) |") == 1


def test_a_usage_error_leaves_no_pack_and_says_so(tmp_path):
    code, text, outputs = run_step(tmp_path, profile="demo", accounts="123")
    assert code == 4 and outputs == {"pack": "", "exit-code": "4"}
    assert text.startswith("## rootguard: no evidence pack")


def test_inputs_become_arguments(tmp_path):
    args, pack = sweep_arguments({"GITHUB_WORKSPACE": str(tmp_path), "INPUT_PROFILE": "ci/prod.yaml", "INPUT_ACCOUNTS": "111122223333, 222233334444",
                                  "INPUT_GATE_SEVERITY": "high", "INPUT_ARGS": "-n 2 --export 'csv,oscal'"})
    assert args == ["--profile", str(tmp_path / "ci/prod.yaml"), "--report-dir", str(tmp_path / "rootguard-pack"),
                    "--account", "111122223333", "--account", "222233334444", "--gate-severity", "high", "-n", "2", "--export", "csv,oscal"]
    assert pack == tmp_path / "rootguard-pack"
    with pytest.raises(SystemExit, match="the `profile` input is required"):
        sweep_arguments({"GITHUB_WORKSPACE": str(tmp_path)})


def test_cells_cannot_break_the_markdown():
    assert cell("a | b\n<script>") == "a \\| b &lt;script&gt;"
