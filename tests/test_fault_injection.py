"""Fault injection: any AWS action a control reads, for any one account, fails or answers in an odd shape.

The faults sit under botocore's retry handler (tests/faults.py), so retries happen as they
would against AWS. Which results read which (account, action) comes from a fault-free run's
evidence: each result lists its evidence files, each file the calls behind it, so no table of
controls and facts is kept by hand. What must hold, for every control and every fact it uses:

- A persistent fault (AccessDenied, throttling, 5xx, connect timeout) on (account, action) makes
  every result reading it `error`, or leaves it at its fault-free outcome when what could be
  read still proves that (another trail qualifies, an unset contact fails it anyway: DESIGN.md,
  "Judging from partial evidence"); either way the message names the action and the error code
  (ConnectTimeoutError for a timeout). Every other result keeps its fault-free outcome.
  Throttling, 5xx and timeouts are tried 9 times (the first attempt and 8 retries), unless
  botocore's retry quota for the client runs out first; AccessDenied once.
- A transient fault (the first k <= 7 attempts of each call fail) is retried, k + 1 attempts in
  all, and every result keeps its fault-free outcome.
- A response with one field dropped, or given a value of another type, makes each result
  reading it `error` or leaves its outcome as it was (a field no verdict reads, or one AWS may
  leave out); a dropped field may also make it `failed` (its absence is a non-compliant state:
  a trail without LatestCloudWatchLogsDeliveryTime never delivered). Nothing else: never
  `passed` or `skipped` where the fault-free run said otherwise, except for the dropped fields
  in ABSENT_MEANS_COMPLIANT, whose absence AWS documents as a compliant state.
- So no result that reads a persistent fault is `passed` unless it was `passed` without faults
  and says what it could not read, and nothing that was not `passed` without faults becomes
  `passed`.

sts:AssumeRole for an account is read by every result that reads anything of that account. The
hub's own sts:GetCallerIdentity is never made to fail for good or answer oddly: without it no
run starts (exit 6, tests/test_run.py).

The enumeration places every (action, fault kind) somewhere: copies of a compliant member and
of a non-compliant one in one scenario, a different placement in each, so one run covers many. Placements sharing a run never share a result, so each message is checked
against its own fault. Hypothesis then draws placements that may overlap (an account, up to three
of its actions, any fault, attempts, nested fields), derandomized so CI sees the same examples.
"""

from __future__ import annotations

import ast
import json
import os
import textwrap
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import faults
from tests.conftest import REPO, profile_for

HUB = "123456789012"
OK = "200000000000"  # the compliant member; its copies are 2000000000nn
LAX = "300000000000"  # the non-compliant member; its copies are 3000000000nn
LONE = "400000000000"  # the standalone account; its copies are 4000000000nn
PERSISTENT = ("access-denied", "throttling", "server-error", "connect-timeout")
SHARDS = 8
TRANSIENT_ROUNDS = 3
RUN_ACCOUNTS = 12  # members in one run at most, so that runs deal evenly to the shards
RETRY_BUDGET = faults.RETRY_QUOTA * 3 // 5  # what transient faults may take of a client's retry quota
# Dropped, these say the compliant state in AWS's own terms, not that something is missing.
ABSENT_MEANS_COMPLIANT = {
    ("logs:DescribeLogGroups", ("logGroups", "*", "retentionInDays")): "a log group without retentionInDays never expires",
}

