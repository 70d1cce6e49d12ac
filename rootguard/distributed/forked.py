"""Fetching on every core in a one-process sweep: child processes fetch the facts.

A Python process runs Python on one core at a time, and a sweep's fetch is bound by it:
botocore signs, sends and parses every request in Python. So after the collection, a sweep
run as one process (not under pytest -n) on Linux forks children (`--fetch-processes`), each
fetching the facts of its share of the accounts (dealt as under -n, `owners`) with its share
of --fetch-workers, and writing each fact's evidence file as the process alone would. A fact
several children need (the hub's view of the organization, an organization trail's status)
is fetched once, through lock files, as between -n workers (SharedFacts). Each child tells
the parent, account by account, each fact it fetched (pickled: its value or error, its calls,
what it stands on) and the evidence file that holds it. The tests do not wait for the whole
fetch: those on an account start once its child has told all of its facts (`ready`), and take
each fact in as the child had it, while the children fetch the accounts after it (the run
orders its tests in runs of accounts, in the order the children fetch them:
rootguard.facts.prefetch.in_fetch_order). A fact that does not pickle is read back from its
file, as --replay does (the fact's code run again on the recorded responses); a fact several
processes read is found through its lock file; one no child told of (worked out from others,
or one a child never reached) the parent works out or fetches itself: a child that fails
costs time, never a verdict.

Forked, a child starts with the parent's accounts, stores and credentials as they are, and
nothing to import or collect; the connections the parent left open are dropped in the child
(forget_connections), so no two processes talk on one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pickle
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Callable

from rootguard.accounts.botocore_sharing import forget_connections
from rootguard.distributed import usable_cores
from rootguard.distributed.scheduling import owners
from rootguard.distributed.sharing import SharedFacts, publish_listings, replayed
from rootguard.facts import FactKey, FactResult, FactStore
from rootguard.facts.context import INTERRUPTED
from rootguard.facts.limits import HUB_CALLER
from rootguard.facts.prefetch import fetch_threads, prefetch
from rootguard.facts.progress import TALLY, Progress
from rootguard.facts.registry import REGISTRY
from rootguard.facts.store import IDENTITY

_LENGTH = struct.Struct("!I")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# How long the end of an interrupted run waits for its children to finish the requests they
# have in flight (each then writes its evidence file) before it stops them outright.
STOP_WAIT_SECONDS = 60.0
# The children fetch at a lower priority than the parent, whose tests follow their fetch: with
# every core busy, the tests keep pace, and the children take the cores whenever the tests wait.
CHILD_NICENESS = 10


def fetch_processes(option: str | int, accounts: int, bound: int) -> int:
    """How many child processes fetch the facts of `accounts` accounts; 0: this process's own threads.

    `option` is --fetch-processes: "auto" (a child per usable core) or a number. Forking is
    Linux's alone here (macOS's system libraries do not survive it), each child needs an
    account and a thread (`bound`, --fetch-workers), and one child would only leave the
    parent idle.
    """
    if not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return 0
    wanted = usable_cores() if option == "auto" else int(option)
    count = min(wanted, accounts, bound)
    return count if count >= 2 else 0


class ChildFetch:
    """The children's fetch, from the parent's side: which evidence file holds each fact, as they tell it.

    Set as every store's `shared` once the children are done: a store asks it for each fact
    it does not hold yet (FactStore.result).
    """

    def __init__(self, pack: str, processes: int, accounts: list[str], progress: Progress | None = None):
        self.pack = pack
        self.processes = processes
        self.share = owners(accounts, processes)
        self.progress = progress
        self.locks = tempfile.mkdtemp(prefix="rootguard-facts-")
        self.failed: list[str] = []  # what became of each child that did not end well, for the run's output
        self._files: dict[tuple[str, FactKey], str] = {}
        self._lock = threading.Lock()
        self._told = threading.Condition(self._lock)  # an account closed, or a child done telling
        self._closed: set[str] = set()  # the accounts whose facts their child has told all of
        self._ended: set[int] = set()  # the children done telling (ended, or their pipe broken)
        self.sharing: SharedFacts | None = None  # the parent's way to the facts several processes read
        self._children: dict[int, int] = {}  # index -> pid, until reaped
        self._readers: list[threading.Thread] = []
        self.started = False  # every child forked

    # --- the parent ------------------------------------------------------------------------

    def start(self, fetch: Callable[[int, Callable], None], stopping: threading.Event) -> None:
        """Fork a child per share; in it, `fetch(index, tell)` fetches share `index` and calls
        `tell(closed account or None, its errors, [(account id, key, path, pickled fact or None)])` as it goes.
        SIGTERM or SIGINT sets the child's `stopping` (its copy of the event)."""
        # Every child before any thread of the parent's: a child forked while a reader held a
        # lock (the tally's, the files') would inherit it held, with no thread to let it go.
        pipes = []
        for index in range(self.processes):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(read)
                    for other in pipes:
                        os.close(other)
                    _child(fetch, index, write, stopping)
                finally:
                    os._exit(1)  # whatever happens, the child never returns into the run
            os.close(write)
            self._children[index] = pid
            pipes.append(read)
        self.started = True
        for index, read in enumerate(pipes):
            reader = threading.Thread(target=self._read, args=(read, index), name=f"rootguard-fetch-child-{index}", daemon=True)
            reader.start()
            self._readers.append(reader)

    def _read(self, fd: int, index: int) -> None:
        told = (0, 0, Counter())
        try:
            with os.fdopen(fd, "rb") as stream:
                while True:
                    head = stream.read(_LENGTH.size)
                    if len(head) < _LENGTH.size:
                        break
                    size = _LENGTH.unpack(head)[0]
                    body = stream.read(size)
                    if len(body) < size:
                        break  # the child ended in the middle of a message: what it told before stands
                    closed, errors, files, tally = pickle.loads(body)
                    TALLY.absorb(tally[0] - told[0], tally[1] - told[1], Counter(tally[2]) - told[2])
                    told = (tally[0], tally[1], Counter(tally[2]))
                    if closed is not None and self.progress is not None:
                        self.progress.account_done(errors)
                    with self._lock:
                        for account_id, key, path, payload in files:
                            self._files[(account_id, key)] = (path, payload)
                        if closed is not None:
                            self._closed.add(closed)
                            self._told.notify_all()
        finally:
            # Whatever ended the telling, no test waits on this child any longer (ready).
            with self._lock:
                self._ended.add(index)
                if len(self._ended) == self.processes and self.progress is not None:
                    self.progress.end()
                self._told.notify_all()

    def ready(self, account_id: str) -> None:
        """Until the account's facts are all told, or its child can tell no more: the tests on it then
        start, while the children go on with later accounts. Interrupted, the children stop too."""
        owner = self.share.get(account_id)
        try:
            with self._lock:
                while owner is not None and account_id not in self._closed and owner not in self._ended:
                    self._told.wait(0.5)
        except BaseException:
            self.stop()
            raise
        if self.progress is not None:
            # A test starts: from here pytest's own output shows how the sweep goes, and a progress
            # line rewritten beside it would break its lines (the last line comes at the end, finish).
            self.progress.hold()

    def wait(self) -> None:
        """Until every child has told all and ended. Interrupted (Ctrl-C, SIGTERM), the children stop too."""
        try:
            for reader in self._readers:
                while reader.is_alive():
                    reader.join(0.5)
        except BaseException:
            self.stop()
            raise
        self._reap(block=True)

    def stop(self) -> None:
        """Tell the children to start nothing more: each ends once its requests in flight are answered and written."""
        for pid in self._children.values():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def close(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """At the run's end: no child outlives it, nor writes into the pack after it (the manifest comes last)."""
        if self._children:
            self.stop()
            deadline = time.monotonic() + timeout
            while self._children and time.monotonic() < deadline:
                self._reap(block=False)
                time.sleep(0.05)
            for pid in self._children.values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._reap(block=True)
        shutil.rmtree(self.locks, ignore_errors=True)

    def _reap(self, block: bool) -> None:
        for index, pid in list(self._children.items()):
            try:
                done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            del self._children[index]
            code = os.waitstatus_to_exitcode(status)
            if code:
                ending = f"exit code {code}" if code > 0 else f"signal {signal.Signals(-code).name}"
                self.failed.append(f"fetching process {index + 1} of {self.processes} ended with {ending}")
                # An evidence file it was writing when it ended is left half-made, under the
                # temporary name each writer gives its file (rootguard.evidence.documents.write_fact).
                for left in glob.glob(os.path.join(glob.escape(self.pack), "evidence", "*", f".*.{pid}.*.tmp")):
                    with contextlib.suppress(OSError):
                        os.unlink(left)

    def finish(self, cut_short: bool = False) -> None:
        """The tests are done: wait for the children to end, and show the fetch's last progress line.

        Each account a test asked for is in by now, so the children are at most telling their
        last; a test loop `cut_short` (-x, --maxfail) first tells them to start nothing more.
        """
        if cut_short:
            self.stop()
        try:
            self.wait()
        finally:
            if self.progress is not None:
                self.progress.stop()

    def fetch(self, store: FactStore, key: FactKey) -> FactResult:
        """A fact the store does not hold: as a child fetched it, else read back from the file it wrote,
        else worked out or fetched here.

        A fact several processes read (the hub's, an organization trail's) goes through its lock
        file, as it does in the children (SharedFacts): while they still fetch, a child may be
        fetching it now, or have published it without having told it yet.
        """
        with self._lock:
            told = self._files.get((store.account.id, key))
        if told is not None:
            path, payload = told
            result = None if payload is None else _installed(store, key, path, payload)
            if result is None:
                result = replayed(self.pack, store, key, path)
            if result is not None:
                with self._lock:  # the store holds it from now on
                    self._files[(store.account.id, key)] = (path, None)
                return result
        if self.sharing is not None:
            return self.sharing.fetch(store, key)
        return store.fetch_uncached(key)


def _portable(fact: FactResult) -> bytes | None:
    """A fact as the parent can take it in: its value or error, its calls (their responses are in
    its file by now) and the facts it stands on, by account; None when it does not pickle."""
    try:
        return pickle.dumps(
            (fact.value, fact.error, fact.calls, [(where.account.id, key) for where, key in fact.depends_on]),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    except Exception:  # a value of a kind pickle does not take: the parent reads the file instead
        return None


def _installed(store: FactStore, key: FactKey, path: str, payload: bytes) -> FactResult | None:
    """The fact a child fetched, in this process; None if it cannot be taken in as it was (then its file is read)."""
    try:
        value, error, calls, depends = pickle.loads(payload)
    except Exception:
        return None
    links = []
    for account_id, needed in depends:
        where = store.peer(account_id)
        if where is None:
            return None
        links.append((where, needed))
    # The facts it stands on are taken in too, as a fetch here would have asked for them: a
    # verdict names the evidence files of every fact behind it (rootguard.facts.store.closure).
    for where, needed in links:
        where.result(needed)
    return FactResult(key, value, error, calls, links, evidence=path)


def _child(fetch: Callable[[int, Callable], None], index: int, fd: int, stopping: threading.Event) -> None:
    """The child's whole life: fetch its share, tell the parent, end without any of the parent's cleanup.

    A SIGTERM from the parent (the run interrupted, or ended early), or Ctrl-C at the terminal
    (the whole process group gets it): start nothing more, and end once the requests in flight
    are answered and written. The signals are taken by a thread of their own (sigwait), never
    by a handler: a handler runs inside whatever the main thread is doing, and setting the
    event from there could wait on a lock that thread already holds.
    """
    code = 1
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # the threads started below inherit it
        with contextlib.suppress(OSError):
            os.nice(CHILD_NICENESS)

        def stop_on_signal() -> None:
            signal.sigwait(STOP_SIGNALS)
            stopping.set()

        threading.Thread(target=stop_on_signal, name="rootguard-fetch-stop", daemon=True).start()
        forget_connections()
        base = (*TALLY.read(), Counter(TALLY.throttled))
        lock = threading.Lock()
        with os.fdopen(fd, "wb") as out:

            def tell(closed: str | None, errors: int, files: list) -> None:
                requests, retries = TALLY.read()
                tally = (requests - base[0], retries - base[1], dict(TALLY.throttled_since(base[2])))
                data = pickle.dumps((closed, errors, files, tally), protocol=pickle.HIGHEST_PROTOCOL)
                with lock:
                    out.write(_LENGTH.pack(len(data)) + data)
                    out.flush()

            fetch(index, tell)
        code = 0
    except BaseException as exc:  # a defect, or the parent gone (a broken pipe): the parent fetches what was not told
        try:
            print(f"rootguard: fetching process {index + 1}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        except BaseException:
            pass
    finally:
        os._exit(code)


def still_asked(key: FactKey) -> bool:
    """Whether a fetching child may ask for an account's fact once the account is told: its identity,
    which every fact stands on, or a fact other accounts read (FactContext.fact_of)."""
    return key[0] == IDENTITY or REGISTRY[key[0]].read_across_accounts


def fetch_in_children(stores: dict[str, FactStore], every_store: set[FactStore], wanted: dict, bound: int, processes: int,
                      pack: str, publish: Callable[[FactStore, FactResult], str | None], hub_id: str, population_evidence,
                      stopping: threading.Event, progress: Progress | None) -> ChildFetch:
    """Start fetching `wanted` in `processes` children, and leave every store reading what they fetch.

    It returns once they are started: the tests on an account start once its child has told
    all its facts (ChildFetch.ready), while the children go on with later accounts; the run
    ends them when its tests are done (ChildFetch.finish). Where no child could be started,
    the stores are left as they were (`started` is False): the run fetches in its own threads.

    `publish(store, fact)` writes a fact's evidence file and returns its path in the pack (the
    run's EvidenceWriter.write_early); `population_evidence`, the organization listings the
    population was read from, which no child lists again.
    """
    accounts = sorted(wanted)
    children = ChildFetch(pack, processes, accounts, progress)
    publish_listings(children.locks, population_evidence)
    # Every child calls AWS as the hub (its view of the organization, the AssumeRole into each
    # account): the hub's --api-limit bounds hold across them, as in one process. An account's
    # own calls come from the one child that owns it.
    for in_flight in {store.in_flight for store in every_store}:
        in_flight.share_between_processes([hub_id, HUB_CALLER])

    def fetch(index: int, tell: Callable) -> None:
        mine = [account_id for account_id in accounts if children.share[account_id] == index]
        shared = SharedFacts(pack, children.locks, publish, own=mine, hub=hub_id)
        files: list[tuple] = []
        noted = threading.Lock()

        def note(store: FactStore, fact: FactResult) -> None:
            path = publish(store, fact)
            # Not a fact this child was stopped before asking for: the parent asks for it itself,
            # unless the whole run is stopping (then it too records the interruption).
            if path and not (fact.error is not None and fact.error.code == INTERRUPTED):
                payload = _portable(fact)
                with noted:
                    files.append((store.account.id, fact.key, path, payload))

        def closed(account_id: str, errors: int) -> None:
            # What is noted by now, in one write: the account's own facts, all of them by now (its
            # tests start on this message), and whatever else this child fetched meanwhile (the
            # hub's facts, which the parent otherwise finds through their lock files).
            with noted:
                batch = files[:]
                files.clear()
            tell(account_id, errors, batch)
            if account_id is not None and account_id != hub_id:
                # Told: only the parent asks for them now. The child keeps what it may ask again
                # for another account (the identity, a fact read across accounts), and the hub's.
                stores[account_id].forget(still_asked)

        for store in every_store:
            store.shared = shared
            store.on_fetched = note
        prefetch({a: stores[a] for a in mine}, {a: wanted[a] for a in mine}, fetch_threads(bound, processes), stopping,
                 lambda: True, None, closed=closed)
        closed(None, 0)

    try:
        children.start(fetch, stopping)
    except OSError as exc:  # no process to be had (a limit on processes, or on memory)
        children.close()  # those started are stopped: what they did is not what the run goes on with
        children.failed = [f"could not start the fetching processes ({exc})"]
        return children
    if progress is not None:
        progress.start()  # its thread only now: see ChildFetch.start
    # The parent reads a fact several processes read through its lock file, as the children do:
    # one of them may be fetching it now. A fact that no lock shares is one only its account's
    # child fetches, and the tests on that account wait for it (ready).
    children.sharing = SharedFacts(pack, children.locks, publish, own=accounts, hub=hub_id)
    for store in every_store:
        store.shared = children
    return children
