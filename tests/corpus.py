"""The conformance corpus: AWS answers as AWS documents them or users posted them, and the verdicts each must give.

Each file in tests/aws_samples/ is one sample:

    title: what the sample shows
    sources: [where the answers come from: an AWS page, a botocore model, a public issue]
    scenario: |                 # the moto state the rest of the run reads (fixtures/scenario.py)
      accounts: [...]
    profile: |                  # optional: more profile lines (params, credentials, ...)
      params: {...}
    args: [--account, "210000000211"]   # optional: more pytest arguments
    leave_out: ["123456789012"]         # optional: accounts of the scenario the profile does not list
    answers:                    # served instead of moto's answer (fixtures/overrides.py)
      - account: "123456789012"
        action: iam:GetAccountSummary
        region: us-east-1       # optional: the region the request goes to
        params: {}              # optional: request parameters the answer is for
        response: {...}         # as the AWS CLI prints it; or error: {code, message, status}
        source: https://...     # where this answer comes from
    expect:                     # the verdicts the unchanged suite must give
      - {control: root-mfa, account: hub, outcome: passed, says: "text in the message"}

Strings in a response may hold `{{days_ago N}}` or `{{hours_ago N}}`: the moment that long before
the run, in the ISO 8601 form AWS writes, so that a sample about recent use never goes stale.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rootguard.fixtures.overrides import Canned

FOLDER = Path(__file__).resolve().parent / "aws_samples"
OUTCOMES = ("passed", "failed", "error", "skipped", "waived")
AGE = re.compile(r"\{\{\s*(days|hours)_ago\s+(\d+)\s*\}\}")


@dataclass(frozen=True)
class Expected:
    control: str
    account: str
    outcome: str
    says: tuple[str, ...]
    region: str | None = None


@dataclass(frozen=True)
class Sample:
    path: Path
    title: str
    sources: tuple[str, ...]
    scenario: str
    profile: str
    args: tuple[str, ...]
    leave_out: tuple[str, ...]  # accounts of the scenario the profile does not list
    answers: tuple[Canned, ...]
    answer_sources: tuple[str, ...]
    expect: tuple[Expected, ...]

    @property
    def controls(self) -> list[str]:
        return sorted({e.control for e in self.expect})


class SampleError(ValueError):
    pass


def _ages(value: Any, now: dt.datetime) -> Any:
    if isinstance(value, str):
        def moment(match: re.Match) -> str:
            delta = dt.timedelta(**{match.group(1): int(match.group(2))})
            return (now - delta).strftime("%Y-%m-%dT%H:%M:%S+00:00")

        return AGE.sub(moment, value)
    if isinstance(value, dict):
        return {k: _ages(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_ages(v, now) for v in value]
    return value


def _need(document: dict, key: str, kind: type, where: str) -> Any:
    value = document.get(key)
    if not isinstance(value, kind):
        raise SampleError(f"{where}: {key} must be {kind.__name__}, got {type(value).__name__}")
    return value


def load_sample(path: Path, now: dt.datetime | None = None) -> Sample:
    now = now or dt.datetime.now(dt.timezone.utc)
    document = yaml.safe_load(path.read_text())
    where = path.name
    if not isinstance(document, dict):
        raise SampleError(f"{where}: not a mapping")
    unknown = set(document) - {"title", "sources", "scenario", "profile", "args", "leave_out", "answers", "expect"}
    if unknown:
        raise SampleError(f"{where}: unknown keys {sorted(unknown)}")
    answers, answer_sources = [], []
    for i, entry in enumerate(_need(document, "answers", list, where)):
        here = f"{where}: answers[{i}]"
        extra = set(entry) - {"account", "action", "region", "params", "response", "error", "source"}
        if extra:
            raise SampleError(f"{here}: unknown keys {sorted(extra)}")
        error = entry.get("error")
        answers.append(
            Canned(
                account=str(_need(entry, "account", str, here)),
                action=_need(entry, "action", str, here),
                params=entry.get("params") or {},
                response=_ages(entry["response"], now) if "response" in entry else None,
                error=(error["code"], error["message"], int(error.get("status", 400))) if error else None,
                region=entry.get("region"),
            )
        )
        answer_sources.append(_need(entry, "source", str, here))
    expect = []
    for i, entry in enumerate(_need(document, "expect", list, where)):
        here = f"{where}: expect[{i}]"
        outcome = _need(entry, "outcome", str, here)
        if outcome not in OUTCOMES:
            raise SampleError(f"{here}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        says = entry.get("says", [])
        expect.append(
            Expected(
                control=_need(entry, "control", str, here),
                account=str(_need(entry, "account", str, here)),
                outcome=outcome,
                says=tuple([says] if isinstance(says, str) else says),
                region=entry.get("region"),
            )
        )
    return Sample(
        path=path,
        title=_need(document, "title", str, where),
        sources=tuple(_need(document, "sources", list, where)),
        scenario=_need(document, "scenario", str, where),
        profile=document.get("profile") or "",
        args=tuple(str(a) for a in document.get("args") or ()),
        leave_out=tuple(str(a) for a in document.get("leave_out") or ()),
        answers=tuple(answers),
        answer_sources=tuple(answer_sources),
        expect=tuple(expect),
    )


def sample_paths() -> list[Path]:
    return sorted(FOLDER.glob("*.yaml"))
