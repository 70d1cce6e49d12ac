"""Judging a control on facts given as plain data: a control's rules, tested without AWS or moto.

    from rootguard.controls.given import judge
    from tests_compliance.test_root_user import test_root_mfa

    outcome, message = judge(test_root_mfa, {"iam.root_report": report, "iam.root_summary": summary})

A fact is given as its value, as a function of the fact's parameters (for facts such as
`cloudtrail.status(trail=...)`; one that also takes `region` is told the region asked),
or as an `Unreadable` / `FactError` for one AWS would not give. A control that reads a fact the test did not give fails the test, naming it.
"""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from rootguard.accounts import Account
from rootguard.controls import ControlFailure, Target
from rootguard.errors import FactError
from rootguard.facts import REGISTRY, FactKey, Unreadable
from rootguard.profile import PARAM_DEFAULTS

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


class MissingFact(AssertionError):
    """The control read a fact the test did not give."""


@dataclass
class GivenFacts:
    """A fact store that answers from `facts` (name -> value, function of the parameters, or Unreadable)."""

    account: Account
    facts: dict[str, Any]
    peers: dict[str, "GivenFacts"] = field(default_factory=dict)
    home_region: str = "us-east-1"

    def key_for(self, name: str, region: str | None, params: dict) -> FactKey:
        if name not in REGISTRY:
            raise KeyError(f"no fact named {name!r}")
        return (name, region or self.home_region, tuple(sorted(params.items())))

    def get_by_key(self, key: FactKey) -> Any:
        name, region, params = key
        if name not in self.facts:
            raise MissingFact(f"the control read {name}{dict(params) or ''} of {self.account.label}, which the test did not give")
        value = self.facts[name]
        if callable(value) and not isinstance(value, type):
            # A function that takes `region` is told where the fact was asked for.
            takes_region = "region" in inspect.signature(value).parameters
            value = value(**dict(params), **({"region": region} if takes_region else {}))
        if isinstance(value, Unreadable):
            raise value.error
        if isinstance(value, FactError):
            raise value
        return value

    def peer(self, account_id: str) -> "GivenFacts | None":
        return self if account_id == self.account.id else self.peers.get(account_id)


@dataclass(frozen=True)
class GivenSweep:
    """The little of a sweep a control reads: the profile's params and the run's clock."""

    profile: Any
    started_at: dt.datetime


@dataclass(frozen=True)
class GivenProfile:
    params: dict


def judge(
    control: Callable,
    facts: dict[str, Any],
    *,
    params: dict | None = None,
    now: dt.datetime = NOW,
    account: Account = Account(id="111122223333", name="given"),
    region: str | None = None,
    peers: dict[str, GivenFacts] | None = None,
) -> tuple[str, str]:
    """Run one control's test function on the given facts: (outcome, message), as a sweep would record them."""
    store = GivenFacts(account, facts, peers or {})
    sweep = GivenSweep(GivenProfile({**PARAM_DEFAULTS, **(params or {})}), now)
    target = Target(account, store, sweep, region)
    try:
        control(target)
    except ControlFailure as failure:
        return "failed", str(failure)
    except FactError as error:
        return "error", str(error)
    except pytest.skip.Exception as skipped:
        return "skipped", str(skipped.msg)
    return "passed", target.pass_message


def failing(code: str = "AccessDenied", action: str = "iam:GetAccountSummary") -> Unreadable:
    """A piece AWS refused, for a test to give in place of a fact."""
    return Unreadable(FactError(f"{action} failed: {code}: refused", action=action, code=code))
