"""Progress while facts are fetched: a line rewritten on a terminal, plain lines in a log, nothing under -q."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from rootguard.facts.progress import TALLY, Progress, retry_attempts
from tests.conftest import REPO
from tests.test_xdist import benchmark_server, sweep


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    """The benchmark's moto server (six accounts) answering each request after 60 ms."""
    with benchmark_server(tmp_path_factory.mktemp("server"), 6, 60) as endpoint:
        yield endpoint


class Reporter:
    """What Progress uses of pytest's terminal reporter, kept as a list of what was shown."""

    def __init__(self):
        self.shown: list[tuple[str, str]] = []

    def write(self, text):
        self.shown.append(("write", text))

    def write_line(self, text):
        self.shown.append(("line", text))

    def rewrite(self, text, erase=False):
        self.shown.append(("rewrite", text))


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_counts_and_estimate():
    clock, reporter = Clock(), Reporter()
    progress = Progress(reporter, total=4, tty=False, clock=clock)
    assert progress.line() == "rootguard: fetching facts: 0/4 accounts, 0 requests, 0 errors, 0 retries, 0.0 s"
    TALLY.add(retries=2)
    TALLY.add()
    clock.now += 3
    progress.account_done(errors=1)
    assert progress.line() == "rootguard: fetching facts: 1/4 accounts, 2 requests, 1 error, 2 retries, 3.0 s, about 9 s left"
    for _ in range(3):
        progress.account_done(errors=0)
    assert progress.line(final=True) == "rootguard: fetched the facts of 4/4 accounts: 2 requests, 1 error, 2 retries, in 3.0 s"


def test_held_while_the_tests_run_then_one_last_line_timed_at_the_fetchs_end():
    """Children fetching while the tests run (rootguard.distributed.forked): no line beside pytest's
    own output once the tests start, and the last on a line of its own, with the fetch's own time."""
    for tty in (False, True):
        clock, reporter = Clock(), Reporter()
        progress = Progress(reporter, total=2, tty=tty, clock=clock)
        progress.start()
        progress.hold()
        shown = len(reporter.shown)
        progress.account_done(errors=0)
        progress.account_done(errors=0)
        clock.now += 4
        progress.end()
        clock.now += 30  # the tests go on after the fetch
        progress.end()  # only the first end counts
        assert len(reporter.shown) == shown  # nothing while held
        progress.stop()
        assert reporter.shown[-1] == ("line", "rootguard: fetched the facts of 2/2 accounts: 0 requests, 0 errors, 0 retries, in 4.0 s")
        if tty:  # the rewritten line is left on a line of its own when the tests start
            assert reporter.shown[shown - 1] == ("write", "\n")


def test_retry_attempts_read_from_botocore_metadata():
    assert retry_attempts({"ResponseMetadata": {"RetryAttempts": 3}}) == 3
    assert retry_attempts({"Error": {"Code": "Throttling"}, "ResponseMetadata": {"RetryAttempts": 0}}) == 0
    assert retry_attempts({"ResponseMetadata": "odd"}) == retry_attempts(None) == retry_attempts({}) == 0


def test_a_log_gets_plain_lines_and_a_terminal_one_rewritten_line():
    for tty in (False, True):
        reporter = Reporter()
        progress = Progress(reporter, total=1, tty=tty)
        progress.start()
        progress.account_done(errors=0)
        progress.stop()
        kinds = [kind for kind, _ in reporter.shown]
        if tty:
            assert kinds[0] == "write" and kinds[-2:] == ["rewrite", "write"] and "line" not in kinds
        else:
            assert kinds == ["line"] * len(kinds) and len(kinds) >= 2
        assert reporter.shown[-2 if tty else -1][1].startswith("rootguard: fetched the facts of 1/1 accounts:")


def test_a_slow_fetch_in_a_ci_log_prints_a_line_every_few_seconds(slow_server, tmp_path):
    """Six accounts, one at a time, at 60 ms a request: over ten seconds of fetching, shown as it goes."""
    completed, data, stats = sweep(slow_server, tmp_path, "--fetch-workers", "1", regions="[us-east-1]", quiet=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("rootguard: fetch")]
    assert lines[0].startswith("rootguard: fetching facts: 0/6 accounts,")
    assert any(" s left" in line for line in lines[1:-1])  # at least one line while it ran, with an estimate
    final = lines[-1]
    assert final.startswith("rootguard: fetched the facts of 6/6 accounts:")
    # The requests it counts are those the server answered during the fetch: all of the
    # run's but the look at the hub and the organization before it (and any after).
    counted = int(final.split(": ", 2)[2].split(" requests")[0])
    served = sum(n for _, _, n in stats["requests"])
    assert 30 * 6 <= counted <= served
    assert len(data["accounts"]) == 6


def test_quiet_shows_no_progress(pytester):
    pack = pytester.path / "pack"
    # One control's facts are enough to fetch with progress; the reports have nothing to show here.
    result = pytester.runpytest_subprocess(str(REPO / "tests_compliance"), "--profile", str(REPO / "profiles" / "demo.yaml"),
                                           "--report-dir", str(pack), "-q", "-k", "root_mfa", "--export", "none",
                                           "-p", "no:html", "-p", "no:allure_pytest")
    assert result.ret == 1
    assert not [line for line in result.outlines if line.startswith("rootguard: fetch")]


def test_on_a_terminal_the_line_is_rewritten_in_place(tmp_path):
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--profile", "demo", "-p", "no:cacheprovider", "--report-dir", str(tmp_path / "pack"),
         "--fetch-workers", "1"],
        cwd=REPO, stdout=terminal, stderr=terminal, stdin=terminal, close_fds=True,
    )
    os.close(terminal)
    out = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert process.wait(timeout=300) == 1
    text = out.decode(errors="replace")
    start, final = text.index("\rrootguard: fetching facts:"), text.index("\rrootguard: fetched the facts of 7/7 accounts:")
    assert start < final and "\n" not in text[start:final]  # one line, rewritten in place
    assert text[start:final].count("\rrootguard: fetching facts:") >= 2
    assert "\n" in text[final:final + 200]  # and left on its own line
    assert json.loads((tmp_path / "pack" / "results.json").read_text())["complete"]


def test_throttled_responses_are_counted_by_service_from_botocores_retry_event():
    import boto3

    from rootguard.facts.progress import note_throttling

    clock, reporter = Clock(), Reporter()
    progress = Progress(reporter, total=2, tty=False, clock=clock)
    organizations = boto3.client("organizations", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    list_roots = organizations.meta.service_model.operation_model("ListRoots")
    summary = iam.meta.service_model.operation_model("GetAccountSummary")
    for _ in range(3):
        note_throttling(response=(None, {"Error": {"Code": "TooManyRequestsException"}}), operation=list_roots)
    note_throttling(response=(None, {"Error": {"Code": "Throttling"}}), operation=summary)
    # Not throttling: another error, a success, a connection error (no response).
    note_throttling(response=(None, {"Error": {"Code": "AccessDenied"}}), operation=summary)
    note_throttling(response=(None, {"ResponseMetadata": {}}), operation=summary)
    note_throttling(response=None, operation=summary, caught_exception=ConnectionError())
    assert progress.line().endswith(", 0 retries (4 throttled: organizations 3, iam 1), 0.0 s")
    # A later fetch counts from its own start.
    assert "throttled" not in Progress(reporter, total=1, tty=False, clock=clock).line()
