"""How prefetch overlaps accounts: every thread kept busy, and few accounts open when each has many facts."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from rootguard.accounts import Account
from rootguard.errors import FactError
from rootguard.facts.prefetch import ACCOUNTS_PER_WORKERS, Dependencies, fetch_threads, in_fetch_order, prefetch
from rootguard.facts.registry import REGISTRY, FactSpec
from rootguard.facts.store import FactStore

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
        self.starts: list[tuple] = []  # (when, account, fact, requests in flight with it)
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
            org.starts.append((time.monotonic(), self.account, name, org.in_flight))
        time.sleep(getattr(org, "identity_latency", LATENCY) if name == "sts.caller_identity" else LATENCY)
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


def test_the_next_accounts_are_identified_while_others_fetch_so_no_thread_waits_for_an_identity():
    # An identity takes eight requests' time (AssumeRole, then GetCallerIdentity, each slow or
    # throttled); an account's 120 facts on 16 threads take about eight too. Accounts are made ready
    # ahead (two, at 16 threads), so when an account's last facts free their threads, the next
    # account's facts start at once: the threads never sit through an identity with nothing to do.
    org = Org(accounts=6, facts=120)
    org.identity_latency = 8 * LATENCY
    done = sweep(org, workers=16)
    assert done == [1] * 6 and sorted(org.released) == sorted(org.stores)
    facts = [(when, account) for when, account, name, _ in org.starts if name != "sts.caller_identity"]
    first_of = {}
    for when, account in facts:
        first_of.setdefault(account, when)
    last_fact_start = max(when for when, _ in facts)
    # Between the first fact and the last one's start, every gap between two fact starts is
    # well short of an identity (threads waiting for one would leave a gap of nearly its
    # length); facts start in waves, one request's time apart.
    starts = sorted(when for when, _ in facts)
    assert max(b - a for a, b in zip(starts, starts[1:])) < org.identity_latency / 2
    # Each account is identified before its facts start (in the order their identities come back).
    assert sorted(first_of) == sorted(org.stores)
    identified = {account: when for when, account, name, _ in org.starts if name == "sts.caller_identity"}
    assert all(identified[account] + org.identity_latency <= first_of[account] + 0.005 for account in first_of)
    assert last_fact_start > 0


def test_an_interrupted_prefetch_starts_no_more_accounts_and_lets_every_started_one_go():
    org = Org(accounts=40, facts=5)
    stopping = threading.Event()
    original = Store.get

    def get(store, name, region=None):
        if len(org.fetched) >= 30:
            stopping.set()  # Ctrl-C, or SIGTERM, during the sweep
        return original(store, name, region)

    Store.get = get
    try:
        prefetch(org.stores, org.wanted, 8, stopping, lambda: False, None)
    finally:
        Store.get = original
    touched = {account for _, account, _, _ in org.starts}
    assert len(touched) < 40  # no account starts after the interruption
    assert sorted(org.released) == sorted(touched)  # each one started lets go of its clients


def test_a_small_selection_starts_no_more_threads_than_it_has_steps():
    org = Org(accounts=2, facts=1)
    seen = []
    original = Store.get

    def get(store, name, region=None):
        seen.append(sum(1 for t in threading.enumerate() if t.name.startswith("rootguard-fetch-")))
        return original(store, name, region)

    Store.get = get
    try:
        sweep(org, workers=128)
    finally:
        Store.get = original
    assert max(seen) == 4  # two identities and two facts
    assert len(org.fetched) == 4


# --- facts standing on facts: a step another thread's fetch holds up waits aside ----------------

REGIONS = ("us-east-1", "eu-west-1")


class WaitCounting(FactStore):
    """A real fact store that counts each time a thread asks for a fact another thread is fetching (and so waits)."""

    waits: list[tuple] = []

    def result(self, key):
        if self.fetching(key):
            WaitCounting.waits.append((self.account.id, key[0]))
        return super().result(key)


@pytest.fixture
def standing_facts(monkeypatch):
    """Facts as the suite's stand: a trail's status and selectors on the trail list of their region,
    a control of every account on one slow fact of the hub's; each its one request's time."""

    def fake(name, fetch, regional=True):
        monkeypatch.setitem(REGISTRY, name, FactSpec(name, fetch, regional, name))

    def identity(ctx):
        time.sleep(LATENCY)
        return {"Account": ctx.account.id}

    def trails(ctx):
        time.sleep(LATENCY)
        return [f"trail-{ctx.region}"]

    def on_trails(ctx):
        listed = ctx.fact("test.trails", ctx.region)
        time.sleep(LATENCY)
        return listed

    def organization(ctx):
        time.sleep(4 * LATENCY)
        return "o-test"

    def on_organization(ctx):
        return ctx.hub_fact("test.organization")

    fake("sts.caller_identity", identity, regional=False)
    fake("test.trails", trails)
    fake("test.status", on_trails)
    fake("test.selectors", on_trails)
    fake("test.organization", organization, regional=False)
    fake("test.scp", on_organization, regional=False)
    WaitCounting.waits = []

    def organization_of(accounts: int):
        hub = WaitCounting(Account("100000000000", "hub"), None, REGIONS, "us-east-1")
        stores = {}
        for n in range(accounts):
            account = Account(f"{200000000000 + n}", f"member-{n}")
            stores[account.id] = WaitCounting(account, None, REGIONS, "us-east-1")
            stores[account.id].hub_store = hub
        # The dependents come first, as the controls list them; the trail list last.
        order = [(name, region) for region in REGIONS for name in ("test.status", "test.selectors", "test.trails")]
        wanted = {account_id: dict.fromkeys([("test.scp", "us-east-1"), *order]) for account_id in stores}
        return hub, stores, wanted

    return organization_of


@pytest.mark.parametrize("learning", [True, False])
def test_a_fact_another_thread_is_fetching_waits_aside_and_its_thread_takes_another_step(standing_facts, monkeypatch, learning):
    if not learning:  # every step taken as it comes, as before: the count below then shows the waits it misses
        monkeypatch.setattr(Dependencies, "blocker", lambda self, store, name, region: None)
    hub, stores, wanted = standing_facts(accounts=12)
    prefetch(stores, wanted, 16, threading.Event(), lambda: False, None)
    for account_id, store in stores.items():
        for region in REGIONS:
            assert store.get("test.status", region) == [f"trail-{region}"]
            assert store.get("test.selectors", region) == [f"trail-{region}"]
        assert store.get("test.scp") == "o-test"
        assert store.observer is None  # the prefetch's observer is gone with it
    assert hub.observer is None
    waited = {account for account, _ in WaitCounting.waits}
    if learning:
        # Only the first accounts, started before a fact first asked for what it stands on, may
        # wait (1 wait in the first account, measured; 53 in 13 stores without the learning).
        assert len(WaitCounting.waits) <= 10 and len(waited) <= 3
    else:
        assert len(WaitCounting.waits) >= 12 and len(waited) >= 6


def test_steps_parked_on_a_fetch_that_fails_with_a_defect_end_the_prefetch_with_it(standing_facts, monkeypatch):
    hub, stores, wanted = standing_facts(accounts=6)

    def broken(ctx):
        time.sleep(2 * LATENCY)
        raise RuntimeError("a defect in the trail reader")

    monkeypatch.setitem(REGISTRY, "test.trails", FactSpec("test.trails", broken, True, "test.trails"))
    raised = []

    def run():
        try:
            prefetch(stores, wanted, 16, threading.Event(), lambda: False, None)
        except RuntimeError as exc:
            raised.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(30)  # a step parked on the failed fetch and never handed back would hang it
    assert not runner.is_alive()
    assert [str(exc) for exc in raised] == ["a defect in the trail reader"]


class Item:
    """What in_fetch_order reads of a pytest item: its control marker and its (account, region) parameter."""

    def __init__(self, control: str, account_id: str | None):
        self.name = f"{control}[{account_id}]"
        self.control = control
        if account_id is not None:
            self.callspec = SimpleNamespace(params={"account": (Account(id=account_id, name=account_id, source="test"), "us-east-1")})

    def get_closest_marker(self, name):
        return object() if name == "control" and self.control != "not-a-control" else None


def test_tests_follow_the_fetch_in_runs_of_accounts_in_the_order_of_their_ids():
    ids = [f"{300000000000 + i}" for i in range(7)]
    shuffled = [ids[i] for i in (3, 0, 6, 1, 5, 2, 4)]
    items = [Item(control, account) for control in ("root_mfa", "trail") for account in shuffled]
    items.insert(3, Item("hub_only", None))
    items.insert(0, Item("not-a-control", ids[0]))
    in_fetch_order(items, runs=3)  # runs of 3 accounts: 0-2, 3-5, 6
    assert [item.name for item in items] == [
        *(f"root_mfa[{a}]" for a in (ids[0], ids[1], ids[2])), *(f"trail[{a}]" for a in (ids[0], ids[1], ids[2])),
        *(f"root_mfa[{a}]" for a in (ids[3], ids[5], ids[4])), *(f"trail[{a}]" for a in (ids[3], ids[5], ids[4])),
        f"root_mfa[{ids[6]}]", f"trail[{ids[6]}]",
        "not-a-control[300000000000]", "hub_only[None]",  # tests on no account come last, in their order
    ]


def test_more_runs_than_accounts_make_a_run_of_each():
    items = [Item("root_mfa", a) for a in ("300000000002", "300000000001")] + [Item("trail", a) for a in ("300000000002", "300000000001")]
    in_fetch_order(items)
    assert [item.name for item in items] == ["root_mfa[300000000001]", "trail[300000000001]", "root_mfa[300000000002]", "trail[300000000002]"]
    nothing = [Item("hub_only", None)]
    in_fetch_order(nothing)
    assert [item.name for item in nothing] == ["hub_only[None]"]
