"""pytest-xdist: `-n 2` judges each account in one worker, fetches its facts once, and writes one pack.

Runs the suite as a user would, in child processes, against the benchmark's counting moto
server (benchmarks/server.py, no added latency), once in one process and once on two workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request

import pytest

from rootguard.distributed.scheduling import account_of, owned, owners, share
from tests.conftest import HUB, REPO

ACCOUNTS = 6
POLLED = "iam:GenerateCredentialReport"


@contextlib.contextmanager
def benchmark_server(folder, accounts: int, latency_ms: float):
    """benchmarks/server.py in its own process: a counting moto server seeded with `accounts` accounts; yields its endpoint."""
    log = folder / "server.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / "server.py"), "--accounts", str(accounts), "--latency-ms", str(latency_ms)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=errors, text=True,
        )
        try:
            ready = json.loads(process.stdout.readline() or "null")
            assert ready, log.read_text()[-3000:]
            yield ready["endpoint"]
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def counting_server(tmp_path_factory):
    with benchmark_server(tmp_path_factory.mktemp("server"), ACCOUNTS, 0) as endpoint:
        yield endpoint


def bench(endpoint: str, command: str) -> dict:
    method = "POST" if command == "reset" else "GET"
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/__bench/{command}", method=method), timeout=30) as answer:
        return json.loads(answer.read())


def sweep(
    endpoint: str, where, *args: str, env_extra: dict | None = None, regions: str = "[us-east-1, eu-west-1]", quiet: bool = True
) -> tuple[subprocess.CompletedProcess, dict, dict]:
    """One sweep of the server's organization in a child process: its output, its results.json and the server's counts."""
    profile = where / "org.yaml"
    profile.write_text(
        f"backend: live\nendpoint_url: {endpoint}\nhome_region: us-east-1\nregions: {regions}\n"
        "organization:\n  role_name: OrganizationAccountAccessRole\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=str(where / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(where / "none"), AWS_EC2_METADATA_DISABLED="true", **(env_extra or {}))
    bench(endpoint, "reset")
    pack = where / "pack"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--profile", str(profile), "--report-dir", str(pack), *(["-q"] if quiet else []), "-p", "no:cacheprovider", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert (pack / "results.json").is_file(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed, json.loads((pack / "results.json").read_text()), bench(endpoint, "stats")


def test_two_workers_judge_like_one_process_and_fetch_each_account_once(counting_server, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single, alone, alone_requests = sweep(counting_server, tmp_path / "one")
    double, split, split_requests = sweep(counting_server, tmp_path / "two", "-n", "2")

    assert single.returncode == double.returncode == 1  # the population fails some controls
    assert "Traceback" not in double.stdout + double.stderr
    assert "bringing up nodes" in double.stdout
    verdicts = {(r["control"], r["account_id"], r["region"]): (r["outcome"], r["message"], r["evidence"]) for r in alone["results"]}
    assert len(verdicts) == len(alone["results"]) > ACCOUNTS * 20
    assert {(r["control"], r["account_id"], r["region"]): (r["outcome"], r["message"], r["evidence"]) for r in split["results"]} == verdicts
    assert split["complete"] and split["gate"] == alone["gate"]
    assert [a["account_id"] for a in split["accounts"]] == [a["account_id"] for a in alone["accounts"]]

    # One pack: every result's evidence is there, and the manifest covers the workers' files.
    pack = tmp_path / "two" / "pack"
    verify = subprocess.run([sys.executable, "-m", "rootguard.cli", "verify", str(pack)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert all((pack / path).is_file() for r in split["results"] for path in r["evidence"])
    junit = (pack / "junit.xml").read_text()
    assert junit.count("<testcase ") == len(split["results"])
    # Allure's results, written where the tests ran: one a verdict, and in neither mode a
    # container for rootguard's account fixture.
    for folder in ("one", "two"):
        results = tmp_path / folder / "pack" / "allure-results"
        assert len(list(results.glob("*-result.json"))) == len(verdicts)
        assert not list(results.glob("*-container.json"))

    # Each fact is fetched once, by one worker: the same requests as one process, the hub's
    # organization-wide reads (which every worker needs) included. Made more than once: polling
    # the credential report (GenerateCredentialReport) until IAM has it ready, and the hub's
    # identity (who runs the audit, then as a fact). One process lists the organization with
    # the hub account's own store; under xdist the controller lists it and notes the listings
    # for the workers (an account's place in the organization, for its SCPs, is read from
    # them), and the worker judging the hub account asks for the hub's identity once more.
    def repeated(stats):
        return {(x["account"], x["action"], x["times"]) for x in stats["repeated"] if x["action"] != POLLED}

    def requests(stats, hub: bool):
        return sum(n for account, action, n in stats["requests"] if (account == HUB) == hub and action != POLLED)

    assert repeated(alone_requests) == {(HUB, "sts:GetCallerIdentity", 2)}
    assert repeated(split_requests) == {(HUB, "sts:GetCallerIdentity", 3)}
    assert requests(split_requests, hub=False) == requests(alone_requests, hub=False)
    assert requests(split_requests, hub=True) == requests(alone_requests, hub=True) + 1
    assert split_requests["distinct"] == alone_requests["distinct"]


# Counts, in each process, pytest's rescans of every report for a failure's teardown sections
# (the FAILURES section does one per failure), and writes them out when the process ends.
RESCAN_PROBE = """
import json, os

