"""benchmarks/standin.py: a sweep of its replayed organization judges as a sweep of moto's own, throttled or not.

The stand-in (recorded from the six-account organization) and the moto server (seeded with
all eight) serve the same grown organization: two of its members answer as the recorded
clones of the same demo members, with their own ids. Each test sets the throttling limits it
needs through the stand-in's /__bench/limits.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

from tests.conftest import HUB, JUDGE_ONLY, REPO
from tests.test_modes import AGE
from tests.test_xdist import bench, sweep

ACCOUNTS = 8
# Every member asks account:GetAlternateContact three times in a row: a burst of 2 at one a
# second throttles the third, and a retry a second later goes through. Organizations is left
# wide open: one throttle slows the hub's client for the rest of the listing (adaptive
# retries), which costs the test seconds and shows nothing more.
SWEEP_LIMITS = {"default": {"rate": 1, "burst": 2}, "organizations": {"rate": 1000, "burst": 1000}}
# What one family answers once its bucket is empty: no token for a hundred seconds.
EMPTY = {"rate": 0.01, "burst": 1}


def post(endpoint: str, command: str, payload: dict) -> dict:
    request = urllib.request.Request(f"{endpoint}/__bench/{command}", data=json.dumps(payload).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def limits(endpoint: str, changes: dict) -> dict:
    return post(endpoint, "limits", changes)["limits"]


@contextlib.contextmanager
def servers(folder):
    """The stand-in and the moto server for the same organization, started side by side; yields both endpoints."""
    commands = {
        "standin": [sys.executable, str(REPO / "benchmarks" / "standin.py"), "--accounts", str(ACCOUNTS), "--latency-ms", "0"],
        "moto": [sys.executable, str(REPO / "benchmarks" / "server.py"), "--accounts", str(ACCOUNTS), "--latency-ms", "0"],
    }
    processes = {}
    try:
        for name, command in commands.items():
            log = (folder / f"{name}.log").open("w")
            processes[name] = (subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True), log)
        ready = {}
        for name, (process, _) in processes.items():
            ready[name] = json.loads(process.stdout.readline() or "null")
            assert ready[name], (folder / f"{name}.log").read_text()[-3000:]
        yield ready
    finally:
        for process, log in processes.values():
            process.terminate()
            process.wait(timeout=30)
            log.close()


@pytest.fixture(scope="module")
def organization(tmp_path_factory):
    with servers(tmp_path_factory.mktemp("standin")) as ready:
        yield ready


# What the two servers make up on their own: times and ages (each is seeded at its own start,
# seconds apart, which may fall either side of a minute) and GuardDuty's detector ids.
MADE_UP = (
    (re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}Z"), "<time>"),
    (AGE, "N h ago"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<detector id>"),
)


def verdicts(results: dict) -> dict:
    """Each verdict's outcome and message, but for what each server makes up."""
    found = {}
    for r in results["results"]:
        message = r["message"]
        for pattern, stand_in in MADE_UP:
            message = pattern.sub(stand_in, message)
        found[(r["control"], r["account_id"], r["region"])] = (r["outcome"], message)
    return found


def client(endpoint: str, service: str, attempts: int = 1):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"mode": "standard", "total_max_attempts": attempts}))


def test_throttled_sweep_of_the_standin_judges_as_moto(organization, tmp_path):
    standin, moto = organization["standin"]["endpoint"], organization["moto"]["endpoint"]
    assert organization["standin"]["recording"]["accounts"] == 6 < ACCOUNTS == organization["moto"]["accounts"]
    assert limits(standin, SWEEP_LIMITS)["default"] == {**SWEEP_LIMITS["default"], "per": "account-region-operation"}
    (tmp_path / "moto").mkdir()
    (tmp_path / "standin").mkdir()
    # Side by side: the throttled sweep spends most of its time waiting to retry.
    with ThreadPoolExecutor(2) as pool:
        by_moto_run = pool.submit(sweep, moto, tmp_path / "moto", *JUDGE_ONLY)
        replayed, by_standin, standin_requests = sweep(standin, tmp_path / "standin", *JUDGE_ONLY)
        _, by_moto, moto_requests = by_moto_run.result()

    # Every (control, account, region) judged alike, the clones of clones included.
    assert len(verdicts(by_moto)) == len(by_moto["results"]) == ACCOUNTS * 23
    assert verdicts(by_standin) == verdicts(by_moto)
    assert {r["account_id"] for r in by_standin["results"]} == {HUB, *(str(200000000000 + i) for i in range(ACCOUNTS - 1))}
    assert "Traceback" not in replayed.stdout + replayed.stderr

    # The same requests, attributed to the same accounts (AssumeRole's keys carry them), none unrecorded.
    assert standin_requests["unrecorded"] == []
    assert standin_requests["requests"] == moto_requests["requests"]
    # Members' calls over their limit were throttled and retried through to the same verdicts.
    members = {r["account_id"] for r in by_standin["results"]} - {HUB}
    throttled = {account for account, action, _ in standin_requests["throttled"] if action == "account:GetAlternateContact"}
    assert throttled & members, standin_requests["throttled"]


