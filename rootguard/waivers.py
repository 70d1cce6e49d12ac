"""Waivers: approved, dated exceptions that turn a failure into `waived` until they expire."""

from __future__ import annotations

import datetime as dt
import fnmatch

from rootguard.profile import Waiver


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
