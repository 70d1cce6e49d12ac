"""Allure: labels for every control (framework, requirement, control), evidence attachments, and the HTML report.

allure-pytest writes allure-results/ into the pack; rootguard adds the labels and
links before the tests run, the evidence as each verdict is reached, and, at the
end, environment.properties and categories.json. The Allure 3 command line (npm
package `allure`, pinned in package.json) turns them into one self-contained HTML
file in the pack: `rootguard report PACK`, or at the end of a run when asked.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import types
import uuid
from pathlib import Path

import pytest

from rootguard.evidence.jsontext import compact, indented
from rootguard.reports import Reporter
from rootguard.reports.allure_html import CATEGORIES, RESULTS_DIR, build_html
from rootguard.reports.context import data_source

SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}
CIS_BENCHMARK_URL = "https://www.cisecurity.org/benchmark/amazon_web_services"
# Building the HTML at the end of a run is opt-in: it takes 3-5 s a run, and rootguard's own
# tests run the suite some sixty times. `rootguard report PACK` (make report) builds it any time.
BUILD_AT_RUN_END = "ROOTGUARD_ALLURE_HTML"
RUN_BUILD_TIMEOUT = 120



def securityhub_url(control_id: str) -> str:
    service, number = control_id.split(".", 1)
    return f"https://docs.aws.amazon.com/securityhub/latest/userguide/{service.lower()}-controls.html#{service.lower()}-{number}"


def control_markers(meta, catalogs: dict) -> list:
    """The Allure labels and links of one control, as pytest markers."""
    import allure

    markers = [
        allure.severity(SEVERITY[meta.severity]),
        allure.story(f"{meta.id}: {meta.title}"),
        allure.tag(meta.id),
        allure.label("rootguard_control", meta.id),
    ]
    for framework, ids in meta.frameworks.items():
        for requirement in ids:
            catalog = catalogs.get(framework)
            title = catalog.requirements.get(requirement, "") if catalog else ""
            framework_title = catalog.label if catalog else framework
            markers.append(allure.epic(framework_title))
            markers.append(allure.feature(f"{requirement} {title}".strip()[:120]))
            markers.append(allure.tag(f"{framework}:{requirement}"))
            if framework == "securityhub":
                markers.append(allure.link(securityhub_url(requirement), name=f"AWS Security Hub {requirement}"))
            elif framework.startswith("cis-"):
                markers.append(allure.link(CIS_BENCHMARK_URL, name=f"{framework_title} {requirement}"))
    markers.append(allure.description(f"{meta.rationale}\n\nRemediation: {meta.remediation}"))
    return markers


def label(items: list[pytest.Item], catalogs: dict) -> None:
    """Add Allure labels and links to every control test (markers allure-pytest reads at run time).

    A control's markers are made once and shared by its tests, one per account and region:
    made per test, they were a fifth of pytest's memory in an organization sweep.
    """
    made: dict[str, list] = {}
    for item in items:
        marker = item.get_closest_marker("control")
        if marker is None:
            continue
        meta = marker.args[0]
        markers = made.get(meta.id)
        if markers is None:
            markers = made[meta.id] = control_markers(meta, catalogs)
        for one in markers:
            item.add_marker(one)


def attach_verdict(result, files: list[tuple[str, str]] = (), running: tuple = (None, None)) -> None:
    """Attach the verdict to the running Allure test, then each of `files` ((name, path on disk)) as
    itself; `running` is allure_reporter()'s answer."""
    import allure

    # allure-pytest shows the `account` parameter as the repr of rootguard's Account object;
    # a reader wants the name and id (and region, where the control is regional).
    where = f"{result.account_name} ({result.account_id})" + (f" {result.region}" if result.region else "")
    allure.dynamic.parameter("account", where)
    verdict = {
        "control": result.control.id,
        "account_id": result.account_id,
        "account_name": result.account_name,
        "region": result.region,
        "outcome": result.outcome,
        "message": result.message,
        "evidence": result.evidence,
    }
    allure.attach(indented(verdict).decode("utf-8"), name="verdict", attachment_type=allure.attachment_type.JSON)
    if files:
        attach_files(files, *running)


