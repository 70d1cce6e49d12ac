"""The benchmark's AWS at a small fraction of moto's CPU: answers recorded from moto once, replayed
for an organization of any size, with a per-request delay and AWS-like throttling.

    python benchmarks/standin.py --accounts 1000 --latency-ms 100

Recording. At start the stand-in seeds a moto server (benchmarks/server.py) with the smallest
organization benchmarks/population.py grows: the demo's management account and one clone of
each ACTIVE member. A real rootguard sweep (every control, the profile's regions) runs against
it, and every request is kept with moto's answer, under (account, region, service, request):
the request is its method, path, sorted query, X-Amz-Target, x-amz-account-id and body (form
and JSON bodies in a canonical order). The recording is made afresh at every start, so the
dates in its answers are today's, as moto made them.

Replay. Member i of the N-account organization is population.py's clone of demo member
i mod k; it answers as the recorded clone of the same member (its twin). Its requests are
read with its id turned into the twin's, and the twin's answers are sent with the twin's id,
name and e-mail turned into its own: ARNs, bucket names and the credential report (base64 in
<Content>) included. A hub request that names members (AssumeRole's RoleArn, ListParents'
ChildId, ...) is read the same way. AssumeRole hands out an access key id that carries the
member's id (ASIA + 12 digits + STND), by which later requests are attributed to it, as
server.py attributes them by moto's keys. Organizations listings of accounts (ListAccounts,
ListAccountsForParent, ListChildren of accounts, and the accounts among ListTargetsForPolicy's
targets) are made for all N accounts, in population.py's order with its ids, names, e-mails,
OUs and statuses, 20 to a page (the largest page AWS gives), with page tokens of the
stand-in's own. A recorded request asked
again is answered as it was recorded, in order (GenerateCredentialReport: STARTED, then
COMPLETE), then with its last answer, in later runs too (POST /__bench/reset zeroes the counts,
not what the accounts hold). A request the sweep did not make while recording is
answered 501 StandInMiss (not retried, unlike a 500) and counted under `unrecorded`.

Throttling (on unless --throttle off). A token bucket per API family and caller, refilled at
`rate` tokens a second up to `burst`; a request finding the bucket empty gets the service's
own throttling answer: query protocol (IAM, STS, SNS) 400 `<ErrorResponse><Error><Type>Sender
</Type><Code>Throttling</Code><Message>Rate exceeded</Message>`, EC2 503
RequestLimitExceeded, Organizations 400 TooManyRequestsException, other JSON services 400
ThrottlingException (CloudWatch with x-amzn-query-error: Throttling;Sender), REST-JSON
services 429 TooManyRequestsException, S3 503 SlowDown. Every one of these codes is in
botocore's list of throttling errors (botocore/retries/standard.py), so the suite's adaptive
retries back off and try again. The limits, as AWS applies them to the calling account
(requests made with a member's assumed role count against the member, re:Post "Which
account's API quota is used when a role is assumed?"):

  family                     operations                       bucket per        rate/s  burst
  organizations              organizations:*                  calling account      5      10
  sts-assume-role            sts:AssumeRole                   account, region    600     600
  iam-credential-report      iam:Generate/GetCredentialReport account              2       4
  iam-authorization-details  iam:GetAccountAuthorizationDetails account            2       4
  iam                        every other iam:                 account             20      40
  default                    everything else                  account, region,    10      20
                                                              operation

Sources. AWS publishes none of these figures for the APIs rootguard calls; IAM and STS
"independently implement a token bucket algorithm ... The number of tokens that a bucket
holds and the refill rate depends on the API" (AWS Security Blog, "How to monitor and query
IAM resources at scale - Part 2", 2023), and AWS Support answers "there is no documented API
call limit for IAM" (cloud-custodian/cloud-custodian#6351).
- organizations: no per-second figure is published (awsdocs/aws-organizations-docs#39 asks
  for one); organizations of 160 to 915 accounts are throttled with a handful of concurrent
  callers on DescribeAccount, ListParents and ListRoots (connelldave/botocove#12,
  awslabs/aws-deployment-framework#784, #788). Assumed: a few requests a second, 5 with a
  burst of 10, per calling account.
- sts-assume-role: 600 requests a second, the STS quota awslabs/mountpoint-s3#1358 reports
  hitting; the burst assumed to be one second's worth.
- iam-credential-report: GenerateCredentialReport is throttled and blocked under load
  (prowler-cloud/prowler#211, cloud-custodian/cloud-custodian#6351). Assumed 2 a second,
  burst 4: enough for one report's polling, not for a loop.
- iam-authorization-details: GetAccountAuthorizationDetails throttles in sweeps of 1000+
  accounts (aws-samples/bulk-policy-migrator-scripts-for-account-cost-billing-consoles#19).
  Assumed 2 a second, burst 4.
- iam: assumed 20 a second, burst 40 (Scout2 and cloudquery see "Rate exceeded" only when
  listing whole accounts' IAM in parallel: nccgroup/Scout2#17, cloudquery/cloudquery#15).
- default: CloudTrail's per-API quotas in Service Quotas include 10 a second per account and
  region for GetInsightSelectors and ListImports (awslabs/mcp#1377 lists them); 10 with a
  burst of 20 per operation assumed for every service without a family.
`--limit FAMILY=RATE:BURST` changes one at start, POST /__bench/limits while it runs.

Control paths, neither delayed, throttled nor counted (the first two as benchmarks/server.py's):
  GET  /__bench/stats   requests by (account, action), repeated requests, throttled and
                        unrecorded requests, server CPU seconds and CPU per request
  POST /__bench/reset   zero the counters and fill every bucket (between runs)
  GET  /__bench/limits  the throttling limits in force
  POST /__bench/limits  change some: {"iam": {"rate": 1, "burst": 2}}, every bucket full

When ready it prints one JSON line on stdout, as server.py does: {"endpoint", "accounts",
"seed_seconds" (the recording's seeding and sweep), "seed_requests" (requests recorded),
"server": "standin", "recording": {...}}.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import email.utils
import gc
import io
import json
import logging
import os
import pickle
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import population, server  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
HUB = population.HUB_ACCOUNT_ID
CONTROL_PREFIX = "/__bench/"
FORM = "application/x-www-form-urlencoded"
# AWS gives at most 20 accounts a page (MaxResults of ListAccounts, ListAccountsForParent and ListChildren).
ORGANIZATIONS_PAGE = 20
ACCOUNT_LISTINGS = {"ListAccounts", "ListAccountsForParent", "ListChildren", "ListTargetsForPolicy"}
# The flags of a sweep that only needs results.json: the recording is about requests, not reports.
RECORDING_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--export", "none", "-p", "no:html", "-p", "no:allure_pytest")
ACCOUNT_ID = re.compile(rb"(?<![0-9])[0-9]{12}(?![0-9])")
ROLE_ARN_ACCOUNT = re.compile(r"RoleArn=arn%3Aaws%3Aiam%3A%3A([0-9]{12})%3A")


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: float  # tokens the bucket holds
    per: str  # "account", "account-region" or "account-region-operation"


LIMITS = {
    "organizations": Limit(5, 10, "account"),
    "sts-assume-role": Limit(600, 600, "account-region"),
    "iam-credential-report": Limit(2, 4, "account"),
    "iam-authorization-details": Limit(2, 4, "account"),
    "iam": Limit(20, 40, "account"),
    "default": Limit(10, 20, "account-region-operation"),
}


def family(action: str) -> str:
    """The throttling family of an action named as the stats name it ("iam:GetCredentialReport")."""
    service, _, operation = action.partition(":")
    if service == "organizations":
        return "organizations"
    if action == "sts:AssumeRole":
        return "sts-assume-role"
    if service == "iam":
        if operation in ("GenerateCredentialReport", "GetCredentialReport"):
            return "iam-credential-report"
        if operation == "GetAccountAuthorizationDetails":
            return "iam-authorization-details"
        return "iam"
    return "default"


def access_key_of(account: str) -> str:
    """The access key id AssumeRole hands out for `account`: 20 characters that carry its id."""
    return f"ASIA{account}STND"


def account_of(access_key: str) -> str:
    """The account a request is made as: the one its key carries, else the hub (the caller's own keys)."""
    if len(access_key) == 20 and access_key.startswith("ASIA") and access_key[4:16].isdigit():
        return access_key[4:16]
    return HUB


def request_key(method: str, path: str, query: str, target: str, account_header: str, content_type: str, body: bytes) -> tuple:
    """What makes two requests the same request: the same answer is due to both."""
    if not body:
        canonical: object = b""
    elif content_type.startswith(FORM):
        canonical = tuple(sorted(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
    elif target or "json" in content_type:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True)
        except ValueError:
            canonical = body
    else:
        canonical = body
    return (method, unquote(path), tuple(sorted(query.split("&"))) if query else (), target, account_header, canonical)


def operation_name(service: str, path: str, target: str, content_type: str, body: bytes, method: str) -> str:
    """The action as server.py names it, for a request the recording has no name for."""
    service = {"monitoring": "cloudwatch"}.get(service, service)
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if content_type.startswith(FORM):
        for name, value in parse_qsl(body.decode("utf-8", "replace")):
            if name == "Action":
                return f"{service}:{value}"
    if service == "s3" and path.startswith("/v20180820/"):
        service = "s3control"
    return f"{service}:{method} {unquote(path)}"


# ---------------------------------------------------------------------------------------------
# Recording: a child process running moto and a sweep against it.


class Recorder:
    """WSGI middleware inside server.py's meter: while on, keep every request with moto's answer."""

    def __init__(self, app):
        self.app = app
        self.on = False
        self.calls: list[dict] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not self.on:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        started: dict = {}

        def keep(status, headers, exc_info=None):
            started.update(status=status, headers=list(headers))
            return start_response(status, headers, exc_info)

        result = self.app(environ, keep)
        try:
            answer = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        access_key, region, service = server.credential_scope(environ.get("HTTP_AUTHORIZATION", ""))
        # The path as sent (werkzeug's PATH_INFO is already unquoted), as the replay will read it.
        path, _, query = (environ.get("RAW_URI") or environ.get("PATH_INFO", "")).partition("?")
        call = {
            "account": server.Meter.account_of(access_key),
            "region": region,
            "service": service,
            "operation": server.Meter.operation(environ, body, service),
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": query or environ.get("QUERY_STRING", ""),
            "target": environ.get("HTTP_X_AMZ_TARGET", ""),
            "account_header": environ.get("HTTP_X_AMZ_ACCOUNT_ID", ""),
            "content_type": environ.get("CONTENT_TYPE", ""),
            "body": body,
            "status": started["status"],
            "headers": started["headers"],
            "answer": answer,
        }
        with self._lock:
            self.calls.append(call)
        return [answer]


def record(output: Path, regions: list[str], timeout: float) -> None:
    """Seed the smallest grown organization into moto, sweep it with every control, write what was asked and answered."""
    import yaml

    from benchmarks import scale

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    twins = len(population.templates(yaml.safe_load(population.DEMO.read_text(encoding="utf-8"))))
    recorder: Recorder | None = None

    def wrap(app):
        nonlocal recorder
        recorder = Recorder(app)
        return recorder

    moto, _, ready = server.start(twins + 1, 0, "127.0.0.1", 0, wrap)
    recorder.on = True
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rootguard-standin-") as scratch:
        profile = scale.write_profile(Path(scratch) / "record.yaml", ready["endpoint"], regions)
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "--profile", str(profile), "--report-dir", str(Path(scratch) / "pack"), *RECORDING_ARGS],
            cwd=REPO, env=scale.fake_aws_environment(Path(scratch)), capture_output=True, text=True, timeout=timeout,
        )
    recorder.on = False
    moto.shutdown()
    if completed.returncode not in (0, 1):
        raise SystemExit(f"standin: the recording sweep exited {completed.returncode}:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")
    recording = {
        "regions": regions,
        "accounts": ready["accounts"],
        "seed_seconds": ready["seed_seconds"],
        "sweep_seconds": round(time.perf_counter() - started, 2),
        "calls": recorder.calls,
    }
    with output.open("wb") as handle:
        pickle.dump(recording, handle)


