"""Fetching ahead: every fact the selected controls read, for all accounts at once, before the tests run.

A sweep of hundreds of accounts spends most of its time waiting for AWS: an account's
30-odd requests take 3 s one after another at 100 ms each, so its pace is set by how many
requests are in flight. So the facts are
fetched on one pool of threads, the bound on requests in flight (--fetch-workers): an
account's identity first (every other fact stands on it), then all its facts at once,
each on the next free thread; a fact that stands on another waits for it in the store.
Accounts overlap, in order: a few at a time (ACCOUNTS_PER_WORKERS), so that an account's
clients are let go soon after it starts, and more whenever a thread would otherwise be idle
(a selection of one or two facts per account, an account's last few facts). The tests then
read the facts from the stores.
Ctrl-C or SIGTERM starts no more accounts or requests.
"""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from rootguard.errors import RootguardError
from rootguard.facts import FactStore
from rootguard.facts.progress import Progress


def fetch_threads(bound: int, workers: int = 1) -> int:
    """This process's share of --fetch-workers, the bound on the sweep's requests in flight: under
    pytest -n, each of the `workers` processes fetches its own accounts with an equal part of it
    (rounded up), so that -n 2 keeps as many requests in flight as one process, not twice as many."""
    return max(1, -(-bound // max(1, workers)))


def on_pool(function: Callable, items: list, workers: int, stopping: threading.Event) -> list:
    """function over items on a thread pool; an interruption stops it starting more."""
    pool = ThreadPoolExecutor(max_workers=min(workers, max(1, len(items))), thread_name_prefix="rootguard-fetch")
    try:
        done = list(pool.map(function, items))
    except BaseException:
        # The requests already in flight finish (or time out) in the background.
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return done


def wanted_facts(items: Iterable) -> dict[str, dict[tuple, None]]:
    """Account id -> the (fact, region) pairs its selected control tests read, in order."""
    wanted: dict[str, dict[tuple, None]] = {}
    for item in items:
        marker = item.get_closest_marker("control")
        spec = getattr(item, "callspec", None)
        if marker is None or spec is None or not isinstance(spec.params.get("account"), tuple):
            continue  # not a control, or pytest's stand-in for an empty parameter set
        account, region = spec.params["account"]
        for name in marker.args[0].facts:
            wanted.setdefault(account.id, {})[(name, region)] = None
    return wanted


# Accounts open at once: at least one per this many threads, enough to keep every thread
# busy while an account's first requests (AssumeRole, its identity) are made one after
# another; beyond that, another whenever a thread has nothing to do, up to one per thread.
ACCOUNTS_PER_WORKERS = 8


@dataclass
class _Open:
    """One account being fetched: its facts not yet done, and how many failed."""

    left: int
    errors: int = 0


def prefetch(
    stores: dict[str, FactStore], wanted: dict[str, dict[tuple, None]], workers: int, stopping: threading.Event,
    frozen: Callable[[], bool], progress: Progress | None = None,
) -> None:
    """Fetch `wanted` into each account's store; failures are kept there, for the controls to report as `error`."""
    workers = max(1, workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rootguard-fetch")
    least = -(-workers // ACCOUNTS_PER_WORKERS)
    lock = threading.Condition()
    opened = closed = 0
    # The open accounts' steps not yet done (its identity, then each fact): running, waiting
    # on another fact, or waiting for a thread. Fewer than the threads means one is idle.
    busy = 0
    failures: list[BaseException] = []

    def may_open() -> bool:
        """Under the lock: another account may start (fewer than the least open, or a thread idle)."""
        open_now = opened - closed
        return open_now < least or (busy < workers and open_now < workers)

    def done_after(task: Callable, *args) -> None:
        nonlocal busy
        try:
            task(*args)
        finally:
            with lock:
                busy -= 1
                if busy < workers:  # a thread is free: the next account may start
                    lock.notify_all()

    def close(account_id: str, state: _Open) -> None:
        nonlocal closed
        stores[account_id].release_clients()
        if progress is not None:
            progress.account_done(state.errors)
        if frozen():  # not after an interrupted run's cleanup, which a late thread can outlive
            gc.freeze()
        with lock:
            closed += 1
            lock.notify_all()

    def fetch(account_id: str, name: str, region, state: _Open) -> None:
        try:
            stores[account_id].get(name, region)
        except RootguardError:
            with lock:
                state.errors += 1  # kept in the store; the control reports it as `error`
        except BaseException as exc:  # a defect, not an AWS answer: the run stops with it
            failures.append(exc)
            stopping.set()
        finally:
            with lock:
                state.left -= 1
                last = state.left == 0
            if last:
                close(account_id, state)

    def open_account(account_id: str) -> None:
        facts = list(wanted[account_id])
        state = _Open(left=len(facts))
        try:
            stores[account_id].get("sts.caller_identity")
        except RootguardError:
            pass  # every fact of the account keeps the reason
        except BaseException as exc:
            failures.append(exc)
            stopping.set()
        for name, region in facts:
            pool.submit(done_after, fetch, account_id, name, region, state)

    if progress is not None:
        progress.start()
    try:
        for account_id in sorted(wanted):
            if not wanted[account_id]:
                continue
            with lock:
                while not may_open():
                    lock.wait()
                if stopping.is_set():
                    break
                opened += 1
                busy += 1 + len(wanted[account_id])
            pool.submit(done_after, open_account, account_id)
        with lock:
            while closed < opened:
                lock.wait()
    except BaseException:
        # The requests already in flight finish (or time out) in the background.
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if progress is not None:
            progress.stop()
    pool.shutdown(wait=True)
    if failures:
        raise failures[0]
