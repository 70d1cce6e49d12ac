"""Allure: one labelled result per verdict, evidence attached, outcomes mapped, and the single-file HTML report."""

import base64
import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from rootguard.reports.allure import BUILD_AT_RUN_END, CIS_BENCHMARK_URL, SEVERITY, allure_cli, securityhub_url
from rootguard.reports.allure_html import CATEGORIES, REPORT_FILE, external_resources, strip_analytics
from rootguard.cli import main as rootguard
from rootguard.frameworks import load_catalogs
from tests.conftest import REPO

DEMO = str(REPO / "profiles" / "demo.yaml")
SUITE = str(REPO / "tests_compliance")
MEMBER = "210987654321"
SCENARIO = f"""\
organization: {{}}
accounts:
  - id: "123456789012"
    name: hub
  - id: "{MEMBER}"
    name: member
"""
# The member has no budget: budget-alerts fails there, and this waiver turns it into `waived`.
WAIVER = f"""\
waivers:
  - control: budget-alerts
    accounts: ["{MEMBER}"]
    justification: spend is capped by the organization
    approved_by: ciso@example.com
    expires: 2099-12-31
"""


def unavailable(reason: str):
    """CI must run every check; a developer's machine may lack a tool, and is told which."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def allure_results(pack) -> list[dict]:
    return [json.loads(path.read_text()) for path in (pack / "allure-results").glob("*-result.json")]


def attachment(pack, result: dict, name: str):
    (found,) = [a for a in result["attachments"] if a["name"] == name]
    assert found["type"] == "application/json"
    return json.loads((pack / "allure-results" / found["source"]).read_text())


def labels(result: dict, name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def by_verdict(pack) -> dict:
    """Allure results keyed like results.json: (control, account_id, region), from each verdict attachment."""
    keyed = {}
    for result in allure_results(pack):
        verdict = attachment(pack, result, "verdict")
        key = (verdict["control"], verdict["account_id"], verdict["region"])
        assert key not in keyed, f"two Allure results for {key}"
        keyed[key] = (result, verdict)
    return keyed


def test_demo_gives_one_labelled_result_per_verdict_with_evidence(demo_pack):
    pack = demo_pack
    data = json.loads((pack / "results.json").read_text())
    allure = by_verdict(pack)
    assert set(allure) == {(r["control"], r["account_id"], r["region"]) for r in data["results"]}
    # rootguard's `account` fixture only names what the test's parameters already say: no
    # container of set-up and tear-down steps for it (other fixtures keep theirs:
    # test_only_rootguards_account_fixture_is_left_out_of_allure).
    assert not list((pack / "allure-results").glob("*-container.json"))

    for entry in data["results"]:
        result, verdict = allure[(entry["control"], entry["account_id"], entry["region"])]
        assert verdict["outcome"] == entry["outcome"] and verdict["message"] == entry["message"]
        assert labels(result, "rootguard_control") == [entry["control"]]
        assert labels(result, "severity") == [SEVERITY[entry["severity"]]]
        (story,) = labels(result, "story")
        assert story.startswith(f"{entry['control']}: ")
        tags, features, links = set(labels(result, "tag")), labels(result, "feature"), {link["url"] for link in result.get("links", [])}
        assert entry["control"] in tags
        for framework, ids in entry["frameworks"].items():
            if not ids:
                continue
            assert load_catalogs()[framework].label in labels(result, "epic")
            for requirement in ids:
                assert f"{framework}:{requirement}" in tags
                assert any(feature.split(" ", 1)[0] == requirement for feature in features), (requirement, features)
                if framework == "securityhub":
                    assert securityhub_url(requirement) in links
            if framework.startswith("cis-"):
                assert CIS_BENCHMARK_URL in links
        # Every verdict names its evidence files; one someone must act on carries them, with the
        # AWS responses, as they are in the pack: each file attached under its pack path, as
        # the file itself (a second name for it, not a copy).
        assert attachment(pack, result, "verdict")["evidence"] == entry["evidence"]
        attached = {a["name"]: a["source"] for a in result["attachments"] if a["name"] != "verdict"}
        if entry["outcome"] != "passed":
            assert sorted(attached) == entry["evidence"]
            for path, source in attached.items():
                assert (pack / "allure-results" / source).samefile(pack / path)
                assert attachment(pack, result, path)["calls"]
        else:
            assert not attached

    # A failure's attachment is the evidence itself: the credential report as IAM returned it.
    failed = [e for e in data["results"] if e["control"] == "root-mfa" and e["outcome"] == "failed"]
    assert failed, "the demo has accounts without root MFA"
    result, _ = allure[("root-mfa", failed[0]["account_id"], None)]
    assert result["status"] == "failed"
    path = f"evidence/{failed[0]['account_id']}/iam.credential_report--us-east-1.json"
    calls = {call["action"]: call for call in attachment(pack, result, path)["calls"]}
    assert "<root_account>" in calls["iam:GetCredentialReport"]["response"]["Content"]

    environment = (pack / "allure-results" / "environment.properties").read_text()
    for line in ("profile=demo\n", f"started_at={data['started_at']}\n", "complete=true\n", f"accounts={len(data['accounts'])}\n"):
        assert line in environment
    assert json.loads((pack / "allure-results" / "categories.json").read_text()) == CATEGORIES


def inject_access_denied(monkeypatch):
    """The member's GetAccountSummary is denied: root-mfa there ends in `error`."""
    real = BaseClient._make_api_call

    def call(self, operation, params):
        if operation == "GetAccountSummary" and self._request_signer._credentials.method == "sts-assume-role":
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "injected"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)


