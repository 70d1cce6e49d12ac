"""What every stage of a run may know of it, frozen: the Sweep (from its start) and its Ending.

The run (rootguard.run) makes a Sweep once the accounts are known and hands it, with
the growing list of verdicts, to the verdict, evidence and report stages; none of them
sees the run itself. At the end it adds the Ending: when, whether complete, the gate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from rootguard.accounts import Account
from rootguard.profile import Profile


def utc_text(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


@dataclass(frozen=True)
class Sweep:
    profile: Profile
    pack: Path
    started_at: dt.datetime
    caller: dict | None
    accounts: tuple[Account, ...]
    backend: str  # live | moto | replay
    rootpath: Path  # where the repo's node_modules/ (the Allure command line) may be
    frameworks_selected: tuple[str, ...] = ()
    shard: str | None = None  # "I/N"
    replay_of: dict | None = None  # {"pack", "started_at"} of the pack a replay re-performs
    regions: dict = field(default_factory=dict)  # account id -> regions, when the profile says `all`
    # In-scope accounts this run reads but does not judge (another shard's, or left out by
    # --account): a verdict here that rests on their resources (a central trail bucket, a log
    # archive account) reads them as a whole sweep would.
    readable: tuple[Account, ...] = ()
    # Every account the profile's scope reached, judged or not, with the reason (population.json),
    # the evidence files of the organization listings behind it, and the --account selection.
    population: tuple = ()  # rootguard.accounts.resolution.Member
    population_evidence: tuple[str, ...] = ()
    selected: tuple[str, ...] = ()
    replayed_population: dict | None = None  # a replay's: the original pack's population.json

    @property
    def started_text(self) -> str:
        return utc_text(self.started_at)


@dataclass(frozen=True)
class Ending:
    finished_at: dt.datetime
    complete: bool
    decision: object  # rootguard.gate.Decision
    reachable: int  # accounts whose credentials answered
    comparison: dict | None = None
    unloaded: tuple[str, ...] = ()  # control modules that failed to load: their controls were not judged
    reached: frozenset | None = None  # ids of the accounts whose credentials answered

    @property
    def finished_text(self) -> str:
        return utc_text(self.finished_at)
