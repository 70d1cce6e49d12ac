"""One sweep, the same verdicts in every mode: one process (its own threads, or child processes
fetching), `-n 2`, shards plus merge, replay.

The demo organization (an organization trail whose bucket and log group are in the
management account, members with trails of their own) behind one moto server, swept as a
user would, in child processes. Every cell (control, account, region) must have the same
outcome and message in every mode. The runs are minutes apart against one seeded state,
so an age such as "2.0 h ago" may move by a tenth of an hour between them; only those
ages are set aside when messages are compared.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from rootguard.fixtures.server import moto_server
from tests.conftest import JUDGE_ONLY, REPO

DEMO_SCENARIO = REPO / "fixtures" / "scenarios" / "demo.yaml"
MANAGEMENT = "123456789012"  # holds the organization trail's bucket and log group
AGE = re.compile(r"\d+(\.\d+)? h ago")


@pytest.fixture(scope="module")
def endpoint():
    with moto_server(DEMO_SCENARIO) as url:
        yield url


@pytest.fixture(scope="module")
def where(tmp_path_factory, endpoint):
    folder = tmp_path_factory.mktemp("modes")
    (folder / "org.yaml").write_text(
        f"backend: live\nendpoint_url: {endpoint}\nhome_region: us-east-1\nregions: [us-east-1, eu-west-1]\n"
        "organization:\n  role_name: OrganizationAccountAccessRole\n"
    )
    return folder


def environment(where) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=str(where / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(where / "none"), AWS_EC2_METADATA_DISABLED="true")
    return env


def pytest_run(where, pack: str, *args: str, exits=(1,), env: dict | None = None, output: list | None = None) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--report-dir", str(where / pack), "-q", "-p", "no:cacheprovider",
         *JUDGE_ONLY, *args],  # verdicts are compared here, not their renderings
        cwd=REPO, env={**environment(where), **(env or {})}, capture_output=True, text=True, timeout=600,
    )
    assert "Traceback" not in completed.stdout + completed.stderr, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.returncode in exits, completed.stdout[-3000:] + completed.stderr[-3000:]  # the demo fails some controls
    if output is not None:
        output.append(completed.stdout + completed.stderr)
    return json.loads((where / pack / "results.json").read_text())


def rootguard(where, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rootguard.cli", *args], cwd=REPO, env=environment(where),
                          capture_output=True, text=True, timeout=300)


def cells(data: dict) -> dict:
    return {(r["control"], r["account_id"], r["region"]): (r["outcome"], AGE.sub("N h ago", r["message"])) for r in data["results"]}


def evidence_of(data: dict) -> dict:
    return {(r["control"], r["account_id"], r["region"]): r["evidence"] for r in data["results"]}


@pytest.fixture(scope="module")
def one_process(where):
    # Its own threads alone: the mode the others are held to (a sweep of live AWS on two cores
    # would otherwise fetch in child processes, --fetch-processes auto).
    return pytest_run(where, "one", "--profile", str(where / "org.yaml"), "--fetch-processes", "0")


def test_two_workers_shards_and_replays_judge_as_one_process(where, one_process):
    profile = str(where / "org.yaml")
    expected = cells(one_process)
    assert len(expected) == 138 and one_process["complete"]  # 6 members x (21 account-wide controls + guardduty in 2 regions)

    # Child processes fetching: the same verdicts, on the same evidence files.
    probe = where / "probe"
    probe.mkdir()
    (probe / "child_probe.py").write_text(CHILD_PROBE.format(marks=str(probe)))
    forked = pytest_run(where, "forked", "--profile", profile, "--fetch-processes", "2", "-p", "child_probe",
                        env={"PYTHONPATH": str(probe)})
    assert sorted(path.name for path in probe.glob("child-*")) == ["child-0", "child-1"]  # both children fetched
    assert cells(forked) == expected
    assert evidence_of(forked) == evidence_of(one_process)
    assert rootguard(where, "verify", str(where / "forked")).returncode == 0

    assert cells(pytest_run(where, "xdist", "--profile", profile, "-n", "2")) == expected

    # Shards: the management account (the trail's bucket and log group) is judged in one of
    # them; the other reads it, without judging it, for its members' trail controls.
    shards = [pytest_run(where, f"shard{i}", "--profile", profile, "--shard", f"{i}/2") for i in (1, 2)]
    reader = next(data for data in shards if MANAGEMENT not in {a["account_id"] for a in data["accounts"]})
    assert [a["account_id"] for a in reader["read_accounts"]] == [MANAGEMENT]
    assert [a["account_name"] for a in reader["read_accounts"]] == ["management"]
    merged = rootguard(where, "merge", str(where / "shard1"), str(where / "shard2"), "--output", str(where / "merged"))
    assert merged.returncode == 0 and "complete" in merged.stdout, merged.stdout + merged.stderr
    merged_data = json.loads((where / "merged" / "results.json").read_text())
    assert merged_data["complete"] and "read_accounts" not in merged_data  # every account read was judged by a shard
    assert cells(merged_data) == expected
    assert rootguard(where, "verify", str(where / "merged")).returncode == 0
    # Each verdict points at the reads it was judged on: another shard's reads of the same
    # thing are kept beside the judging shard's, never over them.
    for entry in merged_data["results"]:
        for path in entry["evidence"]:
            assert (where / "merged" / path).is_file(), path
    kept_apart = [p for r in merged_data["results"] for p in r["evidence"] if p.startswith("evidence/shards/")]
    assert kept_apart and all(f"/{MANAGEMENT}/" in p for p in kept_apart)

    for pack in ("one", "forked", "xdist", "merged"):
        replayed = pytest_run(where, f"replay-{pack}", "--replay", str(where / pack), exits=(0,))  # 0: every verdict reproduced
        assert cells(replayed) == expected, pack


# Loaded into the sweep with -p: each fetching process leaves a mark that it ran.
CHILD_PROBE = """
import pathlib
from rootguard.distributed import forked

