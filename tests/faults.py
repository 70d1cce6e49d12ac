"""Fault injection under botocore's retry handler: chosen AWS actions, for chosen accounts, fail or answer oddly.

A moto run answers every request from a `before-send` handler (moto's BotocoreStubber);
wrapping it puts a fault where a real endpoint's would be, so botocore's adaptive retries run
around it as they would against AWS. An error is an HTTP answer in the service's own protocol,
a timeout the exception botocore's HTTP layer raises. Odd response shapes are made after
parsing (BaseClient._make_api_call), where a changed API would show.

A placement is (account id, action), the action named as rootguard's evidence names it
("iam:GetAccountSummary"). The account is the one whose credentials sign the request (moto
maps the access key to it, as it does to choose the account's state); for sts:AssumeRole it is
the account whose role is assumed. Only the run's own requests are touched, never the seeding
of the scenario.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ConnectTimeoutError
from botocore.retries import bucket, quota, standard
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from moto.iam.models import get_account_id_from

from rootguard import __version__

SERVICES = (
    "account", "budgets", "cloudtrail", "cloudwatch", "config", "ec2", "guardduty",
    "iam", "logs", "organizations", "s3", "s3control", "sns", "sts",
)
_MODELS = {name: botocore.session.get_session().get_service_model(name) for name in SERVICES}
SERVICE_BY_ID = {model.service_id.hyphenize(): name for name, model in _MODELS.items()}
PROTOCOL = {name: model.resolved_protocol for name, model in _MODELS.items()}

# Each kind as each protocol family says it: (HTTP status, error code by family); a timeout is raised.
KINDS = {
    "access-denied": (403, {"query": "AccessDenied", "json": "AccessDeniedException", "rest-xml": "AccessDenied"}),
    "throttling": (400, {"query": "Throttling", "json": "ThrottlingException", "rest-xml": "SlowDown"}),
    "server-error": (503, {"query": "ServiceUnavailable", "json": "ServiceUnavailableException", "rest-xml": "ServiceUnavailable"}),
    "connect-timeout": None,
}
RETRIED = ("throttling", "server-error", "connect-timeout")
# rootguard.accounts.sessions.client_config asks for max_attempts 8, which botocore counts as retries
# after the first attempt.
MAX_ATTEMPTS = 9
# What a retry takes from the client's retry quota, and all there is of it.
RETRY_COST = {
    "throttling": standard.RetryQuotaChecker._THROTTLING_RETRY_COST,
    "server-error": standard.RetryQuotaChecker._RETRY_COST,
    "connect-timeout": standard.RetryQuotaChecker._RETRY_COST,
}
RETRY_QUOTA = quota.RetryQuota.INITIAL_CAPACITY
ROOTGUARD_AGENT = f"rootguard/{__version__}"
_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")


def family(service: str) -> str:
    protocol = PROTOCOL[service]
    return protocol if protocol in ("query", "rest-xml") else "json"


def error_code(kind: str, action: str) -> str:
    """The code a fault of this kind carries for this action: what an `error` message must name."""
    if kind == "connect-timeout":
        return "ConnectTimeoutError"
    return KINDS[kind][1][family(action.split(":", 1)[0])]


@dataclass(frozen=True)
class Fault:
    """A failing answer to every attempt (persistent), or to the first `transient` attempts of each call."""

    kind: str
    transient: int | None = None

    def describe(self) -> str:
        return f"{self.kind} " + (f"on the first {self.transient} attempt(s)" if self.transient else "(persistent)")


@dataclass(frozen=True)
class Mangle:
    """A parsed response with the field at `path` dropped, or given a value of another type.

    `path` walks dict keys; "*" stands for every element of a list.
    """

    path: tuple[str, ...]
    how: str  # drop | retype

    def apply(self, response: dict) -> bool:
        """Change `response` in place; say whether the field was there to change."""
        return _mangle(response, self.path, self.how)

    def describe(self) -> str:
        return f"{self.how} {'.'.join(self.path)}"


def wrong_type(value):
    """A value of another JSON type than `value`, as a changed API would send."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (str, bytes, dt.datetime)):
        return 7
    if isinstance(value, list):
        return {"member": value}
    if isinstance(value, dict):
        return [value]
    return "?"


def _mangle(node, path: tuple[str, ...], how: str) -> bool:
    head, rest = path[0], path[1:]
    if head == "*":
        return isinstance(node, list) and bool(rest) and any([_mangle(item, rest, how) for item in node])
    if not isinstance(node, dict) or head not in node:
        return False
    if rest:
        return _mangle(node[head], rest, how)
    if how == "drop":
        del node[head]
    else:
        node[head] = wrong_type(node[head])
    return True


