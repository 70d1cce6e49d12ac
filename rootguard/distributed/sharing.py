"""Under pytest-xdist: a fact that several workers need is asked of AWS once per run.

Each worker fetches the facts of the accounts it owns, but some facts are read by every
worker: the organization, its OUs and SCPs and its root access settings (read through
the hub), and an organization trail's status and selectors, which every account's trail
controls read in the account that keeps the trail. For each such fact (`SharedFacts.shared`),
a worker takes a lock file in a folder the controller made for this run. The
first to hold it fetches the fact, writes its evidence file and notes the file in the
lock before letting go. A worker that holds the lock after that reads the fact from
that evidence file, as `--replay` does, instead of asking AWS again.

Only a file noted in this run's lock is read back, never one found in the pack: a
--report-dir used before may hold evidence of an earlier run. Anything short of a
readable file (the write failed, the run is stopping, the fact made no request) leaves
the next worker to fetch the fact itself.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Callable, Collection

from rootguard.evidence.documents import evidence_name
from rootguard.facts import FactContext, FactKey, FactResult, FactStore
from rootguard.facts.registry import REGISTRY
from rootguard.evidence.replay import RecordedCalls, ReplayClient


class SharedFacts:
    def __init__(self, pack: str, locks: str, publish: Callable[[FactStore, FactResult], str | None],
                 own: Collection[str] | None = None, hub: str | None = None):
        """`publish(store, result)` writes the fact's evidence file and returns its path in the pack, or None.

        `own`: the accounts this worker judges, whose facts no other worker asks for unless
        `shared()` says so; None takes every fact as shared. `hub`: the hub's account id.
        """
        self.pack = pack
        self.locks = locks
        self.publish = publish
        self.own = None if own is None else frozenset(own)
        self.hub = hub

    def shared(self, store: FactStore, key: FactKey) -> bool:
        """Whether another worker may ask for this fact too, and so must find it through a lock.

        Another worker reads an account's facts only through `FactContext.fact_of`: any fact
        of the hub's account (the organization's view), and in other accounts the facts
        registered `read_across_accounts` (an organization trail's status, where the trail
        lives). A fact of an account this worker does not judge may be any of those. Every
        other fact is asked for by the one worker that judges its account, and by none
        other: its lock file, 5 system calls and a file made per fact, cost a sweep under
        -n 2 about 30 ms of CPU per account (300 accounts, 100 ms, measured).
        """
        account = store.account.id
        if self.own is None or account not in self.own or account == self.hub:
            return True
        return REGISTRY[key[0]].read_across_accounts

    def fetch(self, store: FactStore, key: FactKey) -> FactResult:
        if not self.shared(store, key):
            return store.fetch_uncached(key)
        name = evidence_name(key)
        # One lock per fact: a fact's fetch asks for the facts it stands on while holding its
        # own lock, and facts never stand on each other in a circle, so no two wait on each other.
        with open(os.path.join(self.locks, f"{store.account.id}--{name}.lock"), "a+", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # let go when the file closes
            lock.seek(0)
            published = lock.read().strip()
            if published:
                found = replayed(self.pack, store, key, published)
                if found is not None:
                    return found
            result = store.fetch_uncached(key)
            if result.calls:
                path = self.publish(store, result)
                if path:
                    lock.seek(0)
                    lock.truncate()
                    lock.write(path)
                    lock.flush()
            return result


def replayed(pack: str, store: FactStore, key: FactKey, path: str) -> FactResult | None:
    """The fact read back from the evidence file (at `path` in the pack) another process of this run wrote; None if unreadable."""
    try:
        with open(os.path.join(pack, path), "rb") as stream:
            document = json.loads(stream.read())  # the json module: numbers read exactly (jsontext)
        calls = RecordedCalls()
        calls.add(document)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # fetched again rather than judged on a file that cannot be read

    def make_context(store: FactStore, result: FactResult, region: str) -> FactContext:
        return ReplayingContext(store, result, region, calls)

    result = store.fetch_uncached(key, make_context)
    result.evidence = path
    for call in result.calls:
        call.response = None  # they are in the file, which is the evidence
    return result


def publish_listings(locks: str, paths) -> None:
    """Note the organization listings read for the population as published facts: a process that needs
    them (an account's place, for its SCPs) reads their evidence files instead of listing the organization again."""
    for path in paths:
        _, account_id, name = path.split("/")
        with open(os.path.join(locks, f"{account_id}--{name}.lock"), "w", encoding="utf-8") as lock:
            lock.write(path)


class ReplayingContext(FactContext):
    """A fact's AWS requests answered from its evidence file; the facts it stands on come from the store."""

    def __init__(self, store: FactStore, result: FactResult, region: str, calls: RecordedCalls):
        super().__init__(store, result, region)
        self.calls = calls

    def _client(self, record, service: str, region: str):
        return ReplayClient(self.calls, self.account.id, service, region)
