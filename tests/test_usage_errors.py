"""A wrong option value is one line naming the option and the fix, exit 4, no usage block, no pack."""

from __future__ import annotations

import argparse
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rootguard.frameworks import framework_keys
from rootguard.plugin import CHECKED_OPTIONS, account_id_option, framework_option, positive_int, processes_option, severity_option, shard_option
from rootguard.reports.exports import export_names, export_option
from rootguard.vocabulary import SEVERITIES
from tests.conftest import REPO

# The demo profile by path, with the controls' folder: the runs start in pytester's own folder.
DEMO = (str(REPO / "tests_compliance"), "--profile", str(REPO / "profiles" / "demo.yaml"))


def said(result) -> list[str]:
    return [line for line in result.errlines if line.strip()]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--gate-severity", "hgih"), "--gate-severity: 'hgih' is not a severity (low, medium, high, critical); did you mean 'high'?"),
        (("--framework", "SOC2"), "--framework: 'SOC2' is not a framework (soc2, iso27001, cis-v3, cis-v5, cis-v6, cis-v7, securityhub); did you mean 'soc2'?"),
        (("--account", "123"), "--account: '123' is not a 12-digit account id"),
        (("--account", "123456789012", "--account", "12345678901x"), "--account: '12345678901x' is not a 12-digit account id"),
        (("--shard", "3/2"), "--shard: '3/2' is not a shard I/N with 1 <= I <= N (like 2/4)"),
        (("--fetch-workers", "0"), "--fetch-workers: '0' is not a whole number of at least 1"),
        (("--fetch-processes", "two"), "--fetch-processes: 'two' is not auto or a whole number (0: fetch in this process alone)"),
        (("--export", "pdf"), "--export: 'pdf': choose from csv, xlsx, oscal, ocsf, comma-separated, or all or none"),
        (("--api-limit", "ec2=3"),
         "--api-limit: 'ec2=3': unknown family 'ec2'; one of organizations, iam-credential-report, iam-authorization-details, iam, sts"),
    ],
)
def test_bad_option_value_is_one_line(pytester, args, expected):
    pack = pytester.path / "pack"
    result = pytester.runpytest_subprocess(*DEMO, "--report-dir", str(pack), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    said = [line for line in result.errlines + result.outlines if line.strip()]
    assert said == [f"ERROR: {expected}"]
    assert not pack.exists()


def checked(check, value):
    try:
        return check(value), None
    except argparse.ArgumentTypeError as exc:
        return None, str(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_any_text_is_a_value_or_a_message_naming_it(text):
    """Whatever is typed, each check returns a value or a message that quotes it; nothing else escapes."""
    for check, _ in CHECKED_OPTIONS.values():
        value, message = checked(check, text)
        assert (value is None) != (message is None)
        if message is not None:
            assert repr(text) in message


@given(st.text(alphabet=string.digits, min_size=1, max_size=14))
def test_account_ids_are_twelve_digits(text):
    value, _ = checked(account_id_option, text)
    assert (value == text) == (len(text) == 12)


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=40))
def test_shards(index, total):
    value, _ = checked(shard_option, f"{index}/{total}")
    assert (value == (index, total)) == (1 <= index <= total)


@given(st.integers(min_value=-5, max_value=500))
def test_fetch_workers(number):
    value, _ = checked(positive_int, str(number))
    assert (value == number) == (number >= 1)


@given(st.integers(min_value=-5, max_value=500))
def test_fetch_processes(number):
    value, _ = checked(processes_option, str(number))
    assert (value == number) == (number >= 0)
    assert processes_option("auto") == "auto"


@given(st.sampled_from(SEVERITIES))
def test_severities_and_a_near_miss(severity):
    assert severity_option(severity) == severity
    _, message = checked(severity_option, severity.upper())
    assert message.endswith(f"did you mean {severity!r}?")


@given(st.lists(st.sampled_from(export_names()), min_size=1))
def test_export_lists(names):
    assert export_option(",".join(names)) == tuple(dict.fromkeys(names))


