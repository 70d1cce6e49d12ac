"""The pytest plugin: options, the run's state, parametrizing controls over accounts, outcomes and reports.

Installed as the `pytest11` entry point `rootguard.plugin`, so `--profile` is
known before pytest looks for test paths (see DESIGN.md), and named the same in
conftest.py's `pytest_plugins`, so pytest registers it once.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _pytest.config.findpaths import determine_setup

from rootguard.accounts import Account, Connector
from rootguard.controls import Control, Target
from rootguard.errors import AccountsError, RootguardError
from rootguard.evidence import write_fact
from rootguard.facts import FactStore, closure
from rootguard.frameworks import load_catalogs, unknown_ids
from rootguard.outcomes import Result, classify
from rootguard.profile import Profile, load_profile
from rootguard.reporting import matrix_lines, write_results
from rootguard.waivers import apply_waivers

RUN = pytest.StashKey["Run"]()
DEFAULT_PROFILE = "demo"
EXIT_AWS_UNREACHABLE = 6
TOPIC_ORDER = ("test_root_user", "test_cloudtrail", "test_monitoring", "test_account")


def account_id_option(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a 12-digit account id")
    return value


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rootguard", "rootguard compliance run")
    group.addoption("--profile", metavar="NAME|PATH", help="profile name in profiles/ or path to a profile YAML (default: demo)")
    group.addoption(
        "--account", metavar="ID", action="append", default=[], type=account_id_option,
        help="judge only this account (repeatable)",
    )
    group.addoption("--report-dir", metavar="DIR", help="write the evidence pack here instead of reports/<profile>/<UTC time>/")
    group.addoption("--fetch-workers", metavar="N", type=positive_int, default=16, help="accounts fetched at once (default 16)")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Undo pytest's guess that the value of `--profile PATH` is a test path.

    pytest settles rootdir and the ini file before it loads installed plugins, so
    in `pytest --profile /some/dir/p.yaml` it takes the path for a test path and
    roots the run in /some/dir, never reading the repo's pytest.ini. Now that
    --profile is known, settle them again from the real test paths.
    """
    namespace = early_config.known_args_namespace
    if not getattr(namespace, "profile", None):
        return
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(meta): a rootguard control; set by rootguard.controls.control")
    if not is_compliance_run(config):
        return
    run = Run(config)
    config.stash[RUN] = run
    config.pluginmanager.register(run, "rootguard-run")


def is_compliance_run(config: pytest.Config) -> bool:
    """A run with --profile, or one that collects tests_compliance/; the suite's own tests are neither."""
    if config.getoption("profile"):
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
    return Target(account, run.stores[account.id], run, region)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("control")
    if marker is None:
        return
    meta: Control = marker.args[0]
    run: Run | None = metafunc.config.stash.get(RUN, None)
    if run is None:
        pytest.fail(f"{metafunc.function.__name__}: control {meta.id} runs only in a rootguard run (--profile)", pytrace=False)
    problems = meta.check() + unknown_ids(meta.frameworks, run.catalogs())
    if "account" not in metafunc.fixturenames:
        problems.append("the test function must take the 'account' argument")
    if problems:
        pytest.fail(f"control {meta.id}: " + "; ".join(problems), pytrace=False)
    targets = [(a, None) for a in run.accounts]
    if meta.regional:
        targets = [(a, region) for a in run.accounts for region in run.regions_for(a)]
    ids = [f"{a.name}-{a.id}" + (f"-{region}" if region else "") for a, region in targets]
    metafunc.parametrize("account", targets, ids=ids, indirect=True)


