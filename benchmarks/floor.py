"""The floor under a sweep's wall time on this machine: what the chosen stack costs before rootguard judges anything.

    python benchmarks/floor.py                    # 1000 accounts, counts from benchmarks/results.json
    python benchmarks/floor.py --accounts 100

A sweep of N accounts is N x T pytest tests (T verdicts per account) and N x R AWS requests.
Three of its costs belong to the stack, not to rootguard:

1. pytest running N x T tests that judge nothing, each through an `account` fixture
   parametrized as the suite's is, writing the three reports a rootguard run writes
   (JUnit XML, pytest-html's self-contained page, Allure results);
2. botocore, as released, sending N x R requests, with rootguard's client configuration, to
   a local endpoint that answers at once with a canned response;
3. the benchmark's server answering N x R requests, at the CPU per request that
   scale.py measured (benchmarks/results.json names the server: the stand-in or moto).

All three are CPU spent on the same cores. Even split perfectly over every core, with no
waiting, a sweep cannot take less wall time than their sum divided by the cores. The floor
leaves out everything rootguard itself does (judging, evidence files, results.json), so a
real sweep is slower still. Without the server (AWS answering from elsewhere) the floor is
the first two alone, which is printed too.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TEST_MODULE = '''
import pytest

ACCOUNTS = {accounts}
PER_ACCOUNT = {per_account}


@pytest.fixture
def account(request):
    return request.param


@pytest.mark.parametrize("account", range(ACCOUNTS * PER_ACCOUNT), indirect=True)
def test_verdict(account):
    assert account >= 0
'''

IAM_XML = (
    b'<GetAccountSummaryResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountSummaryResult>'
    b"<SummaryMap><entry><key>AccountMFAEnabled</key><value>1</value></entry>"
    b"<entry><key>AccountAccessKeysPresent</key><value>0</value></entry></SummaryMap>"
    b"</GetAccountSummaryResult><ResponseMetadata><RequestId>floor</RequestId></ResponseMetadata>"
    b"</GetAccountSummaryResponse>"
)
TRAILS_JSON = json.dumps(
    {"trailList": [{"Name": "org", "S3BucketName": "logs", "IsMultiRegionTrail": True, "LogFileValidationEnabled": True,
                    "HomeRegion": "us-east-1", "TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org"}]}
).encode()


class CannedHandler(BaseHTTPRequestHandler):
    """Answers every request at once, over a kept-alive connection, in one write."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        json_protocol = "X-Amz-Target" in self.headers
        body, kind = (TRAILS_JSON, "application/x-amz-json-1.1") if json_protocol else (IAM_XML, "text/xml")
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\nx-amzn-RequestId: floor\r\n\r\n"
        self.wfile.write(head.encode() + body)

    def log_message(self, *args) -> None:
        pass


def serve(port_out) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedHandler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def botocore_cpu_ms(requests: int) -> dict[str, float]:
    """botocore's CPU per request, in this process, against a canned endpoint in another.

    botocore as released: rootguard makes some of botocore's per-request work cheaper
    (rootguard.accounts.botocore_sharing), and a floor that took those savings in would
    hide them. So the session is botocore's own, in a process where they were never installed.
    """
    from rootguard.accounts import botocore_sharing
    from rootguard.accounts.sessions import client_config

    import boto3
    import botocore.session

    if botocore_sharing._installed:
        raise SystemExit("floor: rootguard's botocore patches are installed in this process; measure the floor in a fresh one")

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{ports.get(timeout=30)}"
        session = boto3.Session(
            botocore_session=botocore.session.Session(), region_name="us-east-1",
            aws_access_key_id="floor", aws_secret_access_key="floor",
        )
        calls = {
            "query protocol (iam:GetAccountSummary)": session.client("iam", endpoint_url=endpoint, config=client_config()).get_account_summary,
            "JSON protocol (cloudtrail:DescribeTrails)": session.client("cloudtrail", endpoint_url=endpoint, config=client_config()).describe_trails,
        }
        measured = {}
        for name, call in calls.items():
            call()  # the first call loads the service model
            started = time.process_time()
            for _ in range(requests):
                call()
            measured[name] = round((time.process_time() - started) / requests * 1000, 3)
        return measured
    finally:
        server.terminate()
        server.join(5)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_cpu(accounts: int, per_account: int, scratch: Path, reports: bool) -> dict:
    """CPU of pytest running accounts x per_account tests that judge nothing."""
    module = scratch / "test_floor.py"
    module.write_text(TEST_MODULE.format(accounts=accounts, per_account=per_account), encoding="utf-8")
    command = [sys.executable, "-m", "pytest", str(module), "-q", "-p", "no:cacheprovider",
               "-p", "no:rootguard.plugin", "-p", "no:hypothesispytest", "-p", "no:xdist", "--rootdir", str(scratch)]
    if reports:
        out = scratch / "reports"
        command += [f"--junitxml={out / 'junit.xml'}", f"--html={out / 'report.html'}", "--self-contained-html",
                    f"--alluredir={out / 'allure-results'}"]
    before, started = children_cpu(), time.monotonic()
    completed = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"floor: pytest exited {completed.returncode}: {(completed.stdout or completed.stderr).strip()[-300:]}")
    return {"tests": accounts * per_account, "cpu_seconds": round(children_cpu() - before, 2),
            "wall_seconds": round(time.monotonic() - started, 2)}