def make_recording(regions: list[str], timeout: float) -> dict:
    """Record in a child process, so the stand-in's own process never carries moto."""
    with tempfile.TemporaryDirectory(prefix="rootguard-standin-") as scratch:
        output = Path(scratch) / "recording.pickle"
        # A session of its own: stopped, the recording's moto and sweep stop with it, not left behind.
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "record", "--output", str(output), "--regions", ",".join(regions),
             "--timeout", str(timeout)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            _, errors = process.communicate(timeout=timeout + 120)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        if process.returncode != 0 or not output.is_file():
            raise SystemExit(f"standin: recording failed (exit {process.returncode}):\n{errors[-4000:]}")
        with output.open("rb") as handle:
            return pickle.load(handle)


# ---------------------------------------------------------------------------------------------
# The organization of N accounts, beside the recorded one.


class Organization:
    """population.organization(N): every account, the recorded account it answers as, and what to swap."""

    def __init__(self, accounts: int, recorded_ids: list[str]):
        scenario = population.organization(accounts)
        members = scenario["accounts"][1:]
        recorded = population.organization(len(recorded_ids))["accounts"][1:]
        self.ids = [str(a["id"]) for a in scenario["accounts"]]
        self.twin: dict[str, str] = {HUB: HUB}
        # Per account, the (recorded, own) byte strings its answers swap: id, then name (which its e-mail carries).
        self.swaps: dict[str, tuple[tuple[bytes, bytes], ...]] = {HUB: ()}
        for index, member in enumerate(members):
            twin = recorded[index % len(recorded)]
            if twin["name"].rsplit("-", 1)[0] != member["name"].rsplit("-", 1)[0]:
                raise SystemExit(f"standin: {member['name']} would answer as {twin['name']}: population.py changed its order")
            own, twins = str(member["id"]), str(twin["id"])
            self.twin[own] = twins
            self.swaps[own] = () if own == twins else ((twins.encode(), own.encode()), (twin["name"].encode(), member["name"].encode()))
        missing = set(self.twin.values()) - set(recorded_ids)
        if missing:
            raise SystemExit(f"standin: the recording has no requests from {sorted(missing)}")


