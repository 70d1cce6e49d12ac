"""ledger.html and ledger.xlsx, rendered from a small ledger document written here as docs/ledger-format.md lays it out.

Five runs of three accounts and four controls (two frameworks): one failure remediated, two
open at the end, a waiver that expired in the period and the failures after it, an interval
without a run longer than the cadence, an account entering the population, a rejected pack,
and mock data. The page is read back as HTML (lxml) and as Chromium draws it; the workbook
with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import lxml.etree
import lxml.html
import openpyxl
import pytest

from rootguard.ledger.render import trend_charts, write_html
from rootguard.ledger.workbook import write_workbook
from rootguard.reports.allure_html import external_resources
from tests.conftest import REPO
from tests.test_report_html import chromium, render  # noqa: F401  (chromium is a fixture)

OUTCOME_ORDER = ["passed", "failed", "waived", "error", "skipped"]
PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "start": "2026-01-01T00:00:00Z", "end": "2026-04-01T00:00:00Z",
          "cadence": "16d", "cadence_days": 16.0, "longest_gap_allowed_days": 17.6}
# The Object Lock of each run's manifest.json as the bucket reader found it; runs 3 and 4 come from folders.
RETENTIONS = {0: {"locked": True, "mode": "COMPLIANCE", "retain_until": "2027-02-09T03:00:00Z"}, 1: {"locked": False},
              2: {"unreadable": "s3:GetObjectRetention: AccessDenied"}}
STARTS = ["2026-01-05T03:00:00Z", "2026-01-19T03:00:00Z", "2026-02-02T03:00:00Z", "2026-03-02T03:00:00Z", "2026-03-16T03:00:00Z"]
MOCK = "MOCK DATA: these accounts are moto's in-process mock of AWS, seeded from a scenario file; nothing here describes a real AWS account"
NAMES = {"111111111111": "payments-prod", "222222222222": "data-dev", "333333333333": "sandbox-new"}
CONTROLS = {  # id: title, severity, region, frameworks
    "alternate-contact": ("The account names a security contact", "medium", None, {"soc2": ["CC2.3"]}),
    "cloudtrail-enabled": ("A multi-region trail is logging", "high", "us-east-1", {"soc2": ["CC7.2"], "iso27001": ["A.8.15"]}),
    "root-access-keys": ("The root user has no access key", "critical", None, {"soc2": ["CC6.1"], "iso27001": ["A.5.15"]}),
    "root-mfa": ("The root user has MFA", "critical", None, {"soc2": ["CC6.1"], "iso27001": ["A.8.5"]}),
}
P, F, W, E, S, N = "passed", "failed", "waived", "error", "skipped", None
OUTCOMES = {  # (control, account) -> the outcome in each run; sandbox-new enters the population at run 2
    ("alternate-contact", "111111111111"): [P, P, P, P, S],
    ("alternate-contact", "222222222222"): [P, P, P, P, P],
    ("alternate-contact", "333333333333"): [N, N, P, P, P],
    ("cloudtrail-enabled", "111111111111"): [P, E, P, P, P],
    ("cloudtrail-enabled", "222222222222"): [P, P, P, P, P],
    ("cloudtrail-enabled", "333333333333"): [N, N, F, F, F],
    ("root-access-keys", "111111111111"): [P, P, P, P, P],
    ("root-access-keys", "222222222222"): [W, W, W, F, F],  # waived until the waiver expired on 2026-02-15
    ("root-access-keys", "333333333333"): [N, N, P, P, P],
    ("root-mfa", "111111111111"): [P, F, F, P, P],  # remediated by run 3
    ("root-mfa", "222222222222"): [P, P, P, P, P],
    ("root-mfa", "333333333333"): [N, N, P, P, P],
}


def who(control: str, account_id: str) -> dict:
    return {"control": control, "account_id": account_id, "account_name": NAMES[account_id], "region": CONTROLS[control][2]}


def episode(control, account_id, first_failed, open_at_start, passed_again=None, days_to_remediate=None,
            runs_failed=0, runs_waived=0, days_open_at_end=None) -> dict:
    return {**who(control, account_id), "first_failed": first_failed, "open_at_start": open_at_start,
            "passed_again": passed_again, "days_to_remediate": days_to_remediate,
            "runs_failed": runs_failed, "runs_waived": runs_waived, "runs_error": 0,
            "open_at_end": days_open_at_end is not None, "days_open_at_end": days_open_at_end}


EPISODES = [
    episode("cloudtrail-enabled", "333333333333", STARTS[2], True, runs_failed=3, days_open_at_end=57.88),
    episode("root-access-keys", "222222222222", STARTS[0], True, runs_failed=2, runs_waived=3, days_open_at_end=85.88),
    episode("root-mfa", "111111111111", STARTS[1], False, passed_again=STARTS[3], days_to_remediate=42.0, runs_failed=2),
]


def tally(outcomes: list) -> dict | None:
    judged = [outcome for outcome in outcomes if outcome is not None]
    if not judged:
        return None
    counts = Counter(judged)
    denominator = counts["passed"] + counts["failed"] + counts["waived"] + counts["error"]
    return {**{o: counts[o] for o in OUTCOME_ORDER}, "pass_rate": round(counts["passed"] / denominator, 4) if denominator else None}


def ledger_document(runs: int = 5, episodes: list = EPISODES, gaps: list | None = None) -> dict:
    """A ledger of the first `runs` runs: the mechanical parts (counts, trends, tallies) counted from OUTCOMES, the rest as given."""
    starts = STARTS[:runs]
    outcomes = {key: row[:runs] for key, row in OUTCOMES.items() if any(row[:runs])}
    in_run = [{account for (_, account), row in outcomes.items() if row[i] is not None} for i in range(runs)]
    episode_of = {(e["control"], e["account_id"]): e for e in episodes}
    requirements = sorted({(fw, req) for title, severity, region, frameworks in CONTROLS.values() for fw, ids in frameworks.items() for req in ids})

    def verdicts(run: int, controls) -> list:
        return [row[run] for (control, _), row in outcomes.items() if control in controls and row[run] is not None]

    supporting = {(fw, req): sorted(c for c, spec in CONTROLS.items() if req in spec[3].get(fw, [])) for fw, req in requirements}
    open_controls = Counter(e["control"] for e in episodes if e["open_at_end"])
    framework_rows = []
    for fw, req in requirements:
        per_run = [tally(verdicts(i, supporting[(fw, req)])) for i in range(runs)]
        framework_rows.append({
            "framework": fw, "requirement": req, "controls": supporting[(fw, req)], "per_run": per_run,
            "totals": {o: sum(t[o] for t in per_run if t) for o in OUTCOME_ORDER},
            "runs_all_passed": sum(1 for t in per_run if t and t["passed"] and t["passed"] + t["skipped"] == sum(t[o] for o in OUTCOME_ORDER)),
            "open_failures_at_end": sum(open_controls[c] for c in supporting[(fw, req)]),
        })
    first_seen = {a: next(i for i in range(runs) if a in in_run[i]) for a in set().union(*in_run)} if runs else {}
    return {
        "ledger_format": 1,
        "generated_at": "2026-04-02T09:30:00Z",
        "suite_version": "0.1.0",
        "profile": "prod",
        "data_source": MOCK if runs else None,
        "period": dict(PERIOD),
        "outcome_order": OUTCOME_ORDER,
        "pass_rate": "passed / (passed + failed + waived + error); skipped verdicts are left out",
        "runs": [
            {"index": i, "started_at": start, "finished_at": start.replace("T03:00", "T03:04"), "source": f"reports/prod/{start}",
             "manifest_sha256": f"{i:x}" * 64, "complete": True, "backend": "moto",
             "signature": "unsigned" if i == 4 else "valid, key 1a2b3c4d5e6f7a8b...", "signoffs": 1 if i < 2 else 0,
             "retention": RETENTIONS.get(i),
             "results": sum(1 for row in outcomes.values() if row[i]), "accounts": len(in_run[i]),
             "counts": {o: sum(1 for row in outcomes.values() if row[i] == o) for o in OUTCOME_ORDER}}
            for i, start in enumerate(starts)
        ],
        "packs_not_used": [
            {"source": "reports/prod/2026-02-16T03:00:00Z", "started_at": None, "status": "rejected",
             "reason": "2 file(s) differ from its manifest (results.json, evidence/111111111111/iam.json)"},
            {"source": "reports/prod/2025-12-29T03:00:00Z", "started_at": "2025-12-29T03:00:00Z", "status": "outside the period",
             "reason": "started 2025-12-29T03:00:00Z, outside 2026-01-01 to 2026-03-31"},
        ],
        "timelines": [
            {**who(control, account), "title": CONTROLS[control][0], "severity": CONTROLS[control][1], "outcomes": row,
             "first_failed": episode_of.get((control, account), {}).get("first_failed"),
             "open_at_end": episode_of.get((control, account), {}).get("open_at_end", False)}
            for (control, account), row in outcomes.items()
        ],
        "episodes": episodes,
        "open_failures": [e for e in episodes if e["open_at_end"]],
        "coverage": {
            "run_gaps": gaps if gaps is not None else [],
            "control_gaps": [
                {**who("cloudtrail-enabled", "111111111111"), "from": STARTS[0], "to": STARTS[2], "days": 28.0},
                *({**who(control, account), "from": STARTS[2], "to": STARTS[3], "days": 28.0} for control, account in outcomes),
            ] if runs == 5 else [],
            "controls": [
                {"control": control, "title": spec[0], "runs": runs, "accounts": len({a for (c, a) in outcomes if c == control}),
                 "runs_evidenced": sum(1 for i in range(runs) if any(r[i] not in (None, "error") for (c, _), r in outcomes.items() if c == control)),
                 "gaps": (4 if control == "cloudtrail-enabled" else 3) if runs == 5 else 0}
                for control, spec in CONTROLS.items() if runs
            ],
            "population": [
                {"account_id": a, "account_name": NAMES[a], "first_seen": STARTS[first_seen[a]], "last_seen": starts[-1],
                 "runs_in_scope": sum(1 for scope in in_run if a in scope)}
                for a in sorted(first_seen)
            ],
            "population_changes": [
                {"account_id": "333333333333", "account_name": "sandbox-new", "change": "entered", "at": STARTS[2], "run": 2, "reason": None},
            ] if runs > 2 else [],
        },
        "waivers": [
            {"control": "root-access-keys", "accounts": ["222222222222"], "account_pattern": None, "approved_by": "ciso@example.com",
             "justification": "the break-glass key is being replaced", "expires": "2026-02-15",
             "first_seen": STARTS[0], "last_seen": starts[-1], "in_force_from": STARTS[0], "in_force_to": starts[min(runs, 3) - 1],
             "expired_in_period": True,
             "covered": [{"run": i, "started_at": STARTS[i], "account_id": "222222222222", "region": None} for i in range(min(runs, 3))],
             "failed_after_expiry": [{"run": i, "started_at": STARTS[i], "account_id": "222222222222", "region": None} for i in range(3, runs)]},
        ] if runs else [],
        "frameworks": framework_rows if runs else [],
        "trends": {
            "controls": {c: [(tally(verdicts(i, [c])) or {}).get("pass_rate") for i in range(runs)] for c in CONTROLS} if runs else {},
            "frameworks": {fw: [(tally(verdicts(i, [c for c, spec in CONTROLS.items() if fw in spec[3]])) or {}).get("pass_rate")
                                for i in range(runs)] for fw in ("iso27001", "soc2")} if runs else {},
            "open": {o: [sum(1 for row in outcomes.values() if row[i] == o) for i in range(runs)] for o in ("failed", "waived", "error")},
        },
    }


RUN_GAPS = [
    {"from": PERIOD["start"], "to": STARTS[0], "days": 4.12, "exceeds_cadence": False},
    {"from": STARTS[0], "to": STARTS[1], "days": 14.0, "exceeds_cadence": False},
    {"from": STARTS[1], "to": STARTS[2], "days": 14.0, "exceeds_cadence": False},
    {"from": STARTS[2], "to": STARTS[3], "days": 28.0, "exceeds_cadence": True},
    {"from": STARTS[3], "to": STARTS[4], "days": 14.0, "exceeds_cadence": False},
    {"from": STARTS[4], "to": PERIOD["end"], "days": 15.88, "exceeds_cadence": False},
]


@pytest.fixture(scope="module")
def document() -> dict:
    return ledger_document(gaps=RUN_GAPS)


@pytest.fixture(scope="module")
def page(document, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.html"
    write_html(document, path)
    return path


@pytest.fixture(scope="module")
def book(document, tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.xlsx"
    write_workbook(document, path)
    return openpyxl.load_workbook(path, read_only=True)


def words(element) -> str:
    return " ".join(element.text_content().split())


def rows(tree, table_id: str) -> list[list[str]]:
    """The body rows of a table, each cell's text with its white space folded."""
    (table,) = tree.xpath(f'//table[@id="{table_id}"]')
    return [[words(cell) for cell in row.xpath("./td")] for row in table.xpath("./tbody/tr")]