def test_account_listings_page_through_every_account_as_moto_lists_them(organization):
    def listed(endpoint: str) -> dict:
        organizations = client(endpoint, "organizations", attempts=10)
        pages = list(organizations.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 3}))
        accounts = [(a["Id"], a["Name"], a["Email"], a["Status"]) for page in pages for a in page["Accounts"]]
        roots = organizations.list_roots()["Roots"]
        parents = [roots[0]["Id"], *(ou["Id"] for ou in organizations.list_organizational_units_for_parent(ParentId=roots[0]["Id"])["OrganizationalUnits"])]
        by_parent = {
            parent: sorted(a["Id"] for page in organizations.get_paginator("list_accounts_for_parent").paginate(
                ParentId=parent, PaginationConfig={"PageSize": 2}) for a in page["Accounts"])
            for parent in parents
        }
        return {"accounts": accounts, "pages": len(pages), "by_parent": by_parent}

    limits(organization["standin"]["endpoint"], {"organizations": {"rate": 1000, "burst": 1000}})
    by_standin, by_moto = listed(organization["standin"]["endpoint"]), listed(organization["moto"]["endpoint"])
    assert len(by_standin["accounts"]) == ACCOUNTS and by_standin["pages"] == 3
    assert sorted(by_standin["accounts"]) == sorted(by_moto["accounts"])
    assert by_standin["by_parent"] == by_moto["by_parent"]
    assert sum(len(ids) for ids in by_standin["by_parent"].values()) == ACCOUNTS


@pytest.mark.parametrize(
    ("service", "call", "code", "status"),
    [
        ("iam", lambda c: c.get_account_summary(), "Throttling", 400),  # query protocol
        ("organizations", lambda c: c.describe_organization(), "TooManyRequestsException", 400),  # JSON, Organizations
        ("cloudtrail", lambda c: c.describe_trails(includeShadowTrails=True), "ThrottlingException", 400),  # JSON
        ("s3", lambda c: c.list_buckets(), "SlowDown", 503),  # REST-XML
        ("account", lambda c: c.get_alternate_contact(AlternateContactType="BILLING"), "TooManyRequestsException", 429),  # REST-JSON
    ],
)
def test_a_family_over_its_limit_answers_the_services_throttling_error(organization, service, call, code, status):
    endpoint = organization["standin"]["endpoint"]
    bench(endpoint, "reset")
    family = "default" if service in ("cloudtrail", "s3", "account") else service
    limits(endpoint, {family: EMPTY})
    once = client(endpoint, service)

    call(once)  # the burst's one token
    with pytest.raises(ClientError) as refused:
        call(once)
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    # A code botocore's retries treat as throttling: the suite's adaptive retries back off and try again.
    assert ThrottledRetryableChecker().is_retryable(RetryContext(attempt_number=1, parsed_response=error))
    assert bench(endpoint, "stats")["throttled_total"] == 1

    # Two tokens a second: the next call finds the bucket empty, and its retries go through.
    limits(endpoint, {family: {"rate": 2, "burst": 1}})
    retrying = client(endpoint, service, attempts=10)
    call(once)
    answer = call(retrying)
    assert answer["ResponseMetadata"]["RetryAttempts"] >= 1
    assert bench(endpoint, "stats")["throttled_total"] >= 2


def test_each_api_family_keeps_to_its_bound_of_requests_in_flight(organization, tmp_path):
    """At 150 ms a request, an account's IAM facts overlap: --api-limit holds them to their bound, per calling account."""
    standin = organization["standin"]["endpoint"]
    limits(standin, {name: {"rate": 1000, "burst": 1000} for name in ("default", "organizations", "iam", "iam-credential-report",
                                                                        "iam-authorization-details")})
    post(standin, "latency", {"ms": 150})
    try:
        runs = {}
        for name, bounds in {"bounded": ("iam=1", "organizations=1"), "unbounded": ("iam=0", "organizations=0")}.items():
            (tmp_path / name).mkdir()
            args = [arg for bound in bounds for arg in ("--api-limit", bound)]
            completed, results, stats = sweep(standin, tmp_path / name, *JUDGE_ONLY, *args)
            assert "Traceback" not in completed.stdout + completed.stderr and results["complete"]
            runs[name] = (verdicts(results), stats["peak_in_flight"])
    finally:
        post(standin, "latency", {"ms": 0})

    (bounded, bounded_peaks), (unbounded, unbounded_peaks) = runs["bounded"], runs["unbounded"]
    assert bounded == unbounded  # the bounds change when requests go, not what they find
    # Without a bound of its own, one account had several IAM requests in flight at once...
    assert unbounded_peaks["iam"][0] > 1, unbounded_peaks
    # ... and with it, no account ever did. Each credential report was generated and read one
    # request after another (its default bound of 1), and so were the hub's Organizations calls.
    assert bounded_peaks["iam"][0] == 1, bounded_peaks
    assert bounded_peaks["iam-credential-report"][0] == 1, bounded_peaks
    assert bounded_peaks["organizations"] == [1, HUB], bounded_peaks
