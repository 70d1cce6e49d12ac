"""Trust under load and faults: no cross-account mix-ups, dead endpoints, SIGTERM while fetching."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from botocore.client import BaseClient
from botocore.exceptions import ConnectTimeoutError

from rootguard.cli import main as rootguard
from tests.conftest import REPO

SUITE = str(REPO / "tests_compliance")
STATES = [
    # (root yaml, expected root-mfa, root-hardware-mfa, root-access-keys)
    ("{mfa: hardware, password: true}", "passed", "passed", "passed"),
    ("{mfa: virtual, password: true}", "passed", "failed", "passed"),
    ("{mfa: none, password: true}", "failed", "failed", "passed"),
    ("{mfa: none, password: false, access_keys: []}", "passed", "passed", "passed"),
    ("{mfa: hardware, password: true, access_keys: [{active: false, created: {days_ago: 9}}]}", "passed", "passed", "failed"),
]


def test_fifty_accounts_judged_concurrently_each_on_its_own_state(pytester):
    lines = ["organization: {}", "accounts:", '  - id: "123456789012"', "    name: hub"]
    expected = {}
    for index in range(50):
        account_id = f"{300000000000 + index:012d}"
        root, mfa, hardware, keys = STATES[(index * 7) % len(STATES)]
        lines += [f'  - id: "{account_id}"', f"    name: acct-{index:02d}", f"    root: {root}"]
        expected[account_id] = {"root-mfa": mfa, "root-hardware-mfa": hardware, "root-access-keys": keys}
    scenario = pytester.path / "fifty.yaml"
    scenario.write_text("\n".join(lines) + "\n")
    profile = pytester.path / "fifty-profile.yaml"
    profile.write_text(f"backend: moto\nscenario: {scenario}\norganization: {{}}\n")
    pack = pytester.path / "pack"
    pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pack), "--fetch-workers", "16", "-k", "test_root_mfa or test_root_hardware_mfa or test_root_access_keys")
    data = json.loads((pack / "results.json").read_text())
    judged = {}
    for entry in data["results"]:
        judged.setdefault(entry["account_id"], {})[entry["control"]] = entry["outcome"]
        # Every message names the account it is about, and its evidence is that account's.
        assert entry["message"].startswith(f"{entry['account_name']} ({entry['account_id']})")
        assert all(path.startswith(f"evidence/{entry['account_id']}/") for path in entry["evidence"])
    for account_id, outcomes in expected.items():
        assert judged[account_id] == outcomes, account_id
    for path in (pack / "evidence").glob("3000000000*/sts.caller_identity*.json"):
        document = json.loads(path.read_text())
        assert document["calls"][0]["response"]["Account"] == document["account_id"]


def test_endpoint_that_does_not_answer_errors_that_account_only(judge, monkeypatch):
    real = BaseClient._make_api_call

    def dead_for_member(self, operation, params):
        credentials = self._request_signer._credentials
        if credentials is not None and credentials.method == "sts-assume-role" and operation != "AssumeRole":
            raise ConnectTimeoutError(endpoint_url="https://iam.amazonaws.com/")
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", dead_for_member)
    started = time.monotonic()
    verdicts = judge(
        'organization: {}\naccounts:\n  - id: "123456789012"\n    name: hub\n  - id: "210987654321"\n    name: member\n',
        "root-mfa",
    )
    assert time.monotonic() - started < 60
    assert verdicts.outcome("root-mfa", "member") == "error"
    assert "ConnectTimeoutError" in verdicts.message("root-mfa", "member")
    assert verdicts.outcome("root-mfa", "hub") == "passed"


SLOW_PLUGIN = """
import os
import time
from pathlib import Path
from botocore.client import BaseClient

real = BaseClient._make_api_call

def slow(self, operation, params):
    if operation == "GetAccountSummary":
        Path(os.environ["FETCHING_MARKER"]).touch()
        time.sleep(8)
    return real(self, operation, params)

BaseClient._make_api_call = slow
"""


def test_sigterm_while_fetching_leaves_an_incomplete_pack_that_verifies(tmp_path, capsys):
    (tmp_path / "slowaws.py").write_text(textwrap.dedent(SLOW_PLUGIN))
    pack = tmp_path / "pack"
    marker = tmp_path / "fetching"
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", FETCHING_MARKER=str(marker))
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "slowaws", "--profile", "demo", "--report-dir", str(pack), "-q"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # Wait until fetching has begun (GetAccountSummary is being asked, slowly), then stop it.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.2)
    assert marker.exists(), "fetching never started"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output
    data = json.loads((pack / "results.json").read_text())
    manifest = json.loads((pack / "manifest.json").read_text())
    assert data["complete"] is False and manifest["complete"] is False
    assert rootguard(["verify", str(pack)]) == 0
    assert "OK" in capsys.readouterr().out
