"""Accounts: which AWS accounts a run judges, and a boto3 session for each.

Accounts come from the profile's list and/or every ACTIVE member of an AWS
Organization; each is reached through a named profile (SSO included) or STS
AssumeRole from the hub, with `endpoint_url` applied to every client.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
import types
from dataclasses import dataclass
from typing import Iterable

import boto3
import botocore.handlers
import botocore.hooks
import botocore.loaders
import botocore.regions
import botocore.session
import botocore.utils
from botocore.client import ClientCreator
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.endpoint import EndpointCreator
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import BotoCoreError, ClientError
from botocore.hooks import EventAliaser, HierarchicalEmitter, NodeList, _PrefixTrie
from botocore.httpsession import URLLib3Session
from botocore.model import ServiceModel

from rootguard import __version__
from rootguard.errors import AccountsError, FactError
from rootguard.profile import Profile

SESSION_NAME = "rootguard-compliance-audit"


class _SharedLoader(botocore.loaders.Loader):
    """botocore's data loader, safe to share between the threads of a sweep.

    Its cache has no lock: the fetch pool's threads, each starting on its own account, all
    missed it at once and each parsed its own copy of the same service model (16 copies of
    IAM's). Here the first thread parses a model and the others wait for it.
    """

    def __init__(self):
        super().__init__()
        self._lock = threading.RLock()

    def load_service_model(self, service_name, type_name, api_version=None):
        with self._lock:
            return super().load_service_model(service_name, type_name, api_version)

    def load_data_with_path(self, name):
        with self._lock:
            return super().load_data_with_path(name)


# One botocore data loader for every session: each session would otherwise parse its own copy
# of every service model (measured: 40 accounts x 14 services, 2160 MB private, 460 MB shared).
SHARED_LOADER = _SharedLoader()
# What AssumeRole answers while a new account or its role is still being created.
NOT_READY_YET = {"AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "NoSuchEntity", "RegionDisabledException"}
MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    role_arn: str | None = None
    aws_profile: str | None = None
    external_id: str | None = None
    source: str = "listed"  # listed | organization | vending
    wait_seconds: float = 0  # keep retrying AssumeRole this long (an account still being made)
    retry_seconds: float = 15

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})"


# Guards the caches below that every rootguard session shares: the handler template, client
# classes, service models, HTTP connection pools and endpoint rule sets.
_SHARED_LOCK = threading.Lock()
_template: tuple[tuple[int, ...], HierarchicalEmitter] | None = None
_client_classes: dict[tuple[str, str], type] = {}
_original_client_class = ClientCreator._create_client_class


def _builtin_handlers() -> HierarchicalEmitter:
    """botocore's built-in event handlers, registered once and copied into each new session.

    Registering them costs about 24 ms per session (one per account); copying, about 2 ms.
    The copy is remade when the built-in list changes (moto adds its handler on import).
    """
    global _template
    signature = tuple(id(spec) for spec in botocore.handlers.BUILTIN_HANDLERS)
    with _SHARED_LOCK:
        if _template is None or _template[0] != signature:
            emitter = botocore.session.Session()._original_handler
            emitter._handlers = _SharedTrie.adopt(emitter._handlers)
            _template = (signature, emitter)
        return copy.copy(_template[1])


class _SharedTrie(_PrefixTrie):
    """botocore's handler trie, copied on write.

    botocore copies a session's whole handler trie (about 400 nodes) into every client it makes,
    and every client then registers a few handlers of its own: 0.7 ms of the 4-5 ms a client
    costs, paid per service, region and account in a sweep. Here a copy shares the nodes, and a
    trie copies only the nodes on the path it changes. Nodes reachable from two tries are never
    changed in place; `_owned` holds the nodes this trie made since its last copy.
    """

    def __init__(self):
        super().__init__()
        self._owned: dict[int, dict] = {id(self._root): self._root}

    @classmethod
    def adopt(cls, trie: _PrefixTrie) -> "_SharedTrie":
        shared = cls()
        shared._root = trie._root
        shared._owned = {}
        return shared

    def __copy__(self) -> "_SharedTrie":
        twin = _SharedTrie.adopt(self)
        self._owned = {}  # from now on both tries see these nodes: neither may change them
        return twin

    def _own_path(self, key: str) -> None:
        """Make every existing node on the key's path this trie's own, cloning shared ones."""
        owned = self._owned
        if id(self._root) not in owned:
            self._root = self._clone(self._root)
        node = self._root
        for part in key.split("."):
            child = node["children"].get(part)
            if child is None:
                return
            if id(child) not in owned:
                child = node["children"][part] = self._clone(child)
            node = child

    def _clone(self, node: dict) -> dict:
        values = node["values"]
        twin = {
            "chunk": node["chunk"],
            "children": dict(node["children"]),
            "values": None if values is None else NodeList(list(values.first), list(values.middle), list(values.last)),
        }
        self._owned[id(twin)] = twin
        return twin

    def append_item(self, key, value, section=botocore.hooks._MIDDLE):
        self._own_path(key)
        super().append_item(key, value, section)
        # The path's missing nodes were just made, by this trie alone: claim them.
        node = self._root
        for part in key.split("."):
            node = node["children"][part]
            self._owned[id(node)] = node

    def remove_item(self, key, value):
        self._own_path(key)
        super().remove_item(key, value)


def _built_by_rootguard(creator: ClientCreator) -> bool:
    """Whether a client creator belongs to a session rootguard built (new_botocore_session marks its emitter).

    Code that botocore calls deep inside create_client, with no creator at hand (endpoint and
    rule set creation), reads the same answer from the thread-local `_building` instead.
    """
    return getattr(creator._event_emitter, "rootguard_session", False)


def _shared(cache: dict, key, build):
    """The cached value for key; on a miss it is built outside the lock, and the first one stored wins."""
    with _SHARED_LOCK:
        value = cache.get(key)
    if value is None:
        value = build()
        with _SHARED_LOCK:
            value = cache.setdefault(key, value)
    return value


def _shared_client_class(self: ClientCreator, service_name: str, service_model) -> type:
    """One client class per service for every rootguard session.

    botocore builds a new class, with a method and docstring per operation, for every client
    (about half of the 10 ms a client costs); an organization sweep makes one client per
    service, region and account. rootguard's sessions are built alike, so their classes are
    too. Sessions that rootguard did not build keep botocore's behaviour.
    """
    if not _built_by_rootguard(self):
        return _original_client_class(self, service_name, service_model)
    key = (service_name, service_model.api_version)
    return _shared(_client_classes, key, lambda: _original_client_class(self, service_name, service_model))


ClientCreator._create_client_class = _shared_client_class

_original_load_service_model = ClientCreator._load_service_model
_service_models: dict[tuple, ServiceModel] = {}


def _shared_service_model(self: ClientCreator, service_name: str, api_version=None) -> ServiceModel:
    """One service model per service for every rootguard client.

    A model caches what it works out (operations, shapes, the error shapes a failed call is
    matched against); made per client, each account's clients worked it all out again.
    Models are read-only once built, and come from the one shared loader.
    """
    if not _built_by_rootguard(self):
        return _original_load_service_model(self, service_name, api_version)
    key = (id(self._loader), service_name, api_version)
    return _shared(_service_models, key, lambda: _original_load_service_model(self, service_name, api_version))


ClientCreator._load_service_model = _shared_service_model
# Exception classes are made per service from its model; one factory serves every session.
SHARED_EXCEPTIONS = ClientExceptionsFactory()

_original_create_client = ClientCreator.create_client
_original_create_endpoint = EndpointCreator.create_endpoint
_building = threading.local()
_http_sessions: dict[tuple, URLLib3Session] = {}


def _create_client(self: ClientCreator, *args, **kwargs):
    # The endpoint is made deep inside botocore; a thread-local mark tells it whose client it is.
    if not _built_by_rootguard(self):
        return _original_create_client(self, *args, **kwargs)
    _building.rootguard = True
    try:
        return _original_create_client(self, *args, **kwargs)
    finally:
        _building.rootguard = False


def _frozen(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def shared_http_session(**settings) -> URLLib3Session:
    """One HTTP connection pool per connection settings for every rootguard client.

    botocore gives each client its own pool, so each account's client for a service opened
    its own connection (a TLS handshake, against AWS) for two or three requests, then dropped
    it: at 100 accounts a quarter of the suite's CPU went to making and closing sockets. The
    signature is per request, so accounts can share connections to the same endpoint; urllib3's
    pools are thread-safe.
    """
    key = _frozen(settings)
    with _SHARED_LOCK:
        session = _http_sessions.get(key)
        if session is None:
            session = _http_sessions[key] = _SharedHTTPSession(**settings)
        return session


class _SharedHTTPSession(URLLib3Session):
    def close(self) -> None:
        # A client's close() closes its endpoint's session; a shared one outlives every client.
        pass


_proxies: dict[str, dict] = {}


def _create_endpoint(self: EndpointCreator, service_model, region_name, endpoint_url, **kwargs):
    if getattr(_building, "rootguard", False):
        kwargs.setdefault("http_session_cls", shared_http_session)
        if kwargs.get("proxies") is None:
            # botocore reads every environment variable for each client's proxies; once per endpoint will do.
            if endpoint_url not in _proxies:
                _proxies[endpoint_url] = botocore.utils.get_environ_proxies(endpoint_url)
            kwargs["proxies"] = _proxies[endpoint_url]
    return _original_create_endpoint(self, service_model, region_name, endpoint_url, **kwargs)


_original_endpoint_provider = botocore.regions.EndpointProvider
_endpoint_providers: dict[tuple, tuple] = {}


def _endpoint_provider(ruleset_data, partition_data, excluded_params=None):
    """One parsed endpoint rule set per service for rootguard's clients.

    botocore parses the service's endpoint rules into objects for every client (0.6 ms) and
    caches endpoint resolutions per client; the rules are read-only and come from the one
    shared loader, so one provider per service serves every account, and its cache with it.
    """
    if not getattr(_building, "rootguard", False):
        return _original_endpoint_provider(ruleset_data, partition_data, excluded_params)
    key = (id(ruleset_data), id(partition_data), frozenset(excluded_params or ()))

    def build():
        # The data objects are kept with the provider, so their ids are never reused.
        return _original_endpoint_provider(ruleset_data, partition_data, excluded_params), ruleset_data, partition_data

    return _shared(_endpoint_providers, key, build)[0]


ClientCreator.create_client = _create_client
EndpointCreator.create_endpoint = _create_endpoint
botocore.regions.EndpointProvider = _endpoint_provider


# botocore renames old event names on every emit through a cache that each client starts
# empty; the renaming table is fixed, so rootguard's sessions and clients share one cache.
_ALIAS_CACHE: dict[str, str] = {}
_original_aliaser_copy = EventAliaser.__copy__


def _aliaser_copy(self: EventAliaser) -> EventAliaser:
    twin = _original_aliaser_copy(self)
    if self._alias_name_cache is _ALIAS_CACHE:
        twin._alias_name_cache = _ALIAS_CACHE
    return twin


EventAliaser.__copy__ = _aliaser_copy


_original_accepts_kwargs = botocore.hooks.accepts_kwargs
_accepts_kwargs: dict[object, bool] = {}


def _cached_accepts_kwargs(func) -> bool:
    # botocore inspects the signature of every handler each client registers (a fifth of a
    # client's cost); the answer belongs to the function, so it is worked out once per function.
    key = getattr(func, "__func__", func)
    if not isinstance(key, types.FunctionType):
        return _original_accepts_kwargs(func)
    known = _accepts_kwargs.get(key)
    if known is None:
        known = _accepts_kwargs[key] = _original_accepts_kwargs(func)
    return known


botocore.hooks.accepts_kwargs = _cached_accepts_kwargs


class _Session(botocore.session.Session):
    """A botocore session that reads its profile's configuration once.

    botocore rebuilds the profile's scoped configuration dozens of times per client. The
    configuration files are read once per session anyway, so the answer only changes when
    a session variable (such as the profile) does.
    """

    _scoped_config: dict | None = None

    def get_scoped_config(self):
        if self._scoped_config is None:
            self._scoped_config = super().get_scoped_config()
        return self._scoped_config

    def set_config_variable(self, logical_name, value):
        self._scoped_config = None
        super().set_config_variable(logical_name, value)


def new_botocore_session() -> botocore.session.Session:
    core = _Session(event_hooks=_builtin_handlers(), include_builtin_handlers=False)
    core.register_component("data_loader", SHARED_LOADER)
    core._internal_components.register_component("exceptions_factory", SHARED_EXCEPTIONS)
    events = core.get_component("event_emitter")
    events.rootguard_session = True
    if events._event_aliases is botocore.hooks.EVENT_ALIASES:
        events._alias_name_cache = _ALIAS_CACHE
    return core


def profile_session(profile_name: str | None, region: str) -> boto3.Session:
    session = boto3.Session(botocore_session=new_botocore_session(), profile_name=profile_name, region_name=region)
    session._session.get_scoped_config()  # a missing named profile fails here, not at the first call
    return session


# Connections kept open per endpoint, shared by every client (above the default fetch pool of 16).
MAX_POOL_CONNECTIONS = 32


def client_config(max_pool: int = MAX_POOL_CONNECTIONS) -> Config:
    # Adaptive retries back off and rate-limit on throttling; the timeouts bound a
    # run when an endpoint stops answering, so one dead account cannot hang a sweep.
    return Config(
        retries={"mode": "adaptive", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max_pool,
        user_agent_extra=f"rootguard/{__version__}",
    )


def describe_client_error(exc: Exception, action: str) -> FactError:
    """Turn a botocore failure into a FactError naming the action and the AWS error code."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
        code = str(error.get("Code") or "ClientError")
        text = str(error.get("Message") or "").strip()
        return FactError(f"{action} failed: {code}{': ' + text if text else ''}", action=action, code=code)
    code = type(exc).__name__
    return FactError(f"{action} failed: {code}: {exc}", action=action, code=code)


class Connector:
    """Builds sessions and clients for the hub and for each account, once, thread-safely."""

    def __init__(self, profile: Profile, *, mocked: bool = False, threads: int = 0):
        self.profile = profile
        self.mocked = mocked
        # Every fetch thread may hold a connection to the same endpoint at once.
        self.config = client_config(max(MAX_POOL_CONNECTIONS, threads))
        self._lock = threading.Lock()
        self._hub: boto3.Session | None = None
        self._hub_identity: dict | None = None
        self._sessions: dict[str, boto3.Session | FactError] = {}
        self._account_locks: dict[str, threading.Lock] = {}

    def client(self, session: boto3.Session, service: str, region: str):
        return session.client(service, region_name=region, endpoint_url=self.profile.endpoint_url, config=self.config)

    # --- the hub ---------------------------------------------------------------------------

    def hub(self) -> boto3.Session:
        with self._lock:
            if self._hub is None:
                self._hub = self._build_hub()
            return self._hub

    def _build_hub(self) -> boto3.Session:
        creds = self.profile.credentials
        try:
            if self.mocked:
                base = boto3.Session(botocore_session=new_botocore_session(), region_name=self.profile.home_region, **MOTO_CREDENTIALS)
            else:
                base = profile_session(creds.aws_profile, self.profile.home_region)
        except BotoCoreError as exc:
            raise AccountsError(f"credentials: aws_profile {creds.aws_profile!r}: {exc}") from None
        if creds.role_arn:
            try:
                return self._assume(base, creds.role_arn, creds.external_id)
            except FactError as exc:
                raise AccountsError(f"credentials: role_arn {creds.role_arn}: {exc}") from None
        return base

    def hub_identity(self) -> dict:
        """The hub's caller identity (Account, Arn, UserId): who ran the audit."""
        if self._hub_identity is None:
            sts = self.client(self.hub(), "sts", self.profile.home_region)
            try:
                response = sts.get_caller_identity()
                self._hub_identity = {k: response[k] for k in ("Account", "Arn", "UserId")}
            except (ClientError, BotoCoreError) as exc:
                raise AccountsError(f"hub credentials: {describe_client_error(exc, 'sts:GetCallerIdentity')}") from None
            except (KeyError, TypeError):
                raise AccountsError("hub credentials: sts:GetCallerIdentity returned no Account/Arn") from None
        return self._hub_identity

    def hub_account_id(self) -> str:
        return self.hub_identity()["Account"]

    # --- accounts --------------------------------------------------------------------------

    def session_for(self, account: Account) -> boto3.Session:
        """The account's session; a failure is kept and raised again for every later fact."""
        with self._lock:
            lock = self._account_locks.setdefault(account.id, threading.Lock())
        with lock:
            known = self._sessions.get(account.id)
            if known is None:
                try:
                    known = self._build_session(account)
                except FactError as exc:
                    known = exc
                except AccountsError as exc:
                    known = FactError(str(exc), action="sts:AssumeRole", code="HubUnavailable")
                self._sessions[account.id] = known
        if isinstance(known, FactError):
            raise known
        return known

    def _build_session(self, account: Account) -> boto3.Session:
        if account.aws_profile:
            try:
                return profile_session(account.aws_profile, self.profile.home_region)
            except BotoCoreError as exc:
                raise FactError(f"aws_profile {account.aws_profile!r}: {exc}", action="config", code=type(exc).__name__) from None
        if account.role_arn:
            if account.wait_seconds:
                return self._assume_when_ready(account)
            return self._assume(self.hub(), account.role_arn, account.external_id)
        return self.hub()

    def _assume_when_ready(self, account: Account) -> boto3.Session:
        """A new account's role is not assumable at once (the account or its role is still being made)."""
        deadline = time.monotonic() + account.wait_seconds
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._assume(self.hub(), account.role_arn, account.external_id)
            except FactError as exc:
                if exc.code not in NOT_READY_YET or time.monotonic() + account.retry_seconds > deadline:
                    if exc.code in NOT_READY_YET:
                        raise FactError(
                            f"sts:AssumeRole {account.role_arn}: never became assumable within {account.wait_seconds:g} s "
                            f"({attempts} attempts; last: {exc})",
                            action="sts:AssumeRole",
                            code=exc.code,
                        ) from None
                    raise
                time.sleep(account.retry_seconds)

    def _assume(self, base: boto3.Session, role_arn: str, external_id: str | None) -> boto3.Session:
        sts = self.client(base, "sts", self.profile.home_region)
        params = {"RoleArn": role_arn, "RoleSessionName": SESSION_NAME, "DurationSeconds": 3600}
        if external_id:
            params["ExternalId"] = external_id

        def fetch() -> dict:
            try:
                creds = sts.assume_role(**params)["Credentials"]
            except (ClientError, BotoCoreError) as exc:
                raise describe_client_error(exc, f"sts:AssumeRole {role_arn}") from None
            except (KeyError, TypeError):
                raise FactError(f"sts:AssumeRole {role_arn}: response has no Credentials", action="sts:AssumeRole", code="UnexpectedResponse") from None
            try:
                expiry = creds["Expiration"]
                fields = {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"], "token": creds["SessionToken"]}
            except (KeyError, TypeError) as exc:
                # Otherwise the account's first call would fail, naming the wrong action.
                raise FactError(
                    f"sts:AssumeRole {role_arn}: Credentials without {exc}", action="sts:AssumeRole", code="UnexpectedResponse"
                ) from None
            fields["expiry_time"] = expiry.isoformat() if isinstance(expiry, dt.datetime) else str(expiry)
            return fields

        # Refreshable, so a sweep that outlives the one-hour session keeps working.
        credentials = RefreshableCredentials.create_from_metadata(fetch(), refresh_using=fetch, method="sts-assume-role")
        core = new_botocore_session()
        core._credentials = credentials  # botocore has no public setter for ready-made credentials
        return boto3.Session(botocore_session=core, region_name=self.profile.home_region)

    # --- which accounts --------------------------------------------------------------------

    def resolve_accounts(self, requested: Iterable[str] = ()) -> list[Account]:
        """The profile's accounts; with `vending`, the requested new accounts, reached through its role."""
        if self.profile.vending is not None:
            return self.vending_accounts(requested)
        listed = [
            Account(id=a.id, name=a.name, role_arn=a.role_arn, aws_profile=a.aws_profile, external_id=a.external_id)
            for a in self.profile.accounts
        ]
        accounts = {a.id: a for a in listed}
        if self.profile.organization is not None:
            for account in self.organization_accounts():
                accounts.setdefault(account.id, account)
        return sorted(accounts.values(), key=lambda a: (a.name.lower(), a.id))

    def vending_accounts(self, requested: Iterable[str]) -> list[Account]:
        vending = self.profile.vending
        requested = list(requested)
        if not requested:
            raise AccountsError(f"{self.profile.path}: a vending profile judges the account(s) named with --account ID")
        listed = {a.id: a for a in self.profile.accounts}
        return [
            Account(
                id=account_id,
                name=listed[account_id].name if account_id in listed else f"new-{account_id}",
                role_arn=f"arn:aws:iam::{account_id}:role/{vending.role_name}",
                external_id=vending.external_id,
                source="vending",
                wait_seconds=vending.wait_seconds,
                retry_seconds=vending.retry_seconds,
            )
            for account_id in requested
        ]

    def organization_accounts(self) -> list[Account]:
        scope = self.profile.organization
        hub_account = self.hub_account_id()
        org = self.client(self.hub(), "organizations", self.profile.home_region)
        try:
            org.describe_organization()
        except (ClientError, BotoCoreError) as exc:
            raise AccountsError(
                f"{self.profile.path}: organization: {describe_client_error(exc, 'organizations:DescribeOrganization')}"
            ) from None
        members = self._paginate(org, "list_accounts", "Accounts", "organizations:ListAccounts")
        if scope.include_ous:
            allowed = self._accounts_in_ous(org, scope.include_ous)
            members = [m for m in members if m.get("Id") in allowed]
        result = []
        for member in members:
            account_id, state = member.get("Id"), member.get("State") or member.get("Status")
            if not isinstance(account_id, str) or not state:
                raise AccountsError(f"organizations:ListAccounts returned an account without Id or Status: {sorted(member)}")
            if state != "ACTIVE" or account_id in scope.exclude_accounts:
                continue
            role_arn = None if account_id == hub_account else f"arn:aws:iam::{account_id}:role/{scope.role_name}"
            result.append(
                Account(
                    id=account_id,
                    name=str(member.get("Name") or account_id),
                    role_arn=role_arn,
                    external_id=scope.external_id if role_arn else None,
                    source="organization",
                )
            )
        if not result:
            raise AccountsError(f"{self.profile.path}: organization: no ACTIVE account matches include_ous / exclude_accounts")
        return result

    def _accounts_in_ous(self, org, wanted: Iterable[str]) -> set[str]:
        wanted = list(wanted)
        roots = self._paginate(org, "list_roots", "Roots", "organizations:ListRoots")
        found = {r.get("Id") for r in roots if r.get("Id") in wanted}
        # Walk the OU tree once; an OU matches by id or by name and brings its sub-OUs with it.
        stack = [(r["Id"], r.get("Id") in wanted) for r in roots]
        included_parents: list[str] = []
        while stack:
            parent, included = stack.pop()
            if included:
                included_parents.append(parent)
            children = self._paginate(
                org, "list_organizational_units_for_parent", "OrganizationalUnits",
                "organizations:ListOrganizationalUnitsForParent", ParentId=parent,
            )
            for ou in children:
                hit = ou.get("Id") in wanted or ou.get("Name") in wanted
                if hit:
                    found.update({ou.get("Id"), ou.get("Name")})
                stack.append((ou["Id"], included or hit))
        missing = [w for w in wanted if w not in found]
        if missing:
            raise AccountsError(f"{self.profile.path}: organization.include_ous: {', '.join(missing)} matches no organizational unit")
        ids: set[str] = set()
        for parent in included_parents:
            for account in self._paginate(
                org, "list_accounts_for_parent", "Accounts", "organizations:ListAccountsForParent", ParentId=parent
            ):
                ids.add(account.get("Id"))
        return ids

    @staticmethod
    def _paginate(client, operation: str, key: str, action: str, **params) -> list[dict]:
        items: list[dict] = []
        try:
            for page in client.get_paginator(operation).paginate(**params):
                chunk = page.get(key)
                if not isinstance(chunk, list):
                    raise AccountsError(f"{action} returned no {key} list")
                items.extend(chunk)
        except (ClientError, BotoCoreError) as exc:
            raise AccountsError(f"could not list the organization's accounts: {describe_client_error(exc, action)}") from None
        return items
