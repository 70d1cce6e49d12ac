"""Every recorded AWS call carries AWS's request id and the response's Date (DESIGN.md), so that an
auditor can find it in the account's CloudTrail; a replayed pack points at the same requests."""

from __future__ import annotations

import json
import subprocess
import sys

from rootguard.facts.context import note_response
from rootguard.facts.registry import CallRecord
from tests.conftest import REPO


def calls(pack):
    for path in sorted((pack / "evidence").glob("*/*.json")):
        document = json.loads(path.read_text())
        for call in document["calls"]:
            yield document["account_id"], call


def test_every_answered_call_names_its_request_and_date(demo_pack):
    seen = errors = 0
    for _, call in calls(demo_pack):
        if call["error"] and call["error"].get("Kind") == "session":
            continue  # never sent: nothing for CloudTrail to hold
        assert len(call["request_ids"]) == len(call["response_dates"]) == call["pages"], call["action"]
        assert all(isinstance(rid, str) and rid for rid in call["request_ids"]), call["action"]
        assert all(date and date.endswith(" GMT") for date in call["response_dates"]), call["action"]
        seen += 1
        errors += bool(call["error"])
    assert seen > 200 and errors > 0  # refusals (an unset alternate contact) are requests too


def test_a_replayed_pack_points_at_the_same_requests(demo_pack, tmp_path):
    replayed = tmp_path / "replay"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--replay", str(demo_pack), "--report-dir", str(replayed), "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]  # every verdict reproduced

    def ids(pack):
        found = {}
        for account, call in calls(pack):
            found.setdefault((account, call["action"], json.dumps(call["parameters"], sort_keys=True)), []).append(call["request_ids"])
        return found

    original, again = ids(demo_pack), ids(replayed)
    assert again and set(again) <= set(original)
    for key, recorded in again.items():
        assert all(entry in original[key] for entry in recorded), key


def test_a_response_without_metadata_is_noted_as_unknown():
    record = CallRecord("iam:GetAccountSummary", "us-east-1", {}, "2026-12-06T00:00:00Z")
    note_response(record, {"SummaryMap": {}})
    note_response(record, {"ResponseMetadata": {"RequestId": "abc", "HTTPHeaders": {"date": "Sun, 06 Dec 2026 10:30:43 GMT"}}})
    note_response(record, {"ResponseMetadata": {"HTTPHeaders": {"x-amz-request-id": "s3id"}}})
    assert record.request_ids == [None, "abc", "s3id"]
    assert record.response_dates == [None, "Sun, 06 Dec 2026 10:30:43 GMT", None]
