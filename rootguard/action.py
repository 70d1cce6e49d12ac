"""The GitHub Action's step (action.yml): a sweep run with the action's inputs, then what it found told to GitHub.

GitHub runs a composite action's step with the inputs that action.yml maps to INPUT_*
variables, a file to append Markdown to ($GITHUB_STEP_SUMMARY) and a file of step outputs
($GITHUB_OUTPUT). This runs `pytest --profile ...` from the action's folder, writes the
accounts-by-controls matrix and the findings to the job summary, the pack's path and the
exit code to the outputs, and exits with pytest's code: the job fails when the gate does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

MARKS = {"passed": "pass", "failed": "**FAIL**", "error": "**error**", "skipped": "skip", "waived": "waived"}
LISTED = 100  # findings listed in the summary; the rest are in the pack


def sweep_arguments(env: dict) -> tuple[list[str], Path]:
    """pytest's arguments from the action's inputs, and the pack's folder; paths are the workspace's."""
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    profile = env.get("INPUT_PROFILE", "").strip()
    if not profile:
        raise SystemExit("rootguard action: the `profile` input is required (a name in profiles/ or a path in the repository)")
    if "/" in profile or profile.endswith((".yaml", ".yml")):
        profile = str(workspace / profile)
    pack = workspace / (env.get("INPUT_REPORT_DIR", "").strip() or "rootguard-pack")
    args = ["--profile", profile, "--report-dir", str(pack)]
    for account in re.split(r"[\s,]+", env.get("INPUT_ACCOUNTS", "").strip()):
        if account:
            args += ["--account", account]
    if env.get("INPUT_GATE_SEVERITY", "").strip():
        args += ["--gate-severity", env["INPUT_GATE_SEVERITY"].strip()]
    args += shlex.split(env.get("INPUT_ARGS", ""))
    return args, pack


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell or list item: no pipes breaking the row, no line breaks, no HTML."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def summary(results: dict | None, code: int) -> str:
    """The job summary: the run in a line, the accounts-by-controls matrix with a legend, then the findings."""
    if results is None:
        return f"## rootguard: no evidence pack\n\nThe sweep ended with exit code {code} before judging anything; its log says why.\n"
    entries = results["results"]
    controls = sorted({e["control"] for e in entries}, key=lambda c: min(i for i, e in enumerate(entries) if e["control"] == c))
    gate = results.get("gate") or {}
    lines = [
        f"## rootguard: profile {cell(results['profile'])}, exit code {code}",
        "",
        f"Backend {results.get('backend', 'live')}, started {results['started_at']}, {len(results['accounts'])} accounts, "
        f"{'complete' if results.get('complete') else '**incomplete**'}; gate at {gate.get('min_severity', '?')}: "
        + ", ".join(f"{n} {outcome}" for outcome, n in results["counts"].items() if n),
        "",
        "| account | " + " | ".join(str(i) for i in range(1, len(controls) + 1)) + " |",
        "|---|" + "---|" * len(controls),
    ]
    outcomes: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        outcomes.setdefault((entry["account_id"], entry["control"]), []).append(entry["outcome"])
    for account in results["accounts"]:
        row = []
        for control in controls:
            seen = outcomes.get((account["account_id"], control), [])
            worst = next((o for o in ("error", "failed", "waived", "passed", "skipped") if o in seen), None)
            row.append(MARKS[worst] if worst else "")
        lines.append(f"| {cell(account['account_name'])} ({account['account_id']}) | " + " | ".join(row) + " |")
    lines += ["", "Controls: " + ", ".join(f"{i} `{c}`" for i, c in enumerate(controls, start=1)), ""]
    findings = [e for e in entries if e["outcome"] in ("failed", "error")]
    if findings:
        lines += [f"### Findings ({len(findings)})", ""]
        for entry in findings[:LISTED]:
            where = f" in {entry['region']}" if entry["region"] else ""
            lines.append(f"- {entry['outcome']} `{entry['control']}` ({entry['severity']}) on {cell(entry['account_name'])} "
                         f"({entry['account_id']}){where}: {cell(entry['message'])}")
        if len(findings) > LISTED:
            lines.append(f"- ... and {len(findings) - LISTED} more, in the pack's results.json and report.html")
    else:
        lines.append("No control failed or erred.")
    return "\n".join(lines) + "\n"


def main(env: dict | None = None) -> int:
    env = dict(os.environ if env is None else env)
    args, pack = sweep_arguments(env)
    root = Path(env.get("GITHUB_ACTION_PATH") or Path(__file__).resolve().parents[1])
    code = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=root).returncode
    results_file = pack / "results.json"
    results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.is_file() else None
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(summary(results, code))
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as handle:
            handle.write(f"pack={pack if results is not None else ''}\nexit-code={code}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
