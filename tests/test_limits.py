"""rootguard.facts.limits: requests in flight per API family and calling account.

The sweep against a server that counts what is in flight is in tests/test_standin.py; here,
the bounds themselves, with threads that hold a slot long enough to overlap.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from rootguard.facts.limits import DEFAULT_LIMITS, UNBOUNDED, InFlight, family, limit_option


def peaks(in_flight: InFlight, calls: list[tuple[str, str, str]], threads: int = 16) -> Counter:
    """The most calls of each (caller, service, operation) inside a slot at once, the calls running on `threads` threads."""
    now, most = Counter(), Counter()
    lock = threading.Lock()

    def call(caller: str, service: str, operation: str) -> None:
        key = (caller, family(service, operation) or operation)
        with in_flight.slot(caller, service, operation):
            with lock:
                now[key] += 1
                most[key] = max(most[key], now[key])
            time.sleep(0.02)
            with lock:
                now[key] -= 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda c: call(*c), calls))
    return most


def test_a_family_is_bounded_per_calling_account_and_other_calls_are_not():
    in_flight = InFlight({"iam": 3})
    calls = [(caller, "iam", "list_users") for caller in ("111111111111", "222222222222") for _ in range(12)]
    calls += [("111111111111", "cloudtrail", "describe_trails")] * 12
    most = peaks(in_flight, calls, threads=36)
    assert most[("111111111111", "iam")] == most[("222222222222", "iam")] == 3  # each account its own 3
    assert most[("111111111111", "describe_trails")] > 3  # no family: only the thread pool bounds it


def test_the_default_bounds_and_what_changes_them():
    most = peaks(InFlight(), [("hub", "organizations", "list_children")] * 12 + [("a", "iam", "get_credential_report")] * 4)
    assert most[("hub", "organizations")] == DEFAULT_LIMITS["organizations"] == 4
    assert most[("a", "iam-credential-report")] == 1
    assert peaks(InFlight({"organizations": 0}), [("hub", "organizations", "list_children")] * 12)[("hub", "organizations")] > 4
    assert peaks(UNBOUNDED, [("a", "iam", "get_credential_report")] * 6)[("a", "iam-credential-report")] > 1


@pytest.mark.parametrize("service, operation, expected", [
    ("organizations", "list_accounts_for_parent", "organizations"),
    ("iam", "generate_credential_report", "iam-credential-report"),
    ("iam", "get_credential_report", "iam-credential-report"),
    ("iam", "get_account_authorization_details", "iam-authorization-details"),
    ("iam", "get_account_summary", "iam"),
    ("sts", "assume_role", "sts"),
    ("s3", "list_buckets", None),
])
def test_families(service, operation, expected):
    assert family(service, operation) == expected


def test_a_slot_is_given_back_when_the_call_raises():
    in_flight = InFlight({"iam": 1})
    with pytest.raises(RuntimeError):
        with in_flight.slot("a", "iam", "list_users"):
            raise RuntimeError("botocore gave up")
    with in_flight.slot("a", "iam", "list_users"):  # would block for good if the slot were kept
        pass


@pytest.mark.parametrize("text, expected", [("iam=2", ("iam", 2)), ("organizations=0", ("organizations", 0))])
def test_limit_option(text, expected):
    assert limit_option(text) == expected


@pytest.mark.parametrize("text, says", [
    ("iam", "is not FAMILY=N"),
    ("ec2=3", "'ec2=3': unknown family 'ec2'"),
    ("iam=-1", "N must be a whole number"),
    ("iam=many", "N must be a whole number"),
])
def test_limit_option_refuses(text, says):
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        limit_option(text)



def test_a_bound_shared_between_processes_holds_across_them(tmp_path):
    """Forked after share_between_processes, two processes keep one bound for the shared caller, and their own for the rest."""
    import os

    in_flight = InFlight({"iam": 1})
    in_flight.share_between_processes(["hub"])
    log = tmp_path / "log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def calls(caller: str) -> None:
        for _ in range(5):
            with in_flight.slot(caller, "iam", "list_users"):
                os.write(fd, f"{caller} in\n".encode())
                time.sleep(0.02)
                os.write(fd, f"{caller} out\n".encode())

    children = []
    for own in ("111111111111", "222222222222"):
        pid = os.fork()
        if pid == 0:
            try:
                threads = [threading.Thread(target=calls, args=(caller,)) for caller in ("hub", "hub", own)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(fd)
    now, most = Counter(), Counter()
    for line in log.read_text().splitlines():
        caller, what = line.split()
        now[caller] += 1 if what == "in" else -1
        most[caller] = max(most[caller], now[caller])
    assert most["hub"] == 1  # four threads in two processes, one in flight at a time
    assert most["111111111111"] == most["222222222222"] == 1
    assert sum(1 for line in log.read_text().splitlines() if line == "hub in") == 20