# ---------------------------------------------------------------------------------------------
# Replay.


@dataclass
class Answer:
    """One recorded answer, ready to be sent as another account's."""

    status: str  # "200 OK"
    headers: bytes  # header lines, each ending in CRLF, without Date, Content-Length and the request id
    body: bytes
    action: str
    request_id: bytes  # the recorded request id, to be replaced by a fresh one
    request_id_header: bytes  # the header it came in: x-amzn-RequestId, or S3's x-amz-request-id
    issued_key: bytes  # AssumeRole: the access key moto handed out, to be replaced by one naming the account
    credential_report: bytes  # the base64 report inside <Content>, when its text names the account


DROPPED_HEADERS = {"content-length", "connection", "transfer-encoding", "date", "server", "status", "access-control-allow-origin",
                   "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2"}
ACCESS_KEY = re.compile(rb"<AccessKeyId>([A-Z0-9]+)</AccessKeyId>")
CONTENT = re.compile(rb"<Content>([A-Za-z0-9+/=]+)</Content>")


def answer_from(call: dict) -> Answer:
    """A recorded call's answer, with what must change per account and per request located."""
    headers = [(name, value) for name, value in call["headers"] if name.lower() not in DROPPED_HEADERS]
    request_id, id_header = next(((value, name) for name, value in call["headers"] if name.lower() in ("x-amzn-requestid", "x-amz-request-id")),
                                 ("", "x-amzn-RequestId"))
    issued = ACCESS_KEY.search(call["answer"]) if call["operation"] == "sts:AssumeRole" else None
    content = CONTENT.search(call["answer"])
    report = b""
    if content and call["account"].encode() in base64.b64decode(content.group(1)):
        report = content.group(1)
    return Answer(
        status=call["status"],
        headers=b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers),
        body=call["answer"],
        action=call["operation"],
        request_id=request_id.encode(),
        request_id_header=id_header.encode(),
        issued_key=issued.group(1) if issued else b"",
        credential_report=report,
    )


