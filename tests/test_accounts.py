"""Accounts: listed ones, AWS Organizations enumeration, sessions via AssumeRole, --account."""

import http.server
import json
import subprocess
import sys
import textwrap
import threading

import boto3
import pytest
from moto import mock_aws

from rootguard.accounts import SESSION_NAME, Account, Connector
from rootguard.accounts.resolution import resolve_accounts
from rootguard.accounts.sessions import OPEN_FILES_WANTED
from rootguard.errors import AccountsError, FactError
from rootguard.profile import Credentials, ListedAccount, OrganizationScope, Profile
from tests.conftest import REPO

HUB = "123456789012"


def profile(**fields) -> Profile:
    return Profile(name="t", path="t.yaml", **fields)


@pytest.fixture
def org():
    with mock_aws():
        client = boto3.client("organizations", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        prod = client.create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]["Id"]
        payments = client.create_organizational_unit(ParentId=prod, Name="Payments")["OrganizationalUnit"]["Id"]
        ids = {}
        for name, parent in (("web-prod", prod), ("pay-prod", payments), ("sandbox", root), ("closed", root)):
            status = client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
            ids[name] = status["AccountId"]
            if parent != root:
                client.move_account(AccountId=ids[name], SourceParentId=root, DestinationParentId=parent)
        client.close_account(AccountId=ids["closed"])
        yield {"client": client, "ids": ids, "prod": prod}


def names(accounts):
    return sorted(a.name for a in accounts)


def test_organization_lists_active_accounts_with_roles(org):
    connector = Connector(profile(organization=OrganizationScope(role_name="Audit")), mocked=True)
    accounts = resolve_accounts(connector)
    assert "closed" not in names(accounts)
    assert {"web-prod", "pay-prod", "sandbox"} <= set(names(accounts))
    by_name = {a.name: a for a in accounts}
    assert by_name["sandbox"].role_arn == f"arn:aws:iam::{org['ids']['sandbox']}:role/Audit"
    management = [a for a in accounts if a.id == HUB]
    assert management and management[0].role_arn is None  # the hub's own account is reached directly
    assert all(a.source == "organization" for a in accounts)


def test_include_ous_by_name_and_id_takes_nested_ous(org):
    by_name = resolve_accounts(Connector(profile(organization=OrganizationScope(include_ous=("Production",))), mocked=True))
    assert names(by_name) == ["pay-prod", "web-prod"]
    by_id = resolve_accounts(Connector(profile(organization=OrganizationScope(include_ous=(org["prod"],))), mocked=True))
    assert names(by_id) == ["pay-prod", "web-prod"]
    nested = resolve_accounts(Connector(profile(organization=OrganizationScope(include_ous=("Payments",))), mocked=True))
    assert names(nested) == ["pay-prod"]


def test_unknown_ou_is_an_error(org):
    connector = Connector(profile(organization=OrganizationScope(include_ous=("Nope",))), mocked=True)
    with pytest.raises(AccountsError, match="include_ous: Nope matches no organizational unit"):
        resolve_accounts(connector)


def test_exclusions_and_listed_accounts_win(org):
    sandbox = org["ids"]["sandbox"]
    listed = ListedAccount(id=sandbox, name="my-sandbox", role_arn=f"arn:aws:iam::{sandbox}:role/Other")
    scope = OrganizationScope(exclude_accounts=(org["ids"]["web-prod"],))
    accounts = resolve_accounts(Connector(profile(accounts=(listed,), organization=scope), mocked=True))
    assert "web-prod" not in names(accounts)
    chosen = [a for a in accounts if a.id == sandbox]
    assert len(chosen) == 1 and chosen[0].name == "my-sandbox" and chosen[0].source == "listed"


def test_assumed_session_reaches_the_account_with_a_clear_session_name(org):
    target = org["ids"]["sandbox"]
    connector = Connector(profile(), mocked=True)
    session = connector.session_for(Account(id=target, name="sandbox", role_arn=f"arn:aws:iam::{target}:role/Audit"))
    identity = session.client("sts", region_name="us-east-1").get_caller_identity()
    assert identity["Account"] == target
    assert identity["Arn"].endswith(f"assumed-role/Audit/{SESSION_NAME}")