def header(tree, table_id: str) -> list[str]:
    (table,) = tree.xpath(f'//table[@id="{table_id}"]')
    return [words(cell) for cell in table.xpath("./thead/tr/th")]


def test_the_page_says_where_the_data_came_from_and_what_the_period_is(page, document):
    tree = lxml.html.parse(str(page)).getroot()
    (banner,) = tree.xpath('//div[@class="banner"]')
    assert words(banner) == MOCK and banner.getparent().tag == "body" and tree.xpath("//body/*[1]")[0] is banner
    assert words(tree.xpath("//title")[0]).startswith("[MOCK DATA] rootguard ledger: profile prod, 2026-01-01 to 2026-03-31")
    facts = {words(row.xpath("./th")[0]): words(row.xpath("./td")[0]) for row in tree.xpath('//table[@id="summary"]/tr')}
    assert facts["Profile"] == "prod"
    assert facts["Period"] == "2026-01-01 to 2026-03-31, both days included: 2026-01-01T00:00:00Z to 2026-04-01T00:00:00Z"
    assert facts["Cadence"].startswith("16d (16.0 days): ")
    assert facts["Generated (UTC)"] == "2026-04-02T09:30:00Z"
    assert facts["Data source"] == MOCK
    assert facts["Runs used"] == "5: the first started 2026-01-05T03:00:00Z, the last 2026-03-16T03:00:00Z"
    assert facts["Packs found, not used"] == "2, of which 1 rejected"
    assert facts["Pass rate"] == document["pass_rate"]
    # No JavaScript is needed to read it, and nothing is fetched: the charts are in the page.
    assert not tree.xpath("//script") and not tree.xpath("//img | //object | //iframe | //link[@rel='stylesheet']")
    assert external_resources(page.read_text(encoding="utf-8")) == []
    # Printed, each section starts a page, a row is never split, and a table's header repeats on every page.
    style = tree.xpath("//style")[0].text
    printed = style[style.index("@media print"):]
    assert all(rule in printed for rule in ("h2 { break-before: page; }", "tr, figure { break-inside: avoid; }", "thead { display: table-header-group; }"))