def test_framework_choices():
    for key in framework_keys():
        assert framework_option(key) == key
    assert checked(framework_option, "nist")[1].startswith("'nist' is not a framework")


def scenario_profile(pytester, scenario: str, extra: str = ""):
    (pytester.path / "scenario.yaml").write_text(scenario)
    profile = pytester.path / "p.yaml"
    profile.write_text(f"backend: moto\nscenario: {pytester.path / 'scenario.yaml'}\n{extra}")
    return profile


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--account", "999999999999"), "ERROR: --account 999999999999: not among the accounts of profile demo"),
        (("-k", "nomatch"), "ERROR: nothing selected: -k 'nomatch' matched no control; `pytest --profile demo --collect-only -q` lists them"),
        (("-m", "nosuchmark"), "ERROR: Unknown marker(s) in '-m' expression: nosuchmark. Use 'pytest --markers' to see available markers."),
        (("-k", "nomatch", "-n", "2"), "ERROR: nothing selected: -k 'nomatch' matched no control; `pytest --profile demo --collect-only -q` lists them"),
    ],
)
def test_usage_error_found_while_collecting_leaves_no_pack(pytester, args, expected):
    pack = pytester.path / "pack"
    result = pytester.runpytest_subprocess(*DEMO, "--report-dir", str(pack), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert expected in result.errlines
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)
    assert not pack.exists()


def test_a_chosen_folder_keeps_what_it_held(pytester):
    """An abandoned run takes back only its own files from a --report-dir that existed."""
    pack = pytester.path / "pack"
    pack.mkdir()
    (pack / "notes.txt").write_text("mine")
    result = pytester.runpytest_subprocess(*DEMO, "--report-dir", str(pack), "-k", "nomatch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert sorted(p.name for p in pack.iterdir()) == ["notes.txt"]


def test_empty_moto_scenario_is_one_line_without_a_pack(pytester):
    profile = scenario_profile(pytester, "regions: [us-east-1]\n")
    pack = pytester.path / "pack"
    result = pytester.runpytest_subprocess(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {pytester.path / 'scenario.yaml'}:1: scenario: missing required key 'accounts'" in result.errlines
    assert not pack.exists()


def test_no_credentials_is_one_line_without_a_pack(pytester, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(pytester.path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    profile = pytester.path / "live.yaml"
    profile.write_text("backend: live\nhome_region: us-east-1\nregions: [us-east-1]\norganization: {}\n")
    pack = pytester.path / "pack"
    result = pytester.runpytest_subprocess(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert said(result)[-1].startswith("ERROR: no AWS credentials found for the hub: set the profile's `credentials`")
    assert "_pytest.outcomes.Exit" not in "\n".join(result.outlines + result.errlines)
    assert not pack.exists()


def test_keygen_into_a_missing_folder(tmp_path, capsys):
    from rootguard.cli import main

    assert main(["keygen", "--private", str(tmp_path / "no" / "k.pem"), "--public", str(tmp_path / "k.pub")]) == 4
    assert capsys.readouterr().err.strip() == (
        f"rootguard keygen: {tmp_path / 'no' / 'k.pem'}: folder {tmp_path / 'no'} does not exist; make it first or choose another path"
    )
    assert not (tmp_path / "k.pub").exists()


def test_help_starts_with_how_to_run_a_sweep(capsys):
    from rootguard.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.split("\n\n")[1].startswith("A sweep runs the controls under pytest") and "  rootguard run --profile demo " in out


def test_a_moto_profile_that_lists_no_account_is_one_line_without_a_pack(pytester):
    profile = pytester.path / "p.yaml"
    profile.write_text(f"backend: moto\nscenario: {REPO / 'fixtures' / 'scenarios' / 'demo.yaml'}\n")
    pack = pytester.path / "pack"
    result = pytester.runpytest_subprocess(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert said(result)[-1] == (
        "ERROR: profile p reaches no account: list `accounts` or give `organization` "
        "(a moto profile's accounts are seeded from its scenario, and listed the same way)"
    )
    assert "INTERNALERROR" not in "\n".join(result.outlines + result.errlines)
    assert not pack.exists()