def test_organization_refusal_is_an_accounts_error():
    with mock_aws():
        connector = Connector(profile(organization=OrganizationScope()), mocked=True)
        with pytest.raises(AccountsError, match="organization: the hub's account 123456789012 is in no AWS Organization .*AWSOrganizationsNotInUseException"):
            resolve_accounts(connector)


def test_bad_named_profile_is_kept_as_the_accounts_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    connector = Connector(profile(), mocked=False)
    account = Account(id=HUB, name="x", aws_profile="no-such-profile")
    with pytest.raises(FactError, match="aws_profile 'no-such-profile'"):
        connector.session_for(account)
    with pytest.raises(FactError):
        connector.session_for(account)  # kept, not retried per fact


def test_hub_role_is_assumed_first(org):
    target = org["ids"]["web-prod"]
    creds = Credentials(role_arn=f"arn:aws:iam::{target}:role/Hub", external_id="x-1")
    connector = Connector(profile(credentials=creds), mocked=True)
    assert connector.hub_account_id() == target


def handler_names(core, event: str) -> list[str]:
    return [getattr(h, "__qualname__", repr(h)) for h in core.get_component("event_emitter")._emitter._handlers.prefix_search(event)]


def test_sessions_copy_botocore_builtin_handlers_and_follow_changes_to_them(monkeypatch):
    import botocore.handlers
    import botocore.session

    from rootguard.accounts.botocore_sharing import new_botocore_session

    plain = botocore.session.Session()
    for event in ("before-send.iam.GetAccountSummary", "needs-retry.iam.GetAccountSummary", "before-parameter-build.s3.GetBucketPolicy"):
        assert handler_names(new_botocore_session(), event) == handler_names(plain, event)

    # moto adds its HTTP stub to the built-in list when imported; a session made afterwards must carry it.
    def stub(**kwargs):
        return None

    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, ("before-send", stub)])
    assert "test_sessions_copy_botocore_builtin_handlers_and_follow_changes_to_them.<locals>.stub" in handler_names(
        new_botocore_session(), "before-send.iam.GetAccountSummary"
    )


def test_client_classes_are_shared_between_rootguard_sessions_only():
    import botocore.session

    from rootguard.accounts.botocore_sharing import new_botocore_session

    def iam(core):
        return core.create_client("iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")

    first, second = iam(new_botocore_session()), iam(new_botocore_session())
    assert type(first) is type(second)
    assert first._request_signer._credentials.access_key == "a"
    assert type(iam(botocore.session.Session())) is not type(first)


def test_clients_of_all_accounts_share_one_connection_pool_that_outlives_them():
    import botocore.session

    from rootguard.accounts.botocore_sharing import new_botocore_session
    from rootguard.accounts.sessions import client_config

    def iam(core, key):
        return core.create_client(
            "iam", region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key="s",
            endpoint_url="http://127.0.0.1:1", config=client_config(),
        )

    first, second = iam(new_botocore_session(), "A"), iam(new_botocore_session(), "B")
    pool = first._endpoint.http_session
    assert second._endpoint.http_session is pool
    # Each still signs as its own account.
    assert (first._request_signer._credentials.access_key, second._request_signer._credentials.access_key) == ("A", "B")
    first.close()
    assert iam(new_botocore_session(), "C")._endpoint.http_session is pool
    assert pool._manager.pools is not None and pool._max_pool_connections == client_config()._user_provided_options["max_pool_connections"]
    # Other settings get another pool; sessions rootguard did not build keep botocore's own.
    other = new_botocore_session().create_client(
        "iam", region_name="us-east-1", aws_access_key_id="D", aws_secret_access_key="s",
        endpoint_url="http://127.0.0.1:1", config=client_config(99),
    )
    assert other._endpoint.http_session is not pool
    assert iam(botocore.session.Session(), "E")._endpoint.http_session is not pool


