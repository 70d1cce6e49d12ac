"""Sessions: the hub's boto3 session and one per account (named profile, SSO, or STS AssumeRole).

Every client goes to the profile's endpoint_url when there is one, with rootguard's
retries and timeouts (client_config). Sessions come from new_botocore_session, so they
share botocore's read-only parts (rootguard.accounts.botocore_sharing).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

try:
    import resource
except ImportError:  # not on Windows, whose limit on open sockets is not per process
    resource = None

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from rootguard import __version__
from rootguard.accounts import Account
from rootguard.accounts.botocore_sharing import install as share_botocore_parts
from rootguard.accounts.botocore_sharing import new_botocore_session
from rootguard.errors import AccountsError, FactError, NoCredentials, describe_client_error
from rootguard.facts.limits import HUB_CALLER, InFlight
from rootguard.facts.progress import note_throttling
from rootguard.profile import Profile

SESSION_NAME = "rootguard-compliance-audit"
# What AssumeRole answers while a new account or its role is still being created.
NOT_READY_YET = {"AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "NoSuchEntity", "RegionDisabledException"}
MOTO_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


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



# The soft limit on open files a sweep asks for, up to the hard limit. The shared connection
# pool keeps, for each host it keeps (botocore_sharing.HOSTS_KEPT), as many connections as it
# once had requests in flight there, up to --fetch-workers; and each fetch thread writes evidence
# files. Linux's usual soft limit, 1024, is below what 128 threads may keep across a sweep's
# hosts; its usual hard limit is far above. Running out would turn requests into errors.
OPEN_FILES_WANTED = 65536


def allow_open_files(wanted: int = OPEN_FILES_WANTED) -> int | None:
    """Raise this process's soft limit on open files to `wanted`, or to the hard limit if lower; the limit now.

    Never lowers it. A limit the system refuses to raise is left as it was (macOS caps it below an
    unlimited hard limit); None where the system has no such limit.
    """
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class AssumedRoleCredentials(RefreshableCredentials):
    """An assumed role's credentials, refreshed as botocore refreshes them, asking the time in UTC.

    botocore checks, before every request, how long refreshable credentials have left,
    against the local time with dateutil's `tzlocal()`, made anew for each check: 27 µs
    against 3 µs for the same instant in UTC, measured; at 32 requests an account. The
    expiry is an aware datetime either way, so the time left is the same.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("time_fetcher", utc_now)
        super().__init__(*args, **kwargs)


class Connector:
    """Builds sessions and clients for the hub and for each account, once, thread-safely."""

    def __init__(self, profile: Profile, *, mocked: bool = False, threads: int = 0, api_limits: dict[str, int] | None = None):
        share_botocore_parts()
        if not mocked:
            allow_open_files()
        self.profile = profile
        self.mocked = mocked
        # Requests in flight per API family and calling account, shared by every store of the run.
        self.in_flight = InFlight(api_limits)
        # Every fetch thread may hold a connection to the same endpoint at once.
        self.config = client_config(max(MAX_POOL_CONNECTIONS, threads))
        self._lock = threading.Lock()
        self._hub: boto3.Session | None = None
        self._sts = None  # the hub's STS client, for AssumeRole
        self._hub_identity: dict | None = None
        self._sessions: dict[str, boto3.Session | FactError] = {}
        self._account_locks: dict[str, threading.Lock] = {}

    def client(self, session: boto3.Session, service: str, region: str):
        client = session.client(service, region_name=region, endpoint_url=self.profile.endpoint_url, config=self.config)
        client.meta.events.register("needs-retry", note_throttling)
        return client

    def _hub_sts(self):
        """One STS client for every AssumeRole from the hub: its adaptive retries back off for all of them,
        as STS counts them against the hub's account."""
        with self._lock:
            if self._sts is None:
                self._sts = self.client(self._hub_unlocked(), "sts", self.profile.home_region)
            return self._sts

    # --- the hub ---------------------------------------------------------------------------

    def hub(self) -> boto3.Session:
        with self._lock:
            return self._hub_unlocked()

    def _hub_unlocked(self) -> boto3.Session:
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
                return self._assume(self.client(base, "sts", self.profile.home_region), creds.role_arn, creds.external_id)
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
            except NoCredentialsError:
                raise NoCredentials(
                    "no AWS credentials found for the hub: set the profile's `credentials` (a named profile, SSO or "
                    "a role), or AWS_PROFILE, or run `aws sso login` / `aws configure` first"
                ) from None
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
            return self._assume(self._hub_sts(), account.role_arn, account.external_id)
        return self.hub()

    def _assume_when_ready(self, account: Account) -> boto3.Session:
        """A new account's role is not assumable at once (the account or its role is still being made)."""
        deadline = time.monotonic() + account.wait_seconds
        attempts = 0
        while True:
            attempts += 1
            try:
                with self.in_flight.slot(HUB_CALLER, "sts", "assume_role"):
                    return self._assume(self._hub_sts(), account.role_arn, account.external_id)
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

    def _assume(self, sts, role_arn: str, external_id: str | None) -> boto3.Session:
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
        credentials = AssumedRoleCredentials.create_from_metadata(fetch(), refresh_using=fetch, method="sts-assume-role")
        core = new_botocore_session()
        core._credentials = credentials  # botocore has no public setter for ready-made credentials
        return boto3.Session(botocore_session=core, region_name=self.profile.home_region)
