"""The fact engine: named, read-only AWS lookups, fetched once per (account, region, parameters) and cached.

A fact is either one API call or paginated listing (a raw fact, recorded as
evidence) or a reading of other facts (a derived fact, such as the root user's
credentials). Controls ask for facts by name and never build boto3 clients.
Any failure, including a response of a shape rootguard does not expect, is kept
as a `FactError`, so the control that needs it ends as `error`, never `passed`.

Facts are cut at the grain of the verdicts: one trail's status, one topic's
subscribers, one budget's alerts. A reading that spans several of them asks for
each with `attempt`, which hands back an `Unreadable` in place of what AWS would
not give, so that one refused piece makes `error` only of the verdicts it could
change (DESIGN.md, "Judging from partial evidence").
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from botocore.exceptions import BotoCoreError, ClientError

from rootguard.errors import FactError, UnexpectedResponse, describe_client_error

FactKey = tuple  # (name, region, ((param, value), ...))


@dataclass(frozen=True)
class Unreadable:
    """A piece of evidence AWS would not give (refused, throttled, answered oddly), where a value should be.

    It decides nothing: a verdict it could change is `error`, one that what was read
    already proves stands and names it.
    """

    error: FactError

    def __str__(self) -> str:
        return str(self.error)


@dataclass(frozen=True)
class FactSpec:
    name: str
    fetch: Callable[..., Any]
    regional: bool
    description: str


REGISTRY: dict[str, FactSpec] = {}


def fact(name: str, *, regional: bool = False) -> Callable:
    """Register a fact. A regional fact is fetched per region; others in the home region."""

    def register(fetch: Callable) -> Callable:
        known = REGISTRY.get(name)
        # A module imported afresh (pytester restores sys.modules) re-registers itself; two modules may not share a name.
        if known is not None and known.fetch.__qualname__ != fetch.__qualname__:
            raise ValueError(f"fact {name} defined twice ({known.fetch.__qualname__}, {fetch.__qualname__})")
        REGISTRY[name] = FactSpec(name, fetch, regional, (fetch.__doc__ or "").strip().splitlines()[0] if fetch.__doc__ else "")
        return fetch

    return register


@dataclass
class CallRecord:
    """One AWS request (or one whole paginated listing) as evidence."""

    action: str
    region: str
    parameters: dict
    requested_at: str
    response: Any = None
    error: dict | None = None
    pages: int = 1


@dataclass
class FactResult:
    key: FactKey
    value: Any = None
    error: FactError | None = None
    calls: list[CallRecord] = field(default_factory=list)
    depends_on: list[tuple["FactStore", FactKey]] = field(default_factory=list)
    # Set when the fact was read from an evidence file another process of this run wrote
    # (rootguard.distributed.sharing): its path in the pack, which holds the requests AWS answered.
    evidence: str | None = None


def fact_key(name: str, region: str, params: dict) -> FactKey:
    return (name, region, tuple(sorted(params.items())))


def describe_key(key: FactKey) -> str:
    name, region, params = key
    text = name
    if params:
        text += "(" + ", ".join(f"{k}={v}" for k, v in params) + ")"
    return f"{text} in {region}"


class FactContext:
    """What a fact's fetch function may use: AWS calls in one region, and other facts."""

    def __init__(self, store: "FactStore", result: FactResult, region: str):
        self.store = store
        self.result = result
        self.region = region
        self.account = store.account

    def fact(self, name: str, region: str | None = None, **params) -> Any:
        key = self.store.key_for(name, region, params)
        self.result.depends_on.append((self.store, key))
        return self.store.get_by_key(key)

    def attempt(self, name: str, region: str | None = None, **params) -> Any:
        """Like fact(), but a fact AWS would not give comes back as an `Unreadable` instead of raising."""
        try:
            return self.fact(name, region, **params)
        except FactError as exc:
            return Unreadable(exc)

    def hub_fact(self, name: str, region: str | None = None, **params) -> Any:
        """A fact read with the hub's credentials (the organization's management view), cached there."""
        hub = self.store.hub_store
        if hub is None:
            raise FactError(f"{name}: needs the hub's view of the organization, which this run does not have", code="NoHub")
        return self.fact_of(hub, name, region, **params)

    def fact_of(self, store: "FactStore", name: str, region: str | None = None, **params) -> Any:
        """A fact of another account of the run (where a resource this account uses lives), cached there."""
        key = store.key_for(name, region, params)
        self.result.depends_on.append((store, key))
        return store.get_by_key(key)

    def peer(self, account_id: str) -> "FactStore | None":
        """The store of another account this run can read: one it judges, or the hub's own account."""
        return self.store.peer(account_id)

    def _client(self, record: CallRecord, service: str, region: str):
        if self.store.stopping.is_set():
            # The run was interrupted: send nothing more (in a moto run, the mock is gone by now).
            record.error = {"Kind": "session", "Code": "Interrupted", "Action": record.action, "Message": "the run was interrupted"}
            raise FactError(f"{record.action}: not asked, the run was interrupted", action=record.action, code="Interrupted")
        try:
            return self.store.client(service, region)
        except FactError as exc:
            # The account could not be reached at all (AssumeRole refused, bad profile): keep why,
            # so the evidence, and a replay of it, say the same.
            record.error = {"Kind": "session", "Code": exc.code, "Action": exc.action, "Message": str(exc)}
            raise

    def call(self, service: str, operation: str, *, absent: Iterable[str] = (), region: str | None = None, **params) -> dict | None:
        """One API call. Error codes in `absent` mean "not there" (returned as None), not a failure."""
        region = region or self.region
        action = action_name(service, operation)
        record = CallRecord(action, region, dict(params), utc_now_text())
        self.result.calls.append(record)
        client = self._client(record, service, region)
        try:
            response = getattr(client, operation)(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            record.error = {"Code": code, "Message": str(exc.response.get("Error", {}).get("Message", ""))}
            if code in absent:
                return None
            raise client_failure(exc, action, self.account) from None
        except BotoCoreError as exc:
            record.error = {"Code": type(exc).__name__, "Message": str(exc)}
            raise client_failure(exc, action, self.account) from None
        if not isinstance(response, dict):
            raise UnexpectedResponse(f"{action} returned {type(response).__name__}, not a response document", action=action)
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        record.response = response
        return response

    def paginate(
        self, service: str, operation: str, key: str | tuple[str, ...], *, absent: Iterable[str] = (), region: str | None = None, **params
    ) -> list | dict | None:
        """A whole paginated listing, kept as one evidence record.

        `key` names the list the pages hold; a tuple of names (GetAccountAuthorizationDetails
        pages hold several lists) gives {name: list}. Error codes in `absent` mean the thing
        listed is not there (a deleted topic), returned as None.
        """
        region = region or self.region
        action = action_name(service, operation)
        record = CallRecord(action, region, dict(params), utc_now_text(), pages=0)
        self.result.calls.append(record)
        client = self._client(record, service, region)
        keys = key if isinstance(key, tuple) else (key,)
        lists: dict[str, list] = {name: [] for name in keys}
        try:
            for page in client.get_paginator(operation).paginate(**params):
                record.pages += 1
                for name in keys:
                    chunk = page.get(name, []) if isinstance(page, dict) else None
                    if not isinstance(chunk, list):
                        raise UnexpectedResponse(f"{action} returned {name} as {type(chunk).__name__}, not a list", action=action)
                    lists[name].extend(chunk)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            record.error = {"Code": code, "Message": str(exc.response.get("Error", {}).get("Message", ""))}
            if code in absent:
                return None
            raise client_failure(exc, action, self.account) from None
        except BotoCoreError as exc:
            record.error = {"Code": type(exc).__name__, "Message": str(exc)}
            raise client_failure(exc, action, self.account) from None
        record.response = lists
        return lists if isinstance(key, tuple) else lists[key]


def action_name(service: str, operation: str) -> str:
    prefix = {"logs": "logs", "monitoring": "cloudwatch"}.get(service, service)
    return f"{prefix}:{''.join(part.capitalize() for part in operation.split('_'))}".replace("Mfa", "MFA")


def client_failure(exc: Exception, action: str, account) -> FactError:
    return describe_client_error(exc, action)


def keep_endpoint_host(client) -> None:
    """Send S3 Control requests to a custom endpoint's own host name.

    S3 Control puts the account id in front of the host name (123456789012.s3-control...),
    a custom endpoint included, where 123456789012.127.0.0.1 resolves to nothing. The
    account id also travels in the x-amz-account-id header, which is what an endpoint
    such as a moto server reads.
    """
    endpoint_host = client.meta.endpoint_url.split("://", 1)[1].split("/", 1)[0]

    def strip_account_prefix(request, **kwargs):
        scheme, rest = request.url.split("://", 1)
        host, _, path = rest.partition("/")
        prefix, _, remainder = host.partition(".")
        if prefix.isdigit() and remainder == endpoint_host:
            request.url = f"{scheme}://{remainder}/{path}"

    client.meta.events.register_first("before-sign.s3-control", strip_account_prefix)


def utc_now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


class FactStore:
    """All facts of one account: fetched at most once, safe to share between threads."""

    def __init__(self, account, connector, regions: tuple[str, ...] | str, home_region: str):
        self.account = account
        self.connector = connector
        self.home_region = home_region
        self._regions = regions
        self._lock = threading.Lock()
        self._key_locks: dict[FactKey, threading.Lock] = {}
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
        self.fetch_seconds = 0.0

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
        with lock:
            with self._lock:
                known = self._results.get(key)
            if known is not None:
                return known
            known = self.fetch_uncached(key) if self.shared is None else self.shared.fetch(self, key)
            with self._lock:
                self._results[key] = known
            if known.calls and self.on_fetched is not None:
                self.on_fetched(self, known)
            return known

    def fetch_uncached(self, key: FactKey, make_context: Callable[..., FactContext] = FactContext) -> FactResult:
        """Run the fact's fetch function; `make_context(store, result, region)` gives what it calls AWS with."""
        name, region, params = key
        result = FactResult(key)
        context = make_context(self, result, region)
        started = time.perf_counter()
        try:
            if name != "sts.caller_identity":
                # Every fact stands on knowing we are in the right account.
                context.fact("sts.caller_identity")
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
        known = self.known(self.key_for("sts.caller_identity", None, {}))
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