def test_a_shared_connection_pool_carries_requests_of_many_accounts(org):
    # Through moto's stub no socket opens; what matters is that each account's call still
    # answers with its own account once the clients share their HTTP session.
    connector = Connector(profile(organization=OrganizationScope()), mocked=True)
    seen = set()
    for account in resolve_accounts(connector):
        sts = connector.client(connector.session_for(account), "sts", "us-east-1")
        seen.add((account.id, sts.get_caller_identity()["Account"]))
    assert len(seen) > 2 and all(expected == got for expected, got in seen)


def test_handler_tries_are_copied_on_write():
    import copy

    from rootguard.accounts.botocore_sharing import new_botocore_session

    def handler(**kwargs):
        return "mine"

    core = new_botocore_session()
    events = core.get_component("event_emitter")
    before = handler_names(core, "before-call.iam.GetAccountSummary")
    twin = copy.copy(events)
    twin.register("before-call.iam.GetAccountSummary", handler)
    assert handler_names(core, "before-call.iam.GetAccountSummary") == before
    assert "handler" in [getattr(h, "__name__", "") for h in twin._emitter._handlers.prefix_search("before-call.iam.GetAccountSummary")]
    # The original changes after the copy: the copy does not see it either.
    events.register("before-call.iam.ListUsers", handler)
    assert "handler" not in [getattr(h, "__name__", "") for h in twin._emitter._handlers.prefix_search("before-call.iam.ListUsers")]
    # Removing a built-in handler from a copy leaves it in the original and in later sessions.
    builtin_event = "before-parameter-build.s3"  # where botocore registers validate_bucket_name
    builtin = next(h for h in events._emitter._handlers.prefix_search(builtin_event) if h.__name__ == "validate_bucket_name")
    third = copy.copy(events)
    third.unregister(builtin_event, builtin)
    assert builtin not in third._emitter._handlers.prefix_search(builtin_event)
    assert builtin in events._emitter._handlers.prefix_search(builtin_event)
    assert builtin in new_botocore_session().get_component("event_emitter")._emitter._handlers.prefix_search(builtin_event)


def test_client_creation_shares_endpoint_rules_and_signature_checks_only_for_rootguard_sessions():
    import botocore.session

    from rootguard.accounts.botocore_sharing import new_botocore_session

    def resolver_of(core, region):
        client = core.create_client("cloudtrail", region_name=region, aws_access_key_id="a", aws_secret_access_key="b")
        return client._ruleset_resolver._provider, client

    shared, east = resolver_of(new_botocore_session(), "us-east-1")
    again, west = resolver_of(new_botocore_session(), "eu-west-1")
    assert shared is again
    # One provider, each client still resolving its own region.
    assert east.meta.endpoint_url == "https://cloudtrail.us-east-1.amazonaws.com"
    assert west.meta.endpoint_url == "https://cloudtrail.eu-west-1.amazonaws.com"
    assert resolver_of(botocore.session.Session(), "us-east-1")[0] is not shared

    # A handler without **kwargs is still refused, however often it has been checked.
    def strict(event_name):
        return None

    for _ in range(2):
        with pytest.raises(ValueError):
            new_botocore_session().get_component("event_emitter").register("before-call.iam", strict)


@pytest.mark.parametrize("credentials", [{"AccessKeyId": "ASIAEXAMPLE"}, "not a mapping", {"Expiration": "2026-01-01", "AccessKeyId": "a", "SecretAccessKey": "b"}])
def test_assume_role_credentials_missing_a_field_name_assume_role(monkeypatch, credentials):
    class MalformedSts:
        def assume_role(self, **params):
            return {"Credentials": credentials}

    connector = Connector(profile(), mocked=True)
    with pytest.raises(FactError) as caught:
        connector._assume(MalformedSts(), "arn:aws:iam::111122223333:role/Audit", None)
    assert (caught.value.action, caught.value.code) == ("sts:AssumeRole", "UnexpectedResponse")
    assert "arn:aws:iam::111122223333:role/Audit" in str(caught.value)