ORGANIZATION = """\
regions: [us-east-1]
organization:
  ous: [{name: Guarded}, {name: Loose}]
  root_credentials_management: true
  root_sessions: true
  service_control_policies:
    - {name: deny-root, document: deny-root, targets: [Guarded]}
    - name: deny-root-but-iam
      document:
        Version: "2012-10-17"
        Statement:
          - {Effect: Deny, NotAction: ["iam:*"], Resource: "*", Condition: {StringLike: {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}
      targets: [Loose]
accounts:
  - id: "123456789012"
    name: hub
    root: {password: true, password_last_used: {days_ago: 200}, mfa: hardware}
    trails:
      - {name: org-trail, organization: true, s3_bucket: org-trail-logs}
    buckets:
      - {name: org-trail-logs, public_access_block: all, versioning: Enabled}
    iam:
      password_policy: {min_length: 14, reuse_prevention: 24}
"""
# Passes every control (the organization trail's bucket is judged in the hub, and passes there too).
COMPLIANT = """\
- id: "{id}"
  name: ok-{id}
  ou: Guarded
  root: {{password: true, password_last_used: {{days_ago: 200}}, mfa: hardware}}
  trails:
    - name: trail
      s3_bucket: trail-{id}
      cloudwatch_logs: {{log_group: trail-logs, last_delivery: {{hours_ago: 1}}, retention_days: 365}}
  buckets:
    - {{name: trail-{id}, public_access_block: all, versioning: Enabled}}
  s3_public_access_block: all
  metric_filters:
    - {{log_group: trail-logs, name: root-usage, pattern: cis, metric: RootAccountUsage}}
    - {{log_group: trail-logs, name: signin-failures, pattern: cis-signin-failures, metric: ConsoleSigninFailures}}
  topics:
    - name: alerts
      subscriptions: [{{endpoint: soc@example.com}}]
  alarms:
    - {{name: root-usage, metric: RootAccountUsage, topic: alerts}}
    - {{name: signin-failures, metric: ConsoleSigninFailures, topic: alerts}}
  iam:
    password_policy: {{min_length: 14, reuse_prevention: 24}}
    users:
      - {{name: breakglass, console_password: true, mfa: true, policies: [AdministratorAccess]}}
  guardduty: {{us-east-1: enabled}}
  config_recorders: [{{region: us-east-1}}]
  alternate_contacts:
    billing: {{name: Bill, email: billing@example.com}}
    operations: {{name: Opal, email: ops@example.com}}
    security: {{name: Sec, email: security@example.com}}
  budgets:
    - name: monthly
      notifications: [{{threshold: 80, subscribers: [{{address: finance@example.com}}]}}]
  contact_information:
    {{full_name: Example Corp, address_line1: 1 Main Street, city: Springfield, postal_code: "62701", country_code: US,
      phone_number: "+1 217 555 0199"}}
"""
# Fails all but three controls (root-mfa, cloudtrail-multi-region, centralized-root-access), most
# through something a response lists (a virtual MFA device, an admin user without MFA, a public
# grant, a pending subscription), so that a field lost on the way would show as a pass.
NON_COMPLIANT = """\
- id: "{id}"
  name: lax-{id}
  ou: Loose
  root:
    password: true
    password_last_used: {{days_ago: 200}}
    mfa: virtual
    access_keys: [{{active: true, created: {{days_ago: 400}}, last_used: {{days_ago: 3}}}}]
  trails:
    - name: trail
      log_file_validation: false
      s3_bucket: trail-{id}
      cloudwatch_logs: {{log_group: trail-logs, last_delivery: {{hours_ago: 30}}, retention_days: 30}}
  buckets:
    - {{name: trail-{id}, public_acl: true, public_policy: true, versioning: Suspended}}
  metric_filters:
    - {{log_group: trail-logs, name: root-usage, pattern: cis, metric: RootAccountUsage}}
    - {{log_group: trail-logs, name: signin-failures, pattern: cis-signin-failures, metric: ConsoleSigninFailures}}
  topics:
    - name: alerts
      subscriptions: [{{endpoint: soc@example.com, confirmed: false}}]
  alarms:
    - {{name: root-usage, metric: RootAccountUsage, topic: alerts}}
    - {{name: signin-failures, metric: ConsoleSigninFailures, topic: alerts}}
  iam:
    password_policy: {{min_length: 8, reuse_prevention: 24}}
    users:
      - {{name: admin, console_password: true, mfa: false, policies: [AdministratorAccess]}}
    roles:
      - {{name: operator, policies: [AdministratorAccess]}}
  guardduty: {{us-east-1: disabled}}
  config_recorders: [{{region: us-east-1, recording: false}}]
  alternate_contacts:
    billing: {{name: Bill, email: billing@example.com}}
  budgets:
    - name: usage
      type: USAGE
      notifications: [{{threshold: 80, subscribers: [{{address: finance@example.com}}]}}]
  contact_information:
    {{full_name: Lax Corp, address_line1: 2 Side Street, city: Springfield, postal_code: "62701", country_code: US,
      phone_number: "555-0142"}}
"""
# Outside the organization, managing one of its own without centralized root sessions.
STANDALONE = """\
- id: "{id}"
  name: lone-{id}
  standalone: true
  own_organization: {{root_credentials_management: true, root_sessions: false}}
"""


