"""--compare PACK (and a replay): which verdicts changed since an earlier pack."""

from __future__ import annotations

import json
from pathlib import Path

from rootguard.evidence.pack import RESULTS, PackError


# What a comparison lists as different; everything else is `unchanged`.
CHANGE_KINDS = ("newly_failing", "newly_passing", "changed", "added", "removed")


def differences(comparison: dict | None) -> int | None:
    """How many verdicts a comparison found different; None when there was nothing to compare with."""
    if comparison is None or "error" in comparison:
        return None
    return sum(len(comparison[kind]) for kind in CHANGE_KINDS)


def compare_results(earlier_pack: Path, results: list, scope: tuple[set, set] | None = None) -> dict:
    """What changed since an earlier pack: newly failing, newly passing, other changes, added, removed.

    `scope` (controls, account ids) leaves out the earlier verdicts outside it: a replay of some
    accounts or controls (--account, -k) re-performs those, and has not lost the others.
    """
    path = earlier_pack / RESULTS
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        before = {(r["control"], r["account_id"], r["region"]): r for r in earlier["results"]
                  if scope is None or (r["control"] in scope[0] and r["account_id"] in scope[1])}
    except FileNotFoundError:
        raise PackError(f"{path}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PackError(f"{path}: not a rootguard results file ({exc})") from None
    now = {(r.control.id, r.account_id, r.region): r for r in results}
    bad = {"failed", "error"}
    changes: dict[str, list] = {kind: [] for kind in CHANGE_KINDS}
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
    scoped = {} if scope is None else {"scope": {"controls": sorted(scope[0]), "accounts": sorted(scope[1])}}
    return {
        "against": str(earlier_pack),
        **scoped,
        "against_started_at": earlier.get("started_at"),
        "unchanged": sum(1 for key in set(before) & set(now) if before[key]["outcome"] == now[key].outcome),
        **changes,
    }
