"""Reports: results.json in the DESIGN.md schema, and the terminal matrix of accounts by controls."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from rootguard import __version__
from rootguard.evidence import json_default, redact
from rootguard.outcomes import OUTCOMES, Result

MARKS = {"passed": ".", "failed": "F", "error": "E", "skipped": "s", "waived": "w"}


def write_results(pack: Path, run, results: list[Result], complete: bool) -> Path:
    document = {
        "profile": run.profile.name,
        "started_at": run.started_text,
        "finished_at": run.finished_text,
        "suite_version": __version__,
        "caller": run.caller.get("Arn") if run.caller else None,
        "complete": complete,
        "backend": run.profile.backend,
        "accounts": [{"account_id": a.id, "account_name": a.name, "source": a.source} for a in run.accounts],
        "counts": dict(counts(results)),
        "results": [r.as_json() for r in sorted(results, key=lambda r: (r.account_name, r.account_id, r.control.id, r.region or ""))],
    }
    path = pack / "results.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(redact(document), indent=2, default=json_default) + "\n", encoding="utf-8")
    os.replace(temporary, path)  # a reader never sees half a file
    return path


def counts(results: list[Result]) -> Counter:
    tally = Counter({outcome: 0 for outcome in OUTCOMES})
    tally.update(r.outcome for r in results)
    return tally


def matrix_lines(results: list[Result], accounts, control_ids: list[str]) -> list[str]:
    """Accounts as rows, controls as numbered columns, one mark per outcome (regional: worst mark)."""
    worst = {"error": 5, "failed": 4, "waived": 3, "skipped": 2, "passed": 1}
    cell: dict[tuple[str, str], str] = {}
    for r in results:
        key = (r.account_id, r.control.id)
        if key not in cell or worst[r.outcome] > worst[cell[key]]:
            cell[key] = r.outcome
    labels = [f"{a.name} ({a.id})" for a in accounts]
    width = max([len(label) for label in labels] + [7])
    header = " " * width + "  " + " ".join(f"{i + 1:>2}" for i in range(len(control_ids)))
    lines = [header]
    for account, label in zip(accounts, labels):
        marks = " ".join(f"{MARKS.get(cell.get((account.id, c), ''), '-'):>2}" for c in control_ids)
        lines.append(f"{label:<{width}}  {marks}")
    legend = [f"{i + 1:>2} {c}" for i, c in enumerate(control_ids)]
    per_line = 3
    lines.append("")
    for start in range(0, len(legend), per_line):
        lines.append("   ".join(f"{entry:<28}" for entry in legend[start : start + per_line]).rstrip())
    lines.append("marks: . passed  F failed  E error  s skipped  w waived  - not run")
    tally = counts(results)
    lines.append(", ".join(f"{tally[o]} {o}" for o in OUTCOMES))
    return lines