def counts_from(results: Path) -> dict:
    """Tests and requests per account, and the server's CPU per request, from scale.py's largest run."""
    try:
        largest = max(json.loads(results.read_text(encoding="utf-8"))["measurements"], key=lambda m: m["accounts"])
        run = largest["runs"]["all"]
        requests = run["requests"]
        return {
            "source": f"{results.name}, {largest['accounts']} accounts",
            # Measurements from before scale.py could choose were all made against moto.
            "server": largest.get("server", "moto"),
            "tests_per_account": round(run["outcomes"]["results"] / largest["accounts"]),
            "requests_per_account": requests["per_account"],
            "server_ms_per_request": round(requests["server_cpu_seconds"] / requests["total"] * 1000, 3),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"floor: {results}: no usable scale.py measurement ({exc}); run `make bench` or give the counts") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/floor.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000, help="organization size (default %(default)s)")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results.json", help="scale.py's results, for the counts below")
    parser.add_argument("--tests-per-account", type=int, help="verdicts per account (default: from --results)")
    parser.add_argument("--requests-per-account", type=float, help="AWS requests per account (default: from --results)")
    parser.add_argument("--server-ms-per-request", type=float, help="the benchmark server's CPU per request (default: from --results)")
    parser.add_argument("--botocore-requests", type=int, default=2000, help="requests timed per protocol (default %(default)s)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "floor.json", help="where to write the figures")
    args = parser.parse_args(argv)

    given = {"tests_per_account": args.tests_per_account, "requests_per_account": args.requests_per_account,
             "server_ms_per_request": args.server_ms_per_request}
    overridden = {key: value for key, value in given.items() if value is not None}
    if len(overridden) == len(given):
        counts = {"source": "command line", "server": "benchmark"}
    else:
        counts = counts_from(args.results)
        if overridden:
            counts["source"] += ", with " + ", ".join(overridden) + " from the command line"
    counts.update(overridden)
    cores = os.cpu_count() or 1
    n, tests, requests = args.accounts, counts["tests_per_account"], counts["requests_per_account"]

    with tempfile.TemporaryDirectory(prefix="rootguard-floor-") as scratch:
        bare = pytest_cpu(n, tests, Path(scratch), reports=False)
        reported = pytest_cpu(n, tests, Path(scratch), reports=True)
    per_request = botocore_cpu_ms(args.botocore_requests)
    # A lower bound takes the cheaper protocol for every request.
    botocore_ms = min(per_request.values())
    botocore_cpu = n * requests * botocore_ms / 1000
    server_cpu = n * requests * counts["server_ms_per_request"] / 1000
    stack_cpu = reported["cpu_seconds"] + botocore_cpu
    figures = {
        "accounts": n,
        "cores": cores,
        "counts": counts,
        "pytest_bare": bare,
        "pytest_with_reports": reported,
        "botocore_ms_per_request": per_request,
        "botocore_cpu_seconds": round(botocore_cpu, 1),
        "server_cpu_seconds": round(server_cpu, 1),
        "floor_wall_seconds": round((stack_cpu + server_cpu) / cores, 1),
        "floor_wall_seconds_without_server": round(stack_cpu / cores, 1),
    }
    args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")

    rows = [
        (f"pytest, {bare['tests']} tests, no reports", bare["cpu_seconds"]),
        ("pytest, the same tests, JUnit + HTML + Allure", reported["cpu_seconds"]),
        *((f"  botocore, {name}: {ms:.2f} ms per request", None) for name, ms in per_request.items()),
        (f"botocore, {n * requests:.0f} requests at {botocore_ms:.2f} ms", botocore_cpu),
        (f"{counts['server']} server, {n * requests:.0f} requests at {counts['server_ms_per_request']:.2f} ms", server_cpu),
    ]
    print(f"{n} accounts x {tests} verdicts, {requests} requests per account ({counts['source']}), {cores} cores")
    for label, cpu in rows:
        print(f"  {label:<62}" + (f"{cpu:8.1f} CPU-s" if cpu is not None else ""))
    print(f"floor: {figures['floor_wall_seconds']} s wall with the {counts['server']} server on the same cores, "
          f"{figures['floor_wall_seconds_without_server']} s without it")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
