"""Controls: the metadata a control carries, and what a control's test function works with.

A control is one pytest test function in tests_compliance/, decorated with
`@control(...)`: its id, title, severity, rationale, remediation, the facts it
reads and its framework ids sit next to its assertion, where an auditor reads
them. The function receives `account` (a `Target`) and judges with `fail()`,
`passes_because()` or `not_applicable()`.
"""

from __future__ import annotations

import datetime as dt
from string import Formatter
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from rootguard.errors import FactError
from rootguard.facts import REGISTRY, FactKey, Unreadable
from rootguard.frameworks import framework_keys
from rootguard.profile import PARAM_DEFAULTS
from rootguard.vocabulary import CONTROL_ID, SEVERITIES



class ControlFailure(AssertionError):
    """The evidence shows non-compliance; the message says what, where and how to fix it."""


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    severity: str
    rationale: str
    remediation: str
    facts: tuple[str, ...]
    frameworks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    regional: bool = False
    # The pass rule in words, `{param}` standing for a profile setting: controls.json and the
    # exports state it with the values in force, the README's control table with the defaults.
    passes_when: str = ""

    def criteria(self, params: dict) -> str:
        """The pass rule with the run's settings filled in."""
        return self.passes_when.format_map({key: setting_text(value) for key, value in params.items()})

    def check(self) -> list[str]:
        """Problems with the metadata itself; any one is a collection error."""
        problems = []
        if not CONTROL_ID.match(self.id):
            problems.append(f"id {self.id!r} is not lower-case words joined by '-'")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        for name in ("title", "rationale", "remediation", "passes_when"):
            if not getattr(self, name).strip():
                problems.append(f"{name} is empty")
        for setting in sorted({name for _text, name, _spec, _conversion in Formatter().parse(self.passes_when) if name is not None}):
            if setting not in PARAM_DEFAULTS:
                problems.append(f"passes_when names {{{setting}}}, which is not a profile setting (params: {', '.join(PARAM_DEFAULTS)})")
        for name in self.facts:
            if name not in REGISTRY:
                problems.append(f"reads unknown fact {name!r}")
        known = framework_keys()
        for framework in self.frameworks:
            if framework not in known:
                problems.append(f"unknown framework {framework!r} (known: {', '.join(known)})")
        return problems


def control(
    *,
    id: str,
    title: str,
    severity: str,
    rationale: str,
    remediation: str,
    passes_when: str,
    facts: tuple[str, ...] | list[str],
    frameworks: dict[str, list[str]],
    regional: bool = False,
) -> Callable:
    """Mark a test function as the control `id`; the plugin parametrizes it over accounts."""
    meta = Control(
        id=id,
        title=title,
        severity=severity,
        rationale=" ".join(rationale.split()),
        remediation=" ".join(remediation.split()),
        facts=tuple(facts),
        frameworks={k: tuple(v) for k, v in frameworks.items()},
        regional=regional,
        passes_when=" ".join(passes_when.split()),
    )
    return pytest.mark.control(meta)


def setting_text(value: Any) -> str:
    """A profile setting as the pass rules show it: a list as its items, an empty one as `none`."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def fail(message: str) -> None:
    raise ControlFailure(message)


def not_applicable(reason: str) -> None:
    pytest.skip(reason)


class Target:
    """One account (and region, for regional controls) as one control sees it.

    It hands out facts, remembers which ones the control read (they become the
    verdict's evidence) and carries the pass message.
    """

    def __init__(self, account, store, sweep, region: str | None = None):
        self.account = account
        self.id = account.id
        self.name = account.name
        self.label = account.label
        self.region = region
        self._store = store
        self._sweep = sweep
        self.used: list[tuple[Any, FactKey]] = []
        self.pass_message = ""

    @property
    def params(self) -> dict:
        return self._sweep.profile.params

    @property
    def now(self) -> dt.datetime:
        """The run's clock: one instant for every control, so a run judges one moment."""
        return self._sweep.started_at

    def fact(self, name: str, region: str | None = None, **params) -> Any:
        key = self._store.key_for(name, region, params)
        self.used.append((self._store, key))
        return self._store.get_by_key(key)

    def attempt(self, name: str, region: str | None = None, **params) -> Any:
        """Like fact(), but what AWS would not give comes back as an `Unreadable` (see rootguard.controls.partial)."""
        try:
            return self.fact(name, region, **params)
        except FactError as exc:
            return Unreadable(exc)

    @property
    def partition(self) -> str:
        """The account's AWS partition (aws, aws-us-gov, aws-cn), from its caller identity."""
        arn = self.fact("sts.caller_identity")["Arn"]
        return arn.split(":")[1]

    def other_account(self, account_id: str) -> "Target | None":
        """Another account this run can read (where an organization trail's log group lives), or None."""
        store = self._store.peer(account_id)
        if store is None:
            return None
        other = Target(store.account, store, self._sweep, self.region)
        other.used = self.used  # its facts are evidence for this verdict too
        return other

    def passes_because(self, message: str) -> None:
        self.pass_message = message
