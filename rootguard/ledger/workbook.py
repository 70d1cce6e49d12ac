"""ledger.xlsx: the ledger's tables as an Excel workbook an auditor can sort, filter and sample from.

One sheet per table of ledger.json (docs/ledger-format.md), after a Summary of the period;
Timelines holds every (control, account, region) with its outcome in each run, the one
table ledger.html leaves out. Written as results.xlsx is (rootguard.reports.workbook's
Sheets: write-only, text never stored as a formula), dated generated_at, so the same
document always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rootguard.ledger.render import lock
from rootguard.reports.workbook import Sheets, yes_no

NOT_JUDGED = None  # a run that did not judge it: an empty cell, as the Summary sheet says


def run_label(run: dict) -> str:
    return f"run {run['index']} {run['started_at']}"


def verdict_lines(verdicts: list[dict]) -> str:
    return "\n".join(f"run {v['run']} {v['started_at']}: {v['account_id']} {v.get('region') or 'account-wide'}" for v in verdicts)


def summary_rows(document: dict):
    period = document["period"]
    yield "profile", document.get("profile") or ""
    yield "data source", document.get("data_source") or ("AWS APIs (live)" if document["runs"] else "no run used")
    yield "period", f"{period['from']} to {period['to']} (inclusive)"
    yield "period start (UTC)", period["start"]
    yield "period end (UTC)", period["end"]
    yield "cadence", period.get("cadence") or "none given: gaps are listed, not judged"
    if period.get("cadence"):
        yield "longest gap allowed (days)", period.get("longest_gap_allowed_days")
    yield "generated (UTC)", document["generated_at"]
    yield "suite version", document.get("suite_version") or ""
    yield "ledger format", document["ledger_format"]
    yield "runs used", len(document["runs"])
    yield "packs not used", len(document["packs_not_used"])
    yield "packs rejected", sum(1 for pack in document["packs_not_used"] if pack["status"] == "rejected")
    yield "timelines", len(document["timelines"])
    yield "failure episodes", len(document["episodes"])
    yield "open failures at end", len(document["open_failures"])
    yield "pass rate", document["pass_rate"]
    yield "empty outcome or pass rate cell", "not judged in that run"


def run_rows(document: dict):
    for run in document["runs"]:
        yield [
            run["index"], run["started_at"], run.get("finished_at") or "", run["source"], run["manifest_sha256"],
            yes_no(run.get("complete")), run.get("backend") or "", run["signature"], run["signoffs"], lock(run.get("retention")),
            run["accounts"], run["results"],
            *(run["counts"].get(outcome, 0) for outcome in document["outcome_order"]),
        ]


def timeline_rows(document: dict):
    for timeline in document["timelines"]:
        yield [
            timeline["control"], timeline.get("title") or "", timeline.get("severity") or "", timeline["account_id"],
            timeline.get("account_name") or "", timeline.get("region") or "", timeline.get("first_failed") or "",
            yes_no(timeline["open_at_end"]), *(outcome or NOT_JUDGED for outcome in timeline["outcomes"]),
        ]


EPISODE_HEADER = [
    "control", "account_id", "account_name", "region", "first_failed", "open_at_start", "passed_again", "days_to_remediate",
    "runs_failed", "runs_waived", "runs_error", "open_at_end", "days_open_at_end",
]


def episode_rows(episodes: list[dict]):
    for episode in episodes:
        yield [
            episode["control"], episode["account_id"], episode.get("account_name") or "", episode.get("region") or "",
            episode["first_failed"], yes_no(episode["open_at_start"]), episode.get("passed_again") or "", episode.get("days_to_remediate"),
            episode["runs_failed"], episode["runs_waived"], episode["runs_error"], yes_no(episode["open_at_end"]), episode.get("days_open_at_end"),
        ]


def run_gap_rows(document: dict):
    for gap in document["coverage"]["run_gaps"]:
        judged = "not judged" if gap["exceeds_cadence"] is None else yes_no(gap["exceeds_cadence"])
        yield [gap["from"], gap["to"], gap["days"], judged]


def control_gap_rows(document: dict):
    for gap in document["coverage"]["control_gaps"]:
        yield [gap["control"], gap["account_id"], gap.get("account_name") or "", gap.get("region") or "", gap["from"], gap["to"], gap["days"]]


def control_rows(document: dict):
    for entry in document["coverage"]["controls"]:
        yield [entry["control"], entry.get("title") or "", entry["runs_evidenced"], entry["runs"], entry["accounts"], entry["gaps"]]


def population_rows(document: dict):
    for account in document["coverage"]["population"]:
        yield [account["account_id"], account.get("account_name") or "", account["first_seen"], account["last_seen"], account["runs_in_scope"]]


def change_rows(document: dict):
    for change in document["coverage"]["population_changes"]:
        yield [change["account_id"], change.get("account_name") or "", change["change"], change["at"], change["run"], change.get("reason") or ""]


def waiver_rows(document: dict):
    for waiver in document["waivers"]:
        yield [
            waiver["control"], "\n".join(waiver.get("accounts") or []), waiver.get("account_pattern") or "", waiver.get("approved_by") or "",
            waiver.get("justification") or "", waiver["expires"], yes_no(waiver["expired_in_period"]),
            waiver.get("first_seen") or "", waiver.get("last_seen") or "", waiver.get("in_force_from") or "", waiver.get("in_force_to") or "",
            len(waiver["covered"]), verdict_lines(waiver["covered"]),
            len(waiver["failed_after_expiry"]), verdict_lines(waiver["failed_after_expiry"]),
        ]


def framework_rows(document: dict):
    for row in document["frameworks"]:
        yield [
            row["framework"], row["requirement"], "\n".join(row["controls"]),
            *(row["totals"].get(outcome, 0) for outcome in document["outcome_order"]),
            row["runs_all_passed"], row["open_failures_at_end"],
            *(NOT_JUDGED if tally is None or tally.get("pass_rate") is None else tally["pass_rate"] for tally in row["per_run"]),
        ]


def write_workbook(document: dict, path: Path) -> None:
    """ledger.xlsx, written whole or not at all, dated the document's generated_at."""
    runs = [run_label(run) for run in document["runs"]]
    outcomes = document["outcome_order"]
    sheets = Sheets()
    sheets.add("Summary", ["field", "value"], summary_rows(document))
    sheets.add(
        "Runs",
        ["run", "started_at", "finished_at", "source", "manifest_sha256", "complete", "backend", "signature", "signoffs", "object_lock",
         "accounts", "verdicts", *outcomes],
        run_rows(document),
    )
    sheets.add("Packs not used", ["source", "started_at", "status", "reason"],
               ([p["source"], p.get("started_at") or "", p["status"], p["reason"]] for p in document["packs_not_used"]))
    sheets.add(
        "Timelines",
        ["control", "title", "severity", "account_id", "account_name", "region", "first_failed", "open_at_end", *runs],
        timeline_rows(document),
    )
    sheets.add("Episodes", EPISODE_HEADER, episode_rows(document["episodes"]))
    sheets.add("Open failures", EPISODE_HEADER, episode_rows(document["open_failures"]))
    sheets.add("Run gaps", ["from", "to", "days", "exceeds_cadence"], run_gap_rows(document))
    sheets.add("Control gaps", ["control", "account_id", "account_name", "region", "from", "to", "days"], control_gap_rows(document))
    sheets.add("Controls", ["control", "title", "runs_evidenced", "runs", "accounts", "gaps"], control_rows(document))
    sheets.add("Population", ["account_id", "account_name", "first_seen", "last_seen", "runs_in_scope"], population_rows(document))
    sheets.add("Population changes", ["account_id", "account_name", "change", "at", "run", "reason"], change_rows(document))
    sheets.add(
        "Waivers",
        ["control", "accounts", "account_pattern", "approved_by", "justification", "expires", "expired_in_period", "first_seen",
         "last_seen", "in_force_from", "in_force_to", "covered", "covered verdicts", "failed_after_expiry", "failed after expiry"],
        waiver_rows(document),
    )
    sheets.add(
        "Frameworks",
        ["framework", "requirement", "controls", *outcomes, "runs_all_passed", "open_failures_at_end",
         *(f"pass rate {label}" for label in runs)],
        framework_rows(document),
    )
    generated = dt.datetime.fromisoformat(document["generated_at"].replace("Z", "+00:00"))
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(sheets.save(generated))
    temporary.replace(path)