def run_mixed(pytester, monkeypatch):
    """Two accounts with a failure, an error (member root-mfa) and a waiver (member budget-alerts)."""
    scenario = pytester.path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    profile = pytester.path / "mixed.yaml"
    profile.write_text(
        f"backend: moto\nscenario: {scenario}\norganization:\n  role_name: OrganizationAccountAccessRole\n" + textwrap.dedent(WAIVER)
    )
    inject_access_denied(monkeypatch)
    pack = pytester.path / "pack"
    pytester.runpytest(SUITE, "--profile", str(profile), "--report-dir", str(pack))
    data = json.loads((pack / "results.json").read_text())
    outcomes = {(r["control"], r["account_id"]): r["outcome"] for r in data["results"]}
    assert outcomes[("root-mfa", MEMBER)] == "error"
    assert outcomes[("budget-alerts", MEMBER)] == "waived"
    return pack, data


def category(result: dict) -> str:
    """The categories.json rule an Allure 2 reader files a result under (it needs a full match)."""
    trace = (result.get("statusDetails") or {}).get("trace") or ""
    names = [
        rule["name"]
        for rule in CATEGORIES
        if result["status"] in rule["matchedStatuses"] and re.fullmatch(rule.get("traceRegex", r"[\s\S]*"), trace)
    ]
    assert len(names) <= 1, names
    return names[0] if names else ""


def test_error_is_broken_and_waived_is_skipped(pytester, monkeypatch):
    pack, data = run_mixed(pytester, monkeypatch)
    allure = by_verdict(pack)
    status = {key: result["status"] for key, (result, _) in allure.items()}
    for entry in data["results"]:
        expected = {"passed": "passed", "failed": "failed", "error": "broken", "skipped": "skipped", "waived": "skipped"}[entry["outcome"]]
        assert status[(entry["control"], entry["account_id"], entry["region"])] == expected, entry

    error, _ = allure[("root-mfa", MEMBER, None)]
    waived, verdict = allure[("budget-alerts", MEMBER, None)]
    failed, _ = allure[("budget-alerts", "123456789012", None)]
    assert "AccessDenied" in error["statusDetails"]["message"]
    assert verdict["outcome"] == "waived" and "waived until 2099-12-31" in verdict["message"]
    assert "waived until 2099-12-31, approved by ciso@example.com" in waived["statusDetails"]["trace"]
    assert (category(failed), category(error), category(waived)) == (
        "Non-compliant (failed)",
        "Could not judge (error)",
        "Waived exception",
    )
    skips = [result for key, (result, v) in allure.items() if v["outcome"] == "skipped"]
    assert all(category(result) == "Not applicable (skipped)" for result in skips)


