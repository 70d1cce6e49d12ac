"""Child processes fetching for a one-process sweep (rootguard.distributed.forked), from the parent's side.

The sweeps that use them, and give the same verdicts as one process's threads, are in
tests/test_modes.py; here, how many children, what they tell, and how they end.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from rootguard.distributed import forked
from rootguard.distributed.forked import ChildFetch, fetch_processes
from rootguard.facts.progress import TALLY

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="children are forked on Linux only")


@pytest.mark.parametrize(
    "option, cores, accounts, bound, expected",
    [
        ("auto", 2, 1000, 128, 2),
        ("auto", 8, 1000, 128, 8),
        ("auto", 1, 1000, 128, 0),  # one core: the process's own threads
        ("auto", 8, 3, 128, 3),  # a child needs an account
        ("auto", 8, 1000, 4, 4),  # and a thread of --fetch-workers
        ("auto", 2, 1, 128, 0),  # one child would leave the parent idle
        (3, 2, 1000, 128, 3),  # a number is taken as given
        (0, 8, 1000, 128, 0),
        (1, 8, 1000, 128, 0),
    ],
)
def test_how_many_children(monkeypatch, option, cores, accounts, bound, expected):
    monkeypatch.setattr(forked, "usable_cores", lambda: cores)
    assert fetch_processes(option, accounts, bound) == expected


def test_no_children_where_forking_is_not_linux(monkeypatch):
    monkeypatch.setattr(forked, "usable_cores", lambda: 8)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fetch_processes("auto", 1000, 128) == 0
    assert fetch_processes(4, 1000, 128) == 0


def accounts(n: int) -> list[str]:
    return [f"{100000000000 + i}" for i in range(n)]


def test_what_the_children_tell_reaches_the_parent(tmp_path):
    ids = accounts(6)
    children = ChildFetch(str(tmp_path), 2, ids)
    requests, retries = TALLY.read()
    throttled = TALLY.throttled["organizations"]

    def fetch(index, tell):
        mine = [a for a in ids if children.share[a] == index]
        for account_id in mine:
            TALLY.add(retries=1)
            tell(account_id, 0, [(account_id, ("iam.summary", "us-east-1", ()), f"evidence/{account_id}/iam.summary.json", None)])
        TALLY.throttle("organizations")
        tell(None, 0, [])

    run_to_the_end(children, fetch)
    assert children.failed == []
    assert sorted(account for account, _ in children._files) == ids
    assert children._files[(ids[0], ("iam.summary", "us-east-1", ()))] == (f"evidence/{ids[0]}/iam.summary.json", None)
    # Each child's requests, retries and throttled answers count in the parent's tally (its progress line).
    assert TALLY.read() == (requests + 6, retries + 6)
    assert TALLY.throttled["organizations"] == throttled + 2
    assert not os.path.exists(children.locks)


def test_the_accounts_are_dealt_out_evenly_and_each_to_one_child(tmp_path):
    ids = accounts(101)
    children = ChildFetch(str(tmp_path), 3, ids)
    shares = [sorted(a for a in ids if children.share[a] == index) for index in range(3)]
    assert sorted(len(share) for share in shares) == [33, 34, 34]
    assert sorted(a for share in shares for a in share) == ids
    children.close()


def first_of(children: ChildFetch, index: int) -> str:
    """The first account, by id, in the share of child `index`."""
    return min(account for account, owner in children.share.items() if owner == index)


def run_to_the_end(children: ChildFetch, fetch) -> None:
    """Start the children on `fetch`, wait for them, and close them."""
    children.start(fetch, threading.Event())
    children.wait()
    children.close()


def test_a_child_that_fails_is_named_and_what_it_told_is_kept(tmp_path):
    ids = accounts(4)
    children = ChildFetch(str(tmp_path), 2, ids)

    def fetch(index, tell):
        first = first_of(children, index)
        tell(first, 0, [(first, ("iam.summary", "us-east-1", ()), f"evidence/{first}/iam.summary.json", None)])
        if index == 1:
            raise RuntimeError("a defect")

    run_to_the_end(children, fetch)
    assert children.failed == ["fetching process 2 of 2 ended with exit code 1"]
    assert len(children._files) == 2


def start_waiting_children(tmp_path, children: ChildFetch, then=None) -> None:
    """Start children that each wait for their stopping event, then call then(index, tell); return once all have started."""
    started = tmp_path / "started"
    started.mkdir()
    stopping = threading.Event()

    def fetch(index, tell):
        (started / str(index)).touch()
        stopping.wait(60)
        if then is not None:
            then(index, tell)

    children.start(fetch, stopping)
    deadline = time.monotonic() + 30
    while len(list(started.iterdir())) < children.processes and time.monotonic() < deadline:
        time.sleep(0.01)


def test_stopped_children_end_once_their_work_in_hand_is_done(tmp_path):
    """SIGTERM (the run interrupted, or ended early) lets a child finish what it is doing; it is not killed."""
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)

    def tell_after_the_stop(index, tell):
        mine = first_of(children, index)
        tell(mine, 0, [(mine, ("iam.summary", "us-east-1", ()), "written after the stop", None)])

    start_waiting_children(tmp_path, children, tell_after_the_stop)
    children.close(timeout=30)
    assert children.failed == []
    assert sorted(path for path, _ in children._files.values()) == ["written after the stop"] * 2


def test_a_child_deaf_to_the_stop_is_killed_after_the_wait(tmp_path):
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)

    def fetch(index, tell):
        time.sleep(60)  # deaf to its stopping event

    children.start(fetch, threading.Event())
    time.sleep(0.2)
    started = time.monotonic()
    children.close(timeout=0.5)
    assert time.monotonic() - started < 10
    assert children.failed == ["fetching process 1 of 2 ended with signal SIGKILL", "fetching process 2 of 2 ended with signal SIGKILL"]


def test_an_interrupted_wait_stops_the_children(tmp_path, monkeypatch):
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)
    start_waiting_children(tmp_path, children)
    reader = children._readers[0]
    monkeypatch.setattr(reader, "join", lambda timeout=None: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        children.wait()
    children.close(timeout=30)
    assert time.monotonic() - started < 10  # stopped by the wait, not killed at the close's end
    assert children.failed == []


def test_a_failed_child_leaves_no_half_written_evidence_file(tmp_path):
    ids = accounts(2)
    folder = tmp_path / "evidence" / ids[0]
    folder.mkdir(parents=True)
    someone_elses = folder / f".iam.summary.json.{os.getpid()}.7.tmp"
    someone_elses.write_text("{")
    children = ChildFetch(str(tmp_path), 2, ids)

    def fetch(index, tell):
        (folder / f".iam.summary.json.{os.getpid()}.{threading.get_ident()}.tmp").write_text('{"calls": [')
        if index == 0:
            raise RuntimeError("ended while writing")

    run_to_the_end(children, fetch)
    assert children.failed == ["fetching process 1 of 2 ended with exit code 1"]
    left = sorted(path.name for path in folder.iterdir())
    assert len(left) == 2 and someone_elses.name in left  # the child that ended well, and another process's, are not touched


def test_a_child_never_returns_into_the_run(tmp_path, monkeypatch):
    """Even a defect before its own error handling ends the child: it never goes on to run the tests."""
    def broken(*args):
        raise TypeError("a defect before the child's own handling")

    monkeypatch.setattr(forked, "_child", broken)
    children = ChildFetch(str(tmp_path), 2, accounts(2))
    pid = os.getpid()
    children.start(lambda index, tell: None, threading.Event())
    assert os.getpid() == pid  # in the parent: a child that returned would be here too, and fail below
    children.wait()
    children.close()
    assert children.failed == ["fetching process 1 of 2 ended with exit code 1", "fetching process 2 of 2 ended with exit code 1"]


def test_a_message_cut_short_leaves_what_was_told_before(tmp_path):
    """A child that ends in the middle of a message: what it told before stands, the rest is left to the parent."""
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)
    read, write = os.pipe()
    whole = pickle.dumps((ids[0], 0, [(ids[0], ("iam.summary", "us-east-1", ()), "evidence/a.json", None)], (1, 0, {})))
    os.write(write, forked._LENGTH.pack(len(whole)) + whole + forked._LENGTH.pack(1000) + b"half a message")
    os.close(write)
    children._read(read, 0)  # returns at the cut, with no error
    assert children._files == {(ids[0], ("iam.summary", "us-east-1", ())): ("evidence/a.json", None)}
    children.close()


def test_a_fact_that_does_not_pickle_is_left_to_its_file():
    from rootguard.facts.registry import FactResult

    assert forked._portable(FactResult(("iam.summary", "us-east-1", ()), value=lambda: None)) is None
    assert forked._installed(None, ("iam.summary", "us-east-1", ()), "evidence/a.json", b"not a pickle") is None


def test_no_process_to_be_had_leaves_the_fetch_to_the_run(tmp_path, monkeypatch):
    """fork failing (a limit on processes): the children started are stopped, and the run fetches itself."""
    forks = []
    real_fork = os.fork

    def fork():
        if forks:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", fork)
    children = forked.fetch_in_children({}, set(), {"100000000000": {}, "100000000001": {}}, 8, 2, str(tmp_path), lambda *a: None,
                                        "100000000000", (), threading.Event(), None)
    assert not children.started
    assert children.failed == ["could not start the fetching processes ([Errno 11] Resource temporarily unavailable)"]
    assert children._children == {}  # the one forked was stopped and reaped
    assert not os.path.exists(children.locks)


def test_the_tests_on_an_account_wait_for_its_facts_only(tmp_path):
    """ready(account) returns once that account's child has told all its facts, while the children go on."""
    ids = accounts(4)
    children = ChildFetch(str(tmp_path), 2, ids)
    last = max(ids)
    gate = tmp_path / "let-the-last-account-go"

    def fetch(index, tell):
        for account_id in sorted(a for a in ids if children.share[a] == index):
            if account_id == last:
                deadline = time.monotonic() + 30
                while not gate.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
            tell(account_id, 0, [(account_id, ("iam.summary", "us-east-1", ()), f"evidence/{account_id}/iam.summary.json", None)])

    children.start(fetch, threading.Event())
    for account_id in sorted(set(ids) - {last}):
        children.ready(account_id)  # while the last account is held back
        assert (account_id, ("iam.summary", "us-east-1", ())) in children._files
    assert last not in children._closed
    gate.touch()
    children.ready(last)
    assert (last, ("iam.summary", "us-east-1", ())) in children._files
    children.ready("999999999999")  # no child's: nothing to wait for
    children.finish()
    children.close()
    assert children.failed == []


