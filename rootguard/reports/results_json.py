"""results.json: every verdict of the run in the DESIGN.md schema, with the run's context around it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rootguard import __version__
from rootguard.evidence.documents import json_default, redact
from rootguard.evidence.pack import RESULTS, write_json_atomic
from rootguard.evidence.replay import settings_of
from rootguard.profile.waivers import waiver_usage
from rootguard.reports import Reporter
from rootguard.reports.exports import PackData
from rootguard.reports.context import PROFILE_COPY, ci_job, profile_record, run_context, suite_source
from rootguard.vocabulary import OUTCOMES


def counts(verdicts) -> Counter:
    tally = Counter({outcome: 0 for outcome in OUTCOMES})
    tally.update(v.outcome for v in verdicts)
    return tally


def verdict_order(verdict) -> tuple:
    return (verdict.account_name, verdict.account_id, verdict.control.id, verdict.region or "")


class ResultsJson(Reporter):
    name = "results"
    _profile: dict | None = None

    def profile(self) -> dict:
        """The profile file's hash and redacted text; a replay's are the original pack's."""
        if self._profile is None:
            sweep = self.sweep
            if sweep.replay_of:
                original = Path(sweep.replay_of["pack"])
                recorded = (PackData(original).results.get("context") or {}).get("profile") or {}
                copy = original / PROFILE_COPY
                self._profile = {"path": recorded.get("file"), "sha256": recorded.get("sha256"),
                                 "text": copy.read_text(encoding="utf-8") if copy.is_file() else None}
            else:
                self._profile = profile_record(sweep.profile.path)
        return self._profile

    def document(self, ending) -> dict:
        sweep, decision = self.sweep, ending.decision
        context = run_context(sweep, ending, self.profile(), suite_source(), ci_job())
        extras = {
            # Fields beyond the DESIGN.md contract.
            "complete": ending.complete,
            "backend": sweep.backend,
            "endpoint_url": sweep.profile.endpoint_url,
            "operator": context["operator"],
            "context": context,
            "caller_identity": redact(sweep.caller) if sweep.caller else None,
            "settings": settings_of(sweep.profile),
            "frameworks_selected": list(sweep.frameworks_selected),
            "shard": sweep.shard,
            "gate": {"min_severity": sweep.profile.min_severity, "exit_code": decision.code, "blocking": len(decision.blocking)},
            "waivers": waiver_usage(sweep.profile.waivers, self.verdicts, sweep.started_at.date()),
        }
        if ending.unloaded:
            extras["not_loaded"] = list(ending.unloaded)
        finished = ending.finished_text
        if sweep.replay_of:
            # The verdicts are judged at the original's moment: its times stay paired, the replay's own beside them.
            extras["replay_of"] = {k: v for k, v in sweep.replay_of.items() if k != "replay_started_at"}
            extras["replayed"] = {"started_at": sweep.replay_of["replay_started_at"], "finished_at": ending.finished_text}
            finished = sweep.replay_of.get("finished_at") or finished
        read = [a for a in sweep.readable if (sweep.pack / "evidence" / a.id).is_dir()]
        if read:
            # Read for the verdicts above (a central bucket, a log archive), never judged here.
            extras["read_accounts"] = [{"account_id": a.id, "account_name": a.name, "source": a.source} for a in read]
        return {
            "profile": sweep.profile.name,
            "started_at": sweep.started_text,
            "finished_at": finished,
            "suite_version": __version__,
            "caller": sweep.caller.get("Arn") if sweep.caller else None,
            **extras,
            "accounts": [{"account_id": a.id, "account_name": a.name, "source": a.source} for a in sweep.accounts],
            "counts": dict(counts(self.verdicts)),
            "results": [v.as_json() for v in sorted(self.verdicts, key=verdict_order)],
        }

    def write(self, ending) -> None:
        write_json_atomic(self.sweep.pack / RESULTS, redact(self.document(ending)), default=json_default)
        text = self.profile()["text"]
        if text is not None:
            (self.sweep.pack / PROFILE_COPY).write_text(text, encoding="utf-8")