def test_analytics_are_stripped_and_remote_resources_found():
    page = (
        '<html><head><link rel="icon" href="data:image/svg+xml,x"><link rel="stylesheet" href="data:text/css;base64,eA==">'
        '<style>@import url("https://fonts.example/a.css"); body { background: url(data:image/png;base64,AA) }</style></head>'
        '<body><a href="https://allurereport.org">Allure</a><script src="data:text/javascript;base64,eA=="></script>\n'
        '    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "    <script>\n        window.dataLayer = window.dataLayer || [];\n        gtag('config', 'G-X');\n    </script>\n"
        '<script defer>var data = 1;</script></body></html>'
    )
    stripped = strip_analytics(page)
    assert "googletagmanager" not in stripped and "dataLayer" not in stripped and "var data = 1" in stripped
    # A link a reader clicks is not a fetch; the @import is.
    assert external_resources(stripped) == ["css https://fonts.example/a.css"]
    assert external_resources(page)[-1].startswith("<script src=https://www.googletagmanager.com/")
    assert external_resources('<link rel="stylesheet" href="//cdn.example/x.css">') == ["<link href=//cdn.example/x.css>"]


@pytest.fixture(scope="module")
def allure_command():
    """The Allure 3 command line from package.json; installed here with npm ci when `make test-setup` did not."""
    command = allure_cli(REPO)
    if command is None:
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            unavailable("node and npm are needed for the Allure command line (npm ci)")
        try:
            completed = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=REPO, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            unavailable("npm ci took more than 10 minutes")
        if completed.returncode != 0:
            unavailable(f"npm ci failed: {(completed.stderr or completed.stdout).strip().splitlines()[-1:]}")
        command = allure_cli(REPO)
    assert command is not None
    return command


def embedded_files(html: str) -> dict[str, bytes]:
    """The data files the single-file awesome report carries inline, by their report path."""
    return {name: base64.b64decode(value) for name, value in re.findall(r'\bd\("([^"]+)","([A-Za-z0-9+/=]*)"\)', html)}


def test_single_file_html_report_built_at_run_end_and_by_rootguard_report(pytester, monkeypatch, capsys, allure_command):
    monkeypatch.setenv(BUILD_AT_RUN_END, "1")
    pack, data = run_mixed(pytester, monkeypatch)
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["allure_report"]["html_built"] is True, manifest["allure_report"]
    assert manifest["allure_report"]["html"] == REPORT_FILE and REPORT_FILE in manifest["files"]
    assert [p.name for p in (pack / "allure-report").iterdir()] == ["index.html"]

    html = (pack / REPORT_FILE).read_text()
    assert external_resources(html) == [] and "googletagmanager" not in html
    files = embedded_files(html)
    assert sum(1 for name in files if name.startswith("data/test-results/")) == len(data["results"])
    # Every attachment a result names made it into the report, a failed verdict's evidence files
    # (attached as links to them) among them.
    shown = b"".join(body for name, body in files.items() if name.startswith("data/test-results/"))
    assert b'"missed":true' not in shown and b'"name":"evidence/' in shown
    categories = json.loads(files["widgets/categories.json"])
    counted = {node["name"]: node["statistic"] for node in categories["nodes"].values() if node["type"] == "category"}
    outcomes = [r["outcome"] for r in data["results"]]
    failed, errors = outcomes.count("failed"), outcomes.count("error")
    assert counted["Non-compliant (failed)"] == {"total": failed, "failed": failed}
    assert counted["Could not judge (error)"] == {"total": errors, "broken": errors}
    assert counted["Waived exception"] == {"total": 1, "skipped": 1}
    environment = {item["name"]: item["values"] for item in json.loads(files["widgets/allure_environment.json"])}
    assert environment["profile"] == ["mixed"] and environment["started_at"] == [data["started_at"]]

    # Rebuilt from the pack later: the manifest is re-written and the pack still verifies.
    (pack / REPORT_FILE).unlink()
    assert rootguard(["verify", str(pack)]) == 1  # the missing report is noticed first ...
    assert rootguard(["report", str(pack), "--root", str(REPO)]) == 1  # ... and not laundered
    pack2 = pytester.path / "pack2"
    monkeypatch.delenv(BUILD_AT_RUN_END)
    pytester.runpytest(SUITE, "--profile", DEMO, "--report-dir", str(pack2), "--account", "555566667777")
    capsys.readouterr()
    assert json.loads((pack2 / "manifest.json").read_text())["allure_report"]["html_built"] is False
    assert rootguard(["report", str(pack2), "--root", str(REPO)]) == 0
    assert capsys.readouterr().out.strip() == f"rootguard report: {pack2 / REPORT_FILE}"
    rebuilt = json.loads((pack2 / "manifest.json").read_text())["allure_report"]
    assert rebuilt["html_built"] is True and rebuilt["html"] == REPORT_FILE and "reason" not in rebuilt
    assert rootguard(["verify", str(pack2)]) == 0
    assert external_resources((pack2 / REPORT_FILE).read_text()) == []