def test_a_child_that_ends_early_keeps_no_test_waiting(tmp_path):
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)

    def fetch(index, tell):
        if index == 1:
            os._exit(3)  # tells nothing
        for account_id in (a for a in ids if children.share[a] == index):
            tell(account_id, 0, [])

    children.start(fetch, threading.Event())
    started = time.monotonic()
    for account_id in ids:
        children.ready(account_id)
    assert time.monotonic() - started < 10
    assert len(children._closed) == 1  # the other child's account was never told: its tests fetch its facts
    children.finish()
    children.close()
    assert children.failed == ["fetching process 2 of 2 ended with exit code 3"]


def test_an_interrupted_wait_for_an_account_stops_the_children(tmp_path, monkeypatch):
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)
    start_waiting_children(tmp_path, children)
    monkeypatch.setattr(children._told, "wait", lambda timeout=None: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        children.ready(ids[0])
    children.close(timeout=30)
    assert time.monotonic() - started < 10  # stopped by the wait, not killed at the close's end
    assert children.failed == []


def test_a_loop_cut_short_stops_the_children_it_no_longer_needs(tmp_path):
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)
    start_waiting_children(tmp_path, children)  # each waits for its stop, as a long fetch would go on
    started = time.monotonic()
    children.finish(cut_short=True)
    assert time.monotonic() - started < 10
    assert children._children == {} and children.failed == []
    children.close()


