"""`rootguard ledger`: many evidence packs become one view of an audit period.

Every pack is verified before it is read (its hashes, its sign-offs, and its signature when a
key is given); a pack that fails is listed as rejected and nothing of it is used. From the
runs that remain, in the period, the ledger works out per (control, account, region) the
outcome of each run and its failure episodes (first failed, passed again, days to remediate,
open at the end), what the runs evidenced and where the evidence has gaps longer than the
cadence, how the population changed, which waivers were in force and what they covered, and
how each framework requirement fared. docs/ledger-format.md is the document's contract.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rootguard import __version__
from rootguard.evidence.pack import MANIFEST, RESULTS, SIGNATURE, PackError, read_manifest, sha256_file, verify
from rootguard.profile.profile import Waiver
from rootguard.profile.waivers import covers
from rootguard.reports.population import POPULATION

LEDGER_FORMAT = 1
LEDGER = "ledger.json"
OUTCOME_ORDER = ("passed", "failed", "waived", "error", "skipped")
FAILING = ("failed", "waived")
EVIDENCED = ("passed", "failed", "waived", "skipped")  # an error is the absence of evidence
LATE_TOLERANCE = 0.1  # of the cadence: a weekly run may start up to 16.8 hours late
PASS_RATE = "passed / (passed + failed + waived + error); skipped verdicts are left out"
CADENCE = re.compile(r"(?:(\d+)([hdw])|P(?:(\d+)W|(\d+)D|T(\d+)H))", re.IGNORECASE)


class LedgerError(Exception):
    """A ledger that cannot be built as asked; the message is one line for the user."""

    def __init__(self, message: str, exit_code: int = 4):
        super().__init__(message)
        self.exit_code = exit_code


def cadence_days(text: str) -> float:
    """A cadence as days: 7d, 2w, 24h, or ISO 8601's P7D, P1W, PT24H."""
    match = CADENCE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r}: give a duration such as 7d, 2w, 24h or P7D")
    number, unit, weeks, days, hours = match.groups()
    if number:
        value = int(number) * {"h": 1 / 24, "d": 1, "w": 7}[unit.lower()]
    else:
        value = int(weeks) * 7 if weeks else int(days) if days else int(hours) / 24
    if value <= 0:
        raise ValueError(f"{text!r}: a cadence must be longer than zero")
    return value


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_between(start: dt.datetime, end: dt.datetime) -> float:
    return round((end - start).total_seconds() / 86400, 2)