def test_a_signed_pack_keeps_its_signature_the_report_goes_outside_or_is_refused(tmp_path, capsys, demo_pack, allure_command):
    pack = tmp_path / "pack"
    shutil.copytree(demo_pack, pack)
    private, public = tmp_path / "signing.pem", tmp_path / "signing.pub.pem"
    assert rootguard(["keygen", "--private", str(private), "--public", str(public)]) == 0
    assert rootguard(["sign", str(pack), "--key", str(private)]) == 0
    manifest = (pack / "manifest.json").read_bytes()
    capsys.readouterr()

    assert rootguard(["report", str(pack), "--root", str(REPO)]) == 4
    said = capsys.readouterr()
    assert said.out == "" and len(said.err.strip().splitlines()) == 1
    assert "is signed or signed off" in said.err and "--output DIR" in said.err and f"rootguard sign {pack} --key" in said.err

    outside = tmp_path / "allure"
    assert rootguard(["report", str(pack), "--root", str(REPO), "--output", str(outside)]) == 0
    assert capsys.readouterr().out.strip() == f"rootguard report: {outside / REPORT_FILE} (outside the pack; its manifest is unchanged)"
    assert external_resources((outside / REPORT_FILE).read_text()) == []
    assert (pack / "manifest.json").read_bytes() == manifest and not (pack / REPORT_FILE).exists()
    assert rootguard(["verify", str(pack), "--key", str(public)]) == 0
    assert "signature valid" in capsys.readouterr().out


def test_a_signed_off_pack_is_refused_too(tmp_path, capsys, demo_pack):
    pack = tmp_path / "pack"
    shutil.copytree(demo_pack, pack)
    private, public = tmp_path / "reviewer.pem", tmp_path / "reviewer.pub.pem"
    assert rootguard(["keygen", "--private", str(private), "--public", str(public)]) == 0
    assert rootguard(["signoff", str(pack), "--key", str(private), "--reviewer", "Ann Auditor <ann@example.com>",
                      "--statement", "Reviewed the population and the failures."]) == 0
    manifest = (pack / "manifest.json").read_bytes()
    capsys.readouterr()
    assert rootguard(["report", str(pack), "--root", str(REPO)]) == 4
    assert "is signed or signed off" in capsys.readouterr().err
    assert (pack / "manifest.json").read_bytes() == manifest


def allure_items():
    from allure_commons.model2 import Label, Parameter, Status, StatusDetails, TestResult, TestResultContainer

    result = TestResult(
        uuid="r", name="test_root_mfa[Sécurité (210987654321)]", fullName="tests_compliance.test_root::test_root_mfa",
        historyId="h", status=Status.FAILED, start=1, stop=2,
        statusDetails=StatusDetails(message="root has no MFA — «hardware» wanted", trace="line\n\ttab", flaky=False),
        labels=[Label(name="tag", value="iso27001:A.5.17"), Label(name="rootguard_control", value="root-mfa")],
        parameters=[Parameter(name="account", value="member (210987654321)")],
    )
    return [result, TestResultContainer(uuid="c", name="account", children=["r"], start=1, stop=2)]


