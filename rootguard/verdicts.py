"""Outcomes: the one verdict every (control, account) gets, and how a test's result becomes one."""

from __future__ import annotations

from dataclasses import dataclass, field

from rootguard.controls import Control, ControlFailure
from rootguard.errors import FactError
from rootguard.vocabulary import OUTCOMES  # noqa: F401  (the outcomes a verdict takes)



@dataclass
class Result:
    control: Control
    account_id: str
    account_name: str
    region: str | None
    outcome: str
    message: str
    evidence: list[str] = field(default_factory=list)
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