original = forked._child


def _child(fetch, index, fd, stopping):
    pathlib.Path("{marks}", f"child-{{index}}").touch()
    return original(fetch, index, fd, stopping)


forked._child = _child
"""


# Loaded into the sweep with -p: the second of two fetching processes ends (exit code 3) once
# it has told the parent of its first account's facts.
DYING_CHILD = """
import os
from rootguard.distributed import forked

original = forked._child


def _child(fetch, index, fd, stopping):
    if index != 1:
        return original(fetch, index, fd, stopping)

    def fetch_then_die(index, tell):
        def tell_then_die(closed, errors, files):
            tell(closed, errors, files)
            if closed is not None:
                os._exit(3)

        fetch(index, tell_then_die)

    return original(fetch_then_die, index, fd, stopping)


forked._child = _child
"""


def test_a_fetching_process_that_dies_costs_time_not_a_verdict(where, one_process, tmp_path):
    (tmp_path / "dying_child.py").write_text(DYING_CHILD)
    output = []
    data = pytest_run(where, "dying", "--profile", str(where / "org.yaml"), "--fetch-processes", "2", "-p", "dying_child",
                      env={"PYTHONPATH": str(tmp_path)}, output=output)
    assert "rootguard: fetching process 2 of 2 ended with exit code 3; the facts it did not fetch were fetched as the tests asked for them" in output[0]
    assert data["complete"]
    assert cells(data) == cells(one_process)
    assert evidence_of(data) == evidence_of(one_process)
    assert rootguard(where, "verify", str(where / "dying")).returncode == 0


# Loaded into the sweep with -p: each fetching process holds back telling of every account but
# the first (the lowest id) until a test has run, or a minute has passed; the parent marks its
# first test.
FOLLOWING = """
import pathlib
import time
from rootguard.distributed import forked

original = forked._child
marks = pathlib.Path({marks!r})
ran = marks / "a-test-ran"


def _child(fetch, index, fd, stopping):
    deadline = time.monotonic() + 60

    def holding_back(index, tell):
        def tell_once_a_test_ran(closed, errors, files):
            if closed is not None and closed != {first!r}:
                while not ran.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                (marks / ("told-" + closed)).write_text("after a test" if ran.exists() else "before any test")
            tell(closed, errors, files)

        fetch(index, tell_once_a_test_ran)

    return original(holding_back, index, fd, stopping)


forked._child = _child


def pytest_runtest_call(item):
    ran.touch()
