"""The pytest plugin: options, the run's state, parametrizing controls over accounts, outcomes and reports.

Installed as the `pytest11` entry point `rootguard.plugin`, so `--profile` is
known before pytest looks for test paths (see DESIGN.md), and named the same in
conftest.py's `pytest_plugins`, so pytest registers it once.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import re
from pathlib import Path

import pytest
from _pytest.config.findpaths import determine_setup

from rootguard import resources
from rootguard.controls import Control, ControlFailure, Target
from rootguard.errors import FactError
from rootguard.facts.limits import DEFAULT_LIMITS, limit_option
from rootguard.frameworks import framework_keys, load_catalogs, unknown_ids
from rootguard.reports.exports import export_option
from rootguard.run import Run
from rootguard.vocabulary import ACCOUNT_ID, SEVERITIES

RUN = pytest.StashKey[Run]()
# rootguard's options that take a value: written `--option VALUE`, pytest first takes VALUE for a test path.
VALUE_OPTIONS = ("profile", "replay", "compare", "report_dir", "waivers")
TOPIC_ORDER = ("test_root_user", "test_organization", "test_iam", "test_cloudtrail", "test_log_storage", "test_monitoring", "test_detection", "test_account")


def account_id_option(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a 12-digit account id")
    return value


def positive_int(value: str) -> int:
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def processes_option(value: str) -> str | int:
    if value == "auto":
        return value
    if not re.fullmatch(r"[0-9]+", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not auto or a whole number (0: fetch in this process alone)")
    return int(value)


def shard_option(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"([0-9]+)/([0-9]+)", value)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"{value!r} is not a shard I/N with 1 <= I <= N (like 2/4)")
    return int(match.group(1)), int(match.group(2))


def framework_option(value: str) -> str:
    return chosen_from(value, framework_keys(), "a framework")


def severity_option(value: str) -> str:
    return chosen_from(value, SEVERITIES, "a severity")


def chosen_from(value: str, known, what: str) -> str:
    if value in known:
        return value
    near = difflib.get_close_matches(value.lower(), list(known), n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise argparse.ArgumentTypeError(f"{value!r} is not {what} ({', '.join(known)}){hint}")


# Options whose values rootguard checks itself once pytest has parsed them (dest: check,
# repeatable): argparse's own check prints pytest's whole usage block, where a wrong value
# deserves one line that names the option and the fix.
CHECKED_OPTIONS = {
    "account": (account_id_option, True),
    "fetch_workers": (positive_int, False),
    "fetch_processes": (processes_option, False),
    "api_limit": (limit_option, True),
    "framework": (framework_option, True),
    "gate_severity": (severity_option, False),
    "shard": (shard_option, False),
    "export": (export_option, False),
}


def check_options(config: pytest.Config) -> None:
    """Turn the checked options' text into values, or stop with one line naming the option (exit 4)."""
    for dest, (check, repeatable) in CHECKED_OPTIONS.items():
        value = getattr(config.option, dest, None)
        try:
            if repeatable:
                setattr(config.option, dest, [check(v) if isinstance(v, str) else v for v in value or []])
            elif isinstance(value, str):
                setattr(config.option, dest, check(value))
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"--{dest.replace('_', '-')}: {exc}") from None