def check_bounded(calls: list[dict], ids: set[str]) -> None:
    # A recorded id swapped inside a longer number would corrupt an answer; refuse to replay one.
    for call in calls:
        for account in ids:
            raw = account.encode()
            if raw in call["answer"] and call["answer"].count(raw) != len(re.findall(rb"(?<![0-9])" + raw + rb"(?![0-9])", call["answer"])):
                raise SystemExit(f"standin: {call['operation']} answers with {account} inside a longer number; ids cannot be swapped")


class Replay:
    """The recorded answers, keyed by (account, region, service, request), and the organization's listings for N accounts."""

    def __init__(self, recording: dict, accounts: int):
        calls = recording["calls"]
        recorded_ids = sorted({c["account"] for c in calls})
        self.organization = Organization(accounts, recorded_ids)
        check_bounded(calls, set(recorded_ids) - {HUB})
        self.answers: dict[tuple, list[Answer]] = {}
        for call in calls:
            key = (call["account"], call["region"], call["service"],
                   request_key(call["method"], call["path"], call["query"], call["target"], call["account_header"], call["content_type"], call["body"]))
            answers = self.answers.setdefault(key, [])
            answer = answer_from(call)
            # The same answer again (a repeated listing) is one answer; a new one (a report now ready) is the next in turn.
            if not answers or _without_request_id(answers[-1]) != _without_request_id(answer):
                answers.append(answer)
        self._listings(calls)

    def _listings(self, calls: list[dict]) -> None:
        """Every account's ListAccounts entry and parent, for all N accounts, from the recorded hub's listings."""
        entries: dict[str, str] = {}
        parent: dict[str, str] = {}
        recorded_targets: dict[str, list[dict]] = {}
        self.account_headers = b"Content-Type: application/x-amz-json-1.1\r\n"
        for call in calls:
            operation = call["operation"].partition(":")[2]
            if not call["operation"].startswith("organizations:") or not call["status"].startswith("200"):
                continue
            answer = json.loads(call["answer"])
            if operation in ("ListAccounts", "ListAccountsForParent"):
                for account in answer.get("Accounts", []):
                    entries[account["Id"]] = json.dumps(account)
                if operation == "ListAccountsForParent":
                    for account in answer.get("Accounts", []):
                        parent[account["Id"]] = json.loads(call["body"])["ParentId"]
            elif operation == "ListParents" and answer.get("Parents"):
                parent.setdefault(json.loads(call["body"])["ChildId"], answer["Parents"][0]["Id"])
            elif operation == "ListTargetsForPolicy":
                recorded_targets.setdefault(json.loads(call["body"])["PolicyId"], []).extend(answer.get("Targets", []))
        organization = self.organization
        self.entries: list[str] = []
        self.children: dict[str, list[int]] = {}  # a parent's accounts, by their place in entries
        self.everyone: list[int] = []
        if not entries:
            return  # the sweep never listed accounts: nothing to list
        for account in organization.ids:
            twin = organization.twin[account]
            if twin not in entries:
                raise SystemExit(f"standin: the recorded listings never name {twin}, so the organization cannot be listed")
            text = entries[twin].encode()
            for recorded, own in organization.swaps[account]:
                text = text.replace(recorded, own)
            self.children.setdefault(parent.get(twin, ""), []).append(len(self.entries))
            self.entries.append(text.decode())
        self.everyone = list(range(len(self.entries)))
        # Where each policy is attached, for all N accounts: a recorded account among its targets
        # stands for every account that answers as it; roots and OUs are kept as recorded.
        answering_as: dict[str, list[str]] = {}
        for account in organization.ids:
            answering_as.setdefault(organization.twin[account], []).append(account)
        self.targets: dict[str, list[str]] = {}
        for policy_id, targets in recorded_targets.items():
            listed = self.targets.setdefault(policy_id, [])
            for target in targets:
                if target.get("Type") != "ACCOUNT":
                    listed.append(json.dumps(target))
                    continue
                for account in answering_as.get(target["TargetId"], []):
                    text = json.dumps(target).encode()
                    for recorded, own in organization.swaps[account]:
                        text = text.replace(recorded, own)
                    listed.append(text.decode())

    def listing(self, operation: str, body: bytes) -> bytes | None:
        """An Organizations listing of accounts for all N accounts, one page of it; None if not one."""
        if not self.entries:
            return None
        request = json.loads(body or b"{}")
        if operation == "ListChildren" and request.get("ChildType") != "ACCOUNT":
            return None
        if operation == "ListTargetsForPolicy":
            return self._page("Targets", self.targets.get(request.get("PolicyId"), []), request) if request.get("PolicyId") in self.targets else None
        chosen = self.everyone if operation == "ListAccounts" else self.children.get(request.get("ParentId"), [])
        if operation == "ListChildren":
            return self._page("Children", [f'{{"Id": "{self.organization.ids[i]}", "Type": "ACCOUNT"}}' for i in chosen], request)
        return self._page("Accounts", [self.entries[i] for i in chosen], request)

    @staticmethod
    def _page(key: str, items: list[str], request: dict) -> bytes:
        """One page of a listing of JSON items, 20 at most, with the stand-in's page token."""
        start = int(request.get("NextToken", "standin-0").rpartition("-")[2])
        size = min(int(request.get("MaxResults") or ORGANIZATIONS_PAGE), ORGANIZATIONS_PAGE)
        text = f'{{"{key}": [' + ", ".join(items[start:start + size]) + "]"
        if start + size < len(items):
            text += f', "NextToken": "standin-{start + size}"'
        return (text + "}").encode()

    def find(self, account: str, region: str, service: str, method: str, path: str, query: str, target: str,
             account_header: str, content_type: str, body: bytes) -> Found | None:
        """The recorded answers to this request from `account`, read as its twin's; None if it was never made."""
        organization = self.organization
        twin = organization.twin.get(account, account)
        named = {account} if twin != account else set()
        for found in ACCOUNT_ID.findall(body) + ACCOUNT_ID.findall(f"{path}?{query}\n{account_header}".encode()):
            other = found.decode()
            if organization.twin.get(other, other) != other:
                named.add(other)
        for own in named:
            recorded = organization.twin[own]
            body = body.replace(own.encode(), recorded.encode())
            path, query, account_header = (text.replace(own, recorded) for text in (path, query, account_header))
        key = (twin, region, service, request_key(method, path, query, target, account_header, content_type, body))
        answers = self.answers.get(key)
        if answers is None:
            return None
        swaps = tuple(pair for own in named for pair in organization.swaps[own])
        issued_to = ""
        if answers[0].issued_key:
            role = ROLE_ARN_ACCOUNT.search(body.decode("latin-1"))
            recorded = role.group(1) if role else twin
            issued_to = next((own for own in named if organization.twin[own] == recorded), recorded)
        return Found(answers, (account, key), swaps, issued_to)


