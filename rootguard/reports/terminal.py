"""The terminal: each finding once, the accounts-by-controls matrix, the comparison, the gate, the pack."""

from __future__ import annotations

from rootguard.gate import EXIT_REPLAY_DIFFERS
from rootguard.profile.waivers import waiver_usage
from rootguard.reports import Reporter
from rootguard.reports.compare import differences
from rootguard.reports.context import data_source
from rootguard.reports.results_json import counts
from rootguard.vocabulary import OUTCOMES

MARKS = {"passed": ".", "failed": "F", "error": "E", "skipped": "s", "waived": "w"}


def comparison_lines(comparison: dict) -> list[str]:
    if "error" in comparison:
        return [f"compare: {comparison['error']}"]
    lines = [f"compared with {comparison['against']} (started {comparison.get('against_started_at')}):"]
    labels = {
        "newly_failing": "newly failing",
        "newly_passing": "newly passing",
        "changed": "changed",
        "added": "new (not judged before)",
        "removed": "no longer judged",
    }
    for key, label in labels.items():
        for entry in comparison[key]:
            change = f"{entry['was']} -> {entry['now']}" if "was" in entry else entry["outcome"]
            where = entry["account_id"] + (f" {entry['region']}" if entry["region"] else "")
            lines.append(f"  {label}: {entry['control']} on {where}: {change}")
    lines.append(f"  {comparison['unchanged']} unchanged, {differences(comparison)} different")
    return lines


def matrix_lines(verdicts, accounts, control_ids: list[str]) -> list[str]:
    """Accounts as rows, controls as numbered columns, one mark per outcome (regional: worst mark)."""
    worst = {"error": 5, "failed": 4, "waived": 3, "skipped": 2, "passed": 1}
    cell: dict[tuple[str, str], str] = {}
    for r in verdicts:
        key = (r.account_id, r.control.id)
        if key not in cell or worst[r.outcome] > worst[cell[key]]:
            cell[key] = r.outcome
    labels = [f"{a.name} ({a.id})" for a in accounts]
    width = max([len(label) for label in labels] + [7])
    header = " " * width + "  " + " ".join(f"{i + 1:>2}" for i in range(len(control_ids)))
    lines = [header]
    for account, label in zip(accounts, labels):
        marks = " ".join(f"{MARKS.get(cell.get((account.id, c), ''), '-'):>2}" for c in control_ids)
        lines.append(f"{label:<{width}}  {marks}")
    legend = [f"{i + 1:>2} {c}" for i, c in enumerate(control_ids)]
    column = max(len(entry) for entry in legend) if legend else 0
    per_line = 3
    lines.append("")
    for start in range(0, len(legend), per_line):
        lines.append("   ".join(f"{entry:<{column}}" for entry in legend[start : start + per_line]).rstrip())
    lines.append("marks: . passed  F failed  E error  s skipped  w waived  - not run")
    tally = counts(verdicts)
    lines.append(", ".join(f"{tally[o]} {o}" for o in OUTCOMES))
    return lines


class TerminalReport(Reporter):
    """After pytest's own summary: findings (unless --tb asked for pytest's), the matrix, the gate and the pack."""

    name = "terminal"
    list_findings = False
    ending = None

    def write(self, ending) -> None:
        self.ending = ending

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        sweep, verdicts, ending = self.sweep, self.verdicts, self.ending
        if sweep is None or not sweep.accounts:
            return
        if verdicts:
            controls = list(dict.fromkeys(v.control.id for v in verdicts))
            findings = [v for v in verdicts if v.outcome in ("failed", "error")]
            if self.list_findings and findings:
                terminalreporter.section(f"rootguard findings: {len(findings)} failed or error")
                for v in findings:
                    terminalreporter.write_line(f"{v.outcome.upper():6} {v.control.id}: {v.message}")
            terminalreporter.section(f"rootguard: profile {sweep.profile.name}, {len(sweep.accounts)} accounts x {len(controls)} controls")
            for line in matrix_lines(verdicts, sweep.accounts, controls):
                terminalreporter.write_line(line)
        else:
            terminalreporter.section(f"rootguard: profile {sweep.profile.name}, {len(sweep.accounts)} accounts, nothing judged")
        banner = data_source(sweep)
        if banner:
            terminalreporter.write_line(banner, yellow=True, bold=True)
        if ending is None:
            return
        if ending.comparison:
            for line in comparison_lines(ending.comparison):
                terminalreporter.write_line(line)
        for usage in waiver_usage(sweep.profile.waivers, verdicts, sweep.started_at.date()):
            if not usage["matched"]:
                who = ", ".join(usage["accounts"]) or usage["account_pattern"]
                terminalreporter.write_line(
                    f"waiver for {usage['control']} on {who} (approved by {usage['approved_by']}) matches nothing judged in this run"
                )
        if sweep.replay_of and ending.complete:
            terminalreporter.write_line(f"{ending.decision.describe(sweep.profile.min_severity)} at the time; a replay exits on whether it reproduced them")
            different = differences(ending.comparison)
            if different == 0:
                terminalreporter.write_line("replay: every verdict reproduced: exit 0")
            else:
                what = "the original's verdicts could not be read" if different is None else f"{different} verdict(s) differ from the pack's"
                terminalreporter.write_line(f"replay: {what}: exit {EXIT_REPLAY_DIFFERS}")
        else:
            terminalreporter.write_line(ending.decision.describe(sweep.profile.min_severity))
        if ending.unloaded:
            terminalreporter.write_line(
                f"controls not judged: {', '.join(ending.unloaded)} failed to load; the pack is marked incomplete"
            )
        elif not ending.complete:
            terminalreporter.write_line("the run did not finish: the pack holds what it judged and is marked incomplete")
        terminalreporter.write_line(f"evidence pack: {sweep.pack}")
