"""Whole runs: option forms, bad input, narrowing to accounts, and AWS failures ending as `error`."""

import json
import textwrap

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from rootguard.accounts import SESSION_NAME
from rootguard.run import GC_YOUNG_THRESHOLD
from tests.conftest import REPO

MEMBER = "210987654321"
ORG_SCENARIO = f"""\
organization: {{}}
accounts:
  - id: "123456789012"
    name: hub
  - id: "{MEMBER}"
    name: member
"""


def write_run_files(pytester, scenario=ORG_SCENARIO, profile_extra=""):
    scenario_path = pytester.path / "scenario.yaml"
    scenario_path.write_text(textwrap.dedent(scenario))
    profile_path = pytester.path / "org.yaml"
    profile_path.write_text(
        f"backend: moto\nscenario: {scenario_path}\norganization:\n  role_name: OrganizationAccountAccessRole\n" + profile_extra
    )
    return profile_path


def results(pack):
    return json.loads((pack / "results.json").read_text())


@pytest.mark.parametrize("form", ["space", "equals"])
def test_profile_path_in_another_directory_from_the_repo_root(pytester, monkeypatch, form):
    profile = write_run_files(pytester)
    pack = pytester.path / "pack"
    monkeypatch.chdir(REPO)
    option = ["--profile", str(profile)] if form == "space" else [f"--profile={profile}"]
    result = pytester.runpytest(*option, f"--report-dir={pack}", "-k", "test_root_mfa")
    # The repo's pytest.ini (testpaths) and conftest.py were read although the profile lives elsewhere.
    assert f"rootdir: {REPO}" in result.stdout.str()
    assert "configfile: pytest.ini" in result.stdout.str()
    assert result.ret == 0
    data = results(pack)
    assert {(r["control"], r["account_name"]) for r in data["results"]} == {("root-mfa", "hub"), ("root-mfa", "member")}


def test_profile_by_name_from_the_repo_root(pytester, monkeypatch):
    pack = pytester.path / "pack"
    monkeypatch.chdir(REPO)
    result = pytester.runpytest("--profile", "demo", "--report-dir", str(pack), "-k", "test_alternate_contacts")
    assert result.ret == 1  # the demo has non-compliant accounts by design
    data = results(pack)
    assert data["profile"] == "demo"
    assert len(data["results"]) == 7
    assert {r["outcome"] for r in data["results"]} == {"passed", "failed"}


@pytest.mark.parametrize(
    "profile_text, expected",
    [
        ("accounts:\n  - id: 12345\n", "accounts[0].id: write the account id in quotes"),
        ("acounts: []\n", ":1: acounts: unknown key"),
        ("accounts:\n  - id: \"123456789012\"\n    role_arn: arn:aws:iam::123456789012:group/x\n", ":3: accounts[0].role_arn:"),
        ("regions: [us-east-1\n", ": (file): invalid YAML"),
    ],
)
def test_bad_profile_is_one_line_no_traceback_exit_4(pytester, profile_text, expected):
    path = pytester.path / "bad.yaml"
    path.write_text(profile_text)
    result = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, result.errlines
    assert errors[0].startswith(f"ERROR: {path}:") and expected in errors[0]
    assert "Traceback" not in result.stdout.str() + "\n".join(result.errlines)


def test_missing_profile_name(pytester, monkeypatch):
    monkeypatch.chdir(REPO)
    result = pytester.runpytest("--profile", "no-such-profile")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.errlines[0] == (
        "ERROR: --profile no-such-profile: no profiles/no-such-profile.yaml (profiles available: demo, prod.example, vending.example)"
    )


def test_bad_scenario_is_one_line(pytester):
    profile = write_run_files(pytester, scenario="accounts:\n  - id: \"123456789012\"\n    rooot: {}\n")
    result = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "scenario.yaml:3:" in result.errlines[0] and "rooot" in result.errlines[0]
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)


def test_account_option_narrows_the_run(pytester):
    profile = write_run_files(pytester)
    pack = pytester.path / "pack"
    result = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack), "--account", MEMBER)
    assert result.ret in (0, 1)
    data = results(pack)
    assert {r["account_id"] for r in data["results"]} == {MEMBER}
    assert len(data["results"]) == 22  # 21 account-wide controls and guardduty-enabled in the one region


def test_unknown_or_malformed_account_option(pytester):
    profile = write_run_files(pytester)
    unknown = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--account", "999999999999")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    assert "--account 999999999999: not among the accounts of profile org" in "\n".join(unknown.errlines)
    malformed = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--account", "12")
    assert malformed.ret == pytest.ExitCode.USAGE_ERROR
    assert "'12' is not a 12-digit account id" in "\n".join(malformed.errlines)


def test_organization_that_cannot_be_listed_exits_6_in_one_line(pytester):
    profile = write_run_files(pytester, scenario='accounts:\n  - id: "123456789012"\n    name: hub\n')
    result = pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pytester.path / "pack"))
    assert result.ret == 6
    text = "\n".join(result.outlines + result.errlines)
    assert "rootguard: " in text and "AWSOrganizationsNotInUseException" in text
    assert "Traceback" not in text


