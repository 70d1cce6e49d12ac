"""Requests in flight per API family and caller: a burst of one family waits for its own slots, not the sweep.

--fetch-workers bounds every request of a process at once. Some APIs answer only a few
requests a second per account, and are throttled long before that bound: AWS
Organizations (the hub's view of the whole organization), IAM's credential report and
authorization details. So each such family also has a bound of its own, per calling
account (a member's assumed role counts against the member, the hub's calls against the
hub), held for the whole call, retries and their back-off included: while a family is
throttled, its calls wait for each other, and the other families' calls go on.
botocore's adaptive retry mode adds the rest: each client lowers its own sending rate
when throttled, so the back-off applies to one account's one service, not to the sweep.

`--api-limit FAMILY=N` changes one bound for a run (0: no bound of its own).
"""

from __future__ import annotations

import argparse
import multiprocessing
import threading
from contextlib import contextmanager
from typing import Iterator

# The bound per caller, in requests at once. AWS publishes no per-second figure for
# these families; see benchmarks/README.md ("Throttling") for the reports they follow.
DEFAULT_LIMITS: dict[str, int] = {
    "organizations": 4,  # a few requests a second per account
    "iam-credential-report": 1,  # generated, then polled: one after another anyway
    "iam-authorization-details": 1,  # large pages, throttled under load
    "iam": 8,
    "sts": 8,  # the hub's AssumeRole for every account, one STS client
}


# The hub's AssumeRole calls are counted under this caller: the hub's account id is not known
# before its first call.
HUB_CALLER = "hub"


def family(service: str, operation: str) -> str | None:
    """The family an API operation (botocore's names: "iam", "get_credential_report") is bounded with; None: only --fetch-workers."""
    if service == "organizations":
        return "organizations"
    if service == "sts":
        return "sts"
    if service == "iam":
        if operation in ("generate_credential_report", "get_credential_report"):
            return "iam-credential-report"
        if operation == "get_account_authorization_details":
            return "iam-authorization-details"
        return "iam"
    return None


def limit_option(value: str) -> tuple[str, int]:
    """`--api-limit FAMILY=N`, checked: a known family and a whole number, 0 for no bound."""
    name, equals, number = value.partition("=")
    if not equals:
        raise argparse.ArgumentTypeError(f"{value!r} is not FAMILY=N (families: {', '.join(DEFAULT_LIMITS)})")
    if name not in DEFAULT_LIMITS:
        raise argparse.ArgumentTypeError(f"{value!r}: unknown family {name!r}; one of {', '.join(DEFAULT_LIMITS)}")
    try:
        bound = int(number)
    except ValueError:
        bound = -1
    if bound < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: N must be a whole number, 0 for no bound of its own")
    return name, bound


class InFlight:
    """One semaphore per (family, calling account), made when first needed."""

    def __init__(self, changes: dict[str, int] | None = None):
        self.limits = {**DEFAULT_LIMITS, **(changes or {})}
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
        # Bounds several processes keep together (share_between_processes), by (family, caller).
        self._shared: dict[tuple[str, str], object] = {}

    def share_between_processes(self, callers) -> None:
        """Before forking processes that call AWS as the same callers: each bound of theirs holds
        across all the processes, on a semaphore they inherit (unnamed, as the fork start method makes it)."""
        context = multiprocessing.get_context("fork")
        for name, bound in self.limits.items():
            if bound:
                for caller in callers:
                    self._shared.setdefault((name, caller), context.BoundedSemaphore(bound))

    @contextmanager
    def slot(self, caller: str, service: str, operation: str) -> Iterator[None]:
        name = family(service, operation)
        bound = self.limits.get(name, 0) if name else 0
        if not bound:
            yield
            return
        key = (name, caller)
        semaphore = self._shared.get(key)
        if semaphore is None:
            semaphore = self._slots.get(key)  # every request asks; the lock is taken only to make one
        if semaphore is None:
            with self._lock:
                semaphore = self._slots.setdefault(key, threading.BoundedSemaphore(bound))
        with semaphore:
            yield


# For stores whose connector sends nothing (a replay answers from the pack).
UNBOUNDED = InFlight({name: 0 for name in DEFAULT_LIMITS})