def test_the_runs_and_the_packs_not_used_are_listed_and_the_rejected_one_stands_out(page):
    tree = lxml.html.parse(str(page)).getroot()
    assert header(tree, "runs-table") == ["run", "started (UTC)", "finished (UTC)", "source", "complete", "backend", "signature", "sign-offs",
                                          "Object Lock", "accounts", "verdicts", *OUTCOME_ORDER]
    runs = rows(tree, "runs-table")
    assert [row[0] for row in runs] == ["0", "1", "2", "3", "4"]
    assert runs[0] == ["0", STARTS[0], "2026-01-05T03:04:00Z", f"reports/prod/{STARTS[0]} manifest SHA-256 {'0' * 64}", "yes", "moto",
                       "valid, key 1a2b3c4d5e6f7a8b...", "1", "compliance until 2027-02-09T03:00:00Z", "2", "8", "7", "0", "1", "0", "0"]
    assert runs[1][-5:] == ["5", "1", "1", "1", "0"]
    assert [row[8] for row in runs[1:]] == ["NOT locked", "unreadable (s3:GetObjectRetention: AccessDenied)",
                                            "not read from a bucket", "not read from a bucket"]
    assert runs[4][6:] == ["unsigned", "0", "not read from a bucket", "3", "12", "9", "2", "0", "0", "1"]

    not_used = tree.xpath('//table[@id="packs-not-used-table"]/tbody/tr')
    assert [row.get("class") for row in not_used] == ["rejected", None]
    assert [words(cell) for cell in not_used[0].xpath("./td")] == [
        "reports/prod/2026-02-16T03:00:00Z", "unknown", "REJECTED", "2 file(s) differ from its manifest (results.json, evidence/111111111111/iam.json)"]
    assert [words(cell) for cell in not_used[1].xpath("./td")][2] == "outside the period"
    (alert,) = tree.xpath('//div[@id="rejected-alert"]')
    assert words(alert) == "1 pack was rejected: nothing of it is used in this ledger. See Packs not used."
    assert alert.xpath(".//a/@href") == ["#packs-not-used"]


