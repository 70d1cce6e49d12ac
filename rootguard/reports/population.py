"""population.json: every account the profile's scope reaches, judged or not, with the reason, and what backs it.

An auditor relies on a test of controls only when the population is known: which
accounts were in scope, which were tested (here: every in-scope account, each by every
selected control, with no sampling), and which were left out and why. The organization
listings the population comes from are evidence files of the pack, like any fact.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from rootguard.accounts.resolution import ANOTHER_SHARD, JUDGED, NOT_SELECTED, REASONS, UNREACHABLE, Member
from rootguard.evidence.pack import write_json_atomic
from rootguard.reports import Reporter

POPULATION = "population.json"


def entry(member: Member) -> dict:
    return {
        "account_id": member.id,
        "account_name": member.name,
        "in_scope": member.in_scope,
        "reason": member.reason,
        "reason_text": REASONS[member.reason],
        "status": member.status,
        "ou_path": member.ou_path,
        "source": member.source,
    }


def statement(accounts: list[dict], complete: bool = True) -> str:
    """What the population says about coverage, in one sentence an auditor can quote."""
    tally = Counter(a["reason"] for a in accounts)
    in_scope = sum(1 for a in accounts if a["in_scope"])
    out = len(accounts) - in_scope
    tested = tally[JUDGED]
    parts = []
    if tested == in_scope:
        parts.append(f"Every one of the {in_scope} in-scope accounts was tested, each by every selected control; no sampling")
    else:
        parts.append(f"{tested} of the {in_scope} in-scope accounts were tested, each by every selected control; no sampling among them")
    if tally[UNREACHABLE]:
        parts.append(f"{tally[UNREACHABLE]} could not be reached (their controls are error, not tested)")
    if tally[ANOTHER_SHARD]:
        parts.append(f"{tally[ANOTHER_SHARD]} are another shard's (merge the shards for the whole population)")
    if tally[NOT_SELECTED]:
        parts.append(f"{tally[NOT_SELECTED]} were left out with --account")
    if out:
        parts.append(f"{out} account(s) the scope reached are out of scope, each with its reason")
    if not complete:
        parts.append("the run did not finish: see results.json's complete")
    return "; ".join(parts) + "."


def document(members: list[dict], scope: dict, evidence: list[str], complete: bool = True) -> dict:
    tally = Counter(m["reason"] for m in members)
    return {
        "statement": statement(members, complete),
        "scope": scope,
        "counts": {
            "reached": len(members),
            "in_scope": sum(1 for m in members if m["in_scope"]),
            "out_of_scope": sum(1 for m in members if not m["in_scope"]),
            **{reason: tally[reason] for reason in REASONS},
        },
        # The organization listings the population was read from: DescribeOrganization and the
        # OU tree (ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent).
        "evidence": sorted(evidence),
        "accounts": members,
    }


def scope_of(sweep) -> dict:
    profile = sweep.profile
    organization = profile.organization
    return {
        "listed_accounts": [a.id for a in profile.accounts],
        "organization": {
            "include_ous": list(organization.include_ous),
            "exclude_accounts": list(organization.exclude_accounts),
        } if organization is not None else None,
        "vending": profile.vending is not None,
        "account_option": list(sweep.selected),
        "shard": sweep.shard,
    }


class PopulationJson(Reporter):
    name = "population"

    def members(self, ending) -> list[dict]:
        reached = ending.reached
        judged = [m.because(UNREACHABLE) if m.reason == JUDGED and reached is not None and m.id not in reached else m
                  for m in self.sweep.population]
        return [entry(m) for m in judged]

    def write(self, ending) -> None:
        sweep = self.sweep
        if sweep.replay_of and sweep.replayed_population is not None:
            # A replay re-performs the controls, not the listing: the original's population stands,
            # as recorded, with the listings behind it copied from the original pack.
            original = Path(sweep.replay_of["pack"])
            for name in sweep.replayed_population.get("evidence", []):
                target = sweep.pack / name
                if (original / name).is_file() and not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(original / name, target)
            write_json_atomic(sweep.pack / POPULATION, {**sweep.replayed_population, "replay_of": str(original)})
            return
        write_json_atomic(sweep.pack / POPULATION, document(self.members(ending), scope_of(sweep), list(sweep.population_evidence), ending.complete))


def merge_population(documents: list[tuple[dict, dict]], complete: bool) -> dict | None:
    """The shards' populations as one: each account with the reason its own shard gave it.

    `documents` pairs each shard's population.json with the evidence names merge moved.
    """
    if not documents:
        return None
    chosen: dict[str, dict] = {}
    for population, _ in documents:
        for account in population["accounts"]:
            known = chosen.get(account["account_id"])
            if known is None or (known["reason"] == ANOTHER_SHARD and account["reason"] != ANOTHER_SHARD):
                chosen[account["account_id"]] = account
    evidence = {moved.get(name, name) for population, moved in documents for name in population.get("evidence", [])}
    scope = {**documents[0][0].get("scope", {}), "shard": None}
    members = sorted(chosen.values(), key=lambda a: (a["account_name"].lower(), a["account_id"]))
    return document(members, scope, sorted(evidence), complete)
