"""Fetching ahead: every fact the selected controls read, for all accounts at once, before the tests run.

A sweep of hundreds of accounts spends most of its time waiting for AWS: an account's
30-odd requests take 3 s one after another at 100 ms each, so its pace is set by how many
requests are in flight. So the facts are fetched by a set of threads, as many as the bound
on requests in flight (--fetch-workers), each taking the next step as it comes free: an
account's identity first (every other fact stands on it), made ready a few accounts ahead
(ACCOUNTS_PER_WORKERS), then its facts, one per free thread; a fact that stands on another
waits for it in the store, unless the prefetch has learned that it would (Dependencies):
then it waits aside, and its thread takes another step. An account starts once the threads
have taken every fact of the accounts before it, so few are open at once and each lets go of
its clients soon after it starts; more overlap only when a thread would otherwise be idle (a
selection of one or two facts per account). The tests then read the facts from the stores.
Ctrl-C or SIGTERM starts no more accounts or requests.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from rootguard.errors import RootguardError
from rootguard.facts import FactStore
from rootguard.facts.store import IDENTITY
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


def account_param(item) -> tuple | None:
    """The (account, region) a test is parametrized with, None for a test without one (or pytest's
    stand-in for an empty parameter set). Only control tests have one; looked up without their
    marker, which pytest finds by walking the test's nodes."""
    spec = getattr(item, "callspec", None)
    where = None if spec is None else spec.params.get("account")
    return where if isinstance(where, tuple) else None


def judged_on(item) -> tuple | None:
    """The (account, region) a control test judges; None for any other test."""
    where = account_param(item)
    return None if where is None or item.get_closest_marker("control") is None else where


def wanted_facts(items: Iterable) -> dict[str, dict[tuple, None]]:
    """Account id -> the (fact, region) pairs its selected control tests read, in order."""
    wanted: dict[str, dict[tuple, None]] = {}
    for item in items:
        where = account_param(item)
        marker = None if where is None else item.get_closest_marker("control")
        if marker is None:
            continue  # not a control
        account, region = where
        for name in marker.args[0].facts:
            wanted.setdefault(account.id, {})[(name, region)] = None
    return wanted


# A sweep whose tests follow the fetch runs them in this many runs of accounts at most.
ACCOUNT_RUNS = 32