def test_service_models_and_exception_classes_are_shared_between_rootguard_sessions_only():
    import botocore.session

    from rootguard.accounts.botocore_sharing import new_botocore_session

    def sts(core):
        return core.create_client("sts", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")

    first, second, theirs = sts(new_botocore_session()), sts(new_botocore_session()), sts(botocore.session.Session())
    assert first.meta.service_model is second.meta.service_model
    assert first.exceptions is second.exceptions
    assert theirs.meta.service_model is not first.meta.service_model
    assert theirs.exceptions is not first.exceptions
    # A shared model still names each client's own errors.
    assert issubclass(first.exceptions.ExpiredTokenException, botocore.exceptions.ClientError)


def test_the_shared_loader_parses_a_model_once_however_many_threads_ask():
    import threading

    from rootguard.accounts.botocore_sharing import _SharedLoader

    loader = _SharedLoader()
    parsed = []
    real_load = loader.file_loader.load_file

    def counting_load(path):
        parsed.append(path)
        return real_load(path)

    loader.file_loader.load_file = counting_load
    start = threading.Barrier(8)
    models = []

    def load():
        start.wait()
        models.append(loader.load_service_model("iam", "service-2"))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 8 and all(model is models[0] for model in models)
    assert len([path for path in parsed if path.endswith("/service-2")]) == 1


class _StubBody:
    """The raw body botocore reads a stubbed response from."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def test_user_agent_header_is_botocore_own_text_while_its_parts_are_worked_out_once(monkeypatch):
    import platform

    import botocore.awsrequest
    import botocore.config
    import botocore.session
    import botocore.useragent

    from rootguard.accounts import botocore_sharing
    from rootguard.accounts.sessions import client_config

    botocore_sharing.install()
    monkeypatch.setattr(botocore_sharing, "_component_texts", {})
    # Characters botocore replaces (a space and a slash in an app id) and text it passes as given (the extra);
    # parts with characters replaced are in test_user_agent_parts_kept_are_bounded.
    config = client_config().merge(botocore.config.Config(user_agent_appid="audit team/q4", user_agent_extra="rootguard/1 (ci#7)"))
    body = b"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"

    def headers_sent() -> list[str]:
        sent = []

        def answer(request, **kwargs):
            agent = request.headers["User-Agent"]
            sent.append(agent.decode() if isinstance(agent, bytes) else agent)
            return botocore.awsrequest.AWSResponse(request.url, 200, {}, _StubBody(body))

        for core in (botocore.session.Session(), botocore_sharing.new_botocore_session()):
            client = core.create_client("sts", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b", config=config)
            client.meta.events.register("before-send", answer)
            for _ in range(2):
                client.get_caller_identity()
        return sent

    cached = headers_sent()
    # The feature list part (`m/...`), whose size limit botocore makes anew for every header, is kept once too.
    kept = dict(botocore_sharing._component_texts)
    assert any(key[1] == "m" for key in kept) and "lang/python#" + platform.python_version() in kept.values()
    assert headers_sent() == cached and botocore_sharing._component_texts == kept
    # The same requests with botocore's own text for each part, worked out every time.
    monkeypatch.setattr(botocore.useragent.UserAgentComponent, "to_string", botocore_sharing._original_component_text)
    assert headers_sent() == cached
    assert "app/audit-team-q4" in cached[0] and "rootguard/1 (ci#7)" in cached[0]


def test_user_agent_parts_kept_are_bounded(monkeypatch):
    import botocore.useragent

    from rootguard.accounts import botocore_sharing

    botocore_sharing.install()
    monkeypatch.setattr(botocore_sharing, "_component_texts", {})
    monkeypatch.setattr(botocore_sharing, "COMPONENT_TEXTS_KEPT", 3)
    parts = [botocore.useragent.UserAgentComponent("md", f"tool {n}", "1.0") for n in range(5)]
    assert [part.to_string() for part in parts] == [f"md/tool-{n}#1.0" for n in range(5)]
    assert len(botocore_sharing._component_texts) == 3


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS's endpoints

    def setup(self):
        super().setup()
        self.server.connections += 1

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def hosts():
    """Twelve endpoints (one port each: urllib3 keeps a pool per scheme, host and port), each counting its connections."""
    servers = []
    for _ in range(12):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
        server.connections = 0
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kept", [10, None])
def test_the_shared_pool_keeps_the_connections_of_more_hosts_than_urllib3_ten(monkeypatch, hosts, kept):
    from botocore.awsrequest import AWSRequest

    from rootguard.accounts import botocore_sharing

    if kept is not None:  # urllib3's own number: the first host's connection is closed to open the eleventh
        monkeypatch.setattr(botocore_sharing, "HOSTS_KEPT", kept)
    monkeypatch.setattr(botocore_sharing, "_http_sessions", {})
    session = botocore_sharing.shared_http_session(max_pool_connections=4)
    for server in [*hosts, hosts[0]]:
        response = session.send(AWSRequest(method="GET", url=f"http://127.0.0.1:{server.server_address[1]}/").prepare())
        assert response.status_code == 200 and response.content == b"{}"
    assert all(server.connections == 1 for server in hosts[1:])
    assert hosts[0].connections == (2 if kept == 10 else 1)


def test_a_live_connector_raises_the_soft_limit_on_open_files_never_above_the_hard_one():
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 512:
        pytest.skip(f"this machine's hard limit on open files is {hard}")
    script = textwrap.dedent(
        """
        import json, resource
        from rootguard.accounts import Connector
        from rootguard.accounts.sessions import allow_open_files
        from rootguard.profile import Profile

        def soft():
            return resource.getrlimit(resource.RLIMIT_NOFILE)[0]

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        seen = {}
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        Connector(Profile(name="t", path="t.yaml", backend="moto"), mocked=True)
        seen["moto"] = soft()  # in-process moto opens no socket: left alone
        Connector(Profile(name="t", path="t.yaml"))
        seen["live"] = soft()
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, hard))
        seen["above the hard limit"] = [allow_open_files(hard + 1), soft()]
        seen["below the soft limit"] = [allow_open_files(280), soft()]
        print(json.dumps(seen))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "moto": 256,
        "live": min(OPEN_FILES_WANTED, hard),
        "above the hard limit": [hard, hard],
        "below the soft limit": [hard, hard],
    }


