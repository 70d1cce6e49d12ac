"""Fetching ahead: every fact the selected controls read, for all accounts at once, before the tests run.

A sweep of hundreds of accounts is I/O-bound, so the facts are fetched on a pool of
threads (one account at a time per thread), and the tests then read them from the
stores. Ctrl-C or SIGTERM starts no more accounts or requests.
"""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from rootguard.errors import RootguardError
from rootguard.facts import FactStore
from rootguard.facts.progress import Progress


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


def prefetch(
    stores: dict[str, FactStore], wanted: dict[str, dict[tuple, None]], workers: int, stopping: threading.Event,
    frozen: Callable[[], bool], progress: Progress | None = None,
) -> None:
    """Fetch `wanted` into each account's store; failures are kept there, for the controls to report as `error`."""

    def fetch_account(account_id: str) -> None:
        store = stores[account_id]
        errors = 0
        for name, region in wanted[account_id]:
            try:
                store.get(name, region)
            except RootguardError:
                errors += 1  # kept in the store; the control reports it as `error`
        store.release_clients()
        if progress is not None:
            progress.account_done(errors)
        if frozen():  # not after an interrupted run's cleanup, which a late thread can outlive
            gc.freeze()

    if progress is not None:
        progress.start()
    try:
        on_pool(fetch_account, sorted(wanted), workers, stopping)
    finally:
        if progress is not None:
            progress.stop()
