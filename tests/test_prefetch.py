"""How prefetch overlaps accounts: every thread kept busy, and few accounts open when each has many facts."""

from __future__ import annotations

import threading
import time

import pytest

from rootguard.errors import FactError
from rootguard.facts.prefetch import ACCOUNTS_PER_WORKERS, fetch_threads, prefetch

LATENCY = 0.03  # each fact's one request


class Org:
    """Stores of fake accounts whose facts each take LATENCY, counting what is in flight and open at once."""

    def __init__(self, accounts: int, facts: int):
        self.lock = threading.Lock()
        self.in_flight = self.peak_in_flight = 0
        self.open: set[str] = set()
        self.peak_open = 0
        self.fetched: list[tuple] = []
        self.released: list[str] = []
        self.stores = {f"{200000000000 + i}": Store(self, f"{200000000000 + i}") for i in range(accounts)}
        self.wanted = {account: {(f"fact.{n}", "us-east-1"): None for n in range(facts)} for account in self.stores}


class Store:
    def __init__(self, org: Org, account: str):
        self.org, self.account = org, account

    def get(self, name: str, region=None):
        org = self.org
        with org.lock:
            org.open.add(self.account)
            org.peak_open = max(org.peak_open, len(org.open))
            org.in_flight += 1
            org.peak_in_flight = max(org.peak_in_flight, org.in_flight)
        time.sleep(LATENCY)
        with org.lock:
            org.in_flight -= 1
            org.fetched.append((self.account, name, region))
        if name == "fact.1":
            raise FactError("AccessDenied", action="x:Y", code="AccessDenied")

    def release_clients(self):
        with self.org.lock:
            self.org.open.discard(self.account)
            self.org.released.append(self.account)


def sweep(org: Org, workers: int) -> list[int]:
    done: list[int] = []

    class Progress:
        def start(self):
            pass

        def account_done(self, errors):
            done.append(errors)

        def stop(self):
            pass

    prefetch(org.stores, org.wanted, workers, threading.Event(), lambda: False, Progress())
    return done


def test_one_fact_an_account_keeps_every_thread_busy():
    # 64 accounts, each its identity then one fact: with only the least open (one per
    # ACCOUNTS_PER_WORKERS threads), two requests would be in flight at once.
    org = Org(accounts=64, facts=1)
    done = sweep(org, workers=16)
    assert 16 // ACCOUNTS_PER_WORKERS == 2
    assert 8 <= org.peak_in_flight <= 16
    assert org.peak_open <= 16
    assert sorted(org.released) == sorted(org.stores) and done == [0] * 64
    assert sorted(org.fetched) == sorted(
        [(a, "sts.caller_identity", None) for a in org.stores] + [(a, "fact.0", "us-east-1") for a in org.stores]
    )


def test_many_facts_an_account_keep_few_accounts_open():
    # 30 facts an account fill 16 threads from two accounts: a third starts only once a
    # thread would be idle, so an account's clients are let go soon after it starts.
    org = Org(accounts=12, facts=30)
    done = sweep(org, workers=16)
    assert 12 <= org.peak_in_flight <= 16
    assert org.peak_open <= 4
    assert sorted(org.released) == sorted(org.stores)
    assert done == [1] * 12  # fact.1 failed in every account, kept for its controls
    assert len(org.fetched) == 12 * 31 and len(set(org.fetched)) == 12 * 31


@pytest.mark.parametrize("workers", [1, 3])
def test_a_pool_smaller_than_the_accounts_window_still_finishes(workers):
    org = Org(accounts=5, facts=3)
    sweep(org, workers=workers)
    assert org.peak_in_flight <= workers
    assert sorted(org.released) == sorted(org.stores) and len(org.fetched) == 5 * 4


@pytest.mark.parametrize(("bound", "workers", "share"), [(128, 1, 128), (128, 2, 64), (5, 2, 3), (1, 4, 1), (16, 0, 16)])
def test_under_xdist_each_worker_fetches_with_its_share_of_the_bound(bound, workers, share):
    # -n 2 keeps as many requests in flight as one process (rounded up, at least one each).
    assert fetch_threads(bound, workers) == share
