"""The demo's evidence keeps to the run's time: every date in it is a moment the scenario asked
for (one of its ages, counted back from the run's start) or a moment of the run itself, never a
constant of moto's nor a moment after the run. An auditor reads these dates as the accounts'
history; one from years before the accounts or after the run discredits the pack."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from rootguard.fixtures.scenario import Age, load_scenario
from tests.conftest import HUB, REPO

DEMO = REPO / "fixtures" / "scenarios" / "demo.yaml"
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")
EPOCH_KEY = re.compile(r"(time|date|timestamp)$", re.IGNORECASE)
# A budget's period is not a moment that happened: AWS starts it at the start of the month it was
# made in, and ends it on 06/15/87 00:00 UTC when none is given (budgets TimePeriod, API reference).
BUDGET_PERIOD = re.compile(r"^budgets:DescribeBudgets\.response\.Budgets\.TimePeriod\.(Start|End)$")
NO_BUDGET_END = datetime(2087, 6, 15, tzinfo=timezone.utc)


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def moments(value, where: str) -> Iterator[tuple[str, datetime]]:
    """Every date and time in a piece of evidence, with the path to it (action.response.Key...).

    Dates come as ISO 8601 text (also inside the credential report's CSV), as HTTP dates
    (the responses' Date headers), or as epoch numbers under a key named for a time.
    """
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, (int, float)) and not isinstance(item, bool) and EPOCH_KEY.search(key):
                yield f"{where}.{key}", datetime.fromtimestamp(item / 1000 if item > 1e11 else item, timezone.utc)
            else:
                yield from moments(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from moments(item, where)
    elif isinstance(value, str):
        for text in ISO_MOMENT.findall(value):
            yield where, utc(text)
        if HTTP_DATE.fullmatch(value):
            yield where, parsedate_to_datetime(value)


def pack_moments(pack: Path) -> list[tuple[str, str, datetime]]:
    """(evidence file, path in it, moment) for every date in the pack's evidence."""
    found = []
    for path in sorted((pack / "evidence").rglob("*.json")):
        document = json.loads(path.read_text())
        name = str(path.relative_to(pack))
        for call in document.get("calls", []):
            found += [(name, where, moment) for where, moment in moments(call, call["action"])]
        rest = {key: value for key, value in document.items() if key != "calls"}
        found += [(name, where, moment) for where, moment in moments(rest, "evidence")]
    return found


def ages(spec) -> Iterator[Age]:
    """Every age a scenario gives, wherever it sits (root, its keys, trails' deliveries ...)."""
    if isinstance(spec, Age):
        yield spec
    elif dataclasses.is_dataclass(spec):
        for field in dataclasses.fields(spec):
            yield from ages(getattr(spec, field.name))
    elif isinstance(spec, Mapping):
        for item in spec.values():
            yield from ages(item)
    elif isinstance(spec, (tuple, list)):
        for item in spec:
            yield from ages(item)


def second(moment: datetime) -> datetime:
    # results.json gives the run's start and finish in whole seconds.
    return moment.replace(microsecond=0)


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def misdated(pack: Path) -> dict[str, list[tuple[str, str, datetime]]]:
    """The pack's evidence dates that break the run's time, by what is wrong with them."""
    results = json.loads((pack / "results.json").read_text())
    started, finished = utc(results["started_at"]), utc(results["finished_at"])
    asked = {second(age.before(started)) for age in ages(load_scenario(DEMO))}
    earliest = min(asked)
    found = pack_moments(pack)
    periods = [(name, where, moment) for name, where, moment in found if BUDGET_PERIOD.match(where)]
    dated = [(name, where, moment) for name, where, moment in found if not BUDGET_PERIOD.match(where)]
    budget_starts = {month_start(started), month_start(finished)}
    return {
        "after the run's finish": [d for d in dated if second(d[2]) > finished],
        f"before the scenario's earliest age ({earliest})": [d for d in dated if d[2] < earliest],
        # Before the run started, only what the scenario asked for had happened.
        "before the run, and not an age of the scenario": [
            d for d in dated if earliest <= d[2] < started and second(d[2]) not in asked
        ],
        "a budget period AWS would not give": [
            d for d in periods if (d[2] != NO_BUDGET_END if d[1].endswith(".End") else d[2] not in budget_starts)
        ],
    }


def test_demo_evidence_dates_are_the_scenario_ages_or_the_run(demo_pack):
    # The scan reads every form a date takes: ISO text, the report's CSV, epoch numbers, HTTP dates.
    assert {
        "iam:GetCredentialReport.response.GeneratedTime",
        "iam:GetCredentialReport.response.Content",
        "cloudtrail:GetTrailStatus.response.LatestCloudWatchLogsDeliveryTime",
        "logs:DescribeLogGroups.response.logGroups.creationTime",
        "sts:GetCallerIdentity.response_dates",
        "budgets:DescribeBudgets.response.Budgets.TimePeriod.End",
    } <= {where for _, where, _ in pack_moments(demo_pack)}
    assert {what: found for what, found in misdated(demo_pack).items() if found} == {}


def plant(pack: Path, account: str, fact: str, action: str, key: str, value) -> None:
    path = pack / "evidence" / account / f"{fact}--us-east-1.json"
    document = json.loads(path.read_text())
    (call,) = [call for call in document["calls"] if call["action"] == action]
    call["response"][key] = value
    path.write_text(json.dumps(document))


def test_misdated_evidence_is_caught(demo_pack, tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(demo_pack, pack)
    results = json.loads((pack / "results.json").read_text())
    started, finished = utc(results["started_at"]), utc(results["finished_at"])
    plant(pack, HUB, "iam.credential_report", "iam:GetCredentialReport", "GeneratedTime", "2015-02-02T20:02:02+00:00")
    plant(pack, HUB, "iam.account_summary", "iam:GetAccountSummary", "Planted", (finished + timedelta(seconds=2)).isoformat())
    plant(pack, HUB, "iam.password_policy", "iam:GetAccountPasswordPolicy", "Planted", (started - timedelta(days=7, seconds=1)).isoformat())
    budget = next((pack / "evidence" / HUB).glob("budgets.budgets--*.json"))
    budget.write_text(budget.read_text().replace("2087-06-15T00:00:00", "2087-06-16T00:00:00"))
    found = {what: sorted(where for _, where, _ in dates) for what, dates in misdated(pack).items()}
    assert list(found.values()) == [
        ["iam:GetAccountSummary.response.Planted"],
        ["iam:GetCredentialReport.response.GeneratedTime"],
        ["iam:GetAccountPasswordPolicy.response.Planted"],
        ["budgets:DescribeBudgets.response.Budgets.TimePeriod.End"],
    ]


def test_demo_credential_reports_are_dated_within_the_run(demo_pack):
    results = json.loads((demo_pack / "results.json").read_text())
    started, finished = utc(results["started_at"]), utc(results["finished_at"])
    reports = sorted((demo_pack / "evidence").glob("*/iam.credential_report--*.json"))
    assert len(reports) == len(results["accounts"])
    for path in reports:
        calls = json.loads(path.read_text())["calls"]
        generate = [call for call in calls if call["action"] == "iam:GenerateCredentialReport"]
        (get,) = [call for call in calls if call["action"] == "iam:GetCredentialReport"]
        generated = utc(get["response"]["GeneratedTime"])
        # Made by the run's first GenerateCredentialReport, and read after it.
        assert second(utc(generate[0]["requested_at"])) <= generated <= utc(get["requested_at"]), path
        assert started <= generated <= finished, path
        contents = [moment for _, moment in moments(get["response"]["Content"], "Content")]
        assert contents and max(contents) <= generated, path
