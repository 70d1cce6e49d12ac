"""The pack's JSON text: orjson's, the same as json.dumps(indent=2, ensure_ascii=False) would write,
and read back as the value the run held, also where orjson alone could not say it."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from dateutil.tz import tzutc

from rootguard.accounts import Account
from rootguard.evidence.documents import json_default, redact, write_fact
from rootguard.evidence.jsontext import NotFinite, compact, indented, parse
from rootguard.evidence.replay import RecordedCalls
from rootguard.facts import FactResult
from rootguard.facts.registry import CallRecord, fact_key

ACCOUNT = Account(id="123456789012", name="Zo\u00eb's account")
CALLER = {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/auditor"}


def fact(response) -> FactResult:
    call = CallRecord(action="cloudwatch:DescribeAlarms", region="eu-west-1", parameters={"AlarmNames": ["root"]},
                      requested_at="2026-12-07T10:00:00+00:00", response=response, request_ids=["r-1"],
                      response_dates=["Mon, 07 Dec 2026 10:00:00 GMT"])
    return FactResult(key=fact_key("monitoring.metric_alarms", "eu-west-1", {"names": "root"}), value=None, calls=[call])


def written(tmp_path, response) -> tuple[str, dict]:
    """The file write_fact writes for one call answering `response`, and the document it was made from."""
    result = fact(response)
    document = {
        "account_id": ACCOUNT.id, "account_name": ACCOUNT.name, "fact": result.key[0],
        "description": "monitoring.metric_alarms(names=root) in eu-west-1", "region": "eu-west-1",
        "parameters": {"names": "root"}, "caller": CALLER,
        "calls": [{"action": c.action, "region": c.region, "parameters": c.parameters, "requested_at": c.requested_at,
                   "pages": c.pages, "response": c.response, "error": c.error, "request_ids": c.request_ids,
                   "response_dates": c.response_dates} for c in result.calls],
        "error": None,
    }
    path = write_fact(tmp_path, ACCOUNT, CALLER, result)
    return (tmp_path / path).read_text(encoding="utf-8"), document


def test_an_evidence_file_has_the_text_json_dumps_gives(tmp_path):
    response = {
        "MetricAlarms": [{"AlarmName": "root-usage", "Threshold": 1.0, "EvaluationPeriods": 1, "ActionsEnabled": True,
                          "AlarmActions": [], "StateUpdatedTimestamp": dt.datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=tzutc()),
                          "AlarmDescription": "Root-Nutzung gemeldet \u2013 sofort pr\u00fcfen", "Dimensions": None}],
        "Body": b"raw bytes",
        "Credentials": {"AccessKeyId": "AKIAABCDEFGHIJKLMNOP", "SecretAccessKey": "s3cr3t"},
    }
    text, document = written(tmp_path, response)
    assert text == json.dumps(redact(document), indent=2, sort_keys=True, default=json_default, ensure_ascii=False) + "\n"
    assert "pr\u00fcfen" in text and "2026-12-01T08:30:15.250000+00:00" in text
    assert "s3cr3t" not in text and "AKIAABCDEFGHIJKLMNOP" not in text
    read = parse(text.encode("utf-8"))
    assert read["calls"][0]["response"]["MetricAlarms"][0]["Threshold"] == 1.0
    assert read == json.loads(text)


def test_numbers_json_has_no_exact_text_for_in_orjson_are_written_and_read_back_as_they_were(tmp_path):
    # A threshold that is not a number, an unbounded one, and an integer beyond 64 bits: orjson
    # would write null for the first two and refuse the last; the file holds each as the run did.
    response = {"Thresholds": [float("nan"), float("inf"), -float("inf")], "Size": 2**70, "Count": 3}
    text, document = written(tmp_path, response)
    assert '"Thresholds": [\n' in text and "NaN" in text and "Infinity" in text and str(2**70) in text
    # A replay answers the request with what the file holds, read exactly (the json module).
    read = RecordedCalls(tmp_path).answer(ACCOUNT.id, "eu-west-1", "cloudwatch:DescribeAlarms", {"AlarmNames": ["root"]})
    assert math.isnan(read["Thresholds"][0]) and read["Thresholds"][1:] == [math.inf, -math.inf]
    assert read["Size"] == 2**70 and type(read["Size"]) is int and read["Count"] == 3
    # parse (the run's own documents, the exports) reads NaN too.
    assert math.isnan(parse(text.encode("utf-8"))["calls"][0]["response"]["Thresholds"][0])


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": }', b"\xff\xfe{}", b"[1, 2,]", b"NaN-"])
def test_what_is_not_json_is_a_value_error(raw):
    with pytest.raises(ValueError):
        parse(raw)


def test_keys_are_sorted_only_when_asked_and_other_values_go_through_default():
    document = {"b": 1, "a": {"d": {"x"}, "c": dt.date(2026, 12, 7)}, 3: "int key"}
    assert indented(document) == json.dumps(document, indent=2, default=str, ensure_ascii=False).encode()
    assert indented({"b": 1, "a": 2}, sort_keys=True) == b'{\n  "a": 2,\n  "b": 1\n}'
    assert indented({"at": object()}, default=lambda value: "custom") == b'{\n  "at": "custom"\n}'


def test_compact_text_is_the_json_modules_without_spaces():
    document = {"name": "root MFA «hardware»", "labels": [{"name": "tag", "value": "soc2"}], "start": 1765000000000, "ok": True,
                "none": None, 3: "a key that is not text"}
    assert compact(document) == json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert compact({"big": 2**70, "nan": NotFinite("nan")}) == b'{"big":1180591620717411303424,"nan":NaN}'  # the json module's
