"""Replay: re-run the controls on a pack's recorded AWS responses, with no AWS access at all.

The fact functions run unchanged; only the clients they call are replaced by ones
that answer each request with the response (or error) the pack recorded for it,
so an auditor can re-perform every verdict from the evidence alone.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import defaultdict, deque
from pathlib import Path

from botocore.exceptions import ClientError

from rootguard.accounts import Account
from rootguard.errors import FactError
from rootguard.facts import action_name
from rootguard.evidence.jsontext import parse
from rootguard.evidence.pack import RESULTS, PackError
from rootguard.profile import Profile, Waiver


def canonical(parameters: dict) -> str:
    return json.dumps(parameters, sort_keys=True, default=str)


class RecordedCalls:
    """Every recorded request of a pack, answered in the order it was made."""

    def __init__(self, pack: Path | None = None):
        """Every evidence file of `pack`; none without one (add() them)."""
        self._lock = threading.Lock()
        self._answers: dict[tuple, deque] = defaultdict(deque)
        if pack is None:
            return
        evidence = pack / "evidence"
        if not evidence.is_dir():
            raise PackError(f"{pack}: no evidence/ folder to replay")
        for path in sorted(evidence.glob("*/*.json")):
            try:
                self.add(json.loads(path.read_bytes()))  # the json module: numbers read exactly (jsontext)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise PackError(f"{path}: not a rootguard evidence file ({type(exc).__name__}: {exc})") from None

    def add(self, document: dict) -> None:
        """The calls of one evidence file."""
        for call in document["calls"]:
            key = (document["account_id"], call["region"], call["action"], canonical(call["parameters"]))
            self._answers[key].append(call)

    def answer(self, account_id: str, region: str, action: str, parameters: dict) -> dict:
        key = (account_id, region, action, canonical(parameters))
        with self._lock:
            queue = self._answers.get(key)
            if not queue:
                raise FactError(
                    f"{action}: the pack has no recorded response for this request (region {region}, {canonical(parameters)})",
                    action=action,
                    code="NotRecorded",
                )
            # The last answer repeats: a request made again gets what was seen last.
            call = queue.popleft() if len(queue) > 1 else queue[0]
        # The requests AWS answered, for the replayed pack's evidence (rootguard.facts.context.note_response).
        meta = {"RecordedRequestIds": list(call.get("request_ids") or []), "RecordedDates": list(call.get("response_dates") or [])}
        error = call.get("error")
        if error:
            if error.get("Kind") == "session":
                raise FactError(error.get("Message", ""), action=error.get("Action", action), code=error.get("Code", ""))
            raise ClientError(
                {"Error": {"Code": error.get("Code", ""), "Message": error.get("Message", "")}, "ResponseMetadata": meta},
                action.split(":")[1],
            )
        return {**(call.get("response") or {}), "ResponseMetadata": meta}


class ReplayClient:
    def __init__(self, calls: RecordedCalls, account_id: str, service: str, region: str):
        self._calls, self._account, self._service, self._region = calls, account_id, service, region

    def __getattr__(self, operation: str):
        action = action_name(self._service, operation)
        return lambda **parameters: self._calls.answer(self._account, self._region, action, parameters)

    def get_paginator(self, operation: str):
        client = self

        class Pages:
            @staticmethod
            def paginate(**parameters):
                # A listing was recorded whole, as one page holding every item.
                yield getattr(client, operation)(**parameters)

        return Pages()


class ReplayConnector:
    """Stands in for `Connector`: the same interface, answered from the pack."""

    def __init__(self, calls: RecordedCalls):
        self.calls = calls

    def session_for(self, account: Account) -> str:
        return account.id

    def client(self, session: str, service: str, region: str) -> ReplayClient:
        return ReplayClient(self.calls, session, service, region)


class RecordedRun:
    """What a pack says about the run that made it: profile settings, caller, accounts, outcomes."""

    def __init__(self, pack: Path):
        self.pack = pack
        path = pack / RESULTS
        try:
            self.results = parse(path.read_bytes())
        except FileNotFoundError:
            raise PackError(f"{path}: no results.json: not a rootguard evidence pack") from None
        except (OSError, ValueError) as exc:
            raise PackError(f"{path}: unreadable ({exc})") from None
        if "settings" not in self.results:
            raise PackError(f"{path}: written without its run settings; it cannot be replayed")

    def profile(self) -> Profile:
        settings = self.results["settings"]
        regions = settings["regions"]
        return Profile(
            name=self.results["profile"],
            path=str(self.pack / RESULTS),
            description=f"replay of {self.pack}",
            backend="replay",
            home_region=settings["home_region"],
            regions=regions if regions == "all" else tuple(regions),
            params=dict(settings["params"]),
            min_severity=settings["min_severity"],
            waivers=tuple(
                Waiver(
                    control=w["control"],
                    accounts=tuple(w["accounts"]),
                    account_pattern=w.get("account_pattern"),
                    justification=w["justification"],
                    approved_by=w["approved_by"],
                    expires=dt.date.fromisoformat(w["expires"]),
                )
                for w in settings.get("waivers", [])
            ),
        )

    def started_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.results["started_at"].replace("Z", "+00:00"))

    def caller(self) -> dict:
        return dict(self.results["caller_identity"])

    def accounts(self) -> list[Account]:
        return [Account(id=a["account_id"], name=a["account_name"], source=a.get("source", "listed")) for a in self.results["accounts"]]

    def population(self) -> dict | None:
        """The original's population.json (a pack from before it was written has none)."""
        try:
            return parse((self.pack / "population.json").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise PackError(f"{self.pack / 'population.json'}: unreadable ({exc})") from None

    def readable_accounts(self) -> list[Account]:
        """The in-scope accounts the run read without judging (another shard's): their evidence is in the pack too."""
        return [Account(id=a["account_id"], name=a["account_name"], source=a.get("source", "listed")) for a in self.results.get("read_accounts", [])]


def settings_of(profile: Profile) -> dict:
    """The profile fields a replay needs, as results.json records them."""
    return {
        "home_region": profile.home_region,
        "regions": profile.regions if profile.regions == "all" else list(profile.regions),
        "params": dict(profile.params),
        "min_severity": profile.min_severity,
        "backend": profile.backend,
        "waivers": [
            {
                "control": w.control,
                "accounts": list(w.accounts),
                "account_pattern": w.account_pattern,
                "justification": w.justification,
                "approved_by": w.approved_by,
                "expires": w.expires.isoformat(),
            }
            for w in profile.waivers
        ],
    }