class Sharing:
    """Stands in for the parent's SharedFacts: records what it was asked."""

    def __init__(self):
        self.asked = []

    def fetch(self, store, key):
        self.asked.append((store.account.id, key))
        return "through the lock file"


def test_a_fact_not_told_goes_through_its_lock_file_while_the_children_fetch(tmp_path):
    """A child may be fetching it now, or have published it without telling it yet: the parent
    takes the fact's lock (SharedFacts decides which facts have one), never fetches beside it."""
    ids = accounts(2)
    children = ChildFetch(str(tmp_path), 2, ids)
    children.sharing = Sharing()
    store = SimpleNamespace(account=SimpleNamespace(id=ids[0]))
    key = ("organizations.organization", "us-east-1", ())
    assert children.fetch(store, key) == "through the lock file"
    assert children.sharing.asked == [(ids[0], key)]
    children.close()


def test_a_child_lets_go_of_a_told_accounts_facts_but_those_it_may_ask_for_again():
    from rootguard.accounts import Account
    from rootguard.facts.registry import FactResult
    from rootguard.facts.store import FactStore

    store = FactStore(Account(id="100000000000", name="a", source="test"), None, ("us-east-1",), "us-east-1")
    keys = [("sts.caller_identity", "us-east-1", ()), ("cloudtrail.trail_status", "us-east-1", (("name", "org"),)),
            ("iam.account_summary", "us-east-1", ()), ("iam.credential_report", "us-east-1", ())]
    for key in keys:
        store._results[key] = FactResult(key, value="v")
        store._key_locks[key] = threading.Lock()
    store.forget(forked.still_asked)
    assert sorted(store._results) == sorted(keys[:2]) == sorted(store._key_locks)