def test_evidence_is_attached_as_the_file_itself_or_else_a_copy_of_it(tmp_path, monkeypatch):
    import allure
    from allure_commons.model2 import TestResult
    from allure_commons.reporter import AllureReporter

    from rootguard.reports.allure import attach_files

    evidence = tmp_path / "evidence" / "123456789012" / "iam.summary--us-east-1.json"
    evidence.parent.mkdir(parents=True)
    evidence.write_text('{"calls": []}\n')
    results = tmp_path / "allure-results"
    results.mkdir()
    name = "evidence/123456789012/iam.summary--us-east-1.json"

    # allure-commons keeps its running items per thread, for every reporter: each test here is
    # dropped once looked at.
    def attached(link_fails: bool) -> Path:
        reporter, test = AllureReporter(), f"t-{link_fails}"
        reporter.schedule_test(test, TestResult(uuid=test))
        if link_fails:  # another file system, or one without hard links
            monkeypatch.setattr(os, "link", lambda source, target: (_ for _ in ()).throw(OSError(18, "cross-device link")))
        attach_files([(name, str(evidence))], reporter, str(results))
        (one,) = reporter.get_test(test).attachments
        reporter.drop_test(test)
        assert (one.name, one.type) == (name, "application/json") and one.source.endswith("-attachment.json")
        return results / one.source

    linked = attached(link_fails=False)
    assert linked.samefile(evidence)

    copied = attached(link_fails=True)
    assert not copied.samefile(evidence) and copied.read_bytes() == evidence.read_bytes()

    # Without allure-commons' own reporter running, allure's public call attaches it.
    calls = []
    monkeypatch.setattr(allure.attach, "file", lambda source, name, attachment_type: calls.append((source, name)))
    attach_files([(name, str(evidence))], None, None)
    assert calls == [(str(evidence), name)]


def test_a_file_under_two_names_is_hashed_once_and_verified_under_both(tmp_path, monkeypatch):
    from rootguard.evidence import pack as packs

    (tmp_path / "evidence").mkdir()
    (tmp_path / "allure-results").mkdir()
    (tmp_path / "evidence" / "a.json").write_text("{}\n")
    os.link(tmp_path / "evidence" / "a.json", tmp_path / "allure-results" / "x-attachment.json")
    (tmp_path / "results.json").write_text("{}\n")
    hashed = []
    real = packs.sha256_file
    monkeypatch.setattr(packs, "sha256_file", lambda path: hashed.append(os.path.basename(path)) or real(path))
    packs.write_manifest(tmp_path, {})
    files = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert files["evidence/a.json"] == files["allure-results/x-attachment.json"] == real(tmp_path / "results.json")
    assert sorted(hashed) == ["results.json", "x-attachment.json"]
    assert packs.verify(tmp_path).ok
    # Changing the file changes it under both names, and verify names both.
    (tmp_path / "evidence" / "a.json").write_text("{} \n")
    assert packs.verify(tmp_path).changed == ["allure-results/x-attachment.json", "evidence/a.json"]


@pytest.mark.parametrize("indent", ["", "1"])
def test_allure_files_are_written_as_allure_writes_them(tmp_path, monkeypatch, indent):
    import uuid

    from allure_commons.logger import AllureFileLogger

    from rootguard.reports.allure import write_allure_item

    monkeypatch.setenv("ALLURE_INDENT_OUTPUT", indent)
    monkeypatch.setattr(uuid, "uuid4", lambda: "fixed")
    theirs, ours = AllureFileLogger(tmp_path / "theirs"), AllureFileLogger(tmp_path / "ours")
    for item in allure_items():
        theirs._report_item(item)
        write_allure_item(ours, item)
    written = sorted(path.name for path in (tmp_path / "theirs").iterdir())
    assert written == ["fixed-container.json", "fixed-result.json"]
    assert sorted(path.name for path in (tmp_path / "ours").iterdir()) == written
    for name in written:
        ours_text, theirs_text = ((tmp_path / side / name).read_text(encoding="utf8") for side in ("ours", "theirs"))
        if indent:
            assert ours_text == theirs_text  # allure's own writer
        else:
            # The same document, its keys in the same order; only the spaces json.dump puts in are left out.
            assert json.loads(ours_text, object_pairs_hook=list) == json.loads(theirs_text, object_pairs_hook=list)
            assert ours_text == json.dumps(json.loads(theirs_text), separators=(",", ":"), ensure_ascii=False)
    assert "«hardware»".encode() in (tmp_path / "ours" / "fixed-result.json").read_bytes()


