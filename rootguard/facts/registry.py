"""The fact registry: every fact by name (@fact), and what a fetch leaves behind (FactResult, CallRecord).

A fact is either one API call or paginated listing (a raw fact, recorded as
evidence) or a reading of other facts (a derived fact, such as the root user's
credentials). Controls ask for facts by name and never build boto3 clients.

Facts are cut at the grain of the verdicts: one trail's status, one topic's
subscribers, one budget's alerts. A reading that spans several of them asks for
each with `attempt`, which hands back an `Unreadable` in place of what AWS would
not give, so that one refused piece makes `error` only of the verdicts it could
change (DESIGN.md, "Judging from partial evidence").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from rootguard.errors import FactError

if TYPE_CHECKING:
    from rootguard.facts.store import FactStore

FactKey = tuple  # (name, region, ((param, value), ...))


@dataclass(frozen=True)
class Unreadable:
    """A piece of evidence AWS would not give (refused, throttled, answered oddly), where a value should be.

    It decides nothing: a verdict it could change is `error`, one that what was read
    already proves stands and names it.
    """

    error: FactError

    def __str__(self) -> str:
        return str(self.error)


@dataclass(frozen=True)
class FactSpec:
    name: str
    fetch: Callable[..., Any]
    regional: bool
    description: str
    # Whether another account's facts read this one (FactContext.fact_of): under xdist,
    # another worker may then ask for it too (rootguard.distributed.sharing).
    read_across_accounts: bool = False


REGISTRY: dict[str, FactSpec] = {}


def fact(name: str, *, regional: bool = False, read_across_accounts: bool = False) -> Callable:
    """Register a fact. A regional fact is fetched per region; others in the home region.

    `read_across_accounts`: the facts of other accounts read it in this one's store (with
    `FactContext.fact_of`), as every account reads its organization trail's status where
    the trail lives. Only facts so marked may be read that way.
    """

    def register(fetch: Callable) -> Callable:
        known = REGISTRY.get(name)
        # A module imported afresh (pytester restores sys.modules) re-registers itself; two modules may not share a name.
        if known is not None and known.fetch.__qualname__ != fetch.__qualname__:
            raise ValueError(f"fact {name} defined twice ({known.fetch.__qualname__}, {fetch.__qualname__})")
        REGISTRY[name] = FactSpec(
            name, fetch, regional, (fetch.__doc__ or "").strip().splitlines()[0] if fetch.__doc__ else "", read_across_accounts
        )
        return fetch

    return register


@dataclass
class CallRecord:
    """One AWS request (or one whole paginated listing) as evidence."""

    action: str
    region: str
    parameters: dict
    requested_at: str
    response: Any = None
    error: dict | None = None
    pages: int = 1
    # Per HTTP response (one, or one per page): AWS's request id and the response's Date
    # header, with which an auditor finds the call in the account's CloudTrail. None where
    # the response did not say.
    request_ids: list = field(default_factory=list)
    response_dates: list = field(default_factory=list)


@dataclass
class FactResult:
    key: FactKey
    value: Any = None
    error: FactError | None = None
    calls: list[CallRecord] = field(default_factory=list)
    depends_on: list[tuple["FactStore", FactKey]] = field(default_factory=list)
    # Set when the fact was read from an evidence file another process of this run wrote
    # (rootguard.distributed.sharing): its path in the pack, which holds the requests AWS answered.
    evidence: str | None = None


def fact_key(name: str, region: str, params: dict) -> FactKey:
    return (name, region, tuple(sorted(params.items())))


def describe_key(key: FactKey) -> str:
    name, region, params = key
    text = name
    if params:
        text += "(" + ", ".join(f"{k}={v}" for k, v in params) + ")"
    return f"{text} in {region}"
