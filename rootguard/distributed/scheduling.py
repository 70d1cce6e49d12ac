"""pytest-xdist: each worker judges a fixed share of the accounts, and only those.

xdist's own schedulers hand tests to whichever worker is free, so every worker would
fetch the facts of every account. Here the controller resolves the accounts once and
passes them to the workers; each account belongs to one worker (dealt by a hash of its id),
which fetches that account's facts ahead, concurrently, and runs its tests; the
controller gathers the verdicts and writes the pack's summary files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Sequence

from rootguard.controls import Control
from rootguard.verdicts import Verdict

# A control's test id ends with the account id, then the region for a regional control:
# `name-123456789012` or `name-123456789012-eu-west-1`. Greedy, so a name with digits of its own is passed over.
ACCOUNT_IN_NODEID = re.compile(r"^.*-(\d{12})(?:-[a-z]{2}(?:-[a-z]+)+-\d+)?\]$")


def owners(account_ids, workers: int) -> dict[str, int]:
    """The worker (0-based) that judges each account: the accounts in the order of a hash of their
    ids, dealt out in turn, so that the workers' shares differ by one account at most (the hash
    alone, modulo the workers, gave 57 and 43 of 100 accounts), a --shard's accounts as much as
    a whole sweep's. The controller and every worker deal the same accounts alike, whatever
    order they hold them in."""
    order = sorted(set(account_ids), key=lambda account_id: (hashlib.sha256(f"xdist:{account_id}".encode()).digest(), account_id))
    return {account_id: position % workers for position, account_id in enumerate(order)}


def owned(account_ids, index: int, workers: int) -> set[str]:
    """Those of the accounts that worker `index` (0-based) of `workers` judges."""
    return {account_id for account_id, worker in owners(account_ids, workers).items() if worker == index}


def account_of(nodeid: str) -> str | None:
    found = ACCOUNT_IN_NODEID.match(nodeid)
    return found.group(1) if found else None


def worker_input(sweep) -> dict:
    """What a worker needs from the controller: the pack, the start time, the caller and the accounts."""
    return {
        "pack": str(sweep.pack),
        "started_at": sweep.started_at.isoformat(),
        "caller": sweep.caller,
        "accounts": [dataclasses.asdict(account) for account in sweep.accounts],
        "readable": [dataclasses.asdict(account) for account in sweep.readable],
        "regions": {account_id: list(regions) for account_id, regions in sweep.regions.items()},
    }


def verdict_data(result: Verdict, reached: bool, controls_sent: set[str] | None = None) -> dict:
    """A verdict as plain data, to travel from a worker to the controller with its test report.

    Its control travels whole with the first verdict on it only (`controls_sent`, the ids a
    worker has sent so far), then by id: a worker's reports reach the controller in order,
    and the control's text, its frameworks and its rule were two thirds of each report's bytes.
    """
    data = {
        "control_id": result.control.id,
        "account_id": result.account_id,
        "account_name": result.account_name,
        "region": result.region,
        "outcome": result.outcome,
        "message": result.message,
        "evidence": list(result.evidence),
        "actions": list(result.actions),
        "duration": result.duration,
        "reached": reached,
    }
    if controls_sent is None or result.control.id not in controls_sent:
        data["control"] = dataclasses.asdict(result.control)
        if controls_sent is not None:
            controls_sent.add(result.control.id)
    return data


def verdict_from(data: dict, controls: dict[str, Control] | None = None) -> Verdict:
    """The verdict back from plain data; `controls` keeps each control by id as it first arrives, for those sent by id."""
    control = None if controls is None else controls.get(data["control_id"])
    if control is None:
        fields = dict(data["control"])
        fields["facts"] = tuple(fields["facts"])
        fields["frameworks"] = {k: tuple(v) for k, v in fields["frameworks"].items()}
        control = Control(**fields)
        if controls is not None:
            controls[control.id] = control
    return Verdict(
        control=control,
        account_id=data["account_id"],
        account_name=data["account_name"],
        region=data["region"],
        outcome=data["outcome"],
        message=data["message"],
        evidence=list(data["evidence"]),
        actions=tuple(data.get("actions", ())),
        duration=data["duration"],
    )


def make_scheduler(config, log, expecting, account_ids):
    """xdist's scheduler for a compliance run: each test goes to the worker that owns its account.

    `expecting(n)` is told how many tests the run holds, once the collection is known;
    `account_ids` are the accounts the run judges, which the workers are dealt (owners).
    """
    from xdist.scheduler import EachScheduling

    class AccountScheduling(EachScheduling):
        def schedule(self) -> None:
            assert self.collection_is_completed
            collection = next(iter(self.node2collection.values()))
            expecting(len(collection))
            for node, pending in self.node2pending.items():
                if node in self._started:
                    continue
                if not pending:
                    pending[:] = share(collection, node_index(node), self.numnodes, account_ids)
                    if pending:
                        node.send_runtest_some(list(pending))
                    node.shutdown()
                else:
                    node.send_runtest_some(pending)  # a replacement for a worker that died
                self._started.append(node)

    return AccountScheduling(config, log)


def node_index(node) -> int:
    return int(node.gateway.id.removeprefix("gw"))


def share(collection: Sequence[str], index: int, workers: int, account_ids) -> list[int]:
    """The positions of the tests worker `index` runs; a test naming none of the accounts goes to the first."""
    dealt = owners(account_ids, workers)
    return [position for position, nodeid in enumerate(collection) if dealt.get(account_of(nodeid), 0) == index]