def template(account: str) -> str:
    """The account whose fault-free verdicts a copy shares."""
    return {"2": OK, "3": LAX, "4": LONE}.get(account[0], account) if account != HUB else HUB


def scenario(accounts) -> str:
    text = ORGANIZATION
    for account in sorted(accounts):
        body = {OK: COMPLIANT, LAX: NON_COMPLIANT, LONE: STANDALONE}[template(account)]
        text += textwrap.indent(body.format(id=account), "  ")
    return text


def run_suite(pytester, accounts, plan: faults.FaultPlan, name: str) -> dict:
    """Judge the hub and `accounts` with `plan` in force: the exit code, results.json's results, the pack."""
    scenario_path = pytester.path / f"{name}.yaml"
    scenario_text = scenario(accounts)
    scenario_path.write_text(scenario_text)
    profile = pytester.path / f"{name}-profile.yaml"
    profile.write_text(profile_for(scenario_path, scenario_text))
    pack = pytester.path / f"{name}-pack"
    with pytest.MonkeyPatch.context() as patch:
        faults.install(patch, plan)
        # Verdicts and evidence are judged here; their HTML and Allure renderings are not.
        result = pytester.runpytest(
            str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pack), "-p", "no:html", "-p", "no:allure_pytest",
            "--export", "none",
        )
    assert (pack / "results.json").is_file(), "\n".join(result.outlines[-30:] + result.errlines[-30:])
    return {"ret": result.ret, "results": json.loads((pack / "results.json").read_text())["results"], "pack": pack}


# --- the fault-free run: verdicts, which results read which (account, action), response fields --


ResultKey = tuple  # (control, account, region)


@dataclass
class Baseline:
    outcomes: dict[ResultKey, str]
    reads: dict[ResultKey, frozenset]  # -> {(account, action)}
    calls: Counter  # (account, action) -> calls made
    seen: dict[tuple[str, str], frozenset]  # (account, action) -> {field path}
    _readers: dict = field(default_factory=dict)

    def results_of(self, account: str) -> list[ResultKey]:
        model = template(account)
        return [(control, account, region) for control, owner, region in self.outcomes if owner == model]

    def outcome(self, key: ResultKey) -> str:
        control, account, region = key
        return self.outcomes[(control, template(account), region)]

    def reads_of(self, key: ResultKey) -> frozenset:
        control, account, region = key
        model = template(account)
        return frozenset((account if owner == model else owner, action) for owner, action in self.reads[(control, model, region)])

    def readers(self, account: str, action: str) -> frozenset:
        """The fault-free results (of the template accounts) that read `action` on `account`."""
        if (account, action) not in self._readers:
            probe = Placement(account, action, faults.Fault("access-denied"))
            self._readers[(account, action)] = frozenset(key for key, reads in self.reads.items() if probe.read_by(reads))
        return self._readers[(account, action)]

    def actions(self, account: str) -> set[str]:
        """Every action some result reads on `account` (a template); sts:AssumeRole for one reached by role."""
        found = {action for reads in self.reads.values() for owner, action in reads if owner == account}
        return found | ({"sts:AssumeRole"} if account != HUB else set())


_BASELINE: dict[str, Baseline] = {}


def baseline(pytester) -> Baseline:
    """One fault-free run per worker, with one account of each kind."""
    if "run" not in _BASELINE:
        plan = faults.FaultPlan(observe=True)
        run = run_suite(pytester, (OK, LAX, LONE), plan, "baseline")
        outcomes, reads, calls, documents = {}, {}, Counter(), {}
        for entry in run["results"]:
            key = (entry["control"], entry["account_id"], entry["region"])
            outcomes[key] = entry["outcome"]
            pairs = set()
            for relative in entry["evidence"]:
                if relative not in documents:
                    documents[relative] = json.loads((run["pack"] / relative).read_text())
                pairs.update((documents[relative]["account_id"], call["action"]) for call in documents[relative]["calls"])
            reads[key] = frozenset(pairs)
        for document in documents.values():
            calls.update((document["account_id"], call["action"]) for call in document["calls"])
        _BASELINE["run"] = Baseline(outcomes, reads, calls, {k: frozenset(v) for k, v in plan.seen.items()})
    return _BASELINE["run"]


