"""What a fact's fetch function works with: AWS calls in one account and region, each recorded as evidence, and other facts.

Any failure, including a response of a shape rootguard does not expect, is kept
as a `FactError`, so the control that needs it ends as `error`, never `passed`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable

from botocore.exceptions import BotoCoreError, ClientError

from rootguard.errors import FactError, UnexpectedResponse, describe_client_error
from rootguard.facts.progress import TALLY, retry_attempts
from rootguard.facts.registry import REGISTRY, CallRecord, FactResult, Unreadable

# The code of a fact not asked of AWS because the run was stopping (its evidence, and a replay of it, say so).
INTERRUPTED = "Interrupted"

if TYPE_CHECKING:
    from rootguard.facts.store import FactStore


class FactContext:
    """What a fact's fetch function may use: AWS calls in one region, and other facts."""

    def __init__(self, store: "FactStore", result: FactResult, region: str):
        self.store = store
        self.result = result
        self.region = region
        self.account = store.account

    def fact(self, name: str, region: str | None = None, **params) -> Any:
        return self._read(self.store, self.store.key_for(name, region, params))

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
        """A fact of another account of the run (where a resource this account uses lives), cached there.

        Any fact of the hub's store; in another account's, only one registered with
        `read_across_accounts`, which xdist workers share (rootguard.distributed.sharing).
        """
        key = store.key_for(name, region, params)
        if store is not self.store and store is not self.store.hub_store and not REGISTRY[name].read_across_accounts:
            raise RuntimeError(f"fact {name} is read in account {store.account.id}'s store but is not registered with read_across_accounts")
        return self._read(store, key)

    def _read(self, store: "FactStore", key) -> Any:
        self.result.depends_on.append((store, key))
        observer = self.store.observer
        if observer is not None:
            observer.depends(self.store, self.result.key, store, key)
        return store.get_by_key(key)

    def peer(self, account_id: str) -> "FactStore | None":
        """The store of another account this run can read: one it judges, or the hub's own account."""
        return self.store.peer(account_id)

    def _client(self, record: CallRecord, service: str, region: str):
        if self.store.stopping.is_set():
            # The run was interrupted: send nothing more (in a moto run, the mock is gone by now).
            record.error = {"Kind": "session", "Code": INTERRUPTED, "Action": record.action, "Message": "the run was interrupted"}
            raise FactError(f"{record.action}: not asked, the run was interrupted", action=record.action, code=INTERRUPTED)
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
            with self.store.in_flight.slot(self.account.id, service, operation):
                response = getattr(client, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            self._refused(record, exc, absent)
            return None
        TALLY.add(retry_attempts(response))
        note_response(record, response)
        if not isinstance(response, dict):
            raise UnexpectedResponse(f"{action} returned {type(response).__name__}, not a response document", action=action)
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        record.response = response
        return response

    def _refused(self, record: CallRecord, exc: ClientError | BotoCoreError, absent: Iterable[str]) -> None:
        """Record a failed call; return when its error code means the thing is not there, raise otherwise."""
        TALLY.add(retry_attempts(exc.response) if isinstance(exc, ClientError) else 0)
        if isinstance(exc, ClientError):
            note_response(record, exc.response)
            error = exc.response.get("Error", {})
            record.error = {"Code": str(error.get("Code", "")), "Message": str(error.get("Message", ""))}
            if record.error["Code"] in absent:
                return
        else:
            record.error = {"Code": type(exc).__name__, "Message": str(exc)}
        raise client_failure(exc, record.action, self.account) from None

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
            with self.store.in_flight.slot(self.account.id, service, operation):
                for page in client.get_paginator(operation).paginate(**params):
                    record.pages += 1
                    TALLY.add(retry_attempts(page))
                    note_response(record, page)
                    for name in keys:
                        chunk = page.get(name, []) if isinstance(page, dict) else None
                        if not isinstance(chunk, list):
                            raise UnexpectedResponse(f"{action} returned {name} as {type(chunk).__name__}, not a list", action=action)
                        lists[name].extend(chunk)
        except (ClientError, BotoCoreError) as exc:
            self._refused(record, exc, absent)
            return None
        record.response = lists
        return lists if isinstance(key, tuple) else lists[key]


def note_response(record: CallRecord, document) -> None:
    """Keep the request id and Date of one HTTP response on its call's record.

    A replay's client hands back the ids and dates the pack recorded (`RecordedRequestIds`,
    `RecordedDates`), so that a replayed pack points at the same requests in CloudTrail.
    """
    meta = document.get("ResponseMetadata") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        record.request_ids.append(None)
        record.response_dates.append(None)
        return
    if "RecordedRequestIds" in meta:
        record.request_ids.extend(meta["RecordedRequestIds"])
        record.response_dates.extend(meta.get("RecordedDates") or [None] * len(meta["RecordedRequestIds"]))
        return
    headers = meta.get("HTTPHeaders") if isinstance(meta.get("HTTPHeaders"), dict) else {}
    record.request_ids.append(meta.get("RequestId") or headers.get("x-amzn-requestid") or headers.get("x-amz-request-id"))
    record.response_dates.append(headers.get("date"))


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
