"""The run's xdist parts, registered only under xdist: the controller's and each worker's.

The controller hands every worker the sweep (pack, start, caller, accounts) and a folder of
lock files for facts shared between workers, schedules each test to the worker owning its
account, and gathers the verdicts from the workers' reports. A worker judges its share and
sends each verdict as plain data with its test report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Callable

import pytest

from rootguard.distributed.scheduling import make_scheduler, node_index, verdict_data, verdict_from, worker_input
from rootguard.distributed.sharing import publish_listings


class XdistController:
    def __init__(self, sweep, judged: list):
        self.sweep = sweep
        self.judged = judged
        self.reached: set[str] = set()
        self.expected: int | None = None  # tests in the collection, known when the scheduler starts
        self.fact_locks: str | None = None
        self.controls: dict = {}  # by id, as the workers send them (verdict_from)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        share = worker_input(self.sweep)
        if self.fact_locks is None:
            self.fact_locks = tempfile.mkdtemp(prefix="rootguard-facts-")
            publish_listings(self.fact_locks, self.sweep.population_evidence)
        share.update(index=node_index(node), count=node.workerinput["workercount"], fact_locks=self.fact_locks)
        node.workerinput["rootguard"] = share

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        return make_scheduler(config, log, self.expecting, [account.id for account in self.sweep.accounts])

    def expecting(self, tests: int) -> None:
        self.expected = tests

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "rootguard_data", None)
        if data is None:
            return
        verdict = verdict_from(data, self.controls)
        report.rootguard_result = verdict
        self.judged.append(verdict)
        if data["reached"]:
            self.reached.add(verdict.account_id)

    def close(self) -> None:
        if self.fact_locks is not None:
            shutil.rmtree(self.fact_locks, ignore_errors=True)
            self.fact_locks = None


class XdistWorker:
    def __init__(self, reached: Callable[[str], bool]):
        """`reached(account_id)`: whether the account's credentials answered (the gate counts them)."""
        self.reached = reached
        self.controls_sent: set[str] = set()

    @pytest.hookimpl
    def pytest_rootguard_verdict(self, verdict, item, report) -> None:
        report.rootguard_data = verdict_data(verdict, self.reached(verdict.account_id), self.controls_sent)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Only plain data crosses to the controller; the verdict travels as rootguard_data.
        report.__dict__.pop("rootguard_result", None)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        # The controller writes the pack's summary files and the terminal summary. A worker's
        # terminal goes nowhere, yet pytest's FAILURES section there rescans every report for
        # each failure, after the worker has told the controller it is done: time quadratic in
        # the worker's share (1.2 CPU-s per worker at 100 accounts) that xdist's controller
        # waits out, for up to 10 s, before it kills the worker.
        session.config.option.tbstyle = "no"