# --- placements, and what each must do ------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    account: str
    action: str
    fault: faults.Fault | faults.Mangle

    def describe(self) -> str:
        return f"{self.action} for {self.account}: {self.fault.describe()}"

    @property
    def persistent(self) -> bool:
        return isinstance(self.fault, faults.Fault) and self.fault.transient is None

    @property
    def transient(self) -> bool:
        return isinstance(self.fault, faults.Fault) and self.fault.transient is not None

    def read_by(self, reads: frozenset) -> bool:
        if self.action == "sts:AssumeRole":
            return any(owner == self.account for owner, _ in reads)
        return (self.account, self.action) in reads

    def says(self) -> str:
        """What an `error` this persistent fault caused must say."""
        code = faults.error_code(self.fault.kind, self.action)
        if self.action == "sts:AssumeRole":
            return f"sts:AssumeRole arn:aws:iam::{self.account}:role/OrganizationAccountAccessRole failed: {code}"
        return f"{self.action} failed: {code}"


def plan_of(placements) -> faults.FaultPlan:
    plan = faults.FaultPlan()
    for p in placements:
        if isinstance(p.fault, faults.Mangle):
            plan.mangles[(p.account, p.action)] = p.fault
        else:
            plan.faults[(p.account, p.action)] = p.fault
    return plan


def shape_allows(mangles: list[Placement], outcome: str, before: str) -> bool:
    """Odd responses may give `error` or the fault-free outcome; a dropped field also `failed`."""
    if outcome in ("error", before):
        return True
    drops = [p for p in mangles if p.fault.how == "drop"]
    if outcome == "failed":
        return bool(drops)
    return outcome == "passed" and any((p.action, p.fault.path) in ABSENT_MEANS_COMPLIANT for p in drops)


def problems(base: Baseline, placements, accounts, run: dict, plan: faults.FaultPlan) -> list[str]:
    """Everything in one run that breaks the properties in this module's docstring."""
    found = [] if run["ret"] in (0, 1) else [f"the run ended with exit code {run['ret']}"]
    judged = {(e["control"], e["account_id"], e["region"]): e for e in run["results"]}
    expected = {key for account in (*accounts, HUB) for key in base.results_of(account)}
    if set(judged) != expected:
        found.append(f"results differ from the fault-free run's: {sorted(set(judged) ^ expected)[:5]}")
    for key in sorted(expected & set(judged)):
        entry, reads = judged[key], base.reads_of(key)
        before, outcome, message = base.outcome(key), entry["outcome"], entry["message"]
        hits = [p for p in placements if not p.transient and p.read_by(reads)]
        persistent = [p for p in hits if p.persistent]
        where = f"{key[0]} on {key[1]}"
        if persistent:
            says = [p.says() for p in persistent] + [p.action for p in hits if not p.persistent]
            if outcome not in ("error", before):
                found.append(f"{where}: {before} became {outcome}, not error, under {persistent[0].describe()}")
            elif not any(text in message for text in says):
                found.append(f"{where}: the message names none of {says}: {message}")
        elif hits:
            if not shape_allows(hits, outcome, before):
                found.append(f"{where}: {before} became {outcome} under {'; '.join(p.describe() for p in hits)}: {message}")
        elif outcome != before:
            found.append(f"{where}: {before} became {outcome} with no fault read: {message}")
    for p in placements:
        if isinstance(p.fault, faults.Mangle):
            continue
        tries = plan.calls(p.account, p.action)
        if p.transient:
            wrong = any(n != p.fault.transient + 1 for n in tries)
        elif p.fault.kind in faults.RETRIED:
            wrong = bool(tries) and max(tries) != faults.MAX_ATTEMPTS
        else:
            wrong = any(n != 1 for n in tries)
        if wrong:
            found.append(f"{p.describe()}: attempts per call {tries}")
    return found


def within_quota(base: Baseline, account: str, action: str, kind: str, attempts: int, spent: Counter) -> int:
    """The most first attempts (<= `attempts`) that may fail without running the client's retry quota dry.

    A retry that succeeds gives back what it took, so k failed attempts cost k - 1 retries.
    """
    service = action.split(":")[0]
    calls = max(1, base.calls[(template(account), action)])
    while attempts > 1 and spent[service] + calls * (attempts - 1) * faults.RETRY_COST[kind] > RETRY_BUDGET:
        attempts -= 1
    spent[service] += calls * (attempts - 1) * faults.RETRY_COST[kind]
    return attempts