import pytest

rescans = []


@pytest.hookimpl(trylast=True)  # after pytest's terminal plugin is registered
def pytest_configure(config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    original = reporter._get_teardown_reports

    def counted(node_id):
        rescans.append(node_id)
        return original(node_id)

    reporter._get_teardown_reports = counted


def pytest_unconfigure(config):
    who = getattr(config, "workerinput", {}).get("workerid", "controller")
    with open(os.path.join(os.environ["RESCAN_PROBE_DIR"], who + ".json"), "w") as out:
        json.dump(len(rescans), out)
"""


def test_workers_skip_the_failures_section_nobody_sees(counting_server, tmp_path):
    """A worker's terminal goes nowhere; its FAILURES section cost time quadratic in its share."""
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "rescan_probe.py").write_text(RESCAN_PROBE)
    (tmp_path / "counts").mkdir()
    (tmp_path / "run").mkdir()
    # --tb=short: the user asks for pytest's FAILURES section, which the controller then writes.
    completed, results, _ = sweep(
        counting_server, tmp_path / "run", "-n", "2", "--tb=short", "-p", "rescan_probe",
        env_extra={"PYTHONPATH": str(tmp_path / "probe"), "RESCAN_PROBE_DIR": str(tmp_path / "counts")},
    )
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]
    counts = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "counts").glob("*.json")}
    failures = sum(r["outcome"] == "failed" for r in results["results"])
    assert failures > 0
    assert "= FAILURES =" in completed.stdout
    assert counts == {"controller": failures, "gw0": 0, "gw1": 0}


def test_each_test_goes_to_the_worker_that_owns_its_account():
    collection = [
        "tests_compliance/test_root_user.py::test_root_mfa[hub-123456789012]",
        "tests_compliance/test_root_user.py::test_root_mfa[prod-2024-000000000001-210000000001]",
        "tests_compliance/test_detection.py::test_guardduty_enabled[prod-210000000001-eu-west-1]",
        "tests_compliance/test_detection.py::test_guardduty_enabled[x-210000000002-ap-southeast-2]",
        "tests/unrelated.py::test_other",
    ]
    accounts = ["123456789012", "210000000001", "210000000002"]
    assert [account_of(n) for n in collection] == [*accounts[:2], "210000000001", "210000000002", None]
    dealt = owners(accounts, 3)
    assert sorted(dealt.values()) == [0, 1, 2]  # three accounts, three workers: one each
    shares = [share(collection, index, 3, accounts) for index in range(3)]
    assert sorted(p for s in shares for p in s) == list(range(len(collection)))  # each test exactly once
    for index, positions in enumerate(shares):
        for position in positions:
            account = account_of(collection[position])
            assert (dealt[account] if account else 0) == index
    # What a worker takes as its own (its facts unlocked, rootguard.distributed.sharing) is the same split.
    mine = [owned(accounts, index, 3) for index in range(3)]
    assert sorted(a for m in mine for a in m) == accounts
    assert all(dealt[a] == index for index, m in enumerate(mine) for a in m)