def test_a_run_writes_its_allure_files_with_the_quicker_writer(pytester, monkeypatch):
    import allure_commons
    from allure_commons.logger import AllureFileLogger

    from rootguard.reports.allure import write_allure_item

    seen = []

    class Probe:
        def pytest_runtest_call(self, item):
            seen.extend(
                getattr(vars(plugin).get("_report_item"), "__func__", None)
                for plugin in allure_commons.plugin_manager.get_plugins() if isinstance(plugin, AllureFileLogger)
            )

    scenario = pytester.path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    profile = pytester.path / "two.yaml"
    profile.write_text(f"backend: moto\nscenario: {scenario}\norganization:\n  role_name: OrganizationAccountAccessRole\n")
    monkeypatch.chdir(REPO)
    pack = pytester.path / "pack"
    result = pytester.runpytest_inprocess(
        SUITE, "--profile", str(profile), "--report-dir", str(pack), "-k", "test_root_mfa", plugins=[Probe()],
    )
    assert result.ret in (0, 1)
    assert seen and set(seen) == {write_allure_item}
    assert len(allure_results(pack)) == 2


FIXTURES_CONFTEST = """\
import pytest

from rootguard.reports.allure import leave_out_account_fixture


@pytest.fixture
def account():
    return "a conftest's own account"


@pytest.fixture
def other():
    yield 1


def pytest_collection_modifyitems(config, items):
    if config.getoption("leave_out"):
        config.left_out = leave_out_account_fixture(config.pluginmanager)


def pytest_addoption(parser):
    parser.addoption("--leave-out", action="store_true")


def pytest_terminal_summary(terminalreporter, config):
    terminalreporter.write_line(f"left out: {getattr(config, 'left_out', None)}")
"""


def fixture_containers(pytester, *args) -> list[tuple]:
    results = pytester.path / "results"
    shutil.rmtree(results, ignore_errors=True)
    outcome = pytester.runpytest_inprocess("--alluredir", str(results), "-p", "no:cacheprovider", *args)
    outcome.assert_outcomes(passed=2)
    assert f"left out: {True if args else None}" in outcome.stdout.lines
    tests = {result["uuid"]: result["name"] for result in map(json.loads, map(Path.read_text, results.glob("*-result.json")))}
    containers = []
    for path in results.glob("*-container.json"):
        container = json.loads(path.read_text())
        containers.append((
            tuple(before["name"] for before in container.get("befores", [])),
            tuple(sorted(after["name"] for after in container.get("afters", []))),
            tuple(sorted(tests[child] for child in container["children"])),
        ))
    return sorted(containers)


def test_only_rootguards_account_fixture_is_left_out_of_allure(pytester):
    """A conftest's fixtures, one named `account` too, are recorded as allure-pytest records them."""
    pytester.makeconftest(FIXTURES_CONFTEST)
    pytester.makepyfile(test_fixtures="def test_a(account, other):\n    assert account\n\ndef test_b(other):\n    assert other\n")
    allure_own = fixture_containers(pytester)
    assert ("account",) in {befores for befores, _, _ in allure_own}
    assert [children for befores, _, children in allure_own if befores == ("other",)] == [("test_a",), ("test_b",)]
    assert fixture_containers(pytester, "--leave-out") == allure_own


def test_rootguards_account_fixture_and_no_other_is_recognised():
    from types import SimpleNamespace

    from rootguard.reports.allure import is_account_fixture

    def rootguards():
        pass

    rootguards.__module__ = "rootguard.plugin"
    assert is_account_fixture(SimpleNamespace(argname="account", baseid="", func=rootguards))
    assert not is_account_fixture(SimpleNamespace(argname="account", baseid="tests_compliance", func=rootguards))
    assert not is_account_fixture(SimpleNamespace(argname="account", baseid="", func=lambda: None))
    assert not is_account_fixture(SimpleNamespace(argname="region", baseid="", func=rootguards))


def test_a_listener_that_is_not_allures_own_is_left_alone():
    from rootguard.reports.allure import leave_out_account_fixture

    class Manager:
        def __init__(self, plugin):
            self.plugin, self.calls = plugin, []

        def get_plugin(self, name):
            return self.plugin

        def unregister(self, plugin):
            self.calls.append("unregister")

        def register(self, plugin, name):
            self.calls.append("register")

    for plugin in (None, object()):
        manager = Manager(plugin)
        assert leave_out_account_fixture(manager) is False and manager.calls == []