def field_paths(response: dict, depth: int = 2) -> set[tuple[str, ...]]:
    """The fields of a response down to `depth` keys, list elements walked through as "*"."""

    def walk(node, prefix, left):
        if isinstance(node, list):
            for item in node:
                yield from walk(item, prefix + ("*",), left)
        elif isinstance(node, dict) and left:
            for key, value in node.items():
                if prefix or key != "ResponseMetadata":
                    yield prefix + (key,)
                    yield from walk(value, prefix + (key,), left - 1)

    return set(walk(response, (), depth))


@dataclass
class FaultPlan:
    """Where faults go, and what happened: attempts per call, responses changed, fields seen."""

    faults: dict[tuple[str, str], Fault] = field(default_factory=dict)
    mangles: dict[tuple[str, str], Mangle] = field(default_factory=dict)
    observe: bool = False  # record every response's fields (a fault-free run)
    attempts: Counter = field(default_factory=Counter)  # (account, action, invocation id) -> attempts
    mangled: Counter = field(default_factory=Counter)  # (account, action) -> responses changed
    seen: dict = field(default_factory=dict)  # (account, action) -> {field path}
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, account: str, action: str) -> list[int]:
        """The attempts each faulted call of `action` for `account` took."""
        return [n for (a, act, _), n in sorted(self.attempts.items()) if (a, act) == (account, action)]

    def answer(self, account: str, action: str, request):
        """None to let moto answer; else an error response, or the timeout raised."""
        fault = self.faults.get((account, action))
        if fault is None:
            return None
        call = (account, action, _text(request.headers.get("amz-sdk-invocation-id", b"")))
        with self._lock:
            self.attempts[call] += 1
            attempt = self.attempts[call]
        if fault.transient is not None and attempt > fault.transient:
            return None
        if fault.kind == "connect-timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        return error_response(fault.kind, action, request.url)

    def after(self, account: str, action: str, response: dict) -> dict:
        """The parsed response rootguard gets: as AWS gave it, or with the planned field changed."""
        if self.observe:
            with self._lock:
                self.seen.setdefault((account, action), set()).update(field_paths(response))
        mangle = self.mangles.get((account, action))
        if mangle is None:
            return response
        response = copy.deepcopy(response)
        if mangle.apply(response):
            with self._lock:
                self.mangled[(account, action)] += 1
        return response


def error_response(kind: str, action: str, url: str) -> AWSResponse:
    status = KINDS[kind][0]
    code = error_code(kind, action)
    message = f"injected {kind}"
    shape = family(action.split(":", 1)[0])
    if shape == "query":
        error = f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        body = f"<ErrorResponse>{error}<RequestId>f</RequestId></ErrorResponse>"
        headers = {"Content-Type": "text/xml"}
    elif shape == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>f</RequestId></Error>"
        headers = {"Content-Type": "application/xml"}
    else:
        body = f'{{"__type": "{code}", "message": "{message}"}}'
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    return AWSResponse(url, status, headers, MockRawResponse(body))


def role_account(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def request_account(action: str, request) -> str:
    """Which account a request is for: its signer's; for AssumeRole, the role's."""
    if action == "sts:AssumeRole":
        return role_account(parse_qs(_text(request.body)).get("RoleArn", [""])[0])
    match = _ACCESS_KEY.search(_text(request.headers.get("Authorization", b"")))
    return get_account_id_from(match.group(1)) if match else ""


def client_account(client, action: str, params: dict) -> str:
    if action == "sts:AssumeRole":
        return role_account(str(params.get("RoleArn", "")))
    credentials = client._request_signer._credentials
    return get_account_id_from(credentials.access_key) if credentials is not None else ""


def action_of(event_name: str) -> str:
    """'before-send.cloudwatch-logs.DescribeLogGroups' -> 'logs:DescribeLogGroups'."""
    _, service_id, operation = event_name.split(".", 2)
    return f"{SERVICE_BY_ID.get(service_id, service_id)}:{operation}"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def install(monkeypatch, plan: FaultPlan) -> FaultPlan:
    """Route the run's requests through `plan`, with retries that do not wait (the attempts still happen)."""
    answer_from_moto = BotocoreStubber.__call__
    call_aws = BaseClient._make_api_call

    def answer(self, event_name, request, **kwargs):
        if self.enabled and ROOTGUARD_AGENT in _text(request.headers.get("User-Agent", b"")):
            action = action_of(event_name)
            injected = plan.answer(request_account(action, request), action, request)
            if injected is not None:
                return injected
        return answer_from_moto(self, event_name, request, **kwargs)

    def call(client, operation, params):
        response = call_aws(client, operation, params)
        if ROOTGUARD_AGENT in (client.meta.config.user_agent_extra or ""):
            action = f"{client.meta.service_model.service_name}:{operation}"
            response = plan.after(client_account(client, action, params), action, response)
        return response

    monkeypatch.setattr(BotocoreStubber, "__call__", answer)
    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)
    return plan