def attach_files(files: list[tuple[str, str]], reporter, folder: str | None) -> None:
    """Attach each file ((name, path)) to the running Allure test, as a hard link to it in allure-results/.

    An evidence file is written once and never changed (the manifest holds its hash), so the
    attachment can be the same file under a second name: no bytes read, copied or stored
    twice. Failed verdicts carried copies of their evidence before: at 1000 accounts 300 MB of
    the pack's 855, and 3 s of the test loop. Where no link can be made (another file system,
    a file system without links) the file is copied, as allure.attach.file does; where the
    running reporter is not allure-commons' own, allure.attach.file attaches it.
    """
    import allure
    from allure_commons.model2 import Attachment

    current = getattr(reporter, "_last_executable", None)
    item = reporter.get_item(current()) if current is not None else None
    if item is None or folder is None:
        for name, path in files:
            allure.attach.file(path, name=name, attachment_type=allure.attachment_type.JSON)
        return
    for name, path in files:
        source = f"{uuid.uuid4()}-attachment.json"
        target = os.path.join(folder, source)
        try:
            os.link(path, target)
        except OSError:
            try:
                shutil.copyfile(path, target)
            except OSError:
                continue  # the verdict attachment still names the file
        item.attachments.append(Attachment(name=name, source=source, type="application/json"))


def allure_reporter() -> tuple:
    """allure-pytest's running reporter and the folder its file logger writes, each None when it is not there."""
    import allure_commons
    from allure_commons.reporter import AllureReporter

    reporters = [
        plugin.allure_logger for plugin in allure_commons.plugin_manager.get_plugins()
        if isinstance(getattr(plugin, "allure_logger", None), AllureReporter)
    ]
    loggers = allure_file_loggers()
    return (reporters[-1] if reporters else None), (os.fspath(loggers[-1]._report_dir) if loggers else None)


def allure_file_loggers() -> list:
    """allure-commons' own file loggers that are registered (allure-pytest registers one in its
    pytest_configure); a logger of a class someone derived from it is not one of them."""
    import allure_commons
    from allure_commons.logger import AllureFileLogger

    return [plugin for plugin in allure_commons.plugin_manager.get_plugins() if type(plugin) is AllureFileLogger]


def allure_cli(rootpath: Path) -> list[str] | None:
    """The Allure command line installed from package.json, run with this machine's node."""
    node = shutil.which("node")
    cli = (Path(rootpath) / "node_modules" / "allure" / "cli.js").resolve()  # it runs from another directory
    if node and cli.is_file():
        return [node, str(cli)]
    return None


def finish_allure_results(sweep, ending, config=None) -> dict:
    """environment.properties and categories.json, then the HTML report when asked for and the CLI is there."""
    results = sweep.pack / RESULTS_DIR
    if not results.is_dir():
        return {"results": None, "html_built": False, "reason": "allure-pytest wrote no results"}
    environment = {
        "profile": sweep.profile.name,
        "caller": sweep.caller.get("Arn") if sweep.caller else "",
        "suite_version": __import__("rootguard").__version__,
        "started_at": sweep.started_text,
        "finished_at": ending.finished_text or "",
        "accounts": str(len(sweep.accounts)),
        "complete": str(ending.complete).lower(),
        "data_source": data_source(sweep) or "AWS",
        "endpoint_url": sweep.profile.endpoint_url or "",
    }
    (results / "environment.properties").write_text(
        "".join(f"{key}={value}\n" for key, value in environment.items()), encoding="utf-8"
    )
    # Allure 2 and Allure 3's classic report read this file; Allure 3's awesome report takes
    # the same rules from its configuration (build_html passes them).
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
    status = {"results": RESULTS_DIR, "html_built": False}
    if os.environ.get(BUILD_AT_RUN_END, "").lower() not in ("1", "true", "yes"):
        status["reason"] = f"not built during the run ({BUILD_AT_RUN_END}=1 asks for it); `rootguard report PACK` builds it"
        return status
    command = allure_cli(sweep.rootpath)
    if command is None:
        status["reason"] = "the Allure command line is not installed (make report installs it)"
        return status
    status.update(build_html(command, sweep.pack, timeout=RUN_BUILD_TIMEOUT))
    reporter = config.pluginmanager.get_plugin("terminalreporter") if config is not None else None
    if reporter is not None:
        line = f"allure report: {sweep.pack / status['html']}" if status["html_built"] else f"allure report not built: {status['reason']}"
        reporter.write_line(line)
    return status


