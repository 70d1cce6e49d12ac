"""Judging from partial evidence: the pieces a verdict could not read, and what they leave open.

A control walks the resources that could decide it (trails, alarms, topics, budgets),
asking for each with `Target.attempt`. What it could not read goes into `Gaps`. When
what it did read proves the verdict, the verdict stands and its message names the
gaps; when a gap could still change it, the verdict is `error`, naming each gap and
its AWS error (DESIGN.md, "Judging from partial evidence").
"""

from __future__ import annotations

from typing import Any, NoReturn

from rootguard.errors import FactError
from rootguard.facts import Unreadable


class Gaps:
    """What one verdict could not read: (what it is, why not), in the order met."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, FactError]] = []

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def read(self, value: Any, what: str) -> Any:
        """`value` itself, or None after noting `what` as unread when it is an `Unreadable`."""
        if isinstance(value, Unreadable):
            self.add(what, value.error)
            return None
        return value

    def add(self, what: str, error: FactError) -> None:
        if all(known != what for known, _ in self.pieces):
            self.pieces.append((what, error))

    def listing(self) -> str:
        return "; ".join(f"{what}: {error}" for what, error in self.pieces)

    def note(self) -> str:
        """A tail for a verdict the gaps could not change: ' (not read, and not needed: ...)'."""
        return f" (not read, and not needed for this verdict: {self.listing()})" if self.pieces else ""

    def undecided(self, question: str) -> NoReturn:
        """The verdict hangs on a gap: an `error` naming each one."""
        first = self.pieces[0][1]
        raise FactError(f"{question} cannot be told: {self.listing()}", action=first.action, code=first.code)