@dataclass
class Found:
    """A request's recorded answers and how to make them the asking account's."""

    answers: list[Answer]
    turn_key: tuple  # (account, request): whose turn through the answers
    swaps: tuple  # (recorded, own) byte strings to swap in the answer
    issued_to: str  # AssumeRole: the account the new key is for

    def take(self, turns: Counter) -> Answer:
        """The next answer in turn (a report STARTED, then COMPLETE), then the last one for good."""
        if len(self.answers) == 1:
            return self.answers[0]
        index = turns[self.turn_key]
        turns[self.turn_key] += 1
        return self.answers[min(index, len(self.answers) - 1)]


def _without_request_id(answer: Answer) -> tuple:
    return answer.status, answer.headers, answer.body.replace(answer.request_id, b"") if answer.request_id else answer.body


def render(answer: Answer, swaps: tuple, issued_to: str, request_id: bytes) -> bytes:
    """The recorded answer's body as this account's: ids, names, the report and a fresh request id."""
    body = answer.body
    if answer.credential_report and swaps:
        report = base64.b64decode(answer.credential_report)
        for recorded, own in swaps:
            report = report.replace(recorded, own)
        body = body.replace(answer.credential_report, base64.b64encode(report))
    for recorded, own in swaps:
        body = body.replace(recorded, own)
    if answer.issued_key:
        body = body.replace(answer.issued_key, access_key_of(issued_to).encode())
    if answer.request_id:
        body = body.replace(answer.request_id, request_id)
    return body


