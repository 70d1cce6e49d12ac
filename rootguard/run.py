"""One compliance run: its accounts and facts, each verdict as it happens, and the evidence pack at the end.

`Run` is registered with pytest's plugin manager by rootguard.plugin; its hook
methods carry a run from profile to pack: accounts and fact stores at collection,
facts fetched ahead for all accounts at once, one outcome per (control, account)
as each test ends, then results.json, the framework matrix and the manifest.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rootguard import __version__
from rootguard.accounts import Account, Connector
from rootguard.accounts.resolution import in_shard, resolve_accounts
from rootguard.controls import Control, ControlFailure, Target
from rootguard.distributed.scheduling import make_scheduler, node_index, result_data, result_from, worker_input
from rootguard.errors import AccountsError, FactError, RootguardError
from rootguard.evidence.documents import json_default, redact, write_fact
from rootguard.facts import FactResult, FactStore, closure
from rootguard.frameworks import framework_matrix, load_catalogs
from rootguard.verdicts import Result, classify
from rootguard.evidence.pack import MANIFEST, PackError, verify, write_json_atomic, write_manifest
from rootguard.profile import Profile, load_profile
from rootguard.evidence.replay import RecordedCalls, RecordedRun, ReplayConnector, settings_of
from rootguard.reports.terminal import compare_results, comparison_lines, matrix_lines, write_results
from rootguard.distributed.sharing import SharedFacts
from rootguard.gate import EXIT_AWS_UNREACHABLE, decide
from rootguard.profile.waivers import apply_waivers, load_waivers_file, waiver_usage

DEFAULT_PROFILE = "demo"


class Run:
    """The state of one compliance run, registered with the plugin manager for its hooks."""

    def __init__(self, config: pytest.Config):
        self.config = config
        # Under pytest-xdist: the controller resolves the accounts and writes the pack's summary
        # files; each worker judges its own share of the accounts (see rootguard/distributed.py).
        self.worker: dict | None = getattr(config, "workerinput", {}).get("rootguard")
        self.distributed = False  # this process is an xdist controller
        self.list_findings = False
        self.expected_results: int | None = None
        self.reached: set[str] = set()
        self.account_regions: dict[str, tuple[str, ...]] = {}
        self.started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        if self.worker:
            self.started_at = dt.datetime.fromisoformat(self.worker["started_at"])
        self.finished_at: dt.datetime | None = None
        self.replaying: RecordedRun | None = None
        self.profile: Profile = self._load_profile()
        self.accounts: list[Account] = []
        self.stores: dict[str, FactStore] = {}
        self.hub_store: FactStore | None = None
        self.results: list[Result] = []
        self.caller: dict | None = None
        self.complete = False
        self.comparison: dict | None = None
        self.results_path: Path | None = None
        self.gate = None
        self._catalogs = None
        self._mock = None
        self._frozen = False
        self.connector = None
        self._evidence: dict[tuple, str] = {}  # (account id, fact key) -> evidence path
        self._evidence_lock = threading.Lock()
        self._evidence_writing: dict[tuple, threading.Lock] = {}  # files being written, by marker
        # Fetch threads write evidence as facts arrive; once the pack is being finished (an
        # interrupted run leaves requests in flight) they write nothing more, so that the
        # manifest covers every file.
        self._early_writes = threading.Condition()
        self._early_writers = 0
        self._evidence_closed = False
        self._previous_sigterm = None
        self.stopping = threading.Event()
        self.pack = self._prepare_pack()
        # Under pytest-xdist: the controller's folder of lock files through which the workers
        # fetch each fact once (rootguard.distributed.sharing); a worker's view of it.
        self._fact_locks: str | None = None
        self._shared_facts: SharedFacts | None = None
        if self.worker and self.worker.get("fact_locks") and os.path.isdir(self.worker["fact_locks"]):  # not on another machine
            self._shared_facts = SharedFacts(str(self.pack), self.worker["fact_locks"], self._write_evidence_early)
        self._route_reports()
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    # --- setting up ------------------------------------------------------------------------

    def _load_profile(self) -> Profile:
        try:
            replay = self.config.getoption("replay")
            if replay:
                checked = verify(Path(replay))
                if not checked.ok:
                    differ = checked.changed + checked.added + checked.missing
                    raise PackError(f"--replay {replay}: {len(differ)} file(s) differ from its manifest ({differ[0]} ...); "
                                    f"see `rootguard verify {replay}`")
                self.replaying = RecordedRun(Path(replay))
                self.recorded_calls = RecordedCalls(self.replaying.pack)
                self.started_at = self.replaying.started_at()  # judge the moment the evidence was taken
                return self.replaying.profile()
            profile = load_profile(self.config.getoption("profile") or DEFAULT_PROFILE, self.config.rootpath)
            extra = self.config.getoption("waivers")
            if extra:
                profile.waivers = profile.waivers + load_waivers_file(extra)
            gate = self.config.getoption("gate_severity")
            if gate:
                profile.min_severity = gate
            return profile
        except (RootguardError, PackError) as exc:
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
        if self.worker:
            return Path(self.worker["pack"])  # made and checked by the controller
        chosen = self.config.getoption("report_dir")
        if chosen:
            pack = Path(chosen)
        else:
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            kind = "replay-" if self.replaying else ""
            pack = self.config.rootpath / "reports" / self.profile.name / f"{kind}{stamp}"
        try:
            pack.mkdir(parents=True, exist_ok=True)
            probe = pack / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise pytest.UsageError(f"report directory {pack}: cannot write there ({exc.strerror or exc})") from None
        if (pack / MANIFEST).exists():
            raise pytest.UsageError(f"report directory {pack} already holds an evidence pack; choose an empty one")
        return pack

    def _route_reports(self) -> None:
        """Point pytest-html, JUnit and Allure into the pack, unless the user chose other paths."""
        option = self.config.option
        if hasattr(option, "htmlpath") and not option.htmlpath:
            option.htmlpath = str(self.pack / "report.html")
            option.self_contained_html = True
            option.css = [*getattr(option, "css", []), str(Path(__file__).with_name("report.css"))]
        if not getattr(option, "xmlpath", None):
            option.xmlpath = str(self.pack / "junit.xml")
        if hasattr(option, "allure_report_dir") and not option.allure_report_dir:
            option.allure_report_dir = str(self.pack / "allure-results")

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

    def _on_sigterm(self, signum, frame):
        # A CI job being cancelled: stop like Ctrl-C, so the pack is finished and marked incomplete.
        raise KeyboardInterrupt("SIGTERM")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # An xdist controller hands the accounts to its workers as they start (after this hook),
        # so the organization is enumerated once, here, and no worker repeats it.
        if self.worker is None and self.config.pluginmanager.hasplugin("dsession"):
            self.distributed = True
            self.connect()
            if self.profile.all_regions:
                self.account_regions = dict(zip(self.stores, self._map(lambda store: self._regions(store), list(self.stores.values()))))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        if self.connector is None:
            self.connect()

    def connect(self) -> None:
        """Reach the hub, resolve the accounts of the run and make a fact store for each."""
        if self.replaying:
            self.connector = ReplayConnector(self.recorded_calls)
            self.caller = self.replaying.caller()
            accounts = self.replaying.accounts()
        else:
            self._start_backend()
            self.connector = Connector(
                self.profile, mocked=self.profile.backend == "moto", threads=self.config.getoption("fetch_workers")
            )
            if self.worker:
                self.caller = self.worker["caller"]
                accounts = [Account(**fields) for fields in self.worker["accounts"]]
            else:
                try:
                    self.caller = self.connector.hub_identity()
                    accounts = resolve_accounts(self.connector, self.config.getoption("account"))
                except AccountsError as exc:
                    pytest.exit(f"rootguard: {exc}", returncode=EXIT_AWS_UNREACHABLE)
        if self.worker:
            self.account_regions = {k: tuple(v) for k, v in self.worker["regions"].items()}
        wanted = self.config.getoption("account")
        if wanted:
            known = {a.id for a in accounts}
            missing = [w for w in wanted if w not in known]
            if missing:
                raise pytest.UsageError(f"--account {', '.join(missing)}: not among the accounts of profile {self.profile.name}")
            accounts = [a for a in accounts if a.id in wanted]
        shard = self.config.getoption("shard")
        if shard:
            accounts = [a for a in accounts if in_shard(a.id, *shard)]
        self.accounts = accounts
        self.stores = {a.id: self._store(a) for a in accounts}
        # Facts only the hub can read (an account's place in the organization, its SCPs) are
        # fetched once, through the hub's own account: its store if judged, else one of its own.
        hub_id = self.caller["Account"]
        self.hub_store = self.stores.get(hub_id) or self._store(Account(id=hub_id, name="hub", source="hub"))
        for store in {*self.stores.values(), self.hub_store}:
            store.hub_store = self.hub_store
            store.peers = self.stores.get
        self._describe_environment()

    def _store(self, account: Account) -> FactStore:
        store = FactStore(account, self.connector, self.profile.regions, self.profile.home_region)
        store.stopping = self.stopping
        store.on_fetched = self._write_evidence_early
        store.shared = self._shared_facts
        return store

    def _describe_environment(self) -> None:
        """The run's metadata in pytest-html's environment table."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        metadata = self.config.stash.get(metadata_key, None)
        if metadata is None:
            return
        metadata["rootguard profile"] = self.profile.name
        metadata["rootguard caller"] = str(self.caller.get("Arn"))
        metadata["rootguard suite version"] = __version__
        metadata["rootguard started (UTC)"] = self.started_text
        metadata["rootguard accounts"] = str(len(self.accounts))
        if self.replaying:
            metadata["rootguard replay of"] = str(self.replaying.pack)

    def regions_for(self, account: Account) -> tuple[str, ...]:
        if self.profile.all_regions:
            if account.id in self.account_regions:
                return self.account_regions[account.id]
            return self._regions(self.stores[account.id])
        return tuple(self.profile.regions)

    def _regions(self, store: FactStore) -> tuple[str, ...]:
        try:
            return store.regions()
        except RootguardError:
            return (self.profile.home_region,)

    def _map(self, function, items: list) -> list:
        """function over items on the fetch pool; Ctrl-C or SIGTERM stops it starting more."""
        workers = min(self.config.getoption("fetch_workers"), max(1, len(items)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rootguard-fetch")
        try:
            done = list(pool.map(function, items))
        except BaseException:
            # The requests already in flight finish (or time out) in the background.
            self.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return done

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
        # The items, and each account's facts once fetched, live until the run ends. Python's
        # full collections would walk all of them again and again as more pile up (2.4 s of
        # 34 at 100 accounts, and O(N log N) in the accounts); frozen, they are left out until
        # the run's last cleanup. Freezing is O(1).
        gc.freeze()
        self._frozen = True
        self.prefetch(wanted)
        gc.freeze()

    def unfreeze(self) -> None:
        """Hand the run's objects back to the garbage collector (a cleanup, after pytest's last collection)."""
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    def prefetch(self, wanted: dict[str, dict[tuple, None]]) -> None:
        """Fetch every fact the selected controls read, for all accounts at once (one worker per account)."""

        def fetch_account(account_id: str) -> None:
            store = self.stores[account_id]
            for name, region in wanted[account_id]:
                try:
                    store.get(name, region)
                except RootguardError:
                    pass  # kept in the store; the control reports it as `error`
            store.release_clients()
            if self._frozen:  # not after an interrupted run's cleanup, which a late thread can outlive
                gc.freeze()

        if self.worker:
            # This worker judges its own share of the accounts; xdist sends it their tests only.
            from rootguard.distributed.scheduling import owner

            mine = int(self.worker["index"])
            wanted = {a: facts for a, facts in wanted.items() if owner(a, int(self.worker["count"])) == mine}
        # Ctrl-C or SIGTERM: start no more accounts or requests and write the pack now.
        self._map(fetch_account, sorted(wanted))

    # --- outcomes --------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        marker = item.get_closest_marker("control")
        if marker is None or not hasattr(item, "callspec"):
            return report
        share_keywords(item, report)
        if report.when == "teardown" or (report.when == "setup" and report.passed):
            return report
        meta: Control = marker.args[0]
        account, region = item.callspec.params["account"]
        target: Target | None = item.funcargs.get("account") if report.when == "call" else None
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        outcome, message = classify(call.excinfo, report.passed, report.skipped, reason, target.pass_message if target else "")
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
        self.record_evidence(result)
        if self.worker:
            report.rootguard_data = result_data(result, self.account_reached(account.id))
        else:
            self.results.append(result)
        report.rootguard_outcome = outcome
        report.rootguard_result = result
        # JUnit reads properties from the item when its teardown is reported.
        item.user_properties.extend(
            [("control", meta.id), ("account_id", account.id), ("account_name", account.name), ("outcome", outcome), ("message", message)]
        )
        if getattr(self.config.option, "allure_report_dir", None):
            from rootguard.reports.allure import attach_verdict

            # Allure carries the evidence behind a verdict someone has to act on; behind a pass
            # it names the files. Every file stays in evidence/, hashed by the manifest.
            documents = {} if outcome == "passed" else {p: (self.pack / p).read_text(encoding="utf-8") for p in result.evidence}
            attach_verdict(result, documents)
        if outcome == "waived":
            # An approved exception does not fail the run; it stays visible as `waived`.
            report.outcome, report.longrepr = "skipped", (str(item.path), 0, message)
        if report.failed:
            # The verdict is the message; an unforeseen exception also keeps its traceback below it.
            known = call.excinfo is None or isinstance(call.excinfo.value, (ControlFailure, FactError, AssertionError))
            report.longrepr = message if known else f"{message}\n\n{report.longrepr}"
        return report

    def _write_evidence(self, store: FactStore, fact_result: FactResult) -> str:
        """Write one fact's evidence file, once; returns its path in the pack."""
        marker = (store.account.id, fact_result.key)
        if fact_result.evidence is not None:
            # Read from the file another worker wrote (rootguard.distributed.sharing): that file is the evidence.
            with self._evidence_lock:
                self._evidence.setdefault(marker, fact_result.evidence)
            return fact_result.evidence
        with self._evidence_lock:
            known = self._evidence.get(marker)
            writing = self._evidence_writing.setdefault(marker, threading.Lock()) if known is None else None
        if known is not None:
            return known
        # One writer per file: a second one, coming after the first dropped the responses,
        # would replace the file with one that has none.
        with writing:
            with self._evidence_lock:
                known = self._evidence.get(marker)
            if known is not None:
                return known
            path = write_fact(self.pack, store.account, store.identity(), fact_result)
            # On disk now: the raw responses need not stay in memory for the rest of the run.
            for call in fact_result.calls:
                call.response = None
            with self._evidence_lock:
                self._evidence[marker] = path
                self._evidence_writing.pop(marker, None)
            return path

    def _write_evidence_early(self, store: FactStore, fact_result: FactResult) -> str | None:
        """Evidence is written by the thread that fetched the fact, while others wait on AWS,
        not in pytest's loop; a fact no verdict ends up resting on is still what the run read.
        Returns the file's path in the pack, or None when it was not written."""
        with self._early_writes:
            if self._evidence_closed:
                return None
            self._early_writers += 1
        try:
            return self._write_evidence(store, fact_result)
        except OSError:
            return None  # tried again, and reported, when a verdict needs the file (record_evidence)
        finally:
            with self._early_writes:
                self._early_writers -= 1
                self._early_writes.notify_all()

    def close_evidence(self, timeout: float = 60) -> None:
        """No more early evidence writes; wait for those under way (local files: moments)."""
        with self._early_writes:
            self._evidence_closed = True
            self._early_writes.wait_for(lambda: self._early_writers == 0, timeout)

    def record_evidence(self, result: Result) -> None:
        """Name the evidence files behind one verdict on it (writing any not yet written)."""
        paths = set()
        for store, fact_result in closure(result.fact_keys):
            if fact_result.calls:
                paths.add(self._write_evidence(store, fact_result))
        result.evidence = sorted(paths)

    def account_reached(self, account_id: str) -> bool:
        store = self.stores.get(account_id)
        return store is not None and store.identity() is not None

    # --- pytest-xdist ------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        share = worker_input(self)
        if self._fact_locks is None:
            self._fact_locks = tempfile.mkdtemp(prefix="rootguard-facts-")
        share.update(index=node_index(node), count=node.workerinput["workercount"], fact_locks=self._fact_locks)
        node.workerinput["rootguard"] = share

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        return make_scheduler(config, log, self) if self.distributed else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker:
            # Only plain data crosses to the controller; the verdict travels as rootguard_data.
            report.__dict__.pop("rootguard_result", None)
            return
        data = getattr(report, "rootguard_data", None)
        if self.distributed and data is not None:
            result = result_from(data)
            report.rootguard_result = result
            self.results.append(result)
            if data["reached"]:
                self.reached.add(result.account_id)

    def pytest_report_teststatus(self, report, config):
        outcome = getattr(report, "rootguard_outcome", None)
        if outcome == "error" and report.when == "call":
            return "error", "E", "ERROR"
        if outcome == "waived":
            return "waived", "w", "WAIVED"
        return None

    # --- the end of the run ----------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        self.close_evidence()
        if self.worker:
            # The controller writes the pack's summary files and the terminal summary. A worker's
            # terminal goes nowhere, yet pytest's FAILURES section there rescans every report for
            # each failure, after the worker has told the controller it is done: time quadratic in
            # the worker's share (1.2 CPU-s per worker at 100 accounts) that xdist's controller
            # waits out, for up to 10 s, before it kills the worker.
            self.config.option.tbstyle = "no"
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.config.option.tbstyle == "auto" and self.results and not (reporter and reporter.stats.get("error")):
            # pytest's FAILURES section rescans every report for each failure: minutes at 500
            # accounts. The terminal summary lists each finding once instead (--tb=... keeps
            # pytest's); collection and setup errors keep their own section.
            self.config.option.tbstyle = "no"
            self.list_findings = True
        self.finished_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR) or bool(session.shouldstop)
        if self.distributed:
            expected = self.expected_results if self.expected_results is not None else len(self.results) + 1
        else:
            expected = sum(1 for item in session.items if item.get_closest_marker("control"))
        self.complete = not interrupted and len(self.results) >= expected and bool(self.accounts)
        # Even a run stopped before any account was judged leaves results.json saying so.
        compare_with = self.config.getoption("compare") or (str(self.replaying.pack) if self.replaying else None)
        if compare_with:
            try:
                self.comparison = compare_results(Path(compare_with), self.results)
            except PackError as exc:
                self.comparison = {"against": compare_with, "error": str(exc)}
            write_json_atomic(self.pack / "comparison.json", self.comparison)
        matrix = framework_matrix(self.results, self.catalogs())
        write_json_atomic(self.pack / "framework-matrix.json", matrix)
        self.gate = decide(self.results, self.profile.min_severity, self.reachable_accounts())
        if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and self.complete:
            # Only the gate decides a finished run's code: a failure below the gate severity passes.
            session.exitstatus = self.gate.code
        self.results_path = write_results(self.pack, self, self.results, self.complete)

    def reachable_accounts(self) -> int:
        if self.distributed:
            return len(self.reached)
        return sum(store.identity() is not None for store in self.stores.values())

    def results_extras(self) -> dict:
        """Fields results.json carries beyond the DESIGN.md contract."""
        extras = {
            "complete": self.complete,
            "backend": self.profile.backend,
            "caller_identity": redact(self.caller) if self.caller else None,
            "settings": settings_of(self.profile),
            "frameworks_selected": list(self.config.getoption("framework") or []),
            "shard": "{}/{}".format(*self.config.getoption("shard")) if self.config.getoption("shard") else None,
            "gate": {
                "min_severity": self.profile.min_severity,
                "exit_code": self.gate.code if self.gate else None,
                "blocking": len(self.gate.blocking) if self.gate else None,
            },
            "waivers": waiver_usage(self.profile.waivers, self.results, self.started_at.date()),
        }
        if self.replaying:
            extras["replay_of"] = {"pack": str(self.replaying.pack), "started_at": self.replaying.results.get("started_at")}
        return extras

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if self.worker or not self.accounts or not self.results:
            return
        controls = list(dict.fromkeys(r.control.id for r in self.results))
        findings = [r for r in self.results if r.outcome in ("failed", "error")]
        if self.list_findings and findings:
            terminalreporter.section(f"rootguard findings: {len(findings)} failed or error")
            for r in findings:
                terminalreporter.write_line(f"{r.outcome.upper():6} {r.control.id}: {r.message}")
        terminalreporter.section(f"rootguard: profile {self.profile.name}, {len(self.accounts)} accounts x {len(controls)} controls")
        for line in matrix_lines(self.results, self.accounts, controls):
            terminalreporter.write_line(line)
        if self.comparison:
            for line in comparison_lines(self.comparison):
                terminalreporter.write_line(line)
        for usage in waiver_usage(self.profile.waivers, self.results, self.started_at.date()):
            if not usage["matched"]:
                who = ", ".join(usage["accounts"]) or usage["account_pattern"]
                terminalreporter.write_line(
                    f"waiver for {usage['control']} on {who} (approved by {usage['approved_by']}) matches nothing judged in this run"
                )
        if self.gate is not None:
            terminalreporter.write_line(self.gate.describe(self.profile.min_severity))
        if not self.complete:
            terminalreporter.write_line("the run did not finish: the pack holds what it judged and is marked incomplete")
        terminalreporter.write_line(f"evidence pack: {self.pack}")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._fact_locks is not None:
            shutil.rmtree(self._fact_locks, ignore_errors=True)
            self._fact_locks = None
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self.finished_at is None or self.worker:
            return
        # Last of all, when pytest-html and JUnit have written their files: the hash manifest.
        from rootguard.reports.allure import finish_allure_results

        allure = finish_allure_results(self)
        write_manifest(
            self.pack,
            {
                "profile": self.profile.name,
                "started_at": self.started_text,
                "finished_at": self.finished_text,
                "suite_version": __version__,
                "caller": self.caller.get("Arn") if self.caller else None,
                "complete": self.complete,
                "results": len(self.results),
                "allure_report": allure,
            },
        )


KEYWORDS = pytest.StashKey[dict]()


def share_keywords(item: pytest.Item, report: pytest.TestReport) -> None:
    """The setup, call and teardown reports of a test share one copy of its keywords.

    pytest gives each report its own, and keeps every report to the end of the run: at a
    thousand accounts, 69,000 equal dictionaries and about 20 MB.
    """
    known = item.stash.get(KEYWORDS, None)
    if known is not None and known == report.keywords:
        report.keywords = known
    else:
        item.stash[KEYWORDS] = report.keywords