class Run:
    """The state of one compliance run, registered with the plugin manager for its hooks."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.finished_at: dt.datetime | None = None
        self.profile: Profile = self._load_profile()
        self.accounts: list[Account] = []
        self.stores: dict[str, FactStore] = {}
        self.results: list[Result] = []
        self.caller: dict | None = None
        self.pack: Path | None = None
        self.complete = False
        self._catalogs = None
        self._mock = None
        self.connector: Connector | None = None
        self.hub_store: FactStore | None = None

    # --- setting up ------------------------------------------------------------------------

    def _load_profile(self) -> Profile:
        value = self.config.getoption("profile") or DEFAULT_PROFILE
        try:
            return load_profile(value, self.config.rootpath)
        except RootguardError as exc:
            raise pytest.UsageError(str(exc)) from None

    def catalogs(self):
        if self._catalogs is None:
            self._catalogs = load_catalogs()
        return self._catalogs

    @property
    def started_text(self) -> str:
        return self.started_at.isoformat().replace("+00:00", "Z")

    @property
    def finished_text(self) -> str | None:
        return self.finished_at.isoformat().replace("+00:00", "Z") if self.finished_at else None

    def _prepare_pack(self) -> Path:
        chosen = self.config.getoption("report_dir")
        if chosen:
            pack = Path(chosen)
        else:
            stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
            pack = self.config.rootpath / "reports" / self.profile.name / stamp
        try:
            pack.mkdir(parents=True, exist_ok=True)
            probe = pack / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise pytest.UsageError(f"--report-dir {pack}: cannot write there ({exc.strerror or exc})") from None
        return pack

    def _start_backend(self) -> None:
        if self.profile.backend != "moto":
            return
        from moto import mock_aws

        from fixtures import motoext, scenario

        motoext.install()
        self._mock = mock_aws()
        self._mock.start()
        try:
            scenario.seed(scenario.load_scenario(self.profile.scenario))
        except scenario.ScenarioError as exc:
            raise pytest.UsageError(str(exc)) from None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        self.pack = self._prepare_pack()
        self._start_backend()
        self.connector = Connector(self.profile, mocked=self.profile.backend == "moto")
        try:
            self.caller = self.connector.hub_identity()
            accounts = self.connector.resolve_accounts()
        except AccountsError as exc:
            pytest.exit(f"rootguard: {exc}", returncode=EXIT_AWS_UNREACHABLE)
        wanted = self.config.getoption("account")
        if wanted:
            known = {a.id for a in accounts}
            missing = [w for w in wanted if w not in known]
            if missing:
                raise pytest.UsageError(f"--account {', '.join(missing)}: not among the accounts of profile {self.profile.name}")
            accounts = [a for a in accounts if a.id in wanted]
        self.accounts = accounts
        self.stores = {a.id: self._store(a) for a in accounts}
        # Facts only the hub can read (an account's place in the organization, its SCPs) are
        # fetched once, through the hub's own account: its store if judged, else one of its own.
        hub_id = self.caller["Account"]
        self.hub_store = self.stores.get(hub_id) or self._store(Account(id=hub_id, name="hub", source="hub"))
        for store in self.stores.values():
            store.hub_store = self.hub_store

    def _store(self, account: Account) -> FactStore:
        return FactStore(account, self.connector, self.profile.regions, self.profile.home_region)

    def regions_for(self, account: Account) -> tuple[str, ...]:
        if self.profile.all_regions:
            try:
                return self.stores[account.id].regions()
            except RootguardError:
                return (self.profile.home_region,)
        return tuple(self.profile.regions)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Root user first, then its safety nets: the order of the report's columns.
        def topic(item: pytest.Item) -> int:
            module = getattr(item, "module", None)
            name = module.__name__.rsplit(".", 1)[-1] if module else ""
            return TOPIC_ORDER.index(name) if name in TOPIC_ORDER else len(TOPIC_ORDER)

        items.sort(key=topic)

    # --- fetching ahead --------------------------------------------------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.config.option.collectonly:
            return
        wanted: dict[str, dict[tuple, None]] = {}
        for item in session.items:
            marker = item.get_closest_marker("control")
            spec = getattr(item, "callspec", None)
            if marker is None or spec is None or "account" not in spec.params:
                continue
            account, region = spec.params["account"]
            for name in marker.args[0].facts:
                wanted.setdefault(account.id, {})[(name, region)] = None
        self.prefetch(wanted)

    def prefetch(self, wanted: dict[str, dict[tuple, None]]) -> None:
        """Fetch every fact the selected controls read, for all accounts at once (one worker per account)."""

        def fetch_account(account_id: str) -> None:
            store = self.stores[account_id]
            for name, region in wanted[account_id]:
                try:
                    store.get(name, region)
                except RootguardError:
                    pass  # kept in the store; the control reports it as `error`

        workers = min(self.config.getoption("fetch_workers"), max(1, len(wanted)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rootguard-fetch") as pool:
            list(pool.map(fetch_account, sorted(wanted)))

    # --- outcomes --------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        marker = item.get_closest_marker("control")
        if marker is None or not hasattr(item, "callspec"):
            return report
        if report.when == "teardown" or (report.when == "setup" and report.passed):
            return report
        meta: Control = marker.args[0]
        account, region = item.callspec.params["account"]
        target: Target | None = item.funcargs.get("account") if report.when == "call" else None
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        outcome, message = classify(
            call.excinfo, report.passed, report.skipped, reason, target.pass_message if target else ""
        )
        message = f"{account.label}{' ' + region if region else ''}: {message}"
        if outcome == "failed":
            outcome, message = apply_waivers(self.profile.waivers, meta.id, account.id, message, self.started_at.date())
        result = Result(
            control=meta,
            account_id=account.id,
            account_name=account.name,
            region=region,
            outcome=outcome,
            message=message,
            fact_keys=list(target.used) if target else [],
            duration=report.duration,
        )
        self.results.append(result)
        report.rootguard_outcome = outcome
        report.user_properties.append(("rootguard_outcome", outcome))
        if outcome == "waived":
            # An approved exception does not fail the run; it stays visible as `waived`.
            report.outcome, report.longrepr = "passed", None
        if report.failed:
            report.longrepr = message
        return report

    def pytest_report_teststatus(self, report, config):
        outcome = getattr(report, "rootguard_outcome", None)
        if outcome == "error" and report.when == "call":
            return "error", "E", "ERROR"
        if outcome == "waived":
            return "waived", "w", "WAIVED"
        return None

    # --- the end of the run ----------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        if self.pack is None or not self.accounts:
            return
        self.finished_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.complete = exitstatus not in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR) and not session.shouldstop
        self.write_pack()

    def write_pack(self) -> None:
        written: dict[tuple, str] = {}
        callers = {}
        for store in {id(s): s for s in [*self.stores.values(), self.hub_store] if s is not None}.values():
            identity = store.known(store.key_for("sts.caller_identity", None, {}))
            callers[store.account.id] = identity.value if identity is not None and identity.error is None else None
        for result in self.results:
            paths = []
            for store, fact_result in closure(result.fact_keys):
                if not fact_result.calls:
                    continue
                marker = (store.account.id, fact_result.key)
                if marker not in written:
                    written[marker] = write_fact(self.pack, store.account, callers.get(store.account.id), fact_result)
                paths.append(written[marker])
            result.evidence = sorted(set(paths))
        self.results_path = write_results(self.pack, self, self.results, self.complete)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if not self.accounts or not self.results:
            return
        controls = list(dict.fromkeys(r.control.id for r in self.results))
        terminalreporter.section(f"rootguard: profile {self.profile.name}, {len(self.accounts)} accounts x {len(controls)} controls")
        for line in matrix_lines(self.results, self.accounts, controls):
            terminalreporter.write_line(line)
        if getattr(self, "results_path", None):
            terminalreporter.write_line(f"results: {self.results_path}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

