"""The fact store: all facts of one account, each fetched at most once and cached, safe to share between threads."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

from rootguard.errors import FactError, UnexpectedResponse
from rootguard.facts.context import FactContext, keep_endpoint_host
from rootguard.facts.limits import UNBOUNDED
from rootguard.facts.registry import REGISTRY, FactKey, FactResult, fact_key


def closure(pairs: Iterable[tuple["FactStore", FactKey]]) -> list[tuple["FactStore", FactResult]]:
    """The given facts and everything they were derived from, across stores, in a stable order."""
    seen: dict[tuple[int, FactKey], tuple[FactStore, FactResult]] = {}
    stack = list(pairs)
    while stack:
        store, key = stack.pop()
        marker = (id(store), key)
        if marker in seen:
            continue
        result = store.known(key)
        if result is None:
            continue
        seen[marker] = (store, result)
        stack.extend(result.depends_on)
    return sorted(seen.values(), key=lambda pair: (pair[0].account.id, repr(pair[1].key)))


# The caller identity: every other fact of an account stands on it (fetch_uncached).
IDENTITY = "sts.caller_identity"


class FactStore:
    """All facts of one account: fetched at most once, safe to share between threads."""

    def __init__(self, account, connector, regions: tuple[str, ...] | str, home_region: str):
        self.account = account
        self.connector = connector
        self.home_region = home_region
        self._regions = regions
        self._lock = threading.Lock()
        self._key_locks: dict[FactKey, threading.Lock] = {}
        self._fetching: set[FactKey] = set()
        self._results: dict[FactKey, FactResult] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self.hub_store: "FactStore | None" = None  # set by the run: facts only the hub can read
        # Set by the run: the store of another account it can read (judged, or the hub's), or None.
        self.peers: Callable[[str], "FactStore | None"] | None = None
        self.stopping = threading.Event()  # set by the run when interrupted; shared by all stores
        # Called with (store, result) once per fact that made AWS calls, as soon as it is known,
        # in the thread that fetched it (the run writes its evidence there).
        self.on_fetched: Callable[["FactStore", FactResult], None] | None = None
        # Under pytest-xdist, facts other workers may also need are fetched once (rootguard.distributed.sharing).
        self.shared = None
        # Set by the prefetch while it runs: told which fact a fact asks for, and when a fetch settles
        # (rootguard.facts.prefetch, Dependencies).
        self.observer = None
        self.fetch_seconds = 0.0
        self.in_flight = getattr(connector, "in_flight", None) or UNBOUNDED

    def release(self) -> None:
        """Let go of every fact and client, once no control will ask again (the reports need only the verdicts)."""
        with self._lock:
            self._results, self._clients, self._key_locks, self._fetching = {}, {}, {}, set()
        self.peers = self.hub_store = self.on_fetched = self.shared = self.observer = None

    # --- asking for facts ------------------------------------------------------------------

    def key_for(self, name: str, region: str | None, params: dict) -> FactKey:
        spec = REGISTRY.get(name)
        if spec is None:
            raise KeyError(f"no fact named {name!r}")
        return fact_key(name, region or self.home_region, params)

    def get(self, name: str, region: str | None = None, **params) -> Any:
        return self.get_by_key(self.key_for(name, region, params))

    def get_by_key(self, key: FactKey) -> Any:
        result = self.result(key)
        if result.error is not None:
            raise result.error
        return result.value

    def result(self, key: FactKey) -> FactResult:
        with self._lock:
            known = self._results.get(key)
            if known is not None:
                return known
            lock = self._key_locks.setdefault(key, threading.Lock())
        fetched = False
        try:
            with lock:
                with self._lock:
                    known = self._results.get(key)
                    if known is not None:
                        return known
                    self._fetching.add(key)
                fetched = True
                try:
                    known = self.fetch_uncached(key) if self.shared is None else self.shared.fetch(self, key)
                    with self._lock:
                        self._results[key] = known
                    if known.calls and self.on_fetched is not None:
                        self.on_fetched(self, known)
                finally:
                    with self._lock:
                        self._fetching.discard(key)
            return known
        finally:
            # Outside every lock of the store, and even when the fetch failed (a defect): whatever
            # waits for this key hears that it is no longer being fetched.
            observer = self.observer
            if fetched and observer is not None:
                observer.settled(self, key)

    def fetching(self, key: FactKey) -> bool:
        """Whether a thread is fetching the key now."""
        with self._lock:
            return key in self._fetching

    def fetch_uncached(self, key: FactKey, make_context: Callable[..., FactContext] = FactContext) -> FactResult:
        """Run the fact's fetch function; `make_context(store, result, region)` gives what it calls AWS with."""
        name, region, params = key
        result = FactResult(key)
        context = make_context(self, result, region)
        started = time.perf_counter()
        try:
            if name != IDENTITY:
                # Every fact stands on knowing we are in the right account.
                context.fact(IDENTITY)
            result.value = REGISTRY[name].fetch(context, **dict(params))
        except FactError as exc:
            result.error = exc
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            # A response missing a field or holding the wrong type: never judge on it.
            action = result.calls[-1].action if result.calls else name
            result.error = UnexpectedResponse(f"{action}: unexpected response ({type(exc).__name__}: {exc})", action=action)
        self.fetch_seconds += time.perf_counter() - started
        return result

    # --- what was fetched ------------------------------------------------------------------

    def results(self) -> list[FactResult]:
        with self._lock:
            return list(self._results.values())

    def known(self, key: FactKey) -> FactResult | None:
        with self._lock:
            return self._results.get(key)

    def identity(self) -> dict | None:
        """The account's caller identity if it has been fetched and answered; None otherwise (never fetches)."""
        known = self.known(self.key_for(IDENTITY, None, {}))
        return known.value if known is not None and known.error is None else None

    def peer(self, account_id: str) -> "FactStore | None":
        if account_id == self.account.id:
            return self
        if self.peers is not None:
            found = self.peers(account_id)
            if found is not None:
                return found
        hub = self.hub_store
        return hub if hub is not None and hub.account.id == account_id else None

    def regions(self) -> tuple[str, ...]:
        if self._regions == "all":
            return tuple(self.get("ec2.enabled_regions"))
        return tuple(self._regions)

    def forget(self, keep: Callable[[FactKey], bool]) -> None:
        """Let go of the facts `keep` turns down, once nothing in this process will ask for them again
        (a fetching child's, once it has told them: rootguard.distributed.forked)."""
        with self._lock:
            self._results = {key: fact for key, fact in self._results.items() if keep(key)}
            self._key_locks = {key: lock for key, lock in self._key_locks.items() if key in self._results}

    def release_clients(self) -> None:
        """Drop this account's clients once its facts are in: a sweep keeps few clients alive at a time."""
        with self._lock:
            self._clients.clear()

    def client(self, service: str, region: str):
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                session = self.connector.session_for(self.account)
                client = self.connector.client(session, service, region)
                profile = getattr(self.connector, "profile", None)  # a replay has no endpoint
                if service == "s3control" and profile is not None and profile.endpoint_url:
                    keep_endpoint_host(client)
                self._clients[(service, region)] = client
            return client