def test_coverage_flags_the_long_interval_and_lists_gaps_population_and_its_changes(page):
    tree = lxml.html.parse(str(page)).getroot()
    assert rows(tree, "run-gaps-table") == [
        ["2026-01-01T00:00:00Z", STARTS[0], "4.1", "no"],
        [STARTS[0], STARTS[1], "14.0", "no"],
        [STARTS[1], STARTS[2], "14.0", "no"],
        [STARTS[2], STARTS[3], "28.0", "yes"],
        [STARTS[3], STARTS[4], "14.0", "no"],
        [STARTS[4], "2026-04-01T00:00:00Z", "15.9", "no"],
    ]
    assert tree.xpath('//table[@id="run-gaps-table"]//td[@class="flagged"]/text()') == ["yes"]
    assert "1 of them is longer than the cadence of 16d by more than a tenth of it (flagged)." in words(tree.xpath('//h3[@id="run-gaps"]/following-sibling::p[1]')[0])

    assert rows(tree, "controls-table") == [
        ["alternate-contact", "The account names a security contact", "5 of 5", "3", "3", "0", "0", "0", "3"],
        ["cloudtrail-enabled", "A multi-region trail is logging", "5 of 5", "3", "3", "1", "0", "1", "4"],
        ["root-access-keys", "The root user has no access key", "5 of 5", "3", "3", "1", "0", "1", "3"],
        ["root-mfa", "The root user has MFA", "5 of 5", "3", "3", "1", "1", "0", "3"],
    ]
    # The 13 control gaps, one row per control and stretch: the interval without a run left every account without evidence.
    assert rows(tree, "control-gaps-table") == [
        ["cloudtrail-enabled", STARTS[0], STARTS[2], "28.0", "1: payments-prod (111111111111) us-east-1"],
        ["alternate-contact", STARTS[2], STARTS[3], "28.0", "3: payments-prod (111111111111) account-wide; data-dev (222222222222) account-wide; sandbox-new (333333333333) account-wide"],
        ["cloudtrail-enabled", STARTS[2], STARTS[3], "28.0", "3: payments-prod (111111111111) us-east-1; data-dev (222222222222) us-east-1; sandbox-new (333333333333) us-east-1"],
        ["root-access-keys", STARTS[2], STARTS[3], "28.0", "3: payments-prod (111111111111) account-wide; data-dev (222222222222) account-wide; sandbox-new (333333333333) account-wide"],
        ["root-mfa", STARTS[2], STARTS[3], "28.0", "3: payments-prod (111111111111) account-wide; data-dev (222222222222) account-wide; sandbox-new (333333333333) account-wide"],
    ]
    assert "13 (control, account, region) gaps, one row per control and stretch (5)" in words(tree.xpath('//h3[@id="control-gaps"]/following-sibling::p[1]')[0])

    assert rows(tree, "population-table") == [
        ["payments-prod (111111111111)", STARTS[0], STARTS[4], "5 of 5"],
        ["data-dev (222222222222)", STARTS[0], STARTS[4], "5 of 5"],
        ["sandbox-new (333333333333)", STARTS[2], STARTS[4], "3 of 5"],
    ]
    assert rows(tree, "population-changes-table") == [["sandbox-new (333333333333)", "entered", f"2: {STARTS[2]}", ""]]


