"""One compliance run, start to end: profile -> accounts -> facts fetched ahead -> verdicts -> reports -> gate.

`Run` is registered with pytest's plugin manager by rootguard.plugin. It reads the
profile (or the pack a replay re-performs), readies the pack, reaches the accounts and
makes a fact store for each, then hands a frozen Sweep to the stages it registers: the
verdict stage (rootguard.verdicts), the evidence writer (rootguard.evidence.writer), the
xdist parts when under xdist (rootguard.distributed.stage), and the reporters
(rootguard.reports) on the controller. At the end it decides the gate, has the reporters
write, and writes the hash manifest last. It is the one module that sees every stage,
so it runs longer than they do (about 390 lines); what each stage does lives with it.
"""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import os
import sys
import signal
import threading
from pathlib import Path

import pytest

from rootguard import __version__, resources
from rootguard.accounts import Account, Connector
from rootguard.accounts.resolution import ANOTHER_SHARD, JUDGED, NOT_SELECTED, in_shard, resolve_population
from rootguard.distributed.scheduling import owned
from rootguard.distributed.forked import ChildFetch, fetch_in_children, fetch_processes
from rootguard.distributed.sharing import SharedFacts
from rootguard.errors import AccountsError, NoCredentials, RootguardError
from rootguard.evidence.pack import PackError, discard_pack, prepare_pack, verify, write_json_atomic, write_manifest
from rootguard.evidence.replay import RecordedCalls, RecordedRun, ReplayConnector
from rootguard.evidence.writer import EvidenceWriter
from rootguard.facts import FactStore
from rootguard.facts.progress import Progress
from rootguard.facts.prefetch import account_param, fetch_threads, in_fetch_order, on_pool, prefetch, wanted_facts
from rootguard.frameworks import load_catalogs
from rootguard.accounts.botocore_sharing import forget_models as forget_botocore_models
from rootguard.gate import EXIT_AWS_UNREACHABLE, EXIT_REPLAY_DIFFERS, decide
from rootguard.profile import Profile, load_profile
from rootguard.profile.waivers import load_waivers_file
from rootguard.reports import listeners, reporters
from rootguard.reports.exports import forget as forget_pack_documents
from rootguard.reports.aside import stop_all as stop_exports_aside
from rootguard.reports.compare import compare_results, differences
from rootguard.sweep import Ending, Sweep, utc_text
from rootguard.verdicts import Verdict, VerdictStage

DEFAULT_PROFILE = "demo"
# moto's ids (organization, detectors, request ids) are drawn from one seeded generator: a fixed
# seed makes a mocked organization the same in every process and every run.
MOTO_SEED = 20240101


def nothing_selected(config: pytest.Config, profile: str) -> str:
    chosen = [f"{flag} {value!r}" for flag, value in (("-k", config.option.keyword), ("-m", config.option.markexpr)) if value]
    what = " and ".join(chosen) or "the arguments given"
    return f"nothing selected: {what} matched no control; `pytest --profile {profile} --collect-only -q` lists them"


# Allocations between two collections of the youngest generation once a sweep's facts are fetched (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def leave_to_the_os() -> None:
    """At the interpreter's exit: keep Python's collector off the objects still alive, which the OS reclaims with the process.

    After the last atexit handler, Python collects garbage again and again while it tears its
    modules down, walking every object a sweep still holds: 1.9 s of a 300-account sweep's
    wall time after its last hook, 3.7 to 8.7 s at 1000 accounts, on one core, with the evidence
    pack long written. Frozen, they are skipped (0.03 s). Objects freed by their reference
    counts are freed as before; what is lost is only the finalizers of objects in reference
    cycles, which Python does not promise to run at exit, and on which rootguard's files do
    not rely (each is written and closed, or replaced atomically, before the run's end).
    """
    gc.freeze()


_leaving_to_the_os = False


def freeze_at_exit() -> None:
    """Register leave_to_the_os once per process, at a run's last cleanup: atexit runs it before the handlers registered earlier."""
    global _leaving_to_the_os
    if not _leaving_to_the_os:
        atexit.register(leave_to_the_os)
        _leaving_to_the_os = True