# --- the enumeration: every (action, fault kind) somewhere, disjoint within a run -----------------


def named_fields() -> set[str]:
    """Every string rootguard's fact code (and its AssumeRole reader) names: no other field reaches a verdict."""
    names = set()
    for path in [*(REPO / "rootguard" / "facts").glob("*.py"), *(REPO / "rootguard" / "accounts").glob("*.py")]:
        tree = ast.parse(path.read_text())
        names |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return names


def wanted(base: Baseline) -> list[Placement]:
    """Each action with each persistent fault, and each top-level field the code names dropped and retyped.

    Faults go to the compliant member, where `passed` must turn into `error`, or else to the
    hub, whose view of the organization the members read. Odd shapes go to the non-compliant
    member first, where a field lost on the way could turn a failure into a pass. Fields no
    code names, and nested ones, are left to the hypothesis test.
    """
    placements = []
    named = named_fields()
    everything = set().union(*(base.actions(a) for a in (HUB, OK, LAX, LONE)))
    for action in sorted(everything):
        home = next(a for a in (OK, HUB, LAX, LONE) if action in base.actions(a))
        placements += [Placement(home, action, faults.Fault(kind)) for kind in PERSISTENT]
        done = set()
        for account in (LAX, OK, HUB, LONE):
            if action not in base.actions(account):
                continue
            for path in sorted(base.seen.get((account, action), ())):
                if len(path) == 1 and path[0] in named and path not in done:
                    done.add(path)
                    placements += [Placement(account, action, faults.Mangle(path, how)) for how in ("drop", "retype")]
    return placements


def transient_faults(base: Baseline, account: str, turn: int) -> list[Placement]:
    """Every action of `account` failing its first attempts, the kind and their number turning with the action.

    The hub's calls grow with the members of the run, so they fail once each (a retry that
    succeeds costs no quota).
    """
    placements, spent = [], Counter()
    for i, action in enumerate(sorted(base.actions(template(account)))):
        kind = faults.RETRIED[(turn + i) % 3]
        attempts = 1 if account == HUB else within_quota(base, account, action, kind, 1 + (turn + i) % 7, spent)
        placements.append(Placement(account, action, faults.Fault(kind, transient=attempts)))
    return placements


def copy_id(model: str, index: int) -> str:
    return str(int(model) + index)


@dataclass
class Round:
    """One run: its member accounts (besides the hub) and its placements."""

    index: int
    accounts: list[str] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    reserved: set[str] = field(default_factory=set)  # accounts failing transiently all over

    def copies(self, model: str) -> list[str]:
        return [a for a in self.accounts if template(a) == model and a not in self.reserved]

    def next_copy(self, model: str) -> str:
        return copy_id(model, sum(template(a) == model for a in self.accounts))

    def add(self, account: str) -> str:
        self.accounts.append(account)
        return account


def affected(base: Baseline, p: Placement, accounts) -> set[ResultKey]:
    """The results of a run of `accounts` (and the hub) that read what `p` faults."""
    model = template(p.account)
    readers = base.readers(model, p.action)
    if p.account != HUB:
        return {(control, p.account, region) for control, owner, region in readers if owner == model}
    copies = {}
    for account in (*accounts, HUB):
        copies.setdefault(template(account), []).append(account)
    return {(control, account, region) for control, owner, region in readers for account in copies.get(owner, ())}


def fits(base: Baseline, run: Round, p: Placement, accounts) -> bool:
    if any((q.account, q.action) == (p.account, p.action) for q in run.placements):
        return False
    mine = affected(base, p, accounts)
    return not any(mine & affected(base, q, accounts) for q in run.placements if not q.transient)


_PLAN: dict[str, list[Round]] = {}


