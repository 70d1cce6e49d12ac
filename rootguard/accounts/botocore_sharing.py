"""Sharing botocore's read-only parts between the sessions of a sweep, installed once with install().

A sweep makes a session per account and a client per (account, service, region); left
alone, botocore builds each of them from scratch: its own service model parse, client
class, handler table, endpoint rules and HTTP connection pool. rootguard's sessions (made
by new_botocore_session) share all of those instead; sessions rootguard did not build keep
botocore's behaviour. One patch holds for every session, since it changes how often work
is done, not its result: the User-Agent header's parts, worked out once each.
install() puts the patches in place; it is idempotent.
The patches stay in one module (about 400 lines): they make sense only together, each
relying on the same mark of a rootguard session and the same lock.
"""

from __future__ import annotations

import copy
import threading
import types

import botocore.handlers
import botocore.hooks
import botocore.loaders
import botocore.regions
import botocore.session
import botocore.useragent
import botocore.utils
from botocore.client import ClientCreator
from botocore.endpoint import EndpointCreator
from botocore.errorfactory import ClientExceptionsFactory
from botocore.hooks import EventAliaser, HierarchicalEmitter, NodeList, _PrefixTrie
from botocore.httpsession import URLLib3Session
from botocore.model import ServiceModel


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


def forget_connections() -> None:
    """Drop every pooled connection, in a child process just forked: its sockets are the parent's
    too, and two processes talking on one connection would read each other's responses."""
    with _SHARED_LOCK:
        sessions = list(_http_sessions.values())
    for session in sessions:
        for manager in (session._manager, *session._proxy_managers.values()):
            manager.clear()


# Hosts whose connections the shared pool keeps open. urllib3's PoolManager keeps 10 and, to
# reach an eleventh, closes the connections of the one used least recently. A sweep against AWS
# reaches about seven global or home-region endpoints (IAM, STS, Organizations, Account,
# Budgets, EC2, S3) and six services in each of the profile's regions (CloudTrail, GuardDuty,
# Config, CloudWatch, Logs, SNS): 19 hosts with two regions, over a hundred with every region;
# besides a host per account used once (S3 Control's `<account id>.s3-control.<region>.amazonaws.com`)
# and one per trail bucket. With 10, those single-use hosts pushed the busy ones out, and their
# next requests opened new connections (a TLS handshake each). 256 keeps every busy host of an
# all-region sweep while the single-use ones come and go.
HOSTS_KEPT = 256


class _SharedHTTPSession(URLLib3Session):
    def close(self) -> None:
        # A client's close() closes its endpoint's session; a shared one outlives every client.
        pass

    def _get_pool_manager_kwargs(self, **extra_kwargs):
        return super()._get_pool_manager_kwargs(num_pools=HOSTS_KEPT, **extra_kwargs)


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




# botocore renames old event names on every emit through a cache that each client starts
# empty; the renaming table is fixed, so rootguard's sessions and clients share one cache.
_ALIAS_CACHE: dict[str, str] = {}
_original_aliaser_copy = EventAliaser.__copy__


def _aliaser_copy(self: EventAliaser) -> EventAliaser:
    twin = _original_aliaser_copy(self)
    if self._alias_name_cache is _ALIAS_CACHE:
        twin._alias_name_cache = _ALIAS_CACHE
    return twin




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




_original_component_text = botocore.useragent.UserAgentComponent.to_string
# Part text by what it is made of; parts are few (a few dozen per set of client settings), and
# past the bound new ones are worked out each time rather than stored.
_component_texts: dict[tuple, str] = {}
COMPONENT_TEXTS_KEPT = 1024


def _cached_component_text(self) -> str:
    """One part of the User-Agent header (`lang/python#3.11.7`), worked out once per distinct part.

    botocore writes the header twice for every request, and each of its 16-odd parts filters
    its text character by character, twice over: 8% of a request's CPU, measured. A part's
    text depends only on its fields (prefix, name, value, and the size limit's bytes and
    delimiter, which botocore builds anew for every request), so the same fields give the same
    text; unlike the other patches here, this holds for every session. A part that cannot
    be hashed is worked out as botocore does.
    """
    limit = self.size_config
    key = (type(self), self.prefix, self.name, self.value, None if limit is None else (limit.max_size_in_bytes, limit.delimiter))
    try:
        text = _component_texts.get(key)
    except TypeError:
        return _original_component_text(self)
    if text is None:
        text = _original_component_text(self)
        if len(_component_texts) < COMPONENT_TEXTS_KEPT:
            _component_texts[key] = text
    return text


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
    """A botocore session sharing the sweep's loader, exception classes and handler table."""
    install()
    core = _Session(event_hooks=_builtin_handlers(), include_builtin_handlers=False)
    core.register_component("data_loader", SHARED_LOADER)
    core._internal_components.register_component("exceptions_factory", SHARED_EXCEPTIONS)
    events = core.get_component("event_emitter")
    events.rootguard_session = True
    if events._event_aliases is botocore.hooks.EVENT_ALIASES:
        events._alias_name_cache = _ALIAS_CACHE
    return core


def forget_models() -> None:
    """Let go of the parsed service models, endpoint rules and classes once a sweep has fetched its facts.

    They are the largest thing a sweep keeps (about 28 MB of parsed JSON at 100 accounts),
    and the reports that follow never call AWS. A later client parses them again.
    """
    with _SHARED_LOCK:
        with SHARED_LOADER._lock:
            SHARED_LOADER._cache.clear()
        _service_models.clear()
        _endpoint_providers.clear()
        _client_classes.clear()
        SHARED_EXCEPTIONS._client_exceptions_cache.clear()


_installed = False


def install() -> None:
    """Make botocore share its read-only parts between rootguard's sessions (once per process)."""
    global _installed
    with _SHARED_LOCK:
        if _installed:
            return
        ClientCreator._create_client_class = _shared_client_class
        ClientCreator._load_service_model = _shared_service_model
        ClientCreator.create_client = _create_client
        EndpointCreator.create_endpoint = _create_endpoint
        botocore.regions.EndpointProvider = _endpoint_provider
        EventAliaser.__copy__ = _aliaser_copy
        botocore.hooks.accepts_kwargs = _cached_accepts_kwargs
        botocore.useragent.UserAgentComponent.to_string = _cached_component_text
        _installed = True