"""


def test_the_tests_start_while_the_children_still_fetch(where, one_process, tmp_path):
    first = min(a["account_id"] for a in one_process["accounts"])
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "following.py").write_text(FOLLOWING.format(marks=str(marks), first=first))
    started = time.monotonic()
    data = pytest_run(where, "following", "--profile", str(where / "org.yaml"), "--fetch-processes", "2", "-p", "following",
                      env={"PYTHONPATH": str(tmp_path)})
    assert time.monotonic() - started < 60  # no child waited out its minute
    told = {path.name: path.read_text() for path in marks.glob("told-*")}
    assert len(told) == len(one_process["accounts"]) - 1
    assert set(told.values()) == {"after a test"}  # a test ran before the children had told all accounts
    assert cells(data) == cells(one_process)
    assert evidence_of(data) == evidence_of(one_process)


def test_facts_that_do_not_pickle_are_read_back_from_their_files(where, one_process, tmp_path):
    # Every fact as though its value would not pickle: the parent reads each back from its
    # evidence file, as --replay does, and judges alike.
    marks = tmp_path / "read-back"
    (tmp_path / "no_pickles.py").write_text(
        "import pathlib\nfrom rootguard.distributed import forked\n"
        f"forked._portable = lambda fact: pathlib.Path({str(marks)!r}).touch()\n"  # None: no pickle
    )
    data = pytest_run(where, "from-files", "--profile", str(where / "org.yaml"), "--fetch-processes", "2", "-p", "no_pickles",
                      env={"PYTHONPATH": str(tmp_path)})
    assert marks.exists()  # the children sent no fact pickled
    assert cells(data) == cells(one_process)
    assert evidence_of(data) == evidence_of(one_process)


def test_a_merge_missing_a_shard_is_incomplete(where, one_process):
    profile = str(where / "org.yaml")
    for i in (1, 3):
        pytest_run(where, f"third{i}", "--profile", profile, "--shard", f"{i}/3", exits=(0, 1))
    merged = rootguard(where, "merge", str(where / "third1"), str(where / "third3"), "--output", str(where / "partial"))
    assert merged.returncode == 2
    assert "INCOMPLETE: shard(s) 2/3 not among the packs" in merged.stdout
    data = json.loads((where / "partial" / "results.json").read_text())
    assert data["complete"] is False and data["missing_shards"] == ["2/3"]

    if not (where / "shard2" / "manifest.json").is_file():  # made by the test above, unless another worker ran it
        pytest_run(where, "shard2", "--profile", profile, "--shard", "2/2", exits=(0, 1))
    mixed = rootguard(where, "merge", str(where / "third1"), str(where / "shard2"), "--output", str(where / "mixed"))
    assert mixed.returncode != 0 and "different splits" in mixed.stdout + mixed.stderr


def test_narrowing_with_account_reads_what_the_verdicts_need(where, one_process):
    member = next(r["account_id"] for r in one_process["results"]
                  if r["control"] == "cloudtrail-bucket-versioning" and f"in account management ({MANAGEMENT})" in r["message"])
    narrowed = pytest_run(where, "narrowed", "--profile", str(where / "org.yaml"), "--account", member)
    assert {a["account_id"] for a in narrowed["accounts"]} == {member}
    assert MANAGEMENT in {a["account_id"] for a in narrowed["read_accounts"]}
    expected = {key: value for key, value in cells(one_process).items() if key[1] == member}
    assert cells(narrowed) == expected


def test_in_process_moto_workers_seed_the_same_organization(tmp_path):
    """A `backend: moto` profile: each xdist worker seeds its own moto, and must build the same one."""
    def run(pack, *args):
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "--profile", "demo", "--report-dir", str(tmp_path / pack), "-q", "-p", "no:cacheprovider",
             *JUDGE_ONLY, *args],
            cwd=REPO, env=environment(tmp_path), capture_output=True, text=True, timeout=600,
        )
        assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]
        return json.loads((tmp_path / pack / "results.json").read_text())

    def same_clock(data):
        # The two runs start seconds apart and each seeds its ages back from its own start: the
        # ages in messages agree, the clock times they name may not.
        return {key: (outcome, re.sub(r"\d\d:\d\dZ", "HH:MMZ", message)) for key, (outcome, message) in cells(data).items()}

    alone, split = run("one"), run("two", "-n", "2")
    assert same_clock(split) == same_clock(alone)
    # moto's ids (detectors, the organization) are the same in every process.
    detector = re.compile(r"detector [0-9a-f]{32}")
    assert [detector.findall(r["message"]) for r in split["results"]] == [detector.findall(r["message"]) for r in alone["results"]]
    assert not [r for r in split["results"] if r["outcome"] == "error"]