def enumeration(base: Baseline) -> list[Round]:
    """Runs holding every wanted placement; the first ones also fail every action of a few accounts transiently."""
    if "rounds" in _PLAN:
        return _PLAN["rounds"]
    todo = wanted(base)
    rounds = [Round(i) for i in range(TRANSIENT_ROUNDS)]
    for run in rounds:
        run.reserved = {run.add(run.next_copy(OK)), run.add(run.next_copy(LAX))}
        for account in (HUB, *sorted(run.reserved)):
            run.placements += transient_faults(base, account, run.index)
    # Every member reads the hub's view of the organization: hub faults read by the same control
    # of every member need runs of their own.
    for p in (p for p in todo if p.account == HUB):
        run = next((r for r in rounds[TRANSIENT_ROUNDS:] if fits(base, r, p, r.accounts)), None)
        if run is None:
            run = Round(len(rounds))
            run.add(run.next_copy(OK))
            run.add(run.next_copy(LAX))
            rounds.append(run)
        run.placements.append(p)
    rest = sorted((p for p in todo if p.account != HUB), key=lambda p: -len(affected(base, p, ())))
    for n, p in enumerate(rest):
        # A fault errors a failing member as well as a passing one; an odd shape is tried where it was seen.
        models = (p.account, LAX if p.account == OK else OK) if isinstance(p.fault, faults.Fault) else (p.account,)
        start = n % max(1, len(rounds))
        for run in rounds[start:] + rounds[:start]:
            hosts = [a for model in models for a in run.copies(model)]
            host = next((a for a in hosts if fits(base, run, Placement(a, p.action, p.fault), run.accounts)), None)
            if host:
                run.placements.append(Placement(host, p.action, p.fault))
                break
        else:
            for run in sorted(rounds, key=lambda r: (len(r.accounts), r.index)) + [Round(len(rounds))]:
                host = run.next_copy(p.account)
                if len(run.accounts) < RUN_ACCOUNTS and fits(base, run, Placement(host, p.action, p.fault), [*run.accounts, host]):
                    run.placements.append(Placement(run.add(host), p.action, p.fault))
                    if run.index == len(rounds):
                        rounds.append(run)
                    break
    _PLAN["rounds"] = rounds
    return rounds


def shards(rounds: list[Round]) -> list[list[Round]]:
    """Runs dealt to SHARDS tests of about the same length (an account costs about the same anywhere)."""
    dealt: list[list[Round]] = [[] for _ in range(SHARDS)]
    for run in sorted(rounds, key=lambda r: (-len(r.accounts), r.index)):
        min(dealt, key=lambda shard: (sum(1 + len(r.accounts) for r in shard), dealt.index(shard))).append(run)
    return dealt


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_placement_errors_only_where_it_is_read(pytester, shard):
    base = baseline(pytester)
    found = []
    for run in shards(enumeration(base))[shard]:
        plan = plan_of(run.placements)
        result = run_suite(pytester, run.accounts, plan, f"round-{run.index}")
        found += [f"run {run.index}: {text}" for text in problems(base, run.placements, run.accounts, result, plan)]
        for p in run.placements:
            if isinstance(p.fault, faults.Mangle) and not plan.mangled[(p.account, p.action)]:
                found.append(f"run {run.index}: {p.describe()} was never answered")
            if isinstance(p.fault, faults.Fault) and not plan.calls(p.account, p.action):
                found.append(f"run {run.index}: {p.describe()} was never asked")
    assert not found, "\n".join(found)


def test_every_action_meets_every_fault_kind(pytester):
    """Every action some result reads, with every kind of fault, is placed somewhere in the enumeration.

    With the test above (each placement was asked or answered), this is the enumeration's coverage.
    """
    base = baseline(pytester)
    rounds = enumeration(base)
    placed = {
        (p.action, p.fault.how if isinstance(p.fault, faults.Mangle) else p.fault.kind, p.transient) for r in rounds for p in r.placements
    }
    actions = set().union(*(base.actions(a) for a in (HUB, OK, LAX, LONE)))
    missing = [(a, kind) for a in sorted(actions) for kind in PERSISTENT if (a, kind, False) not in placed]
    missing += [(a, f"transient {kind}") for a in sorted(actions) for kind in faults.RETRIED if (a, kind, True) not in placed]
    answered = {a for (account, a), paths in base.seen.items() if a in actions and any(len(path) == 1 for path in paths)}
    missing += [(a, how) for a in sorted(answered) for how in ("drop", "retype") if (a, how, False) not in placed]
    assert not missing, missing
    assert sum(len(r.accounts) for r in rounds) <= 120, "the enumeration has grown: mind the time `make test` takes"


# --- the false passes the enumeration found: a listing that lost its list -------------------------