# --- AWS failures: an `error`, never a pass, and only where they happen -------------------------


def inject(monkeypatch, decide):
    """Make chosen AWS calls of the suite fail; decide(client, operation, params) returns an error code or None."""
    real = BaseClient._make_api_call

    def call(self, operation, params):
        code = decide(self, operation, params)
        if code:
            raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)


@pytest.mark.parametrize("code", ["AccessDenied", "ThrottlingException", "InternalFailure"])
def test_aws_error_on_one_account_is_error_there_only(judge, monkeypatch, code):
    def decide(client, operation, params):
        # Only the member's calls fail: it is reached through AssumeRole, the hub is not.
        if operation == "GetAccountSummary" and client._request_signer._credentials.method == "sts-assume-role":
            return code
        return None

    inject(monkeypatch, decide)
    verdicts = judge(ORG_SCENARIO, "root-mfa")
    assert verdicts.outcome("root-mfa", "member") == "error"
    assert f"iam:GetAccountSummary failed: {code}" in verdicts.message("root-mfa", "member")
    assert verdicts.outcome("root-mfa", "hub") == "passed"
    assert "E" in verdicts.result.stdout.str()


def test_role_that_cannot_be_assumed_errors_every_control_of_that_account(judge, monkeypatch):
    inject(
        monkeypatch,
        lambda client, operation, params: "AccessDenied"
        if operation == "AssumeRole" and params.get("RoleSessionName") == SESSION_NAME and MEMBER in params.get("RoleArn", "")
        else None,
    )
    verdicts = judge(ORG_SCENARIO)
    member = [r for r in verdicts.data["results"] if r["account_id"] == MEMBER]
    assert len(member) == 22
    assert {r["outcome"] for r in member} == {"error"}
    assert all(f"sts:AssumeRole arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole failed: AccessDenied" in r["message"] for r in member)
    assert verdicts.outcome("root-mfa", "hub") == "passed"


def test_unexpected_response_shape_is_error(judge, monkeypatch):
    real = BaseClient._make_api_call

    def call(self, operation, params):
        response = real(self, operation, params)
        if operation == "GetAccountSummary":
            response["SummaryMap"].pop("AccountMFAEnabled", None)
        if operation == "DescribeTrails":
            response["trailList"] = "not a list"
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    verdicts = judge(ORG_SCENARIO)
    assert verdicts.outcome("root-mfa") == "error"
    assert "iam:GetAccountSummary: response has no 'AccountMFAEnabled'" in verdicts.message("root-mfa")
    assert verdicts.outcome("cloudtrail-multi-region") == "error"
    assert "cloudtrail:DescribeTrails: 'trailList' is str, not list" in verdicts.message("cloudtrail-multi-region")
    assert not [r for r in verdicts.data["results"] if r["outcome"] == "passed" and r["control"].startswith(("root-mfa", "cloudtrail"))]


def test_credentials_reaching_another_account_are_refused(pytester):
    # Listed without a role, the account is reached with the hub's credentials: those are 123456789012's.
    scenario = pytester.path / "scenario.yaml"
    scenario.write_text('accounts:\n  - id: "123456789012"\n    name: hub\n')
    profile = pytester.path / "p.yaml"
    profile.write_text(f'backend: moto\nscenario: {scenario}\naccounts:\n  - id: "444455556666"\n    name: elsewhere\n')
    pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pytester.path / "pack"))
    elsewhere = results(pytester.path / "pack")["results"]
    assert elsewhere and {r["outcome"] for r in elsewhere} == {"error"}
    assert "reach account 123456789012; refusing to judge it" in elsewhere[0]["message"]


def test_a_control_that_breaks_is_an_error_and_keeps_its_traceback(pytester):
    """A bug in a control (not a verdict) is `error`, and the report keeps where it happened."""
    scenario = pytester.path / "scenario.yaml"
    scenario.write_text('accounts:\n  - id: "123456789012"\n    name: hub\n')
    profile = pytester.path / "p.yaml"
    profile.write_text(f'backend: moto\nscenario: {scenario}\naccounts:\n  - id: "123456789012"\n    name: hub\n')
    pytester.makepyfile(
        test_broken="""
        from rootguard.controls import control

        @control(id="broken-control", title="A control with a bug", severity="low", rationale="r",
                 remediation="m", passes_when="p", facts=["iam.account_summary"], frameworks={})
        def test_broken_control(account):
            summary = account.fact("iam.account_summary")
            return summary["NoSuchKey"]["deeper"]
        """
    )
    result = pytester.runpytest("test_broken.py", "--profile", str(profile), "--report-dir", str(pytester.path / "pack"))
    (entry,) = results(pytester.path / "pack")["results"]
    assert entry["outcome"] == "error"
    assert entry["message"] == "hub (123456789012): could not judge: KeyError: 'NoSuchKey'"
    junit = (pytester.path / "pack" / "junit.xml").read_text()
    assert "test_broken.py" in junit and 'summary["NoSuchKey"]["deeper"]' in junit
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize("tb", [None, "short"])
def test_findings_are_listed_once_each_unless_a_traceback_style_is_chosen(pytester, tb):
    """pytest's FAILURES section rescans every report per failure (quadratic at organization scale)."""
    args = ["--tb", tb] if tb else []
    result = pytester.runpytest(
        str(REPO / "tests_compliance"), "--profile", str(REPO / "profiles" / "demo.yaml"),
        "--report-dir", str(pytester.path / "pack"), "-k", "test_root_mfa", *args,
    )
    failed = [r for r in results(pytester.path / "pack")["results"] if r["outcome"] == "failed"]
    out = result.stdout.str()
    assert len(failed) == 2
    assert ("= FAILURES =" in out) == (tb is not None)
    assert ("rootguard findings: 2 failed or error" in out) == (tb is None)
    for r in failed:
        assert (f"FAILED root-mfa: {r['message']}" in result.stdout.lines) == (tb is None)