# ---------------------------------------------------------------------------------------------
# Throttling.


QUERY_NAMESPACES = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
                    "sns": "http://sns.amazonaws.com/doc/2010-03-31/"}


def throttling_answer(service: str, target: str, content_type: str, request_id: str) -> tuple[str, bytes, bytes]:
    """(status, header lines, body) of the service's own answer to a request over its rate."""
    if target:
        code = "TooManyRequestsException" if service == "organizations" else "ThrottlingException"
        message = ("You have sent too many requests in too short a period of time. The quota helps protect against "
                   "denial-of-service attacks. Try again later.") if service == "organizations" else "Rate exceeded"
        headers = f"Content-Type: {content_type or 'application/x-amz-json-1.1'}\r\n"
        if service == "monitoring":  # CloudWatch's JSON protocol keeps its query protocol's error codes
            headers += "x-amzn-query-error: Throttling;Sender\r\n"
        return "400 Bad Request", headers.encode(), json.dumps({"__type": code, "message": message}).encode()
    if content_type.startswith(FORM):
        if service == "ec2":
            body = (f"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                    f"</Error></Errors><RequestID>{request_id}</RequestID></Response>")
            return "503 Service Unavailable", b"Content-Type: text/xml\r\n", body.encode()
        namespace = QUERY_NAMESPACES.get(service)
        opening = f'<ErrorResponse xmlns="{namespace}">' if namespace else "<ErrorResponse>"
        body = (f"{opening}<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return "400 Bad Request", b"Content-Type: text/xml\r\n", body.encode()
    if service == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.'
                f"</Message><RequestId>{request_id}</RequestId></Error>")
        return "503 Slow Down", b"Content-Type: application/xml\r\n", body.encode()
    return ("429 Too Many Requests", b"Content-Type: application/json\r\nx-amzn-ErrorType: TooManyRequestsException\r\n",
            b'{"message": "Rate exceeded"}')


class Throttle:
    """Token buckets, one per (family, caller as the family's limit counts callers)."""

    def __init__(self, limits: dict[str, Limit]):
        self.limits = limits
        self.buckets: dict[tuple, list[float]] = {}

    def allows(self, action: str, account: str, region: str, now: float) -> bool:
        name = family(action)
        limit = self.limits[name]
        if limit.per == "account":
            key: tuple = (name, account)
        elif limit.per == "account-region":
            key = (name, account, region)
        else:
            key = (name, account, region, action)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = [limit.burst, now]
        tokens = min(limit.burst, bucket[0] + (now - bucket[1]) * limit.rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return True
        bucket[0] = tokens
        return False


# ---------------------------------------------------------------------------------------------
# HTTP.


class StandIn:
    """Answers requests: counts them, throttles them, replays them, after the latency."""

    def __init__(self, replay: Replay, latency_seconds: float, throttle: Throttle | None):
        self.replay = replay
        self.latency = latency_seconds
        self.throttle = throttle
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connections = 0
        self._date = (0, b"")
        self._ids = 0
        # Whose turn through a request's recorded answers. Not reset between runs: a credential
        # report, once generated, is still there for the next run, as it is in moto and in AWS.
        self.turns: Counter = Counter()
        self.reset()

    def reset(self) -> None:
        self.requests: Counter = Counter()
        self.signatures: Counter = Counter()
        self.throttled: Counter = Counter()
        self.unrecorded: Counter = Counter()
        self.cpu_at_reset = time.process_time()
        self.wall_at_reset = time.monotonic()
        self.peak_connections = self.connections
        # Requests answered but not yet sent (waiting out the latency), per (family, caller): what
        # the suite had in flight at once of each family, and the most it ever had.
        self.in_flight: Counter = Counter()
        self.peak_in_flight: dict[tuple[str, str], int] = {}
        if self.throttle is not None:
            self.throttle.buckets.clear()

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, email.utils.formatdate(now, usegmt=True).encode())
        return self._date[1]

    def stats(self) -> dict:
        total = sum(self.requests.values())
        throttled = sum(self.throttled.values())
        cpu = time.process_time() - self.cpu_at_reset
        answered = total + throttled + sum(self.unrecorded.values())
        return {
            "server": "standin",
            "requests": [[account, action, count] for (account, action), count in sorted(self.requests.items())],
            "total": total,
            "distinct": len(self.signatures),
            "repeated": [
                {"account": a, "region": r, "action": act, "times": n}
                for (a, r, act, _), n in sorted(self.signatures.items())
                if n > 1
            ],
            "throttled": [[account, action, count] for (account, action), count in sorted(self.throttled.items())],
            "throttled_total": throttled,
            "unrecorded": [[account, action, count] for (account, action), count in sorted(self.unrecorded.items())],
            "cpu_seconds": round(cpu, 3),
            "cpu_ms_per_request": round(cpu / answered * 1000, 4) if answered else None,
            "wall_seconds": round(time.monotonic() - self.wall_at_reset, 3),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            # One connection each, as server.py's one thread per connection: what the suite held open.
            "threads": self.connections,
            "peak_threads": self.peak_connections,
            # {family: [the most requests of it one caller had in flight at once, that caller]}
            "peak_in_flight": self.peaks(),
        }

    def peaks(self) -> dict[str, list]:
        most: dict[str, list] = {}
        for (name, caller), peak in sorted(self.peak_in_flight.items()):
            if name not in most or peak > most[name][0]:
                most[name] = [peak, caller]
        return most

    def control(self, method: str, command: str, body: bytes) -> bytes:
        if command == "reset" and method == "POST":
            self.reset()
            payload: dict = {"reset": True}
        elif command == "stats":
            payload = self.stats()
        elif command == "latency" and method == "POST":
            # {"ms": 50}: every answer from now on waits this long.
            self.latency = float(json.loads(body or b"{}")["ms"]) / 1000
            payload = {"latency_ms": self.latency * 1000}
        elif command == "limits" and self.throttle is not None:
            if method == "POST":
                # {"iam": {"rate": 1, "burst": 2}, ...}: new limits from now on, every bucket full.
                changes = json.loads(body or b"{}")
                unknown = set(changes) - set(LIMITS)
                if unknown:
                    message = f"unknown families {sorted(unknown)}\n".encode()
                    return b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(message), message)
                for name, limit in changes.items():
                    self.throttle.limits[name] = Limit(float(limit["rate"]), float(limit["burst"]), LIMITS[name].per)
                self.throttle.buckets.clear()
            payload = {"limits": {name: vars(limit) for name, limit in self.throttle.limits.items()}}
        else:
            return b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\nunknown benchmark command\n"
        body = json.dumps(payload).encode()
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def respond(self, method: str, target_path: str, headers: dict[str, str], body: bytes) -> bytes:
        path, _, query = target_path.partition("?")
        if path.startswith(CONTROL_PREFIX):
            return self.control(method, path[len(CONTROL_PREFIX):], body)
        access_key, region, service = server.credential_scope(headers.get("authorization", ""))
        account = account_of(access_key)
        target = headers.get("x-amz-target", "")
        content_type = headers.get("content-type", "")
        self._ids += 1
        request_id = f"00000000-0000-4000-8000-{self._ids:012x}"
        operation = target.rsplit(".", 1)[-1] if service == "organizations" else ""
        listing = self.replay.listing(operation, body) if operation in ACCOUNT_LISTINGS else None
        found = None
        if listing is not None:
            action = f"organizations:{operation}"
        else:
            found = self.replay.find(account, region, service, method, path, query, target, headers.get("x-amz-account-id", ""),
                                     content_type, body)
            action = found.answers[0].action if found else operation_name(service, path, target, content_type, body, method)
        id_header = b"x-amzn-RequestId"
        self.answering = (family(action), account)  # in flight until sent
        if self.throttle is not None and not self.throttle.allows(action, account, region, time.monotonic()):
            self.throttled[(account, action)] += 1
            status, lines, payload = throttling_answer(service, target, content_type, request_id)
        elif listing is None and found is None:
            self.unrecorded[(account, action)] += 1
            # 501, not 500: botocore retries a 500 as transient, and a request never recorded never will be.
            status, lines = "501 Not Implemented", b"Content-Type: application/json\r\nx-amzn-ErrorType: StandInMiss\r\n"
            payload = json.dumps({"__type": "StandInMiss", "message": f"no recorded answer to {action} from {account} in {region}"}).encode()
        else:
            if listing is not None:
                status, lines, payload = "200 OK", self.replay.account_headers, listing
            else:
                answer = found.take(self.turns)
                status, lines, payload = answer.status, answer.headers, render(answer, found.swaps, found.issued_to, request_id.encode())
                id_header = answer.request_id_header
            self.requests[(account, action)] += 1
            self.signatures[(account, region, action, hash((method, target_path, body)))] += 1
        head = b"HTTP/1.1 %s\r\n%s%s: %s\r\nDate: %s\r\nContent-Length: %d\r\n\r\n" % (
            status.encode(), lines, id_header, request_id.encode(), self.date(), len(payload))
        return head + (payload if method != "HEAD" else b"")