def allure_active(config) -> bool:
    return config is not None and bool(getattr(config.option, "allure_report_dir", None))


def write_allure_item(logger, item) -> None:
    """allure-pytest's AllureFileLogger._report_item, writing the same JSON document for less CPU.

    allure-commons writes each test's result, fixture container and so on with json.dump,
    which always runs the json module's pure-Python encoder, into a path made with pathlib: 1.7 s
    and 0.3 s of a 300-account sweep's 46 s of CPU, on the thread that runs the tests. Here the
    same document is written by orjson, without the spaces json.dump puts after each comma and
    colon (74 against 8 microseconds a result, measured on 2000 results of a 1000-account sweep;
    with the json module's C encoder, 2.7 s of the test loop at 1000 accounts), with os.path.
    ALLURE_INDENT_OUTPUT, allure's switch for indented files, keeps its own writer, as does any
    other kind of item or logger.
    """
    if os.environ.get("ALLURE_INDENT_OUTPUT"):
        type(logger)._report_item(logger, item)
        return
    filename = item.file_pattern.format(prefix=uuid.uuid4())
    final = os.path.join(logger._report_dir, filename)
    temporary = final + ".tmp"
    with open(temporary, "wb") as out:
        out.write(compact(allure_dict(item)))
    os.replace(temporary, final)


# Each allure model class's field names, in attrs' order.
_fields: dict[type, tuple[str, ...]] = {}


def allure_dict(item) -> dict:
    """The dict allure-commons writes for one of its model objects: attr.asdict(item, filter=lambda _, value:
    value or value is False), made without attrs' general walk (every value asked whether it is an
    attrs class, a collection or a mapping: 2.3 s of the test loop at 1000 accounts)."""
    names = _fields.get(item.__class__)
    if names is None:
        import attr

        names = _fields[item.__class__] = tuple(field.name for field in attr.fields(item.__class__))
    plain = {}
    for name in names:
        value = getattr(item, name)
        if value or value is False:
            kind = value.__class__
            plain[name] = value if kind is str or kind is int else _plain(value)
    return plain


def _plain(value):
    kind = value.__class__
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is list or isinstance(value, (list, tuple, set, frozenset)):
        return [allure_dict(each) if each.__class__ in _fields else _plain(each) for each in value]
    if isinstance(value, dict):
        return {_plain(key): _plain(each) for key, each in value.items()}
    if hasattr(kind, "__attrs_attrs__"):
        return allure_dict(value)
    return value


def quicken_allure_writer() -> list:
    """Give allure-pytest's file loggers write_allure_item; returns those it changed (allure-pytest registers one in its pytest_configure)."""
    changed = []
    for plugin in allure_file_loggers():  # its own class only: a logger someone derived may write differently
        if "_report_item" not in vars(plugin):
            # On the instance: the hooks allure registered call self._report_item.
            plugin._report_item = types.MethodType(write_allure_item, plugin)
            changed.append(plugin)
    return changed


def is_account_fixture(fixturedef) -> bool:
    """rootguard's own `account` fixture (rootguard.plugin.account), not one a conftest defines in its place."""
    return (
        fixturedef.argname == "account"
        and fixturedef.baseid == ""
        and getattr(fixturedef.func, "__module__", None) == "rootguard.plugin"
    )


