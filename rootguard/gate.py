"""The gate: the run's exit code, from the failed and error outcomes at or above a severity.

A vending pipeline or CI job reads only this number, so every code means one thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from rootguard.vocabulary import SEVERITY_RANK


EXIT_OK = 0  # no failed or error outcome at or above the gate severity
EXIT_FINDINGS = 1  # at least one failed or error outcome at or above it
EXIT_INTERRUPTED = 2  # the run was interrupted; the pack is marked incomplete
EXIT_USAGE = 4  # a bad profile, waiver file, scenario or option, or nothing selected to judge
EXIT_AWS_UNREACHABLE = 6  # no account (or not the hub) could be reached at all
EXIT_REPLAY_DIFFERS = 7  # --replay: a verdict came out other than the pack recorded it (0: every one reproduced)


@dataclass
class Decision:
    code: int
    blocking: list  # results that fail the gate
    below: list  # failed / error results under the gate severity

    def describe(self, min_severity: str) -> str:
        if self.code == EXIT_AWS_UNREACHABLE:
            return f"gate: no account could be reached (exit {self.code})"
        if self.blocking:
            return f"gate: {len(self.blocking)} failed/error outcome(s) at or above {min_severity}: exit {self.code}"
        ignored = f" ({len(self.below)} below {min_severity} reported, not gating)" if self.below else ""
        return f"gate: passed at {min_severity}{ignored}: exit {self.code}"


def decide(results, min_severity: str, reachable_accounts: int) -> Decision:
    threshold = SEVERITY_RANK[min_severity]
    bad = [r for r in results if r.outcome in ("failed", "error")]
    blocking = [r for r in bad if SEVERITY_RANK[r.control.severity] >= threshold]
    below = [r for r in bad if SEVERITY_RANK[r.control.severity] < threshold]
    if results and reachable_accounts == 0:
        return Decision(EXIT_AWS_UNREACHABLE, blocking, below)
    return Decision(EXIT_FINDINGS if blocking else EXIT_OK, blocking, below)