@pytest.mark.parametrize("accounts", [2, 3, 100, 101, 1000])
@pytest.mark.parametrize("workers", [2, 3, 4])
def test_the_workers_shares_of_the_accounts_differ_by_one_at_most_in_any_order(accounts, workers):
    ids = [f"{210000000000 + n * 7919:012d}" for n in range(accounts)]
    sizes = [len(owned(ids, index, workers)) for index in range(workers)]
    assert sum(sizes) == accounts and max(sizes) - min(sizes) <= 1
    # The controller and each worker deal alike, whatever order they hold the accounts in.
    assert owners(list(reversed(ids)), workers) == owners(ids, workers)


def test_a_shards_accounts_are_dealt_evenly_to_the_workers_too():
    from rootguard.accounts.resolution import in_shard

    ids = [f"{n:012d}" for n in range(1000, 1400)]
    in_first_shard = [a for a in ids if in_shard(a, 1, 2)]
    sizes = [len(owned(in_first_shard, index, 2)) for index in range(2)]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) > 0


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "two workers"])
def test_a_control_module_that_fails_to_load_leaves_an_incomplete_pack_and_no_gate_verdict(counting_server, tmp_path, workers):
    """xdist runs on past a collection error; the pack must not pass for a whole sweep, nor exit 0 or 1."""
    suite = tmp_path / "suite"
    shutil.copytree(REPO / "tests_compliance", suite, ignore=shutil.ignore_patterns("__pycache__"))
    broken = suite / "test_iam.py"
    broken.write_text('raise ImportError("a dependency of this module is missing")\n' + broken.read_text())
    completed, results, _ = sweep(counting_server, tmp_path, str(suite), *workers)

    assert completed.returncode == 2, completed.stdout[-2000:]
    assert results["complete"] is False
    assert results["not_loaded"] == ["test_iam.py"] or results["not_loaded"][0].endswith("test_iam.py")
    assert not any(r["control"] in ("password-policy", "iam-console-mfa", "break-glass-admins") for r in results["results"])
    assert "test_iam.py failed to load; the pack is marked incomplete" in completed.stdout


def test_a_control_travels_whole_with_its_first_verdict_then_by_id():
    from rootguard.controls import Control
    from rootguard.distributed.scheduling import verdict_data, verdict_from
    from rootguard.verdicts import Verdict

    def control(id, title):
        return Control(id=id, title=title, severity="high", rationale="why", remediation="how", facts=("iam.root_summary",),
                       frameworks={"soc2": ("CC6.1",)}, regional=False, passes_when="root has MFA")

    mfa, keys = control("root-mfa", "The root user has MFA"), control("root-no-access-keys", "No root access keys")
    verdicts = [
        Verdict(mfa, "123456789012", "hub", None, "passed", "ok", ["evidence/a.json"], ("iam:GetAccountSummary",), duration=0.5),
        Verdict(keys, "123456789012", "hub", None, "failed", "a key", ["evidence/b.json"], ("iam:GetAccountSummary",), duration=0.25),
        Verdict(mfa, "210000000001", "prod", None, "error", "refused", [], (), duration=0.125),
    ]
    sent: set = set()
    data = [verdict_data(v, reached=True, controls_sent=sent) for v in verdicts]
    assert ["control" in d for d in data] == [True, True, False]
    assert sent == {"root-mfa", "root-no-access-keys"}
    received: dict = {}
    back = [verdict_from(json.loads(json.dumps(d)), received) for d in data]
    assert back == verdicts
    assert back[2].control is back[0].control  # one object per control on the controller
    # Without the bookkeeping (a caller of its own), every verdict carries its control.
    assert verdict_from(verdict_data(verdicts[2], reached=False)) == verdicts[2]