# Each listing's items are what fails the control on the non-compliant member; a page without
# its list was read as an empty one, which made it a pass (or, for the trail's bucket, a skip).
LOST_LISTS = {
    "virtual-mfa": ("iam:ListVirtualMFADevices", "VirtualMFADevices", "root-hardware-mfa"),
    "admin-users": ("iam:GetAccountAuthorizationDetails", "UserDetailList", "break-glass-admins"),
    "own-buckets": ("s3:ListBuckets", "Buckets", "cloudtrail-bucket-private"),
}
LOST_IN = {case: copy_id(LAX, i) for i, case in enumerate(LOST_LISTS)}
_LOST: dict[str, dict] = {}


@pytest.mark.parametrize("case", sorted(LOST_LISTS))
def test_a_listing_that_lost_its_list_is_an_error(pytester, case):
    if "results" not in _LOST:
        placements = [Placement(LOST_IN[c], action, faults.Mangle((key,), "drop")) for c, (action, key, _) in LOST_LISTS.items()]
        run = run_suite(pytester, LOST_IN.values(), plan_of(placements), "lost")
        _LOST["results"] = {(e["control"], e["account_id"]): e for e in run["results"]}
    action, key, control = LOST_LISTS[case]
    entry = _LOST["results"][(control, LOST_IN[case])]
    assert entry["outcome"] == "error", entry["message"]
    assert f"{action}: response has no {key!r}" in entry["message"]


# --- hypothesis: drawn placements, overlapping as they may ----------------------------------------


def any_fault(base: Baseline, account: str, action: str) -> st.SearchStrategy:
    """Any fault (account, action) can take: persistent, transient k times, a field (nested too) dropped or retyped."""
    options = [
        st.builds(faults.Fault, st.sampled_from(PERSISTENT)),
        st.builds(faults.Fault, st.sampled_from(faults.RETRIED), st.integers(1, 7)),
    ]
    paths = sorted(base.seen.get((template(account), action), ()))
    if paths:
        options.append(st.builds(faults.Mangle, st.sampled_from(paths), st.sampled_from(("drop", "retype"))))
    return st.one_of(options)


def drawn_placements(base: Baseline, data) -> list[Placement]:
    account = data.draw(st.sampled_from((HUB, OK, LAX, LONE)), label="account")
    # Every run starts from the hub's own identity: without it there is no run (exit 6).
    actions = sorted(base.actions(account) - ({"sts:GetCallerIdentity"} if account == HUB else set()))
    chosen = data.draw(st.lists(st.sampled_from(actions), min_size=1, max_size=3, unique=True), label="actions")
    drawn = [(action, data.draw(any_fault(base, account, action), label=action)) for action in chosen]
    # Faults that retry to the limit spend the client's quota first; transient ones get what is left.
    spent = Counter()
    for action, fault in drawn:
        if isinstance(fault, faults.Fault) and fault.transient is None and fault.kind in faults.RETRIED:
            spent[action.split(":")[0]] += base.calls[(account, action)] * (faults.MAX_ATTEMPTS - 1) * faults.RETRY_COST[fault.kind]
    return [
        Placement(account, action, faults.Fault(f.kind, within_quota(base, account, action, f.kind, f.transient, spent)))
        if isinstance(f, faults.Fault) and f.transient
        else Placement(account, action, f)
        for action, f in drawn
    ]


# ROOTGUARD_FAULT_EXAMPLES=200 searches further, with fresh random draws each time.
EXAMPLES = os.environ.get("ROOTGUARD_FAULT_EXAMPLES")
_DRAWN = Counter()


@settings(
    max_examples=int(EXAMPLES or 4),
    derandomize=not EXAMPLES,  # in CI the same examples every time: a red build is never a new draw
    database=None,
    deadline=None,
    phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),  # a shrink would take minutes of runs
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_drawn_placements_error_only_where_they_are_read(pytester, data):
    base = baseline(pytester)
    placements = drawn_placements(base, data)
    account = placements[0].account
    accounts = (OK, LAX) if account == HUB else (account,)
    plan = plan_of(placements)
    _DRAWN["runs"] += 1
    result = run_suite(pytester, accounts, plan, f"drawn-{_DRAWN['runs']}")
    found = problems(base, placements, accounts, result, plan)
    assert not found, "\n".join(found)