class Run:
    """One run's accounts, stores and verdicts; registered with the plugin manager for its hooks."""

    def __init__(self, config: pytest.Config):
        self.config = config
        # Where reports/ and node_modules/ are: the checkout, or where an installed rootguard was run.
        self.project: Path = resources.project(config.rootpath, config.invocation_params.dir)
        # Under pytest-xdist: the controller resolves the accounts and writes the pack's summary
        # files; each worker judges its own share of the accounts (rootguard.distributed).
        self.worker: dict | None = getattr(config, "workerinput", {}).get("rootguard")
        self.started_at = self.clock_started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        if self.worker:
            self.started_at = dt.datetime.fromisoformat(self.worker["started_at"])
        self.replaying: RecordedRun | None = None
        self.recorded_calls: RecordedCalls | None = None
        self.profile: Profile = self._load_profile()
        self.abandoned = False
        self._pack_before: set[str] | None = None
        self._made_above: list[Path] = []
        self.pack = self._prepare_pack()
        self.sweep: Sweep | None = None
        self.stores: dict[str, FactStore] = {}
        self.verdicts: list[Verdict] = []
        self.evidence = EvidenceWriter(self.pack)
        self.stopping = threading.Event()
        self.connector = None
        self.controller = None  # the xdist controller's stage, under xdist
        self.children: ChildFetch | None = None  # the processes that fetched the facts (--fetch-processes)
        self._every_store: set[FactStore] = set()
        self.reporters: list = []
        self.unloaded: list[str] = []  # node ids of modules that failed to load (collection errors)
        self.ending: Ending | None = None
        self._mock = None
        self._frozen = False
        self._gc_threshold: tuple[int, ...] | None = None  # Python's own, while the run's is in force
        # Under xdist, the accounts this worker judges: it fetches their facts ahead, without locks.
        self.own_accounts: set[str] | None = (
            owned([a["id"] for a in self.worker["accounts"]], int(self.worker["index"]), int(self.worker["count"])) if self.worker else None
        )
        self._shared_facts: SharedFacts | None = None
        if self.worker and self.worker.get("fact_locks") and Path(self.worker["fact_locks"]).is_dir():  # not on another machine
            self._shared_facts = SharedFacts(
                str(self.pack), self.worker["fact_locks"], self.evidence.write_early,
                own=self.own_accounts, hub=(self.worker.get("caller") or {}).get("Account"),
            )
        self._route_reports()
        if not self.worker:
            self._register_reporters()
        self._previous_sigterm = None
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
            baseline = self.config.getoption("compare")
            if baseline:
                # Before any AWS call: a sweep compared with a baseline that is missing or was changed would mislead.
                try:
                    checked_baseline = verify(Path(baseline))
                except PackError as exc:
                    raise PackError(f"--compare {baseline}: {exc}") from None
                if not checked_baseline.ok:
                    differ = checked_baseline.changed + checked_baseline.added + checked_baseline.missing
                    raise PackError(f"--compare {baseline}: {len(differ)} file(s) differ from its manifest ({differ[0]} ...); "
                                    f"see `rootguard verify {baseline}`")
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

    def _prepare_pack(self) -> Path:
        if self.worker:
            return Path(self.worker["pack"])  # made and checked by the controller
        chosen = self.config.getoption("report_dir")
        # What the folder held before the run, so that an abandoned run takes back only its own files.
        self._pack_before = set(os.listdir(chosen)) if chosen and os.path.isdir(chosen) else None
        reports = self.project / "reports" / self.profile.name
        # ... and the folders above it that the run makes (reports/<profile>/), taken back too.
        above = Path(chosen).absolute().parent if chosen else reports.absolute()
        self._made_above = [folder for folder in (above, *above.parents) if not folder.exists()]
        try:
            return prepare_pack(Path(chosen) if chosen else None, reports, bool(self.replaying))
        except PackError as exc:
            raise pytest.UsageError(str(exc)) from None

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
        try:
            from moto import mock_aws
            from moto.moto_api._internal import mock_random
        except ImportError:
            raise pytest.UsageError(
                f"{self.profile.path}: backend: moto needs moto, which a sweep of real AWS does not; "
                "install it with: pip install 'rootguard[demo]'"
            ) from None

        from rootguard.fixtures import motoext, scenario

        motoext.install()
        self._mock = mock_aws()
        self._mock.start()
        # Every process of a run (each xdist worker seeds its own moto) must build the same
        # organization: the same ids, from moto's one source of randomness seeded alike, and
        # the same dates, the scenario's ages counted back from the run's start.
        mock_random.seed(MOTO_SEED)
        try:
            scenario.seed(scenario.load_scenario(self.profile.scenario), now=self.started_at)
        except scenario.ScenarioError as exc:
            raise pytest.UsageError(str(exc)) from None

    def _on_sigterm(self, signum, frame):
        # A CI job being cancelled: stop like Ctrl-C, so the pack is finished and marked incomplete.
        raise KeyboardInterrupt("SIGTERM")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # An xdist controller hands the accounts to its workers as they start (after this hook),
        # so the organization is enumerated once, here, and no worker repeats it. It fetches no
        # facts; its work is the reports.
        if self.worker is None and self.config.pluginmanager.hasplugin("dsession"):
            self.collect_less_often()
            self.connect()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        if self.connector is None:
            self.connect()

    # --- the accounts ----------------------------------------------------------------------

    def connect(self) -> None:
        """Reach the hub, resolve the accounts, make a fact store for each, then hand the sweep to the stages."""
        try:
            self._connect()
        except pytest.UsageError:
            self.abandon()
            raise

    def abandon(self) -> None:
        """A usage error before anything was judged: the run ends with one line and leaves no pack behind."""
        self.abandoned = True

    def _connect(self) -> None:
        population, listings, resolver = (), (), None
        if self.replaying:
            self.connector = ReplayConnector(self.recorded_calls)
            caller = self.replaying.caller()
            accounts, narrowed = self._judged(self.replaying.accounts())
            readable = self.replaying.readable_accounts() + narrowed
        else:
            self._start_backend()
            self.connector = Connector(self.profile, mocked=self.profile.backend == "moto", threads=self.fetch_threads(),
                                       api_limits=dict(self.config.getoption("api_limit")))
            if self.worker:
                caller = self.worker["caller"]
                accounts = [Account(**fields) for fields in self.worker["accounts"]]
                readable = [Account(**fields) for fields in self.worker["readable"]]
            else:
                try:
                    caller = self.connector.hub_identity()
                    # The organization is listed through the hub's store, so the listings are evidence files.
                    resolver = self._store(Account(id=caller["Account"], name="hub", source="hub"))
                    resolver.on_fetched = None  # written below, once the hub's own name is known
                    resolved = resolve_population(self.connector, self.config.getoption("account"), resolver)
                    accounts = resolved.accounts
                    # The hub's account judged with the hub's own credentials keeps this store (one identity check).
                    resolver.account = next(
                        (a for a in accounts if a.id == caller["Account"] and a.role_arn is None and a.aws_profile is None),
                        Account(id=caller["Account"], name=next((m.name for m in resolved.members if m.id == caller["Account"]), "hub"), source="hub"),
                    )
                    listings = self._listing_evidence(resolver, resolved.listings)
                    resolver.on_fetched = self.evidence.write_early
                except NoCredentials as exc:
                    raise pytest.UsageError(str(exc)) from None
                except AccountsError as exc:
                    pytest.exit(f"rootguard: {exc}", returncode=EXIT_AWS_UNREACHABLE)
                if not accounts:
                    raise pytest.UsageError(
                        f"profile {self.profile.name} reaches no account: list `accounts` or give `organization` "
                        "(a moto profile's accounts are seeded from its scenario, and listed the same way)"
                    )
                accounts, readable = self._judged(accounts)
                population = self._narrowed(resolved.members, accounts)
        shard = self.config.getoption("shard")
        self.stores = {a.id: resolver if resolver is not None and a is resolver.account else self._store(a) for a in accounts}
        others = {a.id: resolver if resolver is not None and a is resolver.account else self._store(a) for a in readable}
        # Facts only the hub can read (an account's place in the organization, its SCPs) are
        # fetched once, through the hub's own account: its store if in scope, else one of its own.
        hub_id = caller["Account"]
        hub_store = self.stores.get(hub_id) or others.get(hub_id) or resolver or self._store(Account(id=hub_id, name="hub", source="hub"))

        def peer(account_id: str) -> FactStore | None:
            return self.stores.get(account_id) or others.get(account_id)

        self._every_store = {*self.stores.values(), *others.values(), hub_store}
        for store in self._every_store:
            store.hub_store = hub_store
            store.peers = peer
        regions = {}
        if self.worker:
            regions = {k: tuple(v) for k, v in self.worker["regions"].items()}
        elif self.profile.all_regions and self.config.pluginmanager.hasplugin("dsession"):
            # Each worker would otherwise ask every account for its regions again.
            stores = list(self.stores.values())
            regions = dict(zip(self.stores, on_pool(self._regions, stores, self.fetch_threads(), self.stopping)))
        self.sweep = Sweep(
            profile=self.profile,
            pack=self.pack,
            started_at=self.started_at,
            caller=caller,
            accounts=tuple(accounts),
            backend="replay" if self.replaying else self.profile.backend,
            rootpath=self.project,
            frameworks_selected=tuple(self.config.getoption("framework") or ()),
            shard="{}/{}".format(*shard) if shard else None,
            replay_of={
                "pack": str(self.replaying.pack),
                "started_at": self.replaying.results.get("started_at"),
                "finished_at": self.replaying.results.get("finished_at"),
                "replay_started_at": utc_text(self.clock_started_at),  # the replay's own start, beside the original's
            } if self.replaying else None,
            regions=regions,
            readable=tuple(readable),
            population=tuple(population),
            population_evidence=tuple(listings),
            selected=tuple(self.config.getoption("account") or ()),
            replayed_population=self.replaying.population() if self.replaying else None,
        )
        self._register_stages()

    def fetch_threads(self) -> int:
        """Threads this process fetches on: --fetch-workers, or a worker's share of it under -n."""
        return fetch_threads(self.config.getoption("fetch_workers"), int(self.worker["count"]) if self.worker else 1)

    def fetch_processes(self, accounts: int) -> int:
        """Child processes that fetch the facts of `accounts` accounts (rootguard.distributed.forked); 0: this process's threads.

        Only a sweep of live AWS (or an endpoint standing in for it) run as one process: an
        xdist worker is already one of several, a replay reads files, and in-process moto
        keeps its state in this process. Never with another thread running (a plugin's): a
        child forked then could inherit a lock that thread held, and wait on it forever.
        """
        if (self.worker or self.config.pluginmanager.hasplugin("dsession") or self.replaying
                or self.profile.backend == "moto" or threading.active_count() > 1):
            return 0
        return fetch_processes(self.config.getoption("fetch_processes"), accounts, self.config.getoption("fetch_workers"))

    def _judged(self, accounts: list[Account]) -> tuple[list[Account], list[Account]]:
        """The accounts this run judges (--account, --shard) and the other in-scope ones, which it only reads."""
        wanted = self.config.getoption("account")
        if wanted:
            known = {a.id for a in accounts}
            missing = [w for w in wanted if w not in known]
            if missing:
                raise pytest.UsageError(f"--account {', '.join(missing)}: not among the accounts of profile {self.profile.name}")
        shard = self.config.getoption("shard")
        judged = [a for a in accounts if (not wanted or a.id in wanted) and (not shard or in_shard(a.id, *shard))]
        chosen = {a.id for a in judged}
        return judged, [a for a in accounts if a.id not in chosen]

    def _narrowed(self, members: list, judged: list[Account]) -> list:
        """The population with the reason --shard or --account left each in-scope account out of this run."""
        chosen = {a.id for a in judged}
        shard = self.config.getoption("shard")
        result = []
        for member in members:
            if member.reason == JUDGED and member.id not in chosen:
                member = member.because(ANOTHER_SHARD if shard and not in_shard(member.id, *shard) else NOT_SELECTED)
            result.append(member)
        return result

    def _listing_evidence(self, store: FactStore, listings: list) -> list[str]:
        """The evidence files of the organization listings the population was read from."""
        paths = []
        for name, params in [("organizations.organization", {}), *listings]:
            fact = store.known(store.key_for(name, None, params))
            if fact is not None and fact.calls:
                paths.append(self.evidence.write(store, fact))
        return sorted(set(paths))

    def _store(self, account: Account) -> FactStore:
        store = FactStore(account, self.connector, self.profile.regions, self.profile.home_region)
        store.stopping = self.stopping
        store.on_fetched = self.evidence.write_early
        store.shared = self._shared_facts
        return store

    def _regions(self, store: FactStore) -> tuple[str, ...]:
        try:
            return store.regions()
        except RootguardError:
            return (self.profile.home_region,)

    def regions_for(self, account: Account) -> tuple[str, ...]:
        if self.profile.all_regions:
            if account.id in self.sweep.regions:
                return self.sweep.regions[account.id]
            return self._regions(self.stores[account.id])
        return tuple(self.profile.regions)

    def account_reached(self, account_id: str) -> bool:
        store = self.stores.get(account_id)
        return store is not None and store.identity() is not None

    def _register_stages(self) -> None:
        """The stages that work from the sweep, each registered with pytest where it runs."""
        manager, sweep = self.config.pluginmanager, self.sweep
        distributed = self.worker is None and manager.hasplugin("dsession")
        judged = None if self.worker else self.verdicts
        manager.register(VerdictStage(sweep, self.evidence.record, judged), "rootguard-verdicts")
        catalogs = load_catalogs()
        for listener in listeners():
            if listener.active(self.config) and not distributed:
                manager.register(listener(sweep, catalogs), f"rootguard-{listener.__name__}")
        if self.worker:
            from rootguard.distributed.stage import XdistWorker

            manager.register(XdistWorker(self.account_reached), "rootguard-xdist-worker")
            return
        if distributed:
            from rootguard.distributed.stage import XdistController

            self.controller = XdistController(sweep, self.verdicts)
            manager.register(self.controller, "rootguard-xdist-controller")
        for reporter in self.reporters:
            reporter.start(sweep)

    def _register_reporters(self) -> None:
        """On the controller (or the only process), before any report hook runs: pytest-html asks for its table header first."""
        for reporter in reporters():
            if getattr(reporter, "active", None) is None or reporter.active(self.config):
                instance = reporter(self.verdicts, self.config)
                self.reporters.append(instance)
                self.config.pluginmanager.register(instance, f"rootguard-report-{reporter.name}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A control module that fails to load leaves its controls unjudged. One process stops
        # there; xdist runs the rest (its workers' reports reach the controller here), so the
        # pack must say it is incomplete rather than look like a whole sweep.
        if report.failed:
            self.unloaded.append(report.nodeid or "(the test session)")

    # --- fetching ahead --------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list) -> None:
        # Last, after -k and -m have deselected theirs.
        if not items and not self.worker and not self.unloaded and not config.option.collectonly:
            self.abandon()
            raise pytest.UsageError(nothing_selected(config, self.profile.name))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.config.option.collectonly:
            return
        wanted = wanted_facts(session.items)
        # The items, and each account's facts once fetched, live until the run ends. Python's
        # full collections would walk all of them again and again as more pile up (2.4 s of
        # 34 at 100 accounts, and O(N log N) in the accounts); frozen, they are left out until
        # the run's last cleanup. Freezing is O(1).
        gc.freeze()
        self._frozen = True
        if self.own_accounts is not None:
            # This worker judges its own share of the accounts; xdist sends it their tests only.
            wanted = {a: facts for a, facts in wanted.items() if a in self.own_accounts}
        # The controller shows how the fetch goes; a worker's output is never seen.
        progress = None if self.worker else Progress.for_config(self.config, len(wanted))
        processes = self.fetch_processes(len(wanted))
        if processes:
            self.children = fetch_in_children(
                self.stores, self._every_store, wanted, self.config.getoption("fetch_workers"), processes, str(self.pack),
                self.evidence.write_early, self.sweep.caller["Account"], self.sweep.population_evidence, self.stopping, progress,
            )
            if self.children.started:
                # The tests follow the fetch (ChildFetch.ready), so they run in the order it takes the accounts.
                in_fetch_order(session.items)
            for failure in self.children.failed:
                self._say(f"rootguard: {failure}; this process fetches with its own threads")
        if not (self.children and self.children.started):
            prefetch(self.stores, wanted, self.fetch_threads(), self.stopping, lambda: self._frozen, progress)
        gc.freeze()
        self.collect_less_often()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        # Before the test's set-up, so no phase of it counts the wait.
        if self.children is not None and self.children.started:
            where = account_param(item)
            if where is not None:
                self.children.ready(where[0].id)

    def _say(self, message: str) -> None:
        """One line on the terminal, beside pytest's own output (stderr without a terminal reporter)."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(message, yellow=True)
        else:
            print(message, file=sys.stderr)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session):
        try:
            outcome = yield
            if self.children is not None and self.children.started:
                # Interrupted, the loop raises instead, and the run's end stops the children (close).
                self.children.finish(cut_short=bool(session.shouldstop or session.shouldfail))
                for failure in self.children.failed:
                    self._say(f"rootguard: {failure}; the facts it did not fetch were fetched as the tests asked for them")
            return outcome
        finally:
            # What the tests leave behind (every verdict and report) lives until the run ends,
            # and the full collections of the run's end walked all of it: one while the
            # reports were written, pytest's own after its last hook (1.2 s together of the
            # -n 2 controller's end at 1000 accounts, the other core idle). Frozen with the
            # rest until the run's last cleanup (unfreeze).
            gc.freeze()
            self._frozen = True

    def collect_less_often(self) -> None:
        """From here to the run's end, collect Python's youngest generation every GC_YOUNG_THRESHOLD allocations.

        The tests, their reports and the end of the run make many small objects that live to
        the run's end, and each tenth collection of the youngest generation walks the older
        ones too: at Python's default of 700, the collector took 1.4 s of a 300-account
        sweep's end (results.json to the manifest), 0.4 s at 10,000. Not while facts are
        fetched: each account's facts are frozen as it closes, with whatever garbage the
        young generations hold then, which at 10,000 stays frozen to the end (45 MB more at
        300 accounts, 190 MB at 1000). unfreeze(), the run's last cleanup, puts it back.
        """
        if self._gc_threshold is None:
            self._gc_threshold = gc.get_threshold()
            gc.set_threshold(GC_YOUNG_THRESHOLD, *self._gc_threshold[1:])

    def unfreeze(self) -> None:
        """Hand the run's objects back to the garbage collector, at its own thresholds (a cleanup, after pytest's last collection).

        Back, for a process that goes on after the run (pytest run in-process); the process's
        exit leaves them to the OS (freeze_at_exit).
        """
        freeze_at_exit()
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None

    # --- the end of the run ----------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        if self.children is not None:
            self.children.close()  # none outlives the run, nor writes into its pack after this
        self.evidence.close()
        if self.worker or self.abandoned:
            return
        if exitstatus == pytest.ExitCode.USAGE_ERROR and not self.verdicts:
            self.abandon()  # pytest's own (an unknown -m marker): nothing was judged
            return
        if self.sweep is None:
            return
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and not self.verdicts and not self.unloaded:
            # Under xdist the workers collect, so the controller learns only now that nothing was selected.
            self.abandon()
            print(f"ERROR: {nothing_selected(self.config, self.profile.name)}", file=sys.stderr)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        terminal = next((r for r in self.reporters if r.name == "terminal"), None)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.config.option.tbstyle == "auto" and self.verdicts and not (reporter and reporter.stats.get("error")):
            # pytest's FAILURES section rescans every report for each failure: minutes at 500
            # accounts. The terminal summary lists each finding once instead (--tb=... keeps
            # pytest's); collection and setup errors keep their own section.
            self.config.option.tbstyle = "no"
            if terminal is not None:
                terminal.list_findings = True
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR) or bool(session.shouldstop)
        if self.controller is not None:
            expected = self.controller.expected if self.controller.expected is not None else len(self.verdicts) + 1
            reached = set(self.controller.reached)
        else:
            expected = sum(1 for item in session.items if item.get_closest_marker("control"))
            reached = {account_id for account_id, store in self.stores.items() if store.identity() is not None}
        reachable = len(reached)
        complete = not interrupted and not self.unloaded and len(self.verdicts) >= expected and bool(self.sweep.accounts)
        comparison = None
        compare_with = self.config.getoption("compare") or (str(self.replaying.pack) if self.replaying else None)
        if compare_with:
            try:
                scope = None
                if self.replaying and (self.config.getoption("account") or len(self.verdicts) < len(self.replaying.results["results"])):
                    # A narrowed replay (--account, -k) re-performs what it selected; the rest was not lost.
                    scope = ({v.control.id for v in self.verdicts}, {a.id for a in self.sweep.accounts})
                comparison = compare_results(Path(compare_with), self.verdicts, scope)
            except PackError as exc:
                comparison = {"against": compare_with, "error": str(exc)}
            write_json_atomic(self.pack / "comparison.json", comparison)
        decision = decide(self.verdicts, self.profile.min_severity, reachable)
        if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and complete and self.replaying:
            # A replay answers one question: did every verdict come out as the pack recorded it?
            session.exitstatus = 0 if differences(comparison) == 0 else EXIT_REPLAY_DIFFERS
        elif exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and complete:
            # Only the gate decides a finished run's code: a failure below the gate severity passes.
            session.exitstatus = decision.code
        elif self.unloaded and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            # Findings (1) or a pass (0) would misstate a sweep that left controls out.
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        # The facts are in the evidence files now; the reports read verdicts and files. Letting go of
        # them here leaves room for the reports (the exports' libraries and documents) within the
        # memory the sweep already took.
        for store in {*self.stores.values(), *(s.hub_store for s in self.stores.values() if s.hub_store)}:
            store.release()
        self.stores = {}
        forget_botocore_models()
        finished_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.ending = Ending(finished_at, complete, decision, reachable, comparison, tuple(self.unloaded), frozenset(reached))
        for report in self.reporters:
            report.write(self.ending)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self.controller is not None:
            self.controller.close()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self.abandoned and not self.worker:
            discard_pack(self.pack, self._pack_before)
            for folder in self._made_above:  # the deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break
            return
        if self.ending is None or self.worker:
            return
        # Last of all, when pytest-html and JUnit have written their files: the hash manifest.
        try:
            said = {report.name: report.finish(self.ending) for report in self.reporters}
        finally:
            # Exports are written aside only from the report loop of a run that reached its end
            # (sessionfinish, after `ending`): each has been read here, or is written here, and
            # nothing writes into the pack after its manifest.
            stop_exports_aside()
        forget_pack_documents()
        write_manifest(
            self.pack,
            {
                "profile": self.profile.name,
                "started_at": self.sweep.started_text,
                "finished_at": (self.sweep.replay_of or {}).get("finished_at") or utc_text(self.ending.finished_at),
                **({"replayed": {"started_at": self.sweep.replay_of["replay_started_at"], "finished_at": utc_text(self.ending.finished_at)}}
                   if self.sweep.replay_of else {}),
                "suite_version": __version__,
                "caller": self.sweep.caller.get("Arn") if self.sweep.caller else None,
                "complete": self.ending.complete,
                "results": len(self.verdicts),
                "allure_report": said.get("allure"),
                "exports": {report.name: said[report.name] for report in self.reporters if report.export},
            },
        )