def test_open_failures_and_remediation_are_the_episodes_not_the_timelines(page):
    tree = lxml.html.parse(str(page)).getroot()
    assert rows(tree, "open-failures-table") == [
        ["cloudtrail-enabled", "sandbox-new (333333333333)", "us-east-1", STARTS[2], "yes", "3", "0", "0", "57.9"],
        ["root-access-keys", "data-dev (222222222222)", "account-wide", STARTS[0], "yes", "2", "3", "0", "85.9"],
    ]
    assert rows(tree, "remediated-table") == [
        ["root-mfa", "payments-prod (111111111111)", "account-wide", STARTS[1], STARTS[3], "42.0", "2", "0", "0", "no"],
    ]
    assert not tree.xpath('//table[@id="ended-table"]')
    # The 12 timelines are not rows of the page: a timeline that never failed is in no table but the per-control summary.
    page_text = words(tree)
    assert "data-dev (222222222222)" not in words(tree.xpath('//table[@id="remediated-table"]')[0])
    assert sum(len(table.xpath("./tbody/tr")) for table in tree.xpath("//table")) < 60
    assert "Days to remediate are counted from the first failing run to the first run that found it passed" in page_text


def test_waivers_show_their_window_what_they_covered_and_failures_after_expiry(page):
    tree = lxml.html.parse(str(page)).getroot()
    (waiver,) = rows(tree, "waivers-table")
    assert waiver[:7] == [
        "root-access-keys", "222222222222", "ciso@example.com", "the break-glass key is being replaced",
        "2026-02-15 (expired in the period)", f"{STARTS[0]} to {STARTS[4]}", f"{STARTS[0]} to {STARTS[2]}",
    ]
    (row,) = tree.xpath('//table[@id="waivers-table"]/tbody/tr')
    covered, after = row.xpath("./td")[7:9]
    assert [words(li) for li in covered.xpath(".//li")] == [f"run {i} ({STARTS[i]}): 222222222222, account-wide" for i in range(3)]
    assert [words(li) for li in after.xpath(".//li")] == [f"run {i} ({STARTS[i]}): 222222222222, account-wide" for i in (3, 4)]
    assert after.get("class") == "flagged" and covered.get("class") is None


def test_each_framework_requirement_has_its_row(page):
    tree = lxml.html.parse(str(page)).getroot()
    assert header(tree, "framework-soc2")[:4] == ["requirement", "controls", "runs judged", "runs all passed"]
    assert rows(tree, "framework-soc2") == [
        ["CC2.3", "alternate-contact", "5 of 5", "5", "12", "0", "0", "0", "1", "100.0% (run 4)", "0"],
        ["CC6.1", "root-access-keys, root-mfa", "5 of 5", "0", "19", "4", "3", "0", "0", "83.3% (run 4)", "1"],
        ["CC7.2", "cloudtrail-enabled", "5 of 5", "1", "9", "3", "0", "1", "0", "66.7% (run 4)", "1"],
    ]
    assert [row[0] for row in rows(tree, "framework-iso27001")] == ["A.5.15", "A.8.15", "A.8.5"]


def test_the_three_charts_are_inline_svg_with_titles(page, document):
    source = page.read_text(encoding="utf-8")
    tree = lxml.html.fromstring(source)
    figures = tree.xpath("//figure")
    assert [figure.get("id") for figure in figures] == ["chart-controls", "chart-frameworks", "chart-open"]
    svgs = re.findall(r"<svg\b.*?</svg>", source, re.DOTALL)
    assert len(svgs) == 3
    titles = []
    for svg in svgs:
        element = lxml.etree.fromstring(svg)  # each is well-formed SVG on its own
        assert element.tag == "{http://www.w3.org/2000/svg}svg" and element.get("role") == "img"
        (title,) = element.findall("{http://www.w3.org/2000/svg}title")
        assert element.get("aria-labelledby") == title.get("id")
        titles.append(title.text)
    assert titles == [
        "Pass rate per control, run by run, 2026-01-01 to 2026-03-31: 4 panels, one per control, each 0 to 100%",
        "Pass rate per framework, run by run, 2026-01-01 to 2026-03-31: one line per framework (iso27001, soc2), 0 to 100%",
        "Verdicts failed, waived and in error in each run, 2026-01-01 to 2026-03-31: one bar per run, the three counts stacked",
    ]
    # Three SVGs in one page: no id twice.
    ids = re.findall(r'\bid="([^"]+)"', source)
    assert len(ids) == len(set(ids))
    # The panels are titled by control, the legend names the frameworks and the outcomes (text, not glyph paths).
    assert all(f">{control}</text>" in svgs[0] for control in CONTROLS)
    assert all(f">{framework}</text>" in svgs[1] for framework in ("soc2", "iso27001"))
    assert all(f">{outcome}</text>" in svgs[2] for outcome in ("failed", "waived", "error"))
    # A bar segment per run with a count (failed in runs 1-4, waived in runs 0-2, error in run 1), and each legend's key.
    bars = Counter(re.findall(r'<g id="ledger-open-patch_\d+">\s*<path d="[^"]*"[^>]*style="fill: (#[0-9a-f]{6})', svgs[2]))
    assert (bars["#c0392b"], bars["#2471a3"], bars["#b7950b"]) == (4 + 1, 3 + 1, 1 + 1)