class Connection(asyncio.Protocol):
    """One kept-alive client connection: requests read as they complete, each answered after the latency."""

    def __init__(self, standin: StandIn):
        self.standin = standin
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.continued = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        # Small answers go out at once: with Nagle's algorithm, a client's delayed acknowledgement holds them 40 ms.
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        standin = self.standin
        standin.connections += 1
        standin.peak_connections = max(standin.peak_connections, standin.connections)

    def connection_lost(self, exc) -> None:
        self.standin.connections -= 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, target_path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                # The suite never streams a body; say so rather than misread one.
                self.transport.write(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                self.transport.close()
                return
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                if headers.get("expect", "").lower() == "100-continue" and not self.continued:
                    self.continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            self.continued = False
            standin = self.standin
            standin.answering = None
            response = standin.respond(method, target_path, headers, body)
            close = headers.get("connection", "").lower() == "close"
            key = standin.answering
            if key is not None:
                standin.in_flight[key] += 1
                standin.peak_in_flight[key] = max(standin.peak_in_flight.get(key, 0), standin.in_flight[key])
            if standin.latency and key is not None:
                standin.loop.call_later(standin.latency, self._send, response, close, key)
            else:
                self._send(response, close, key)

    def _send(self, response: bytes, close: bool, key: tuple | None = None) -> None:
        if key is not None:
            self.standin.in_flight[key] -= 1
        if self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()


def serve(accounts: int, latency_ms: float, regions: list[str], limits: dict[str, Limit] | None, host: str, port: int,
          timeout: float) -> None:
    started = time.perf_counter()
    # Stopped while recording: unwind, so the recording's processes are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    recording = make_recording(regions, timeout)
    replay = Replay(recording, accounts)
    standin = StandIn(replay, latency_ms / 1000, Throttle(limits) if limits is not None else None)
    recorded = {"accounts": recording["accounts"], "requests": len(recording["calls"]), "regions": recording["regions"],
                "seed_seconds": recording["seed_seconds"], "sweep_seconds": recording["sweep_seconds"]}
    del recording
    # What is built now lives as long as the process: keep the collector from walking it at every pass.
    gc.collect()
    gc.freeze()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        standin.loop = loop
        listener = await loop.create_server(lambda: Connection(standin), host, port, backlog=1024)
        bound = listener.sockets[0].getsockname()[1]
        ready = {
            "endpoint": f"http://{host}:{bound}",
            "accounts": len(replay.organization.ids),
            "seed_seconds": round(time.perf_counter() - started, 2),
            "seed_requests": recorded["requests"],
            "server": "standin",
            "recording": recorded,
            "throttle": {name: vars(limit) for name, limit in limits.items()} if limits is not None else None,
        }
        print(json.dumps(ready), flush=True)
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        listener.close()

    asyncio.run(run())


def limit_override(text: str) -> tuple[str, Limit]:
    """FAMILY=RATE:BURST, checked when parsed."""
    name, _, figures = text.partition("=")
    rate, _, burst = figures.partition(":")
    if name not in LIMITS:
        raise argparse.ArgumentTypeError(f"unknown family {name!r}; one of {', '.join(LIMITS)}")
    try:
        limit = Limit(float(rate), float(burst or rate), LIMITS[name].per)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give FAMILY=RATE:BURST, e.g. iam=5:2") from None
    if limit.rate <= 0 or limit.burst < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the rate must be above 0 and the burst at least 1")
    return name, limit


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["record"]:
        parser = argparse.ArgumentParser(prog="python benchmarks/standin.py record")
        parser.add_argument("--output", type=Path, required=True)
        parser.add_argument("--regions", default="us-east-1,eu-west-1")
        parser.add_argument("--timeout", type=float, default=600)
        args = parser.parse_args(argv[1:])
        record(args.output, args.regions.split(","), args.timeout)
        return 0
    parser = argparse.ArgumentParser(prog="python benchmarks/standin.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, required=True, help="accounts in the organization, management included")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay added to every request (default %(default)s)")
    parser.add_argument("--regions", default="us-east-1,eu-west-1", help="the regions the recording sweeps, home first (default %(default)s)")
    parser.add_argument("--throttle", choices=("on", "off"), default="on", help="AWS-like throttling per API family (default %(default)s)")
    parser.add_argument("--limit", type=limit_override, action="append", default=[], metavar="FAMILY=RATE:BURST",
                        help=f"change one family's limit (families: {', '.join(LIMITS)})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 for any free port (default)")
    parser.add_argument("--record-timeout", type=float, default=600, help="seconds the recording sweep may take (default %(default)s)")
    args = parser.parse_args(argv)
    if args.accounts < 1:
        parser.error("--accounts: an organization has at least its management account")
    limits = {**LIMITS, **dict(args.limit)} if args.throttle == "on" else None
    serve(args.accounts, args.latency_ms, args.regions.split(","), limits, args.host, args.port, args.record_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
