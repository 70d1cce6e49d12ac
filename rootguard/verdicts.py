"""Verdicts: the one outcome every (control, account, region) gets, made from the control test's report.

`VerdictStage` is a pytest plugin: as each control test ends it turns pytest's report
into a `Verdict` (waivers applied), names the evidence behind it, tells the listeners
(hook `pytest_rootguard_verdict`: JUnit properties, Allure, an xdist worker's hand-off) and,
in the process that judges, adds it to the run's list of verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from rootguard.controls import Control, ControlFailure, Target
from rootguard.errors import FactError
from rootguard.profile.waivers import apply_waivers
from rootguard.sweep import Sweep


@dataclass
class Verdict:
    control: Control
    account_id: str
    account_name: str
    region: str | None
    outcome: str
    message: str
    evidence: list[str] = field(default_factory=list)
    actions: tuple[str, ...] = ()  # the AWS API actions behind the evidence (controls.json's procedure)
    fact_keys: list = field(default_factory=list)  # (store, key) pairs the verdict rests on
    duration: float = 0.0

    def as_json(self) -> dict:
        return {
            "control": self.control.id,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "region": self.region,
            "outcome": self.outcome,
            "message": self.message,
            "severity": self.control.severity,
            "frameworks": {k: list(v) for k, v in self.control.frameworks.items()},
            "evidence": list(self.evidence),
            "title": self.control.title,
        }


def classify(excinfo, passed: bool, skipped: bool, skip_reason: str, pass_message: str) -> tuple[str, str]:
    """Map how a control's test ended to (outcome, message). Only a clean return is a pass."""
    if passed:
        return "passed", pass_message or "compliant"
    if skipped:
        return "skipped", skip_reason
    error = excinfo.value if excinfo is not None else None
    if isinstance(error, ControlFailure):
        return "failed", str(error)
    if isinstance(error, FactError):
        return "error", str(error)
    if isinstance(error, AssertionError):
        return "failed", (str(error).splitlines() or ["assertion failed"])[0]
    if error is None:
        return "error", "the control did not finish"
    # A bug or an unforeseen response shape: the suite could not tell, which is never a pass.
    return "error", f"could not judge: {type(error).__name__}: {error}"


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


class VerdictStage:
    """Each control test's report becomes one Verdict; registered in every process that runs tests."""

    def __init__(self, sweep: Sweep, record_evidence: Callable[[Verdict], None], judged: list[Verdict] | None):
        """`record_evidence(verdict)` names (and writes) its files; `judged` collects the verdicts, None on an xdist worker."""
        self.sweep = sweep
        self.record_evidence = record_evidence
        self.judged = judged

    # Innermost (trylast): the verdict is made before other plugins' wrappers (allure-pytest's
    # among them) read the report's outcome, which a waiver turns into a skip.
    @pytest.hookimpl(wrapper=True, trylast=True)
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
            outcome, message = apply_waivers(self.sweep.profile.waivers, meta.id, account.id, message, self.sweep.started_at.date())
        verdict = Verdict(
            control=meta,
            account_id=account.id,
            account_name=account.name,
            region=region,
            outcome=outcome,
            message=message,
            fact_keys=list(target.used) if target else [],
            duration=report.duration,
        )
        self.record_evidence(verdict)
        if self.judged is not None:
            self.judged.append(verdict)
        report.rootguard_outcome = outcome
        report.rootguard_result = verdict
        item.config.hook.pytest_rootguard_verdict(verdict=verdict, item=item, report=report)
        if outcome == "waived":
            # An approved exception does not fail the run; it stays visible as `waived`.
            report.outcome, report.longrepr = "skipped", (str(item.path), 0, message)
        if report.failed:
            # The verdict is the message; an unforeseen exception also keeps its traceback below it.
            known = call.excinfo is None or isinstance(call.excinfo.value, (ControlFailure, FactError, AssertionError))
            report.longrepr = message if known else f"{message}\n\n{report.longrepr}"
        return report

    def pytest_report_teststatus(self, report, config):
        outcome = getattr(report, "rootguard_outcome", None)
        if outcome == "error" and report.when == "call":
            return "error", "E", "ERROR"
        if outcome == "waived":
            return "waived", "w", "WAIVED"
        return None