def test_rendering_twice_gives_the_same_bytes(document, page, tmp_path):
    write_html(document, tmp_path / "again.html")  # in this process, after the page and its charts were drawn once
    assert (tmp_path / "again.html").read_bytes() == page.read_bytes()
    write_workbook(document, tmp_path / "one.xlsx")
    write_workbook(document, tmp_path / "two.xlsx")
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "two.xlsx").read_bytes()
    # A fresh interpreter (its own hash seed), with a matplotlibrc that restyles every chart, writes the same page.
    (tmp_path / "ledger.json").write_text(json.dumps(document))
    (tmp_path / "matplotlibrc").write_text("lines.linewidth: 6\naxes.facecolor: yellow\nfont.size: 20\nsvg.fonttype: path\n")
    script = ("import json, sys; from pathlib import Path; from rootguard.ledger.render import write_html; "
              "write_html(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "ledger.json"), str(tmp_path / "other.html")],
                   check=True, cwd=REPO, timeout=120, env={**os.environ, "MATPLOTLIBRC": str(tmp_path / "matplotlibrc")})
    assert (tmp_path / "other.html").read_bytes() == page.read_bytes()


def test_a_sweep_does_not_import_matplotlib():
    script = ("import sys, rootguard.plugin, rootguard.ledger.render, rootguard.ledger.workbook; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy', 'PIL')))")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO, timeout=120)
    assert completed.stdout.strip() == "[]"


def test_the_workbook_holds_every_table(book, document):
    assert book.sheetnames == ["Summary", "Runs", "Packs not used", "Timelines", "Episodes", "Open failures", "Run gaps", "Control gaps",
                               "Controls", "Population", "Population changes", "Waivers", "Frameworks"]
    assert book.properties.created == book.properties.modified == dt.datetime(2026, 4, 2, 9, 30)

    def sheet(title):
        rows = [list(row) for row in book[title].iter_rows(values_only=True)]
        return [row + [None] * (len(rows[0]) - len(row)) for row in rows]  # a row's empty cells at its end are not stored

    summary = dict(sheet("Summary")[1:])
    assert summary["data source"] == MOCK and summary["cadence"] == "16d" and summary["packs rejected"] == 1
    assert summary["longest gap allowed (days)"] == 17.6

    runs = sheet("Runs")
    assert runs[0][:3] == ["run", "started_at", "finished_at"] and runs[0][-5:] == OUTCOME_ORDER
    assert runs[1] == [0, STARTS[0], "2026-01-05T03:04:00Z", f"reports/prod/{STARTS[0]}", "0" * 64, "yes", "moto",
                       "valid, key 1a2b3c4d5e6f7a8b...", 1, "compliance until 2027-02-09T03:00:00Z", 2, 8, 7, 0, 1, 0, 0]
    assert [row[9] for row in runs[2:]] == ["NOT locked", "unreadable (s3:GetObjectRetention: AccessDenied)",
                                            "not read from a bucket", "not read from a bucket"]
    assert sheet("Packs not used")[1] == ["reports/prod/2026-02-16T03:00:00Z", None, "rejected",
                                          "2 file(s) differ from its manifest (results.json, evidence/111111111111/iam.json)"]

    timelines = sheet("Timelines")
    assert timelines[0] == ["control", "title", "severity", "account_id", "account_name", "region", "first_failed", "open_at_end",
                            *(f"run {i} {start}" for i, start in enumerate(STARTS))]
    assert len(timelines) == 1 + 12
    by_key = {(row[0], row[3]): row for row in timelines[1:]}
    assert by_key[("root-access-keys", "222222222222")][6:] == [STARTS[0], "yes", "waived", "waived", "waived", "failed", "failed"]
    assert by_key[("cloudtrail-enabled", "333333333333")][5:] == ["us-east-1", STARTS[2], "yes", None, None, "failed", "failed", "failed"]
    assert by_key[("root-mfa", "222222222222")][6:] == [None, "no", "passed", "passed", "passed", "passed", "passed"]

    episodes = sheet("Episodes")
    assert len(episodes) == 4
    assert episodes[3] == ["root-mfa", "111111111111", "payments-prod", None, STARTS[1], "no", STARTS[3], 42.0, 2, 0, 0, "no", None]
    assert [row[:2] for row in sheet("Open failures")[1:]] == [["cloudtrail-enabled", "333333333333"], ["root-access-keys", "222222222222"]]
    assert sheet("Open failures")[2][-1] == 85.88

    assert sheet("Run gaps")[1:] == [[g["from"], g["to"], g["days"], "yes" if g["exceeds_cadence"] else "no"] for g in RUN_GAPS]
    assert len(sheet("Control gaps")) == 1 + 13
    assert sheet("Controls")[1:] == [["alternate-contact", "The account names a security contact", 5, 5, 3, 3],
                                     ["cloudtrail-enabled", "A multi-region trail is logging", 5, 5, 3, 4],
                                     ["root-access-keys", "The root user has no access key", 5, 5, 3, 3],
                                     ["root-mfa", "The root user has MFA", 5, 5, 3, 3]]
    assert sheet("Population")[3] == ["333333333333", "sandbox-new", STARTS[2], STARTS[4], 3]
    assert sheet("Population changes")[1:] == [["333333333333", "sandbox-new", "entered", STARTS[2], 2, None]]

    (waiver,) = sheet("Waivers")[1:]
    assert waiver[:7] == ["root-access-keys", "222222222222", None, "ciso@example.com", "the break-glass key is being replaced", "2026-02-15", "yes"]
    assert waiver[11:] == [3, "\n".join(f"run {i} {STARTS[i]}: 222222222222 account-wide" for i in range(3)),
                           2, "\n".join(f"run {i} {STARTS[i]}: 222222222222 account-wide" for i in (3, 4))]

    frameworks = sheet("Frameworks")
    assert frameworks[0][-5:] == [f"pass rate run {i} {start}" for i, start in enumerate(STARTS)]
    cc61 = next(row for row in frameworks if row[:2] == ["soc2", "CC6.1"])
    assert cc61[2:] == ["root-access-keys\nroot-mfa", 19, 4, 3, 0, 0, 0, 1, 0.75, 0.5, 0.6667, 0.8333, 0.8333]


