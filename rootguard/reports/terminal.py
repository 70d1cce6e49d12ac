"""Reports: results.json in the DESIGN.md schema, and the terminal matrix of accounts by controls."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rootguard import __version__
from rootguard.evidence.documents import json_default, redact
from rootguard.verdicts import OUTCOMES, Result
from rootguard.evidence.pack import RESULTS, PackError, write_json_atomic

MARKS = {"passed": ".", "failed": "F", "error": "E", "skipped": "s", "waived": "w"}


def write_results(pack: Path, run, results: list[Result], complete: bool) -> Path:
    document = {
        "profile": run.profile.name,
        "started_at": run.started_text,
        "finished_at": run.finished_text,
        "suite_version": __version__,
        "caller": run.caller.get("Arn") if run.caller else None,
        **run.results_extras(),
        "complete": complete,
        "accounts": [{"account_id": a.id, "account_name": a.name, "source": a.source} for a in run.accounts],
        "counts": dict(counts(results)),
        "results": [r.as_json() for r in sorted(results, key=result_order)],
    }
    path = pack / RESULTS
    write_json_atomic(path, redact(document), default=json_default)
    return path


def result_order(result: Result) -> tuple:
    return (result.account_name, result.account_id, result.control.id, result.region or "")


def compare_results(earlier_pack: Path, results: list[Result]) -> dict:
    """What changed since an earlier pack: newly failing, newly passing, other changes, added, removed."""
    path = earlier_pack / RESULTS
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        before = {(r["control"], r["account_id"], r["region"]): r for r in earlier["results"]}
    except FileNotFoundError:
        raise PackError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PackError(f"{path}: not a rootguard results file ({exc})") from None
    now = {(r.control.id, r.account_id, r.region): r for r in results}
    bad = {"failed", "error"}
    changes: dict[str, list] = {"newly_failing": [], "newly_passing": [], "changed": [], "added": [], "removed": []}
    for key in sorted(set(before) | set(now), key=lambda k: (k[1], k[0], k[2] or "")):
        control, account_id, region = key
        old, new = before.get(key), now.get(key)
        entry = {"control": control, "account_id": account_id, "region": region}
        if old is None:
            changes["added"].append({**entry, "outcome": new.outcome})
            continue
        if new is None:
            changes["removed"].append({**entry, "outcome": old["outcome"]})
            continue
        if old["outcome"] == new.outcome:
            continue
        entry.update({"was": old["outcome"], "now": new.outcome, "message": new.message})
        if new.outcome in bad and old["outcome"] not in bad:
            changes["newly_failing"].append(entry)
        elif new.outcome == "passed" and old["outcome"] in bad:
            changes["newly_passing"].append(entry)
        else:
            changes["changed"].append(entry)
    return {
        "against": str(earlier_pack),
        "against_started_at": earlier.get("started_at"),
        "unchanged": sum(1 for key in set(before) & set(now) if before[key]["outcome"] == now[key].outcome),
        **changes,
    }


def comparison_lines(comparison: dict) -> list[str]:
    if "error" in comparison:
        return [f"compare: {comparison['error']}"]
    lines = [f"compared with {comparison['against']} (started {comparison.get('against_started_at')}):"]
    labels = {
        "newly_failing": "newly failing",
        "newly_passing": "newly passing",
        "changed": "changed",
        "added": "new (not judged before)",
        "removed": "no longer judged",
    }
    for key, label in labels.items():
        for entry in comparison[key]:
            change = f"{entry['was']} -> {entry['now']}" if "was" in entry else entry["outcome"]
            where = entry["account_id"] + (f" {entry['region']}" if entry["region"] else "")
            lines.append(f"  {label}: {entry['control']} on {where}: {change}")
    total = sum(len(comparison[k]) for k in labels)
    lines.append(f"  {comparison['unchanged']} unchanged, {total} different")
    return lines


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
    column = max(len(entry) for entry in legend) if legend else 0
    per_line = 3
    lines.append("")
    for start in range(0, len(legend), per_line):
        lines.append("   ".join(f"{entry:<{column}}" for entry in legend[start : start + per_line]).rstrip())
    lines.append("marks: . passed  F failed  E error  s skipped  w waived  - not run")
    tally = counts(results)
    lines.append(", ".join(f"{tally[o]} {o}" for o in OUTCOMES))
    return lines
