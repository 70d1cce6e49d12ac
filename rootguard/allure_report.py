"""Allure: labels for every control (framework, requirement, control), evidence attachments, and the HTML report.

allure-pytest writes allure-results/ into the pack; rootguard adds the labels and
links before the tests run, the evidence as each verdict is reached, and, at the
end, environment.properties, categories.json and, where the Allure command line
(npm package `allure`, see package.json) is installed, a single-file HTML report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}
FRAMEWORK_TITLES = {
    "soc2": "SOC 2",
    "iso27001": "ISO/IEC 27001:2022",
    "cis-v3": "CIS AWS Foundations v3.0",
    "cis-v5": "CIS AWS Foundations v5.0",
    "securityhub": "AWS Security Hub",
}
CIS_BENCHMARK_URL = "https://www.cisecurity.org/benchmark/amazon_web_services"
RESULTS_DIR = "allure-results"
REPORT_DIR = "allure-report"

# How rootguard outcomes read in Allure: error is "broken", waived is a skip that says "waived".
CATEGORIES = [
    {"name": "Non-compliant (failed)", "matchedStatuses": ["failed"]},
    {"name": "Could not judge (error)", "matchedStatuses": ["broken"]},
    {"name": "Waived exception", "matchedStatuses": ["skipped"], "messageRegex": ".*waived until.*"},
    {"name": "Not applicable (skipped)", "matchedStatuses": ["skipped"]},
]


def securityhub_url(control_id: str) -> str:
    service, number = control_id.split(".", 1)
    return f"https://docs.aws.amazon.com/securityhub/latest/userguide/{service.lower()}-controls.html#{service.lower()}-{number}"


def label(item: pytest.Item, catalogs: dict) -> None:
    """Add Allure labels and links to one control test (markers allure-pytest reads at run time)."""
    import allure

    marker = item.get_closest_marker("control")
    if marker is None:
        return
    meta = marker.args[0]
    item.add_marker(allure.severity(SEVERITY[meta.severity]))
    item.add_marker(allure.story(f"{meta.id}: {meta.title}"))
    item.add_marker(allure.tag(meta.id))
    item.add_marker(allure.label("rootguard_control", meta.id))
    for framework, ids in meta.frameworks.items():
        for requirement in ids:
            title = catalogs[framework].requirements.get(requirement, "") if framework in catalogs else ""
            item.add_marker(allure.epic(FRAMEWORK_TITLES.get(framework, framework)))
            item.add_marker(allure.feature(f"{requirement} {title}".strip()[:120]))
            item.add_marker(allure.tag(f"{framework}:{requirement}"))
            if framework == "securityhub":
                item.add_marker(allure.link(securityhub_url(requirement), name=f"AWS Security Hub {requirement}"))
            elif framework.startswith("cis-"):
                item.add_marker(allure.link(CIS_BENCHMARK_URL, name=f"{FRAMEWORK_TITLES[framework]} {requirement}"))
    item.add_marker(allure.description(f"{meta.rationale}\n\nRemediation: {meta.remediation}"))


def attach_verdict(result, documents: dict[str, dict]) -> None:
    """Attach the verdict and its evidence to the running Allure test."""
    import allure

    allure.attach(
        json.dumps({"outcome": result.outcome, "message": result.message, "evidence": result.evidence}, indent=2),
        name="verdict",
        attachment_type=allure.attachment_type.JSON,
    )
    if documents:
        allure.attach(json.dumps(documents, indent=2, sort_keys=True), name="evidence", attachment_type=allure.attachment_type.JSON)


def allure_cli(rootpath: Path) -> list[str] | None:
    """The Allure command line installed from package.json, run with this machine's node."""
    node = shutil.which("node")
    cli = rootpath / "node_modules" / "allure" / "cli.js"
    if node and cli.is_file():
        return [node, str(cli)]
    return None


def finish_allure_results(run) -> dict:
    """environment.properties and categories.json, then the HTML report if the CLI is there."""
    results = run.pack / RESULTS_DIR
    if not results.is_dir():
        return {"results": None, "html_built": False, "reason": "allure-pytest wrote no results"}
    environment = {
        "profile": run.profile.name,
        "caller": run.caller.get("Arn") if run.caller else "",
        "suite_version": __import__("rootguard").__version__,
        "started_at": run.started_text,
        "finished_at": run.finished_text or "",
        "accounts": str(len(run.accounts)),
        "complete": str(run.complete).lower(),
    }
    (results / "environment.properties").write_text(
        "".join(f"{key}={value}\n" for key, value in environment.items()), encoding="utf-8"
    )
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
    status = {"results": RESULTS_DIR, "html_built": False}
    command = allure_cli(run.config.rootpath)
    if command is None:
        status["reason"] = "the Allure command line is not installed (make report installs it)"
        return status
    status.update(build_html(command, run.pack))
    return status


def build_html(command: list[str], pack: Path, timeout: float = 300) -> dict:
    """Run `allure generate` into allure-report/ as one self-contained HTML file."""
    output = pack / REPORT_DIR
    try:
        completed = subprocess.run(
            [*command, "generate", str(pack / RESULTS_DIR), "--output", str(output), "--single-file"],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=pack,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"html_built": False, "reason": f"allure generate failed: {exc}"}
    index = output / "index.html"
    if completed.returncode != 0 or not index.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"html_built": False, "reason": f"allure generate exited {completed.returncode}: {tail[0]}"}
    return {"html_built": True, "html": f"{REPORT_DIR}/index.html"}