def test_zero_runs_render_and_say_there_is_nothing_to_chart(tmp_path):
    empty = ledger_document(runs=0, episodes=[], gaps=[{"from": PERIOD["start"], "to": PERIOD["end"], "days": 91.0, "exceeds_cadence": True}])
    assert trend_charts(empty) == {}
    write_html(empty, tmp_path / "ledger.html")
    tree = lxml.html.parse(str(tmp_path / "ledger.html")).getroot()
    assert words(tree.xpath('//p[@id="no-runs"]')[0]) == "No run is used (see Packs not used): this ledger holds no verdict, and there is nothing to chart."
    assert words(tree.xpath('//p[@id="no-charts"]')[0]) == "No run is used: there is nothing to chart."
    assert not tree.xpath("//svg | //figure | //div[@class='banner'] | //table[@id='runs-table']")
    assert rows(tree, "run-gaps-table") == [["2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", "91.0", "yes"]]
    facts = {words(row.xpath("./th")[0]): words(row.xpath("./td")[0]) for row in tree.xpath('//table[@id="summary"]/tr')}
    assert facts["Runs used"] == "0" and facts["Data source"] == "no run used"

    write_workbook(empty, tmp_path / "ledger.xlsx")
    book = openpyxl.load_workbook(tmp_path / "ledger.xlsx", read_only=True)
    assert [list(row) for row in book["Runs"].iter_rows(values_only=True)][1:] == []
    assert [list(row) for row in book["Timelines"].iter_rows(values_only=True)][0][-1] == "open_at_end"
    assert dict(list(row) for row in book["Summary"].iter_rows(min_row=2, values_only=True))["runs used"] == 0


def test_one_run_renders_single_points_and_says_so(tmp_path):
    only = [episode("root-access-keys", "222222222222", STARTS[0], True, runs_waived=1, days_open_at_end=85.88)]
    single = ledger_document(runs=1, episodes=only, gaps=[
        {"from": PERIOD["start"], "to": STARTS[0], "days": 4.12, "exceeds_cadence": False},
        {"from": STARTS[0], "to": PERIOD["end"], "days": 86.88, "exceeds_cadence": True},
    ])
    write_html(single, tmp_path / "ledger.html")
    source = (tmp_path / "ledger.html").read_text(encoding="utf-8")
    tree = lxml.html.fromstring(source)
    assert words(tree.xpath('//p[@id="one-run"]')[0]).startswith("One run is used: every timeline has one point")
    assert "One run: each chart shows a single point in time." in words(tree.xpath('//h2[@id="trends"]/following-sibling::p[1]')[0])
    assert len(tree.xpath("//figure")) == 3
    assert rows(tree, "open-failures-table") == [["root-access-keys", "data-dev (222222222222)", "account-wide", STARTS[0], "yes", "0", "1", "0", "85.9"]]
    assert rows(tree, "framework-soc2")[1][-2:] == ["75.0% (run 0)", "1"]
    # One marker per panel, at the run's pass rate: 100% but for root-access-keys' 50% (one passed, one waived).
    markers = re.findall(r'<use xlink:href="#ledger-controls-m[0-9a-f]+" x="[0-9.]+" y="([0-9.]+)" style="fill: #1f4e79', source)
    assert len(markers) == 4 and markers[0] == markers[1] == markers[3] and float(markers[2]) > float(markers[0])