def test_a_run_keeps_its_objects_out_of_the_collector_and_hands_them_back(pytester, monkeypatch):
    import gc

    profile = write_run_files(pytester)
    monkeypatch.chdir(REPO)
    frozen_during_tests, thresholds_during_tests, frozen_at_the_end = [], [], []

    class Probe:
        def pytest_runtest_call(self, item):
            frozen_during_tests.append(gc.get_freeze_count())
            thresholds_during_tests.append(gc.get_threshold())

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(self, session):
            frozen_at_the_end.append(gc.get_freeze_count())

    import rootguard.run

    registered = []
    monkeypatch.setattr(rootguard.run, "_leaving_to_the_os", False)
    monkeypatch.setattr(rootguard.run.atexit, "register", registered.append)
    before, threshold_before = gc.get_freeze_count(), gc.get_threshold()
    assert threshold_before[0] < GC_YOUNG_THRESHOLD
    result = pytester.runpytest_inprocess(
        "--profile", str(profile), "--report-dir", str(pytester.path / "pack"), "-k", "test_root_mfa", plugins=[Probe()]
    )
    assert result.ret == 0
    # The items and fetched facts are frozen while the controls run, and the youngest
    # generation is collected less often...
    assert len(frozen_during_tests) == 2 and min(frozen_during_tests) > before + 1000
    assert thresholds_during_tests == [(GC_YOUNG_THRESHOLD, *threshold_before[1:])] * 2
    # What the tests left (their reports and verdicts) is frozen too before the run's end writes the pack.
    assert len(frozen_at_the_end) == 1 and frozen_at_the_end[0] > max(frozen_during_tests) + 100
    # ...and the collector gets them back, at its own thresholds, when the run ends.
    assert gc.get_freeze_count() == before
    assert gc.get_threshold() == threshold_before
    # The process's exit, though, leaves whatever is still alive to the OS, registered once.
    assert registered == [rootguard.run.leave_to_the_os]
    rootguard.run.freeze_at_exit()
    assert registered == [rootguard.run.leave_to_the_os]


@pytest.mark.parametrize("left_to_the_os", [True, False])
def test_at_exit_the_collector_leaves_what_a_run_still_holds_to_the_os(tmp_path, left_to_the_os):
    import subprocess
    import sys

    # An object in a reference cycle is freed at exit by Python's collector, which runs its
    # finalizer; frozen at exit, it is left to the OS with the process, finalizer unrun.
    marker = tmp_path / "finalized"
    script = textwrap.dedent(f"""
        import rootguard.run

        class Held:
            def __del__(self, open=open, path={str(marker)!r}):  # bound now: builtins may be gone by then
                open(path, "w").close()

        held = Held()
        held.cycle = held
        if {left_to_the_os!r}:
            rootguard.run.freeze_at_exit()
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker.exists() is not left_to_the_os


def test_a_tests_reports_share_one_copy_of_its_keywords(pytester, monkeypatch):
    profile = write_run_files(pytester)
    monkeypatch.chdir(REPO)
    recorder = pytester.inline_run("--profile", str(profile), "--report-dir", str(pytester.path / "pack"), "-k", "test_root_mfa")
    reports = [r for r in recorder.getreports("pytest_runtest_logreport") if "test_root_mfa[" in r.nodeid]
    by_test: dict[str, list] = {}
    for report in reports:
        by_test.setdefault(report.nodeid, []).append(report)
    assert len(by_test) == 2 and all(len(phases) == 3 for phases in by_test.values())
    for nodeid, phases in by_test.items():
        # One dictionary for setup, call and teardown, still naming this test and its marks.
        assert len({id(r.keywords) for r in phases}) == 1
        assert nodeid.rsplit("::", 1)[1] in phases[0].keywords and "control" in phases[0].keywords
    first, second = by_test.values()
    assert first[0].keywords is not second[0].keywords