@dataclass(frozen=True)
class Period:
    first_day: dt.date
    last_day: dt.date
    cadence: str | None = None

    def __post_init__(self):
        if self.last_day < self.first_day:
            raise LedgerError(f"--to {self.last_day} is before --from {self.first_day}")

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time(), dt.timezone.utc)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), dt.timezone.utc)

    @property
    def cadence_days(self) -> float | None:
        return cadence_days(self.cadence) if self.cadence else None

    @property
    def limit_days(self) -> float | None:
        """The longest gap that is not a missed run: the cadence and a tenth of it, so a run that starts late is not flagged."""
        cadence = self.cadence_days
        return None if cadence is None else round(cadence * (1 + LATE_TOLERANCE), 4)

    def holds(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    def describe(self) -> dict:
        return {
            "from": self.first_day.isoformat(), "to": self.last_day.isoformat(),
            "start": stamp(self.start), "end": stamp(self.end),
            "cadence": self.cadence, "cadence_days": self.cadence_days, "longest_gap_allowed_days": self.limit_days,
        }


@dataclass
class Run:
    """One verified pack in the period: what the ledger reads of it, kept small.

    A year of weekly packs at a thousand accounts is over a million verdicts: each is kept as a
    tuple of shared strings, and what is the same for every verdict of a control (its title,
    severity and framework mapping) once per control.
    """

    source: str
    path: Path
    manifest_sha256: str
    started_at: dt.datetime
    results: dict  # results.json without its results
    verdicts: list[tuple]  # (control, account id, region, outcome)
    names: dict[str, str]  # account id -> name
    controls: dict[str, tuple]  # control -> (title, severity, frameworks)
    in_scope: dict[str, str]  # account id -> name, of the accounts this run's population had in scope
    left_out: dict[str, str]  # account id -> why population.json has it out of scope
    signature: str
    signoffs: int
    retention: dict | None = None
    index: int = 0

    def out_of_scope_reason(self, account_id: str) -> str | None:
        return self.left_out.get(account_id)

    def describe(self) -> dict:
        counts = Counter(verdict[3] for verdict in self.verdicts)
        return {
            "index": self.index,
            "started_at": stamp(self.started_at),
            "finished_at": self.results.get("finished_at"),
            "source": self.source,
            "manifest_sha256": self.manifest_sha256,
            "complete": bool(self.results.get("complete", True)),
            "backend": self.results.get("backend"),
            "signature": self.signature,
            "signoffs": self.signoffs,
            "retention": self.retention,
            "results": len(self.verdicts),
            "accounts": len(self.in_scope),
            "counts": {outcome: counts.get(outcome, 0) for outcome in OUTCOME_ORDER},
        }


@dataclass
class Sorting:
    """The packs found, sorted into the runs the ledger uses and the rest with their reasons."""

    runs: list[Run] = field(default_factory=list)
    not_used: list[dict] = field(default_factory=list)

    def skip(self, source: str, status: str, reason: str, started_at: str | None = None) -> None:
        self.not_used.append({"source": source, "started_at": started_at, "status": status, "reason": reason})

    @property
    def rejected(self) -> list[dict]:
        return [entry for entry in self.not_used if entry["status"] == "rejected"]


def read_json(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise PackError(f"{path.name} is unreadable ({exc})") from None
    if not isinstance(document, dict):
        raise PackError(f"{path.name} is not a JSON object")
    return document


def verified_run(found, key: Path | None) -> Run:
    """The pack as a Run, or PackError saying in one line why it cannot be used."""
    from rootguard.evidence.signoff import check_signoffs

    checked = verify(found.path)
    if not checked.ok:
        differ = checked.changed + checked.added + checked.missing
        raise PackError(f"{len(differ)} file(s) differ from its manifest ({', '.join(differ[:3])}{' ...' if len(differ) > 3 else ''})")
    if key is not None:
        from rootguard.evidence.signing import check_signature

        signer = check_signature(found.path, key)
        signature = f"valid, key {signer[:16]}..."
    else:
        signature = "present, not checked (no --key)" if (found.path / SIGNATURE).exists() else "unsigned"
    signoffs = check_signoffs(found.path, set())
    failing = [check.problem for check in signoffs if check.problem]
    if failing:
        raise PackError(f"sign-off {failing[0]}")
    results = read_json(found.path / RESULTS)
    if not isinstance(results.get("results"), list) or "started_at" not in results:
        raise PackError(f"{RESULTS} has no results or no started_at")
    verdicts, names, controls = compact(results.pop("results"))
    population = read_json(found.path / POPULATION) if (found.path / POPULATION).is_file() else {}
    listed = population.get("accounts") if isinstance(population.get("accounts"), list) else None
    if listed is None:
        in_scope, left_out = {a["account_id"]: a.get("account_name") or "" for a in results.get("accounts", [])}, {}
    else:
        in_scope = {a["account_id"]: a.get("account_name") or "" for a in listed if a.get("in_scope")}
        left_out = {a["account_id"]: a.get("reason_text") or a.get("reason") or "" for a in listed if not a.get("in_scope")}
    return Run(
        source=found.source, path=found.path, manifest_sha256=sha256_file(found.path / MANIFEST),
        started_at=parse_time(results["started_at"]), results=results, verdicts=verdicts, names=names, controls=controls,
        in_scope=in_scope, left_out=left_out, signature=signature, signoffs=len(signoffs), retention=getattr(found, "retention", None),
    )


def compact(entries: list) -> tuple[list[tuple], dict[str, str], dict[str, tuple]]:
    """results.json's verdicts as (control, account id, region, outcome) tuples of shared strings, the account
    names, and per control its title, severity and framework mapping; PackError for an entry without those keys."""
    verdicts, names, controls = [], {}, {}
    try:
        for entry in entries:
            control, account_id, region = sys.intern(entry["control"]), sys.intern(entry["account_id"]), entry.get("region")
            verdicts.append((control, account_id, sys.intern(region) if region else None, sys.intern(entry["outcome"])))
            names[account_id] = entry.get("account_name") or ""
            if control not in controls:
                controls[control] = (entry.get("title") or control, entry.get("severity"), entry.get("frameworks") or {})
    except (KeyError, TypeError) as exc:
        raise PackError(f"{RESULTS}: a result without {exc}") from None
    return verdicts, names, controls


def sort_packs(found_packs, period: Period, key: Path | None, profile: str | None) -> Sorting:
    """Verify every pack and keep the runs of one profile in the period, oldest first."""
    sorting = Sorting()
    seen: dict[str, str] = {}
    candidates = []
    for found in found_packs:
        try:
            claimed = read_manifest(found.path)
        except PackError:
            claimed = {}  # verifying it says what is wrong
        kind = claimed.get("kind")
        if kind in ("ledger", "sample"):
            sorting.skip(found.source, "not a pack", f"a {kind} that rootguard {kind} wrote, not a run's evidence pack")
            continue
        try:
            run = verified_run(found, key)
        except PackError as exc:
            # When it started is what its manifest claims: unverified, but it names the run that is missing.
            started = claimed.get("started_at")
            sorting.skip(found.source, "rejected", str(exc), started if isinstance(started, str) else None)
            continue
        when = stamp(run.started_at)
        if run.manifest_sha256 in seen:
            sorting.skip(found.source, "duplicate", f"the same pack as {seen[run.manifest_sha256]}", when)
            continue
        seen[run.manifest_sha256] = found.source
        if run.results.get("backend") == "replay":
            sorting.skip(found.source, "rejected", "a replay re-judges evidence collected earlier; it is not a collection", when)
            continue
        if run.results.get("shard"):
            sorting.skip(found.source, "rejected", "one shard of a sharded sweep: merge the shards first (rootguard merge)", when)
            continue
        candidates.append(run)
    profiles = sorted({run.results.get("profile") or "" for run in candidates})
    if profile is None and len(profiles) > 1:
        raise LedgerError(f"the packs come from {len(profiles)} profiles ({', '.join(profiles)}); give --profile NAME to choose one")
    for run in candidates:
        when = stamp(run.started_at)
        if profile is not None and run.results.get("profile") != profile:
            sorting.skip(run.source, "other profile", f"profile {run.results.get('profile')}, not {profile}", when)
        elif not period.holds(run.started_at):
            sorting.skip(run.source, "outside the period", f"started {when}, outside {period.first_day} to {period.last_day}", when)
        else:
            sorting.runs.append(run)
    sorting.runs.sort(key=lambda run: (run.started_at, run.source))
    for index, run in enumerate(sorting.runs):
        run.index = index
    sorting.not_used.sort(key=lambda entry: (entry["status"], entry["source"]))
    return sorting


def pass_rate(counts: Counter) -> float | None:
    judged = sum(counts[outcome] for outcome in ("passed", "failed", "waived", "error"))
    return round(counts["passed"] / judged, 4) if judged else None


def tally(counts: Counter) -> dict:
    return {**{outcome: counts.get(outcome, 0) for outcome in OUTCOME_ORDER}, "pass_rate": pass_rate(counts)}


class Ledger:
    """The ledger document of the runs of one profile in one period."""

    def __init__(self, sorting: Sorting, period: Period, profile: str | None, generated_at: dt.datetime):
        self.runs = sorting.runs
        self.sorting = sorting
        self.period = period
        self.profile = profile or (self.runs[0].results.get("profile") if self.runs else None)
        self.generated_at = generated_at
        self.times = [run.started_at for run in self.runs]
        # (control, account, region) -> the run-aligned outcomes, and what each verdict said.
        self.outcomes: dict[tuple, list] = {}
        self.names: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.severities: dict[str, str] = {}
        self.requirements: dict[tuple, set] = defaultdict(set)
        for run in self.runs:
            for control, account_id, region, outcome in run.verdicts:
                key = (control, account_id, region)
                row = self.outcomes.get(key)
                if row is None:
                    row = self.outcomes[key] = [None] * len(self.runs)
                row[run.index] = outcome
            self.names.update(run.names)  # the latest name of each account
            for control, (title, severity, frameworks) in run.controls.items():
                self.titles.setdefault(control, title)
                self.severities.setdefault(control, severity)
                for framework, ids in frameworks.items():
                    for requirement in ids:
                        self.requirements[(framework, requirement)].add(control)
        self.keys = sorted(self.outcomes, key=lambda k: (k[0], k[1], k[2] or ""))
        self.scope = [run.in_scope for run in self.runs]

    def who(self, key: tuple) -> dict:
        control, account_id, region = key
        return {"control": control, "account_id": account_id, "account_name": self.names.get(account_id), "region": region}

    def in_scope_at_end(self, account_id: str) -> bool:
        return bool(self.scope) and account_id in self.scope[-1]

    # -- failures and their remediation -------------------------------------------------------

    def episodes_of(self, key: tuple) -> list[dict]:
        """Failure episodes: from a failed or waived verdict until the next pass; errors in between are unknowns, not passes."""
        episodes, current = [], None
        outcomes = self.outcomes[key]
        judged_before = False
        for index, outcome in enumerate(outcomes):
            if outcome is None:
                continue
            if outcome in FAILING and current is None:
                current = {
                    **self.who(key), "first_failed": stamp(self.times[index]), "open_at_start": not judged_before,
                    "passed_again": None, "days_to_remediate": None, "closed_by": None,
                    "runs_failed": 0, "runs_waived": 0, "runs_error": 0, "open_at_end": False, "days_open_at_end": None,
                }
                episodes.append(current)
            judged_before = judged_before or outcome in EVIDENCED  # an error before it says nothing of what came first
            if current is None:
                continue
            if outcome == "passed":
                current.update(passed_again=stamp(self.times[index]), closed_by="passed",
                               days_to_remediate=days_between(parse_time(current["first_failed"]), self.times[index]))
                current = None
            elif outcome in ("failed", "waived", "error"):
                current[f"runs_{outcome}"] += 1
        if current is not None:
            if self.in_scope_at_end(key[1]):
                current.update(open_at_end=True, days_open_at_end=days_between(parse_time(current["first_failed"]), self.period.end))
            else:
                current["closed_by"] = "the account left the population"
        return episodes

    # -- coverage -------------------------------------------------------------------------------

    def run_gaps(self) -> list[dict]:
        limit = self.period.limit_days
        edges = [self.period.start, *self.times, self.period.end]
        gaps = []
        for start, end in zip(edges, edges[1:]):
            days = days_between(start, end)
            gaps.append({"from": stamp(start), "to": stamp(end), "days": days, "exceeds_cadence": None if limit is None else days > limit})
        return gaps

    def presence(self, account_id: str) -> tuple[dt.datetime, dt.datetime] | None:
        """When the account was in the population: from the period's start (or the run it entered at) to its end (or the last run it was in)."""
        present = [index for index, scope in enumerate(self.scope) if account_id in scope]
        if not present:
            return None
        start = self.period.start if present[0] == 0 else self.times[present[0]]
        end = self.period.end if present[-1] == len(self.runs) - 1 else self.times[present[-1]]
        return start, end

    def control_gaps(self, key: tuple) -> list[dict]:
        """Stretches longer than the cadence in which this (control, account, region) had no evidence, while the account was in scope."""
        limit = self.period.limit_days
        window = self.presence(key[1])
        if limit is None or window is None:
            return []
        evidenced = [self.times[i] for i, outcome in enumerate(self.outcomes[key]) if outcome in EVIDENCED and window[0] <= self.times[i] <= window[1]]
        edges = [window[0], *evidenced, window[1]]
        return [
            {**self.who(key), "from": stamp(start), "to": stamp(end), "days": days_between(start, end)}
            for start, end in zip(edges, edges[1:])
            if days_between(start, end) > limit
        ]

    def population(self) -> tuple[list[dict], list[dict]]:
        seen: dict[str, dict] = {}
        changes = []
        previous: dict[str, str] = {}
        for run, scope in zip(self.runs, self.scope):
            for account_id, name in scope.items():
                entry = seen.setdefault(account_id, {"account_id": account_id, "account_name": name, "first_seen": stamp(run.started_at),
                                                     "last_seen": None, "runs_in_scope": 0})
                entry["last_seen"] = stamp(run.started_at)
                entry["runs_in_scope"] += 1
                if run.index > 0 and account_id not in previous:
                    changes.append({"account_id": account_id, "account_name": name, "change": "entered",
                                    "at": stamp(run.started_at), "run": run.index, "reason": None})
            for account_id in sorted(set(previous) - set(scope)):
                reason = run.out_of_scope_reason(account_id) or "no longer reached by the profile's scope"
                changes.append({"account_id": account_id, "account_name": previous[account_id], "change": "left",
                                "at": stamp(run.started_at), "run": run.index, "reason": reason})
            previous = scope
        return sorted(seen.values(), key=lambda e: e["account_id"]), changes

    # -- waivers --------------------------------------------------------------------------------

    def waivers(self) -> list[dict]:
        found: dict[tuple, dict] = {}
        for run in self.runs:
            day = run.started_at.date()
            for record in run.results.get("waivers") or []:
                ident = (record["control"], tuple(record.get("accounts") or ()), record.get("account_pattern"),
                         record.get("approved_by"), record.get("justification"), record["expires"])
                waiver = Waiver(record["control"], ident[1], record.get("justification") or "", record.get("approved_by") or "",
                                dt.date.fromisoformat(record["expires"]), account_pattern=ident[2])
                entry = found.setdefault(ident, {
                    "control": waiver.control, "accounts": list(waiver.accounts), "account_pattern": waiver.account_pattern,
                    "approved_by": waiver.approved_by, "justification": waiver.justification, "expires": record["expires"],
                    "first_seen": stamp(run.started_at), "last_seen": None, "in_force_from": None, "in_force_to": None,
                    "expired_in_period": self.period.first_day <= waiver.expires < self.period.last_day,
                    "covered": [], "failed_after_expiry": [],
                })
                entry["last_seen"] = stamp(run.started_at)
                in_force = waiver.expires >= day
                if in_force:
                    entry["in_force_from"] = entry["in_force_from"] or stamp(run.started_at)
                    entry["in_force_to"] = stamp(run.started_at)
                for control, account_id, region, outcome in run.verdicts:
                    if control != waiver.control or not covers(waiver, control, account_id):
                        continue
                    verdict = {"run": run.index, "started_at": stamp(run.started_at), "account_id": account_id, "region": region}
                    if in_force and outcome == "waived":
                        entry["covered"].append(verdict)
                    elif not in_force and outcome == "failed":
                        entry["failed_after_expiry"].append(verdict)
        return sorted(found.values(), key=lambda e: (e["control"], e["expires"], e["approved_by"]))

    # -- frameworks and trends ------------------------------------------------------------------

    def per_control(self) -> list[dict[str, Counter]]:
        """Per run, the outcomes of each control's verdicts: every requirement and framework count is a sum of these."""
        counts = []
        for run in self.runs:
            tallies: dict[str, Counter] = defaultdict(Counter)
            for control, _account, _region, outcome in run.verdicts:
                tallies[control][outcome] += 1
            counts.append(tallies)
        return counts

    def frameworks(self, open_episodes: list[dict], per_control: list[dict[str, Counter]]) -> list[dict]:
        # A verdict counts once for each requirement its control supports, as that run's mapping has it.
        per_requirement: dict[tuple, list[Counter]] = defaultdict(lambda: [Counter() for _ in self.runs])
        for run, tallies in zip(self.runs, per_control):
            for control, counts in tallies.items():
                for framework, ids in run.controls[control][2].items():
                    for requirement in set(ids):
                        per_requirement[(framework, requirement)][run.index].update(counts)
        open_controls = Counter(episode["control"] for episode in open_episodes)
        table = []
        for (framework, requirement), per_run in sorted(per_requirement.items()):
            totals = sum(per_run, Counter())
            controls = sorted(self.requirements[(framework, requirement)])
            table.append({
                "framework": framework, "requirement": requirement, "controls": controls,
                "per_run": [tally(counts) if counts else None for counts in per_run],
                "totals": {outcome: totals.get(outcome, 0) for outcome in OUTCOME_ORDER},
                "runs_all_passed": sum(1 for counts in per_run if counts["passed"] and set(+counts) <= {"passed", "skipped"}),
                "open_failures_at_end": sum(open_controls[control] for control in controls),
            })
        return table

    def trends(self, per_control: list[dict[str, Counter]]) -> dict:
        by_control: dict[str, list[Counter]] = defaultdict(lambda: [Counter() for _ in self.runs])
        by_framework: dict[str, list[Counter]] = defaultdict(lambda: [Counter() for _ in self.runs])
        open_counts = {outcome: [0] * len(self.runs) for outcome in ("failed", "waived", "error")}
        for run, tallies in zip(self.runs, per_control):
            for control, counts in tallies.items():
                by_control[control][run.index] = counts
                for framework in run.controls[control][2]:
                    by_framework[framework][run.index].update(counts)
                for outcome in open_counts:
                    open_counts[outcome][run.index] += counts[outcome]
        return {
            "controls": {control: [pass_rate(c) for c in counts] for control, counts in sorted(by_control.items())},
            "frameworks": {framework: [pass_rate(c) for c in counts] for framework, counts in sorted(by_framework.items())},
            "open": open_counts,
        }

    def document(self) -> dict:
        per_control = self.per_control()
        episodes = [episode for key in self.keys for episode in self.episodes_of(key)]
        open_failures = [episode for episode in episodes if episode["open_at_end"]]
        first_failed = {}
        for episode in episodes:
            first_failed.setdefault((episode["control"], episode["account_id"], episode["region"]), episode["first_failed"])
        still_open = {(e["control"], e["account_id"], e["region"]) for e in open_failures}
        timelines = [
            {**self.who(key), "title": self.titles[key[0]], "severity": self.severities[key[0]], "outcomes": self.outcomes[key],
             "first_failed": first_failed.get(key), "open_at_end": key in still_open}
            for key in self.keys
        ]
        control_gaps = [gap for key in self.keys for gap in self.control_gaps(key)]
        gaps_per_control = Counter(gap["control"] for gap in control_gaps)
        keys_of = defaultdict(list)
        for key in self.keys:
            keys_of[key[0]].append(key)
        controls = []
        for control in sorted(self.titles):
            keys = keys_of[control]
            evidenced = {i for key in keys for i, outcome in enumerate(self.outcomes[key]) if outcome in EVIDENCED}
            controls.append({"control": control, "title": self.titles[control], "runs_evidenced": len(evidenced), "runs": len(self.runs),
                             "accounts": len({key[1] for key in keys}), "gaps": gaps_per_control[control]})
        population, changes = self.population()
        backends = {run.results.get("backend") for run in self.runs}
        sources = sorted({run.results.get("context", {}).get("data_source") or "" for run in self.runs if run.results.get("backend") != "live"} - {""})
        return {
            "ledger_format": LEDGER_FORMAT,
            "generated_at": stamp(self.generated_at),
            "suite_version": __version__,
            "profile": self.profile,
            "data_source": "; ".join(sources) or (f"not live AWS: backend {', '.join(sorted(map(str, backends - {'live'})))}"
                                                   if backends - {"live"} else None),
            "period": self.period.describe(),
            "outcome_order": list(OUTCOME_ORDER),
            "pass_rate": PASS_RATE,
            "runs": [run.describe() for run in self.runs],
            "packs_not_used": self.sorting.not_used,
            "timelines": timelines,
            "episodes": episodes,
            "open_failures": open_failures,
            "coverage": {
                "run_gaps": self.run_gaps(),
                "control_gaps": control_gaps,
                "controls": controls,
                "population": population,
                "population_changes": changes,
            },
            "waivers": self.waivers(),
            "frameworks": self.frameworks(open_failures, per_control),
            "trends": self.trends(per_control),
        }


@dataclass
class Built:
    document: dict
    output: Path
    files: list[str]
    signed_by: str | None

    @property
    def rejected(self) -> list[dict]:
        return [entry for entry in self.document["packs_not_used"] if entry["status"] == "rejected"]

    @property
    def long_gaps(self) -> list[dict]:
        return [gap for gap in self.document["coverage"]["run_gaps"] if gap["exceeds_cadence"]]


def prepare_output(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise LedgerError(f"--output {output}: not an empty folder; a ledger is written to a new one")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(f"--output {output}: cannot make the folder ({exc.strerror or exc})") from None


def write_ledger(document: dict, output: Path, sign_key: Path | None) -> Built:
    """ledger.json, ledger.html and ledger.xlsx, then the manifest over them and over the packs used (signed with sign_key)."""
    from rootguard.evidence.pack import write_json_atomic, write_manifest
    from rootguard.ledger.render import write_html
    from rootguard.ledger.workbook import write_workbook

    write_json_atomic(output / LEDGER, document)
    write_html(document, output / "ledger.html")
    write_workbook(document, output / "ledger.xlsx")
    metadata = {
        "kind": "ledger",
        "ledger_format": LEDGER_FORMAT,
        "suite_version": __version__,
        "profile": document["profile"],
        "generated_at": document["generated_at"],
        "period": document["period"],
        "complete": True,
        "packs": [{"source": run["source"], "started_at": run["started_at"], "manifest_sha256": run["manifest_sha256"]}
                  for run in document["runs"]],
    }
    manifest = write_manifest(output, metadata)
    signed_by = None
    if sign_key is not None:
        from rootguard.evidence.signing import sign_pack

        signed_by = sign_pack(output, sign_key)
    files = sorted(json.loads(manifest.read_text(encoding="utf-8"))["files"])
    return Built(document, output, files, signed_by)


def build_ledger(found_packs, period: Period, output: Path, *, key: Path | None = None, sign_key: Path | None = None,
                 profile: str | None = None, now: dt.datetime | None = None) -> Built:
    if sign_key is not None:
        from rootguard.evidence.signing import load_key

        load_key(sign_key, private=True)  # a wrong key file is found before the work, not after it
    sorting = sort_packs(found_packs, period, key, profile)
    ledger = Ledger(sorting, period, profile, now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    return write_ledger(ledger.document(), output, sign_key)