def pytest_addhooks(pluginmanager) -> None:
    from rootguard import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rootguard", "rootguard compliance run")
    group.addoption("--profile", metavar="NAME|PATH", help="profile name in profiles/ or path to a profile YAML (default: demo)")
    group.addoption(
        "--account", metavar="ID", action="append", default=[],
        help="judge only this account (repeatable)",
    )
    group.addoption("--report-dir", metavar="DIR", help="write the evidence pack here instead of reports/<profile>/<UTC time>/")
    group.addoption(
        "--fetch-workers", metavar="N", default="128",
        help="facts fetched at once, across accounts: the bound on requests in flight (default 128; under -n, split between the workers)",
    )
    group.addoption(
        "--fetch-processes", metavar="N|auto", default="auto",
        help="processes that fetch the facts of a one-process sweep, each with its share of --fetch-workers "
        "(default auto: one per usable core, on Linux; 0: this process alone)",
    )
    group.addoption(
        "--api-limit", metavar="FAMILY=N", action="append", default=[],
        help="requests of one API family one account has in flight at once (repeatable; 0: no bound of its own; "
        f"defaults: {', '.join(f'{name}={n}' for name, n in DEFAULT_LIMITS.items())})",
    )
    group.addoption(
        "--framework", metavar="NAME", action="append", default=[],
        help=f"run only the controls mapped to this framework (repeatable; {', '.join(framework_keys())})",
    )
    group.addoption("--waivers", metavar="FILE", help="a YAML file of waivers, added to the profile's")
    group.addoption(
        "--gate-severity", metavar="SEVERITY",
        help="failed/error outcomes at or above this severity fail the run (default: the profile's gate.min_severity)",
    )
    group.addoption(
        "--shard", metavar="I/N",
        help="judge only shard I of N: accounts are split by a hash of their id, the same way in every job",
    )
    group.addoption("--replay", metavar="PACK", help="re-run the controls on a pack's recorded AWS responses, without AWS")
    group.addoption("--compare", metavar="PACK", help="list the outcomes that changed since an earlier pack")
    group.addoption(
        "--export", metavar="LIST",
        help="exchange formats written into the pack: csv, xlsx, oscal, ocsf, comma-separated, or all (default) or none",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Undo pytest's guess that the value of `--profile PATH` (or --replay PACK ...) is a test path.

    pytest settles rootdir and the ini file before it loads installed plugins, so
    in `pytest --profile /some/dir/p.yaml` it takes the path for a test path and
    roots the run in /some/dir, never reading the repo's pytest.ini. Now that
    --profile is known, settle them again from the real test paths.
    """
    namespace = early_config.known_args_namespace
    if not any(getattr(namespace, name, None) for name in VALUE_OPTIONS):
        return
    if not namespace.file_or_dir:
        # A sweep without test paths runs rootguard's controls, wherever it is run from: from
        # another folder pytest would collect that folder's files. Settled here, before the
        # rootdir, so that an installed suite runs with its own pytest.ini as a checkout does.
        controls = str(resources.folder("tests_compliance"))
        args.append(controls)
        namespace.file_or_dir = [controls]
    rootpath, inipath, inicfg, ignored = determine_setup(
        inifile=namespace.inifilename,
        override_ini=namespace.override_ini,
        args=namespace.file_or_dir,
        rootdir_cmd_arg=namespace.rootdir or None,
        invocation_dir=early_config.invocation_params.dir,
    )
    if (rootpath, inipath) == (early_config.rootpath, early_config.inipath):
        return
    had_ini = early_config.inipath is not None
    early_config._rootpath, early_config._inipath = rootpath, inipath
    early_config._inicfg, early_config._ignored_config_files = inicfg, ignored
    early_config._inicache.clear()
    parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
    if not had_ini and inipath is not None:
        addopts = list(early_config.getini("addopts"))
        args[:0] = addopts
        early_config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    early_config.known_args_namespace = namespace = parser.parse_known_args(args, namespace=copy.copy(early_config.option))
    if namespace.confcutdir is None:
        namespace.confcutdir = str(inipath.parent if inipath is not None else rootpath)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # First, so pytest-html, JUnit and Allure see the pack's paths when they configure.
    config.addinivalue_line("markers", "control(meta): a rootguard control; set by rootguard.controls.control")
    check_options(config)
    if not is_compliance_run(config):
        return
    run = Run(config)
    config.stash[RUN] = run
    # Registered before the other plugins' cleanups, so it runs after them (last in, first out):
    # pytest's final collection then skips the run's frozen objects.
    config.add_cleanup(run.unfreeze)
    config.pluginmanager.register(run, "rootguard-run")


def is_compliance_run(config: pytest.Config) -> bool:
    """A run with --profile or --replay, or one that collects tests_compliance/; the suite's own tests are neither."""
    if config.getoption("profile") or config.getoption("replay"):
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if "tests_compliance" in path.parts or path.name == "tests_compliance":
            return True
    return False


@pytest.fixture
def account(request: pytest.FixtureRequest) -> Target:
    """The account (and region) the control judges; parametrized by the plugin."""
    run: Run = request.config.stash[RUN]
    account, region = request.param
    return Target(account, run.stores[account.id], run.sweep, region)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("control")
    if marker is None:
        return
    meta: Control = marker.args[0]
    run: Run | None = metafunc.config.stash.get(RUN, None)
    if run is None:
        pytest.fail(f"{metafunc.function.__name__}: control {meta.id} runs only in a rootguard run (--profile)", pytrace=False)
    problems = meta.check() + unknown_ids(meta.frameworks, load_catalogs())
    if "account" not in metafunc.fixturenames:
        problems.append("the test function must take the 'account' argument")
    if problems:
        pytest.fail(f"control {meta.id}: " + "; ".join(problems), pytrace=False)
    accounts = run.sweep.accounts
    targets = [(a, None) for a in accounts]
    if meta.regional:
        targets = [(a, region) for a in accounts for region in run.regions_for(a)]
    ids = [f"{a.name}-{a.id}" + (f"-{region}" if region else "") for a, region in targets]
    metafunc.parametrize("account", targets, ids=ids, indirect=True)


def _verdict_repr(item: pytest.Item):
    """A verdict's failure is its message: no traceback source to parse for each failing account.

    pytest reads and parses the test module's source for every failing test; at thousands of
    failures that was a fifth of a sweep. An unexpected exception (a bug) keeps the traceback.
    """
    full = item.repr_failure

    def repr_failure(excinfo):
        if isinstance(excinfo.value, (ControlFailure, FactError)):
            return str(excinfo.value)
        return full(excinfo)

    return repr_failure


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if RUN not in config.stash:
        return

    # Root user first, then its safety nets: the order of the report's columns.
    def topic(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        name = module.__name__.rsplit(".", 1)[-1] if module else ""
        return TOPIC_ORDER.index(name) if name in TOPIC_ORDER else len(TOPIC_ORDER)

    items.sort(key=topic)
    for item in items:
        if item.get_closest_marker("control") is not None:
            item.repr_failure = _verdict_repr(item)
    frameworks = config.getoption("framework")
    if frameworks:
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("control")
            mapped = marker is not None and any(marker.args[0].frameworks.get(f) for f in frameworks)
            (keep if mapped else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