@functools.cache
def listener_without_account_fixture() -> type:
    """allure-pytest's AllureListener, with rootguard's `account` fixture left out of what it records.

    allure-pytest records every fixture a test uses as a set-up and tear-down step, in a
    container file of its own. For a control that is rootguard's `account` fixture, which only
    names the account and region the test judges (they are already the test's parameters):
    every test got a container with a set-up step `account` and a tear-down step
    `account::<lambda>` (pytest's own finalizer, without a status), 23 files an account, and
    the tracking was about a sixth of the test loop's CPU. Any other fixture, a conftest's
    `account` included, is recorded as allure-pytest records it.
    """
    from allure_commons.model2 import TestResultContainer
    from allure_pytest.listener import AllureListener, _test_fixtures

    class ListenerWithoutAccountFixture(AllureListener):
        @pytest.hookimpl(hookwrapper=True)
        def pytest_fixture_setup(self, fixturedef, request):
            if is_account_fixture(fixturedef):
                return (yield)
            return (yield from AllureListener.pytest_fixture_setup(self, fixturedef, request))

        @pytest.hookimpl(hookwrapper=True)
        def pytest_fixture_post_finalizer(self, fixturedef):
            if is_account_fixture(fixturedef):
                return (yield)
            return (yield from AllureListener.pytest_fixture_post_finalizer(self, fixturedef))

        def _update_fixtures_children(self, item):
            # After set-up and after the call: the test's uuid joins each of its fixtures'
            # containers (allure-pytest starts one for a fixture that has none yet), the
            # fixtures found as allure-pytest finds them.
            test = self._cache.get(item.nodeid)
            for fixturedef in _test_fixtures(item):
                if is_account_fixture(fixturedef):
                    continue
                group_uuid = self._cache.get(fixturedef)
                if group_uuid is None:
                    group_uuid = self._cache.push(fixturedef)
                    self.allure_logger.start_group(group_uuid, TestResultContainer(uuid=group_uuid))
                if test not in self.allure_logger.get_item(group_uuid).children:
                    self.allure_logger.update_group(group_uuid, children=test)

    return ListenerWithoutAccountFixture


def leave_out_account_fixture(manager) -> bool:
    """Put listener_without_account_fixture() in place of allure-pytest's listener; False where there is none to change.

    The same listener object (allure-commons' hooks stay registered on it, and allure-pytest's
    cleanup finds it), registered again under its name so that pytest reads its new hooks.
    A listener of another class (someone's own) is left alone.
    """
    from allure_pytest.listener import AllureListener

    listener = manager.get_plugin("allure_listener")
    if type(listener) is not AllureListener:
        return False
    manager.unregister(listener)
    listener.__class__ = listener_without_account_fixture()
    manager.register(listener, "allure_listener")
    return True


class AllureVerdicts:
    """Where tests run: each control's labels before the tests, each verdict (and its evidence) as it is reached."""

    def __init__(self, sweep, catalogs: dict):
        self.sweep = sweep
        self.catalogs = catalogs
        self._running: tuple | None = None
        # Made once the accounts are known, after every plugin's pytest_configure (where
        # allure-pytest makes its file logger), in each process that runs tests.
        quicken_allure_writer()

    active = staticmethod(allure_active)

    def pytest_collection_modifyitems(self, config, items) -> None:
        label(items, self.catalogs)
        leave_out_account_fixture(config.pluginmanager)

    @pytest.hookimpl
    def pytest_rootguard_verdict(self, verdict, item, report) -> None:
        # Allure carries the evidence behind a verdict someone has to act on; behind a pass
        # it names the files. Every file stays in evidence/, hashed by the manifest.
        if verdict.outcome == "passed" or not verdict.evidence:
            attach_verdict(verdict)
            return
        if self._running is None:
            self._running = allure_reporter()  # registered by allure-pytest's pytest_configure, for the whole run
        pack = os.fspath(self.sweep.pack)
        attach_verdict(verdict, [(p, os.path.join(pack, p)) for p in verdict.evidence], self._running)


class AllureResults(Reporter):
    """At the end of the run: allure-results/'s environment and categories, and the HTML report when asked for."""

    name = "allure"
    active = staticmethod(allure_active)

    def finish(self, ending) -> dict:
        return finish_allure_results(self.sweep, ending, self.config)