def test_an_assumed_roles_credentials_count_their_time_left_in_utc_and_still_refresh_near_their_end():
    import datetime as dt

    from botocore.credentials import RefreshableCredentials

    from rootguard.accounts.sessions import AssumedRoleCredentials

    def metadata(minutes: int, key: str) -> dict:
        expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
        return {"access_key": key, "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}

    first = metadata(60, "ASIAFIRST")
    ours = AssumedRoleCredentials.create_from_metadata(first, refresh_using=lambda: first, method="sts-assume-role")
    theirs = RefreshableCredentials.create_from_metadata(first, refresh_using=lambda: first, method="sts-assume-role")
    assert abs(ours._seconds_remaining() - theirs._seconds_remaining()) < 1
    assert 3590 < ours._seconds_remaining() <= 3600
    assert ours._time_fetcher().tzinfo is dt.timezone.utc  # not dateutil's tzlocal(), made anew per check

    # Five minutes left, inside botocore's refresh window: the next request's credentials are the new ones.
    renewed = []

    def refresh():
        renewed.append(metadata(60, "ASIASECOND"))
        return renewed[-1]

    ending = AssumedRoleCredentials.create_from_metadata(metadata(5, "ASIAFIRST"), refresh_using=refresh, method="sts-assume-role")
    assert ending.get_frozen_credentials().access_key == "ASIASECOND" and len(renewed) == 1
    assert ending.get_frozen_credentials().access_key == "ASIASECOND" and len(renewed) == 1  # an hour left again
