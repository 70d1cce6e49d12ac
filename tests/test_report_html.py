"""report.html as a reader sees it: rendered by headless Chromium, whose JavaScript builds pytest-html's table."""

import json
import os
import re
import subprocess
from html import unescape
from pathlib import Path

import pytest

from rootguard.reports.allure_html import external_resources

# Debian's package; `make test-setup` installs it when run as root (as CI is).
CHROMIUM = Path("/usr/bin/chromium")
FAILED_ROW = re.compile(r'<tbody class="results-table-row failed" id="([^"]+)">(.*?)</tbody>', re.DOTALL)
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.DOTALL)
LINK = re.compile(r'<a [^>]*href="(evidence/[^"]+)"[^>]*>([^<]*)</a>')


@pytest.fixture
def chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (`make test-setup` as root does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)  # CI installs it, so a missing browser there is a broken setup
        pytest.skip(reason)
    return CHROMIUM


def render(chromium: Path, page: Path, profile: Path) -> str:
    """The DOM after the page's scripts ran: offline, no first-run or background traffic, a fresh profile."""
    completed = subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # Chromium runs virtual time ahead while the page is idle, so pytest-html's
            # table is built before the DOM is dumped without waiting in real time.
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def text(fragment: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def rows_of(table: str) -> list[list[str]]:
    return [[text(cell) for cell in CELL.findall(row)] for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL)]


def test_report_renders_matrix_rows_and_evidence_in_chromium(demo_pack, chromium, tmp_path):
    pack = demo_pack
    data = json.loads((pack / "results.json").read_text())
    page = pack / "report.html"
    source = page.read_text()
    assert external_resources(source) == [], "report.html must open offline"

    dom = render(chromium, page, tmp_path / "chromium-profile")
    assert external_resources(dom) == [], "the page's scripts added something fetched from the network"

    # A failure whose evidence is the credential report, as IAM returned it.
    entry = next(r for r in data["results"] if r["control"] == "root-mfa" and r["outcome"] == "failed")
    account = f"{entry['account_name']} ({entry['account_id']})"

    # The accounts-by-controls matrix, with an F where that account fails root-mfa.
    matrix = re.search(r'<h2 id="rootguard-matrix">.*?(<table class="rootguard-matrix">.*?</table>)', dom, re.DOTALL)
    assert matrix, "no accounts-by-controls matrix"
    header, *accounts = rows_of(matrix.group(1))
    marks = {row[0]: row for row in accounts}
    assert set(marks) == {f"{a['account_name']} ({a['account_id']})" for a in data["accounts"]}
    assert marks[account][header.index("root-mfa")] == "F"

    # Framework coverage: the requirement root-mfa maps to lists it and the failing account.
    assert 'id="rootguard-frameworks"' in dom
    requirement = entry["frameworks"]["soc2"][0]
    soc2 = re.search(r'<table class="rootguard-framework" id="rootguard-framework-soc2">(.*?)</table>', dom, re.DOTALL)
    assert soc2, "no SOC 2 coverage table"
    (covered,) = [row for row in rows_of(soc2.group(1)) if row[0] == requirement]
    assert "root-mfa" in covered[2] and entry["account_id"] in covered[4]

    # The failed row pytest-html's script built: control, account, severity, outcome, frameworks.
    rows = {test_id: body for test_id, body in FAILED_ROW.findall(dom)}
    assert len(rows) == sum(1 for r in data["results"] if r["outcome"] == "failed"), "the results table did not render"
    (test_id,) = [t for t in rows if "test_root_mfa[" in t and t.endswith(f"-{entry['account_id']}]")]
    body = rows[test_id]
    cells = [text(cell) for cell in CELL.findall(re.search(r'<tr class="collapsible"[^>]*>(.*?)</tr>', body, re.DOTALL).group(1))]
    assert cells[:5] == ["Failed", "root-mfa", account, entry["severity"], "failed"]
    for framework, ids in entry["frameworks"].items():
        assert all(requirement in cells[5] for requirement in ids) and (not ids or f"{framework}:" in cells[5])
    assert entry["message"] in text(body), "the failure message is in the row's log"

    # The row links its evidence files, relative to the pack where report.html sits: the
    # credential report, with the API call that fetched it, one click away.
    links = dict((href, name) for href, name in LINK.findall(body))
    assert sorted(links) == entry["evidence"] and all(links[href] == href for href in links)
    report_path = f"evidence/{entry['account_id']}/iam.credential_report--us-east-1.json"
    evidence = json.loads((page.parent / report_path).read_text())
    calls = {call["action"]: call for call in evidence["calls"]}
    assert "<root_account>" in calls["iam:GetCredentialReport"]["response"]["Content"]
    # ... and the browser opens it from the report's folder.
    opened = render(chromium, page.parent / report_path, tmp_path / "chromium-profile")
    assert "iam:GetCredentialReport" in unescape(opened)

    # A pass links its files too.
    passed = next(r for r in data["results"] if r["control"] == "root-mfa" and r["outcome"] == "passed")
    (passed_body,) = [
        b for t, b in re.findall(r'<tbody class="results-table-row passed" id="([^"]+)">(.*?)</tbody>', dom, re.DOTALL)
        if "test_root_mfa[" in t and t.endswith(f"-{passed['account_id']}]")
    ]
    assert sorted(href for href, _ in LINK.findall(passed_body)) == passed["evidence"]
    assert passed["message"] in text(passed_body), "a pass says why in the row's log"


def test_waived_and_error_rows_say_so_and_the_counters_are_results_json(pytester, monkeypatch, chromium, tmp_path):
    from collections import Counter

    from rootguard.vocabulary import OUTCOMES
    from tests.test_allure import run_mixed

    pack, data = run_mixed(pytester, monkeypatch)
    tally = Counter(r["outcome"] for r in data["results"])
    assert tally["waived"] and tally["error"] and tally["failed"] and tally["passed"]
    page = pack / "report.html"
    dom = render(chromium, page, tmp_path / "chromium-profile")

    # pytest-html's counters: one checkbox per outcome, each counted as results.json counts it,
    # and a header that counts every result (it counted passed and failed tests alone).
    filters = re.search(r'<div class="filters">(.*?)</div>', dom, re.DOTALL).group(1)
    counters = {key: int(count) for key, count in re.findall(r'<span class="(\w+)">(\d+) [^<]*</span>', filters)}
    assert {outcome: counters[outcome] for outcome in OUTCOMES} == {outcome: tally[outcome] for outcome in OUTCOMES}
    assert re.search(r'<span class="waived">\d+ Waived,</span>', filters)
    assert re.search(rf'<p class="run-count">{len(data["results"])} tests took ', dom)

    # Every row is drawn, under its own outcome, and its Result cell says it.
    for outcome in OUTCOMES:
        bodies = re.findall(rf'<tbody class="results-table-row {outcome}"[^>]*>(.*?)</tbody>', dom, re.DOTALL)
        assert len(bodies) == tally[outcome], outcome
        for body in bodies:
            first = CELL.search(re.search(r'<tr class="collapsible"[^>]*>(.*?)</tr>', body, re.DOTALL).group(1)).group(1)
            assert text(first) == outcome.capitalize()

    # The waived filter filters: shown alone, only the waived rows are drawn.
    completed = subprocess.run(
        [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'chromium-filtered'}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri() + "?visible=waived"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    drawn = re.findall(r'<tbody class="results-table-row (\w+)"', completed.stdout)
    assert drawn == ["waived"] * tally["waived"]
