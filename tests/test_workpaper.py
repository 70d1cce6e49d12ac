"""The pack as an auditor's workpaper: the run's context in results.json, the banner, and workpaper.html.

workpaper.html must read without JavaScript and print whole: every verdict a static row,
waived shown as waived, the counts those of results.json, requirement titles in full,
and no requirement claimed as covered.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import textwrap
from html import unescape
from pathlib import Path

import pytest

from rootguard.cli import main as rootguard
from rootguard.evidence.pack import verify
from rootguard.reports.context import ci_job, redacted_profile
from tests.conftest import REPO

SUITE = str(REPO / "tests_compliance")
CHROMIUM = Path("/usr/bin/chromium")


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_results_json_states_the_runs_context(demo_pack):
    results = json.loads((demo_pack / "results.json").read_text())
    context = results["context"]
    assert results["backend"] == context["backend"] == "moto" and results["endpoint_url"] is None
    assert context["data_source"].startswith("MOCK DATA: ")
    assert results["operator"] == {"hub_identity": results["caller"], "ci_job": context["operator"]["ci_job"]}
    assert context["started_at"] == results["started_at"] and context["finished_at"] == results["finished_at"]
    assert context["duration_seconds"] >= 0 and context["complete"] is True
    assert context["regions"] == ["us-east-1", "eu-west-1"] and context["thresholds"] == results["settings"]["params"]
    assert context["gate"] == results["gate"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert context["suite"]["version"] == results["suite_version"] and context["suite"]["commit"] == head
    # The profile: the SHA-256 of the file read, and its copy in the pack under the manifest.
    profile = context["profile"]
    assert profile["sha256"] == hashlib.sha256((REPO / "profiles" / "demo.yaml").read_bytes()).hexdigest()
    assert (demo_pack / profile["copy"]).read_text() == (REPO / "profiles" / "demo.yaml").read_text()
    assert profile["copy"] in verify(demo_pack).manifest["files"]


def test_the_profile_copy_hides_external_ids_and_nothing_else():
    text = textwrap.dedent("""\
        organization:
          role_name: Audit
          external_id: s3cr3t-shared
        accounts:
          - id: "123456789012"
            external_id: "another one"   # kept apart
          - external_id: x
        description: external_id is mentioned here
        """)
    copy = redacted_profile(text)
    assert "s3cr3t" not in copy and "another one" not in copy and "external_id: x" not in copy
    assert copy.count('"(redacted)"') == 3
    assert "role_name: Audit" in copy and "description: external_id is mentioned here" in copy
    assert len(copy.splitlines()) == len(text.splitlines())


@pytest.mark.parametrize("environ, expected", [
    ({"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/audit", "GITHUB_RUN_ID": "42",
      "GITHUB_RUN_ATTEMPT": "2", "GITHUB_JOB": "sweep", "GITHUB_WORKFLOW": "quarterly", "GITHUB_ACTOR": "ann", "GITHUB_SHA": "abc"},
     {"system": "GitHub Actions", "url": "https://github.com/acme/audit/actions/runs/42/attempts/2", "job": "sweep",
      "workflow": "quarterly", "triggered_by": "ann", "commit": "abc"}),
    ({"GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.example/acme/audit/-/jobs/7", "CI_JOB_NAME": "sweep",
      "CI_PIPELINE_URL": "https://gitlab.example/acme/audit/-/pipelines/3", "GITLAB_USER_LOGIN": "bob", "CI_COMMIT_SHA": "def"},
     {"system": "GitLab CI", "url": "https://gitlab.example/acme/audit/-/jobs/7", "job": "sweep",
      "workflow": "https://gitlab.example/acme/audit/-/pipelines/3", "triggered_by": "bob", "commit": "def"}),
    ({"CODEBUILD_BUILD_ID": "audit:1a2b", "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:us-east-1:111122223333:build/audit:1a2b",
      "CODEBUILD_INITIATOR": "codepipeline/audit", "CODEBUILD_RESOLVED_SOURCE_VERSION": "0f0f"},
     {"system": "AWS CodeBuild", "url": "arn:aws:codebuild:us-east-1:111122223333:build/audit:1a2b", "job": "audit:1a2b",
      "workflow": None, "triggered_by": "codepipeline/audit", "commit": "0f0f"}),
    ({"CI": "true"}, None),
])
def test_the_ci_job_is_named_for_each_ci_system(environ, expected):
    assert ci_job(environ) == expected


def test_a_run_in_a_ci_job_records_it(pytester, monkeypatch):
    for name in ("GITLAB_CI", "CODEBUILD_BUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/audit", "GITHUB_RUN_ID": "9", "GITHUB_JOB": "gate"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_RUN_ATTEMPT", raising=False)
    pack = pytester.path / "pack"
    pytester.runpytest(SUITE, "--profile", "demo", "--report-dir", str(pack), "-k", "root_mfa", "-p", "no:allure_pytest",
                       "-p", "no:html", "--export", "none")
    job = json.loads((pack / "results.json").read_text())["operator"]["ci_job"]
    assert (job["system"], job["url"], job["job"]) == ("GitHub Actions", "https://github.com/acme/audit/actions/runs/9", "gate")
    assert "GitHub Actions: https://github.com/acme/audit/actions/runs/9" in text_of((pack / "workpaper.html").read_text())


def verdict_rows(html: str) -> list[list[str]]:
    table = html.split('<h2 id="verdicts">', 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [[text_of(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]
    return [row for row in cells if row]  # not the header


def test_the_workpaper_is_static_and_agrees_with_results_json(demo_pack):
    html = (demo_pack / "workpaper.html").read_text()
    results = json.loads((demo_pack / "results.json").read_text())
    assert "<script" not in html.lower() and "@media print" in html
    assert html.index('class="banner"') < html.index("<h1>")
    rows = verdict_rows(html)
    assert len(rows) == len(results["results"])
    assert sorted((r[0], r[1], r[4]) for r in rows) == sorted(
        (r["control"], f"{r['account_name']} ({r['account_id']})", r["outcome"]) for r in results["results"])
    # Each row links its evidence files, which are in the pack.
    for name in {n for r in results["results"] for n in r["evidence"]}:
        assert f'href="{name}"' in html
    outcomes = re.search(r"<h3>Outcomes</h3>.*?</table>", html, re.S).group(0)
    cells = [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", outcomes, re.S)]
    assert cells == [str(results["counts"][o]) for o in ("passed", "failed", "error", "skipped", "waived")] + [str(len(results["results"]))]
    # Sections: the population with its statement, every control's procedure, the framework rows.
    population = json.loads((demo_pack / "population.json").read_text())
    assert unescape(population["statement"]) in unescape(html)
    controls = json.loads((demo_pack / "controls.json").read_text())["controls"]
    for control in controls:
        assert f"{control['id']}: {control['title']}" in unescape(html)
        assert unescape(control["pass_criteria"]) in unescape(html)
    # Full requirement titles, and nothing claimed as covered.
    matrix = json.loads((demo_pack / "framework-matrix.json").read_text())
    cc63 = next(r for r in matrix["soc2"]["requirements"] if r["id"] == "CC6.3")
    assert len(cc63["title"]) > 140 and cc63["title"] in unescape(html)
    assert not re.search(r"\bcovered\b", text_of(html.split('<h2 id="frameworks">', 1)[1].split('<h2 id="verdicts">')[0]), re.I)
    report = (demo_pack / "report.html").read_text()
    assert cc63["title"] in unescape(report) and "requirements covered" not in report


def test_a_waived_verdict_reads_as_waived(pytester, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(textwrap.dedent("""\
        - control: root-mfa
          accounts: ["444455556666"]
          justification: MFA device on order
          approved_by: Ann Auditor
          expires: 2099-01-01
        """))
    pack = pytester.path / "pack"
    pytester.runpytest(SUITE, "--profile", "demo", "--report-dir", str(pack), "-k", "root_mfa", "--waivers", str(waivers), "-p", "no:allure_pytest",
                       "--export", "none")
    results = json.loads((pack / "results.json").read_text())
    assert results["counts"]["waived"] == 1
    html = (pack / "workpaper.html").read_text()
    waived = [r for r in verdict_rows(html) if r[1].endswith("(444455556666)")]
    assert [r[4] for r in waived] == ["waived"]
    register = text_of(html.split("<h3>Waivers in force</h3>", 1)[1].split("<h2", 1)[0])
    assert "Ann Auditor" in register and "MFA device on order" in register and "1 of 1 matched" in register
    assert "1 waived" in text_of((pack / "report.html").read_text())


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test-setup installs it)")
def test_the_workpaper_prints_to_pdf_whole(demo_pack, tmp_path):
    pdf = tmp_path / "workpaper.pdf"
    page = tmp_path / "workpaper.html"
    shutil.copy(demo_pack / "workpaper.html", page)
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=120)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 5, pages  # the context, population, procedures, framework rows and 161 verdicts do not fit on a few


def test_merge_writes_the_workpaper_of_the_whole_sweep(pytester):
    packs = []
    for index in (1, 2):
        pack = pytester.path / f"shard{index}"
        pytester.runpytest(SUITE, "--profile", "demo", "--report-dir", str(pack), "--shard", f"{index}/2", "-k", "root_mfa",
                           "-p", "no:allure_pytest", "-p", "no:html", "--export", "none")
        packs.append(pack)
    merged = pytester.path / "merged"
    assert rootguard(["merge", *map(str, packs), "--output", str(merged)]) == 0
    results = json.loads((merged / "results.json").read_text())
    html = (merged / "workpaper.html").read_text()
    assert len(verdict_rows(html)) == len(results["results"]) == 7
    assert "workpaper.html" in verify(merged).manifest["files"]