def in_fetch_order(items: list, runs: int = ACCOUNT_RUNS) -> None:
    """Order the tests, in place, in runs of accounts taken in the order of their ids, as the fetch takes them.

    So the tests on the first accounts can run while later ones are fetched (rootguard.
    distributed.forked). Within a run, the tests keep their order (a control over the run's
    accounts, then the next); each run costs pytest a set-up and teardown of each control
    module, hence runs of several accounts, not one. Tests on no account come last.
    """
    judged = [judged_on(item) for item in items]
    accounts = sorted({where[0].id for where in judged if where is not None})
    if not accounts:
        return
    size = -(-len(accounts) // max(1, runs))
    run_of = {account_id: position // size for position, account_id in enumerate(accounts)}
    last = len(accounts)
    order = sorted(range(len(items)), key=lambda n: last if judged[n] is None else run_of[judged[n][0].id])
    items[:] = [items[n] for n in order]  # sorted() is stable: the order within a run is the order given


# Accounts made ready ahead: at least one per this many threads. An account's identity
# (AssumeRole, then GetCallerIdentity: two requests one after the other) is resolved while
# other accounts' facts are fetched, so that a thread freed by an account's last facts finds
# the next account's facts ready to start.
ACCOUNTS_PER_WORKERS = 8


class Dependencies:
    """Which facts each fact asks for, learned as the sweep goes, so that no thread sits waiting for another's.

    Most facts stand on others (a trail's status on the trail list, a budget's alerts on the
    budget names, the SCP controls on the hub's view of the organization), and an account's
    facts are taken together: a thread taking a fact whose own key, or a fact it will ask
    for, another thread is fetching would only wait in the store for that fetch to end. Such
    a step is parked on that fetch and handed back (`resume`) when it settles; the thread
    takes another step meanwhile. Every store of the prefetch reports here (FactStore.observer):
    which fact asked for which (`depends`, at the moment it asks, so the first account's waits
    already teach the next accounts'), and when a fetch ends (`settled`).

    Learned per fact name: what a fact asks for in its own store or the hub's, in its own
    region or a named one. Facts with parameters (a budget's notifications) and other
    accounts' facts are not learned: they cannot be named ahead. `lock` is the prefetch's.
    """

    def __init__(self, lock: threading.Lock, resume: Callable[[list[tuple]], None]):
        self._lock = lock
        self._resume = resume
        # fact name -> {(name asked for, its region or None for the asker's own, whether in the hub's store)}
        self._edges: dict[str, set[tuple[str, str | None, bool]]] = {}
        self._asked: set[str] = set()  # names some fact asks for: only these are fetched inside another's step
        self._needs: dict[tuple[str, str], tuple[tuple[bool, tuple], ...]] = {}
        self._parked: dict[tuple[int, tuple], list[tuple]] = {}  # (id(store), key) -> the steps waiting for its fetch

    def depends(self, store, asking: tuple, of_store, key: tuple) -> None:
        name, region, params = asking
        wanted, wanted_region, wanted_params = key
        if params or wanted_params or wanted == IDENTITY:
            return
        if of_store is store:
            hub = False
        elif of_store is getattr(store, "hub_store", None):
            hub = True
        else:
            return
        edge = (wanted, None if wanted_region == region else wanted_region, hub)
        known = self._edges.get(name)
        if known is not None and edge in known:  # learned long ago, as nearly always: no need for the lock
            return
        with self._lock:
            edges = self._edges.setdefault(name, set())
            if edge not in edges:
                edges.add(edge)
                self._asked.add(wanted)
                self._needs.clear()

    def settled(self, store, key: tuple) -> None:
        if key[0] not in self._asked:
            # Nothing waits on a fact no other asks for. Read without the lock: a step is parked
            # on a fetch only once its name is in _asked, and only while the store still counts
            # it fetching, which it stopped doing before this call.
            return
        with self._lock:
            waiting = self._parked.pop((id(store), key), None)
            if waiting is not None:
                self._resume(waiting)

    def blocker(self, store, name: str, region) -> tuple | None:
        """Under the lock: the fetch, (store, key), that a step for the fact would wait for now; None if none."""
        if name not in self._asked and name not in self._edges:
            return None
        key = store.key_for(name, region, {})
        if name in self._asked and store.fetching(key):
            return store, key
        for hub, needed in self._needed(name, key[1]):
            where = store.hub_store if hub else store
            if where is not None and where.fetching(needed):
                return where, needed
        return None

    def park(self, blocker: tuple, step: tuple) -> None:
        """Under the lock: the step waits aside until the blocker's fetch settles."""
        where, key = blocker
        self._parked.setdefault((id(where), key), []).append(step)

    def _needed(self, name: str, region: str) -> tuple[tuple[bool, tuple], ...]:
        """Under the lock: every fact the fact asks for, directly or not, as (in the hub's store, key)."""
        found = self._needs.get((name, region))
        if found is None:
            seen: dict[tuple, None] = {}
            stack = [(name, region, False)]
            while stack:
                asking, asking_region, hub = stack.pop()
                for wanted, wanted_region, on_hub in self._edges.get(asking, ()):
                    node = (wanted, asking_region if wanted_region is None else wanted_region, hub or on_hub)
                    if node not in seen:
                        seen[node] = None
                        stack.append(node)
            found = self._needs[(name, region)] = tuple((hub, (wanted, where, ())) for wanted, where, hub in seen)
        return found


@dataclass
class _Open:
    """One account being fetched: its facts not yet done, and how many failed."""

    left: int
    errors: int = 0


def prefetch(
    stores: dict[str, FactStore], wanted: dict[str, dict[tuple, None]], workers: int, stopping: threading.Event,
    frozen: Callable[[], bool], progress: Progress | None = None, closed: Callable[[str, int], None] | None = None,
) -> None:
    """Fetch `wanted` into each account's store; failures are kept there, for the controls to report as `error`.

    `workers` threads each take the next step as they come free, so at most `workers`
    requests are in flight. An account goes through three states, in the order of its id:
    identifying (its identity fetched), ready (identified, its facts not started), fetching
    (its facts taken one by one by the threads), then closed. A free thread takes, first of:
    - an identity, while fewer than the least accounts are identifying or ready (made ready
      ahead);
    - the next fact of the accounts fetching;
    - the first fact of the next ready account, which starts fetching: so an account starts
      only once the threads have taken every fact of those before it, and few are open;
    - with nothing else to do, an identity, while the facts of the accounts identifying would
      not fill the threads, and fewer than `workers` accounts are open (accounts with few
      facts each overlap more).
    A thread with none of these waits for a step to end. A fact step that would only wait for
    another thread's fetch (Dependencies.blocker) is parked until that fetch settles, and the
    thread goes down the list again. `closed(account id, its errors)`, if given, is called
    as each account's facts are all in.
    """
    workers = max(1, workers)
    least = -(-workers // ACCOUNTS_PER_WORKERS)
    lock = threading.Lock()
    # Threads with no step wait on `work`, woken one per step that becomes ready to take (a
    # notify_all would wake every idle thread, 128 by default, for each); this thread waits on
    # `done` for the last one.
    work, done = threading.Condition(lock), threading.Condition(lock)
    pending = [account_id for account_id in sorted(wanted) if wanted[account_id]]
    pending.reverse()  # taken from the end, in order
    ready: deque[str] = deque()
    steps: deque[tuple] = deque()  # the facts of the accounts fetching, not yet taken by a thread
    identifying = fetching = 0
    coming = 0  # the facts of the accounts identifying or ready
    failures: list[BaseException] = []

    def resume(waiting: list[tuple]) -> None:
        """Under the lock: steps parked on a fetch that has settled go back first in line."""
        steps.extendleft(reversed(waiting))
        work.notify(len(waiting))

    dependencies = Dependencies(lock, resume)

    def close(account_id: str, state: _Open) -> None:
        nonlocal fetching
        try:
            stores[account_id].release_clients()
            if closed is not None:
                closed(account_id, state.errors)
            if progress is not None:
                progress.account_done(state.errors)
            if frozen():  # not after an interrupted run's cleanup, which a late thread can outlive
                gc.freeze()
        finally:
            with lock:
                fetching -= 1
                moved()  # an account fewer open: another may be identified

    def moved() -> None:
        """Under the lock, when an account has moved on: a waiting thread may have a step now, and the coordinator its end."""
        work.notify()
        if finished():
            done.notify_all()

    # A defect, not an AWS answer, raised by a step reaches thread(): the run stops with it.
    def fetch(account_id: str, name: str, region, state: _Open) -> None:
        try:
            stores[account_id].get(name, region)
        except RootguardError:
            with lock:
                state.errors += 1  # kept in the store; the control reports it as `error`
        finally:
            with lock:
                state.left -= 1
                last = state.left == 0
            if last:
                close(account_id, state)

    def identify(account_id: str) -> None:
        nonlocal identifying
        try:
            stores[account_id].get(IDENTITY)
        except RootguardError:
            pass  # every fact of the account keeps the reason
        finally:
            with lock:
                identifying -= 1
                ready.append(account_id)
                moved()

    def next_step() -> tuple | None:
        """Under the lock: the step a free thread takes, or None when there is none now."""
        nonlocal identifying, fetching, coming
        going_on = not stopping.is_set()
        open_now = identifying + len(ready) + fetching
        if going_on and pending and open_now < workers and (
            identifying + len(ready) < least or (not steps and not ready and coming < workers)
        ):
            account_id = pending.pop()
            identifying += 1
            coming += len(wanted[account_id])
            return (identify, account_id)
        step = take()
        while step is None and ready and going_on:
            account_id = ready.popleft()
            facts = list(wanted[account_id])
            state = _Open(left=len(facts))
            fetching += 1
            coming -= len(facts)
            steps.extend((fetch, account_id, name, region, state) for name, region in facts)
            work.notify(len(facts) - 1)  # the rest are for threads waiting
            step = take()
        return step

    def take() -> tuple | None:
        """Under the lock: the first fact step no other thread's fetch holds up; those it does are parked."""
        while steps:
            step = steps.popleft()
            if stopping.is_set():
                return step  # it fails at once: nothing is worth waiting for
            blocker = dependencies.blocker(stores[step[1]], step[2], step[3])
            if blocker is None:
                return step
            dependencies.park(blocker, step)
        return None

    def finished() -> bool:
        """Under the lock: nothing left to start, and nothing running that could start more."""
        return not (identifying or fetching or steps or ((pending or ready) and not stopping.is_set()))

    def thread() -> None:
        while True:
            with lock:
                step = next_step()
                while step is None:
                    if finished():
                        work.notify_all()
                        done.notify_all()
                        return
                    work.wait()
                    step = next_step()
            try:
                step[0](*step[1:])
            except BaseException as exc:  # a defect: the run stops with it, and this thread goes on draining
                failures.append(exc)
                stopping.set()

    # No more threads than steps: a small selection (one account, a few facts) starts a few.
    steps_in_all = sum(1 + len(wanted[account_id]) for account_id in pending)
    threads = [
        threading.Thread(target=thread, name=f"rootguard-fetch-{n}", daemon=True) for n in range(min(workers, steps_in_all))
    ]
    observed = {*stores.values(), *(getattr(store, "hub_store", None) for store in stores.values())} - {None}
    for store in observed:
        store.observer = dependencies
    if progress is not None:
        progress.start()
    try:
        for one in threads:
            one.start()
        with lock:
            while not finished():
                done.wait()
        for one in threads:
            one.join()
    except BaseException:
        # The requests already in flight finish (or time out) in the background; no thread
        # starts another account, and each ends with its step.
        stopping.set()
        raise
    finally:
        if progress is not None:
            progress.stop()
    # Not before every thread has ended: an interrupted prefetch's threads drain their steps, the
    # parked ones included, in the background.
    for store in observed:
        if store.observer is dependencies:
            store.observer = None
    # Interrupted: the accounts made ready and never started let go of their clients.
    while ready:
        stores[ready.popleft()].release_clients()
    if failures:
        raise failures[0]
