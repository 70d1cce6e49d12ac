"""Waivers: approved, dated exceptions that turn a failure into `waived` until they expire."""

from __future__ import annotations

import datetime as dt
import fnmatch

from rootguard.profile.profile import Waiver


def covers(waiver: Waiver, control_id: str, account_id: str) -> bool:
    if waiver.control != control_id:
        return False
    if account_id in waiver.accounts:
        return True
    return waiver.account_pattern is not None and fnmatch.fnmatchcase(account_id, waiver.account_pattern)


def apply_waivers(waivers, control_id: str, account_id: str, message: str, today: dt.date) -> tuple[str, str]:
    """(outcome, message) for a failure: `waived` under a waiver in force, else `failed` saying why not."""
    matching = [w for w in waivers if covers(w, control_id, account_id)]
    current = [w for w in matching if w.expires >= today]
    if current:
        waiver = max(current, key=lambda w: w.expires)
        return "waived", f"{message} [waived until {waiver.expires}, approved by {waiver.approved_by}: {waiver.justification}]"
    if matching:
        waiver = max(matching, key=lambda w: w.expires)
        return "failed", f"{message} [the waiver approved by {waiver.approved_by} expired on {waiver.expires}]"
    return "failed", message


def load_waivers_file(path: str) -> tuple[Waiver, ...]:
    """A waiver file (--waivers): a list of waivers, or a mapping with a `waivers:` list."""
    from rootguard.errors import ProfileError
    from rootguard.profile.profile import parse_waiver
    from rootguard.profile.yamlsource import expect_list, expect_mapping, read_document

    doc = read_document(path, ProfileError)
    data, where = doc.data, ()
    if isinstance(data, dict):
        expect_mapping(doc, data, (), ("waivers",), required=("waivers",))
        data, where = data["waivers"], ("waivers",)
    if not isinstance(data, list):
        raise doc.error(where, "expected a list of waivers")
    return tuple(expect_list(doc, data, where, lambda value, at: parse_waiver(doc, value, at)))


def waiver_usage(waivers, results, today: dt.date) -> list[dict]:
    """Each waiver with what it matched in this run; one that matches nothing is worth a look."""
    usage = []
    for waiver in waivers:
        covered = [r for r in results if covers(waiver, r.control.id, r.account_id)]
        usage.append(
            {
                "control": waiver.control,
                "accounts": list(waiver.accounts),
                "account_pattern": waiver.account_pattern,
                "justification": waiver.justification,
                "approved_by": waiver.approved_by,
                "expires": waiver.expires.isoformat(),
                "expired": waiver.expires < today,
                "matched": len(covered),
                "waived": sum(1 for r in covered if r.outcome == "waived"),
                "line": waiver.line,
            }
        )
    return usage