def test_a_run_that_did_not_judge_a_control_is_a_gap_in_its_line(document):
    gapped = json.loads(json.dumps(document))
    gapped["trends"]["controls"]["root-mfa"] = [1.0, None, 0.5, 0.5, None]
    gapped["trends"]["controls"]["alternate-contact"] = [None] * 5
    svg = trend_charts(gapped)["controls"]
    lines = re.findall(r'<g id="ledger-controls-line2d_\d+">\s*<path d="([^"]*)"[^>]*style="[^"]*#1f4e79', svg)
    # alternate-contact draws no line; root-mfa's breaks after its first point (M, then M again) and stops at run 3.
    assert [line.count("M") for line in lines] == [1, 1, 2]
    assert [line.count("L") for line in lines] == [4, 4, 1]
    assert len(re.findall(r'<use [^>]*style="fill: #1f4e79', svg)) == 5 + 5 + 3
    assert ">not judged</text>" in svg


def test_chromium_draws_the_page_and_its_charts(page, chromium, tmp_path):
    import numpy
    from PIL import Image

    dom = render(chromium, page, tmp_path / "chromium-profile")
    tree = lxml.html.fromstring(dom)
    assert words(tree.xpath('//div[@class="banner"]')[0]) == MOCK
    assert len(tree.xpath("//figure/svg")) == 3
    assert rows(tree, "open-failures-table")[1][:2] == ["root-access-keys", "data-dev (222222222222)"]

    # The whole page in one tall window: Chromium paints every chart, each in colours the page's own CSS uses nowhere.
    screenshot = tmp_path / "ledger.png"
    completed = subprocess.run(
        [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-shot'}", "--hide-scrollbars",
         "--window-size=1200,8000", f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1200, 8000)
    colours = {rgb: count for count, rgb in image.getcolors(image.width * image.height)}

    def painted(rgb: tuple, within: int = 12) -> int:
        return sum(count for colour, count in colours.items() if all(abs(a - b) <= within for a, b in zip(colour, rgb)))

    drawn = {
        "controls line": painted((0x1F, 0x4E, 0x79)),
        "first framework line": painted((0x1F, 0x77, 0xB4)),
        "second framework line": painted((0xFF, 0x7F, 0x0E)),
        "failed bars": painted((0xC0, 0x39, 0x2B)),
        "waived bars": painted((0x24, 0x71, 0xA3)),
        "error bars": painted((0xB7, 0x95, 0x0B)),
    }
    assert all(count > 300 for count in drawn.values()), drawn
    # The stacked chart is not blank: from above its highest bar to below its axis, many pixels are not white.
    failed_rows = numpy.nonzero(numpy.all(numpy.asarray(image) == (0xC0, 0x39, 0x2B), axis=-1).any(axis=1))[0]
    band = numpy.asarray(image.crop((0, int(failed_rows[0]) - 150, image.width, int(failed_rows[-1]) + 40)))
    assert numpy.any(band != 255, axis=-1).mean() > 0.08


def test_without_a_cadence_gaps_are_listed_not_judged(tmp_path, monkeypatch):
    monkeypatch.setattr("rootguard.ledger.render.trend_charts", lambda document: {})  # the tables are the point here
    unjudged = ledger_document(gaps=[{**gap, "exceeds_cadence": None} for gap in RUN_GAPS])
    unjudged["period"].update(cadence=None, cadence_days=None, longest_gap_allowed_days=None)
    unjudged["coverage"]["control_gaps"] = []
    write_html(unjudged, tmp_path / "ledger.html")
    tree = lxml.html.parse(str(tmp_path / "ledger.html")).getroot()
    facts = {words(row.xpath("./th")[0]): words(row.xpath("./td")[0]) for row in tree.xpath('//table[@id="summary"]/tr')}
    assert facts["Cadence"] == "none given: intervals without a run are listed, not judged against a cadence"
    assert [row[2:] for row in rows(tree, "run-gaps-table")] == [["4.1", "not judged"], ["14.0", "not judged"], ["14.0", "not judged"],
                                                                 ["28.0", "not judged"], ["14.0", "not judged"], ["15.9", "not judged"]]
    assert not tree.xpath('//table[@id="run-gaps-table"]//td[@class="flagged"]')
    assert words(tree.xpath('//h3[@id="run-gaps"]/following-sibling::p[1]')[0]).endswith("No cadence was given, so they are not judged against one.")
    assert words(tree.xpath('//h3[@id="control-gaps"]/following-sibling::p[1]')[0]) == "No cadence was given: gaps in a control's evidence are not judged."

    write_workbook(unjudged, tmp_path / "ledger.xlsx")
    book = openpyxl.load_workbook(tmp_path / "ledger.xlsx", read_only=True)
    assert [row[3] for row in book["Run gaps"].iter_rows(min_row=2, values_only=True)] == ["not judged"] * 6
    assert dict(book["Summary"].iter_rows(min_row=2, values_only=True))["cadence"] == "none given: gaps are listed, not judged"
