"""rootguard ledger and rootguard sample, on a series of weekly packs whose seeded state changes between runs.

tests/period_series.py makes the series (each sweep at its own date) and says what each verdict
must be; every table of the ledger is checked against that, not against the packs it read.
"""

import datetime as dt
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from lxml import html as lxml_html

from rootguard.cli import main as rootguard
from rootguard.evidence.pack import RESULTS, read_manifest, sha256_file, write_manifest
from rootguard.ledger import sample as sampling
from tests import period_series as series_plan
from tests.conftest import REPO
from tests.test_publish import BUCKET, aws, locked_bucket  # noqa: F401  (aws is a fixture)

PERIOD = ("--from", "2026-01-01", "--to", "2026-02-15")
USED = [when for when in series_plan.RUNS if when != series_plan.TAMPERED]
CONTROLS = series_plan.CONTROLS
ACCOUNTS = (series_plan.HUB, series_plan.PAYMENTS, series_plan.ANALYTICS)


def folder_of(when: str) -> str:
    return dt.datetime.fromisoformat(when).strftime("%Y%m%dT%H%M%SZ")


def at(when: str) -> str:
    return when + "Z"


@pytest.fixture(scope="session")
def series(tmp_path_factory, worker_id) -> Path:
    """The weekly packs, made once per test session in a child process (its clock is moved; this one's is not)."""
    base = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        base = base.parent
    folder = base / "period-series"
    with open(base / "period-series.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "SERIES.json").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            completed = subprocess.run([sys.executable, "-m", "tests.period_series", str(folder)], cwd=REPO,
                                       capture_output=True, text=True, timeout=600)
            assert (folder / "SERIES.json").is_file(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return folder


@pytest.fixture(scope="session")
def ledger(series, tmp_path_factory) -> tuple[Path, dict, int, str, Path]:
    """One ledger of the whole series, signed: (folder, ledger.json, exit code, what it printed, the public key)."""
    keys = tmp_path_factory.mktemp("ledger-keys")
    assert rootguard(["keygen", "--private", str(keys / "k.pem"), "--public", str(keys / "k.pub.pem")]) == 0
    output = tmp_path_factory.mktemp("ledger") / "out"
    command = [sys.executable, "-m", "rootguard.cli", "ledger", str(series), *PERIOD, "--cadence", "7d",
               "--sign-key", str(keys / "k.pem"), "--output", str(output)]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    document = json.loads((output / "ledger.json").read_text())
    return output, document, completed.returncode, completed.stdout + completed.stderr, keys / "k.pub.pem"


def test_every_timeline_is_the_seeded_state(ledger):
    _, document, *_ = ledger
    assert [run["started_at"] for run in document["runs"]] == [at(when) for when in USED]
    timelines = {(t["control"], t["account_id"]): t for t in document["timelines"]}
    assert set(timelines) == {(c, a) for c in CONTROLS for a in ACCOUNTS}
    for (control, account_id), timeline in timelines.items():
        assert timeline["outcomes"] == [series_plan.expected_outcome(when, control, account_id) for when in USED], (control, account_id)
        assert timeline["region"] is None


def test_failure_episodes_remediation_and_open_failures(ledger):
    _, document, *_ = ledger
    episodes = {(e["control"], e["account_id"]): e for e in document["episodes"]}
    assert set(episodes) == {("root-access-keys", series_plan.PAYMENTS), ("alternate-contacts", series_plan.ANALYTICS)}
    key = episodes[("root-access-keys", series_plan.PAYMENTS)]
    # Failed on 01-16, waived on 01-30, failed again once the waiver expired, passed on 02-13 (the 02-10 pack is not used).
    assert (key["first_failed"], key["passed_again"], key["days_to_remediate"]) == (at(series_plan.KEY_FROM), at(series_plan.KEY_UNTIL), 28.0)
    assert (key["runs_failed"], key["runs_waived"], key["open_at_start"], key["open_at_end"], key["closed_by"]) == (2, 1, False, False, "passed")
    contacts = episodes[("alternate-contacts", series_plan.ANALYTICS)]
    assert contacts["open_at_start"] and contacts["open_at_end"] and contacts["passed_again"] is None
    assert contacts["days_open_at_end"] == 30.75  # 2026-01-16T06:00 to the period's end, 2026-02-16T00:00
    assert document["open_failures"] == [contacts]
    first_failed = {(t["control"], t["account_id"]): t["first_failed"] for t in document["timelines"] if t["first_failed"]}
    assert first_failed == {k: e["first_failed"] for k, e in episodes.items()}


def test_coverage_flags_the_missed_run_and_the_account_that_joined(ledger):
    _, document, *_ = ledger
    coverage = document["coverage"]
    long = [gap for gap in coverage["run_gaps"] if gap["exceeds_cadence"]]
    assert long == [{"from": "2026-01-16T06:00:00Z", "to": "2026-01-30T06:00:00Z", "days": 14.0, "exceeds_cadence": True}]
    assert coverage["run_gaps"][0]["from"] == "2026-01-01T00:00:00Z" and coverage["run_gaps"][-1]["to"] == "2026-02-16T00:00:00Z"
    assert sum(gap["days"] for gap in coverage["run_gaps"]) == 46.0
    # Every (control, account) went unevidenced over the same fortnight, the joining account included.
    assert sorted((g["control"], g["account_id"], g["from"], g["days"]) for g in coverage["control_gaps"]) == sorted(
        (c, a, "2026-01-16T06:00:00Z", 14.0) for c in CONTROLS for a in ACCOUNTS
    )
    assert coverage["population_changes"] == [{
        "account_id": series_plan.ANALYTICS, "account_name": "analytics", "change": "entered",
        "at": at(series_plan.ANALYTICS_FROM), "run": 2, "reason": None,
    }]
    runs_in_scope = {entry["account_id"]: entry["runs_in_scope"] for entry in coverage["population"]}
    assert runs_in_scope == {series_plan.HUB: 6, series_plan.PAYMENTS: 6, series_plan.ANALYTICS: 4}
    assert {c["control"]: (c["runs_evidenced"], c["gaps"]) for c in coverage["controls"]} == {c: (6, 3) for c in CONTROLS}


def test_the_waiver_its_window_and_what_it_covered(ledger):
    _, document, *_ = ledger
    [waiver] = document["waivers"]
    assert (waiver["control"], waiver["accounts"], waiver["approved_by"], waiver["expires"]) == (
        "root-access-keys", [series_plan.PAYMENTS], "ciso@example.com", series_plan.WAIVER_EXPIRES)
    assert (waiver["first_seen"], waiver["last_seen"]) == (at(series_plan.WAIVED_FROM), at(USED[-1]))
    assert (waiver["in_force_from"], waiver["in_force_to"], waiver["expired_in_period"]) == (at(series_plan.WAIVED_FROM),) * 2 + (True,)
    assert [(v["started_at"], v["account_id"]) for v in waiver["covered"]] == [(at(series_plan.WAIVED_FROM), series_plan.PAYMENTS)]
    assert [(v["started_at"], v["account_id"]) for v in waiver["failed_after_expiry"]] == [("2026-02-06T06:00:00Z", series_plan.PAYMENTS)]


def test_the_tampered_pack_is_rejected_and_nothing_of_it_used(ledger, series):
    output, document, code, printed, _ = ledger
    [rejected] = document["packs_not_used"]
    assert rejected["status"] == "rejected" and rejected["source"] == str(series / folder_of(series_plan.TAMPERED))
    assert "1 file(s) differ from its manifest (results.json)" in rejected["reason"]
    assert rejected["started_at"] == at(series_plan.TAMPERED)  # as its manifest claims it: the week it was meant to evidence
    assert at(series_plan.TAMPERED) not in [run["started_at"] for run in document["runs"]]
    # Exit 1: the ledger is written, and says the evidence falls short (a rejected pack, a missed run).
    assert code == 1, printed
    assert f"rejected: {rejected['source']}: " in printed
    assert "6 run(s) of profile quarterly from 2026-01-01 to 2026-02-15; 1 pack(s) rejected; 1 gap(s)" in printed


def test_framework_requirements_over_the_period(ledger):
    _, document, *_ = ledger
    assert document["frameworks"]
    mapping = {}
    for entry in json.loads((Path(document["runs"][-1]["source"]) / RESULTS).read_text())["results"]:
        mapping[entry["control"]] = entry["frameworks"]
    for requirement in document["frameworks"]:
        controls = sorted(c for c, frameworks in mapping.items() if requirement["requirement"] in frameworks.get(requirement["framework"], []))
        assert requirement["controls"] == controls
        expected = [Counter(series_plan.expected_outcome(when, c, a) for c in controls for a in ACCOUNTS) - Counter({None: 99})
                    for when in USED]
        assert [{k: v for k, v in per_run.items() if k != "pass_rate" and v} for per_run in requirement["per_run"]] == [dict(e) for e in expected]
        assert requirement["open_failures_at_end"] == (1 if "alternate-contacts" in controls else 0)
        assert requirement["runs_all_passed"] == sum(1 for e in expected if set(e) == {"passed"})
    open_counts = document["trends"]["open"]
    assert open_counts["failed"] == [0, 0, 2, 1, 2, 1] and open_counts["waived"] == [0, 0, 0, 1, 0, 0]
    assert document["trends"]["controls"]["root-mfa"] == [1.0] * 6
    assert document["trends"]["controls"]["root-access-keys"] == [1.0, 1.0, 0.6667, 0.6667, 0.6667, 1.0]


def test_the_ledger_folder_is_verified_signed_and_names_every_pack(ledger, series):
    output, document, _, _, public = ledger
    manifest = read_manifest(output)
    assert manifest["kind"] == "ledger" and set(manifest["files"]) == {"ledger.json", "ledger.html", "ledger.xlsx"}
    assert [p["manifest_sha256"] for p in manifest["packs"]] == [sha256_file(series / folder_of(w) / "manifest.json") for w in USED]
    assert document["data_source"].startswith("MOCK DATA")
    checked = subprocess.run([sys.executable, "-m", "rootguard.cli", "verify", str(output), "--key", str(public)],
                             capture_output=True, text=True, cwd=REPO)
    assert checked.returncode == 0, checked.stdout
    assert "signature valid" in checked.stdout and "a ledger of 6 pack(s), profile quarterly, 2026-01-01 to 2026-02-15" in checked.stdout
    page = lxml_html.fromstring((output / "ledger.html").read_bytes())
    assert len(page.xpath("//svg")) >= 3
    assert "analytics" in page.text_content() and "FIN-88" in page.text_content()


def test_packs_outside_the_period_other_profiles_duplicates_and_ledgers(series, ledger, tmp_path):
    copies = tmp_path / "packs"
    shutil.copytree(series / folder_of(USED[0]), copies / "first")
    shutil.copytree(series / folder_of(USED[0]), copies / "again")
    shutil.copytree(series / folder_of(USED[-1]), copies / "last")
    shutil.copytree(ledger[0], copies / "old-ledger")  # an earlier ledger kept beside the packs
    code = rootguard(["ledger", str(copies), "--from", "2026-01-05", "--to", "2026-02-28", "--output", str(tmp_path / "l1")])
    document = json.loads((tmp_path / "l1" / "ledger.json").read_text())
    assert code == 0  # no cadence: gaps are listed, not judged
    assert [run["started_at"] for run in document["runs"]] == [at(USED[-1])]
    statuses = sorted((e["status"], Path(e["source"]).name, e["reason"]) for e in document["packs_not_used"])
    assert statuses == [
        ("duplicate", "first", f"the same pack as {copies.resolve() / 'again'}"),
        ("not a pack", "old-ledger", "a ledger that rootguard ledger wrote, not a run's evidence pack"),
        ("outside the period", "again", "started 2026-01-02T06:00:00Z, outside 2026-01-05 to 2026-02-28"),
    ]
    assert all(gap["exceeds_cadence"] is None for gap in document["coverage"]["run_gaps"])
    # A pack of another profile: the user must choose.
    other = copies / "other"
    shutil.copytree(series / folder_of(USED[1]), other)
    results = json.loads((other / RESULTS).read_text())
    results["profile"] = "staging"
    (other / RESULTS).write_text(json.dumps(results))
    write_manifest(other, {k: v for k, v in read_manifest(other).items() if k not in ("files", "pack_format", "algorithm")})
    assert rootguard(["ledger", str(copies), *PERIOD, "--output", str(tmp_path / "l2")]) == 4
    assert not (tmp_path / "l2").exists()
    assert rootguard(["ledger", str(copies), *PERIOD, "--profile", "staging", "--output", str(tmp_path / "l3")]) == 0
    assert len(json.loads((tmp_path / "l3" / "ledger.json").read_text())["runs"]) == 1


def test_ledger_usage_errors_are_one_line(series, tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    cases = [
        (["ledger", str(series), *PERIOD, "--output", str(tmp_path / "full")], 4, "not an empty folder"),
        (["ledger", str(series), "--from", "2026-03-01", "--to", "2026-02-01", "--output", str(tmp_path / "o")], 4, "is before --from"),
        (["ledger", str(tmp_path / "nowhere"), *PERIOD, "--output", str(tmp_path / "o")], 4, "nowhere"),
        (["ledger", str(series), *PERIOD, "--key", str(tmp_path / "no.pem"), "--output", str(tmp_path / "o")], 4, "no.pem"),
    ]
    for argv, code, words in cases:
        assert rootguard(argv) == code, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    with pytest.raises(SystemExit) as exit_info:
        rootguard(["ledger", str(series), *PERIOD, "--cadence", "weekly", "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2 and "give a duration such as 7d" in capsys.readouterr().err


def test_a_key_rejects_unsigned_packs(series, ledger, tmp_path):
    public = ledger[4]
    code = rootguard(["ledger", str(series), *PERIOD, "--key", str(public), "--output", str(tmp_path / "l")])
    document = json.loads((tmp_path / "l" / "ledger.json").read_text())
    assert code == 1 and document["runs"] == []
    assert {e["status"] for e in document["packs_not_used"]} == {"rejected"} and len(document["packs_not_used"]) == 7
    assert sum("the pack is not signed" in e["reason"] for e in document["packs_not_used"]) == 6


# -- sample ---------------------------------------------------------------------------------------


def test_a_sample_is_reproducible_from_its_seed_and_re_performs(ledger, tmp_path):
    folder, document, *_ = ledger
    frame = sampling.population(document)
    assert len(frame) == sum(1 for t in document["timelines"] for o in t["outcomes"] if o is not None) == 48
    assert sampling.draw(frame, 4, 11) == sampling.draw(frame, 4, 11) != sampling.draw(frame, 4, 12)
    # As an auditor recomputes it from sample.json's method, with nothing of rootguard's.
    lowest = sorted(frame, key=lambda v: hashlib.sha256(
        f"11|{v['started_at']}|{v['control']}|{v['account_id']}|{v['region'] or ''}".encode()).hexdigest())[:4]
    assert sorted(map(json.dumps, lowest)) == sorted(map(json.dumps, sampling.draw(frame, 4, 11)))
    out = tmp_path / "sample"
    code = rootguard(["sample", str(folder), "--size", "4", "--seed", "11", "--output", str(out)])
    sample = json.loads((out / "sample.json").read_text())
    assert code == 0, sample
    drawn = [(v["run"], v["control"], v["account_id"]) for v in sample["verdicts"]]
    assert drawn == [(v["run"], v["control"], v["account_id"]) for v in sampling.draw(frame, 4, 11)]
    assert (sample["draw"]["seed"], sample["draw"]["size"], sample["population"]["size"]) == (11, 4, 48)
    assert sample["ledger"]["manifest_sha256"] == sha256_file(folder / "manifest.json")
    for record in sample["verdicts"]:
        when = USED[record["run"]]
        assert record["agreed"] and record["original"]["outcome"] == record["reperformed"]["outcome"] == series_plan.expected_outcome(
            when, record["control"], record["account_id"])
        assert record["same_message"]
        assert record["evidence"] and all((out / e["path"]).is_file() and sha256_file(out / e["path"]) == e["sha256"] for e in record["evidence"])
        assert (out / record["reperformed"]["pack"] / "results.json").is_file()
    assert rootguard(["verify", str(out)]) == 0


def test_re_performance_catches_a_pack_forged_and_re_hashed(series, tmp_path):
    """A pack whose results.json was rewritten and its manifest re-hashed verifies without a key; its evidence still says otherwise."""
    packs = tmp_path / "packs"
    forged_when = "2026-02-06T06:00:00"
    for when in USED:
        shutil.copytree(series / folder_of(when), packs / folder_of(when))
    forged = packs / folder_of(forged_when)
    results = json.loads((forged / RESULTS).read_text())
    for entry in results["results"]:
        if entry["control"] == "root-access-keys" and entry["account_id"] == series_plan.PAYMENTS:
            entry["outcome"] = "passed"
    (forged / RESULTS).write_text(json.dumps(results))
    write_manifest(forged, {k: v for k, v in read_manifest(forged).items() if k not in ("files", "pack_format", "algorithm")})
    assert rootguard(["ledger", str(packs), *PERIOD, "--output", str(tmp_path / "ledger")]) == 0
    document = json.loads((tmp_path / "ledger" / "ledger.json").read_text())
    frame = sampling.population(document)
    target = next(i for i, v in enumerate(frame) if v["started_at"] == at(forged_when) and v["control"] == "root-access-keys"
                  and v["account_id"] == series_plan.PAYMENTS)
    seed = next(s for s in range(1000) if frame[target] in sampling.draw(frame, 2, s))
    out = tmp_path / "sample"
    assert rootguard(["sample", str(tmp_path / "ledger"), "--size", "2", "--seed", str(seed), "--output", str(out)]) == 1
    sample = json.loads((out / "sample.json").read_text())
    [caught] = [v for v in sample["verdicts"] if not v["agreed"]]
    assert (caught["control"], caught["account_id"], caught["started_at"]) == ("root-access-keys", series_plan.PAYMENTS, at(forged_when))
    assert caught["reperformed"]["outcome"] == "failed" and caught["original"]["outcome"] == "passed"
    assert "re-performed as failed, the pack says passed" in caught["problem"]
    page = lxml_html.fromstring((out / "sample.html").read_bytes())
    rows = {row.get("class"): [cell.text_content().strip() for cell in row.xpath("./td")] for row in page.xpath("//tbody/tr")}
    assert set(rows) == {"agreed", "disagreed"}
    assert rows["disagreed"][1:3] == ["root-access-keys", f"payments ({series_plan.PAYMENTS})"] and rows["disagreed"][6].startswith("NO: ")
    assert rows["disagreed"][4].startswith("passed: ") and rows["disagreed"][5].startswith("failed (same message)")
    assert rows["agreed"][6] == "yes" and f"seed {seed}" in page.findtext(".//title")


def test_a_pack_changed_after_the_ledger_is_not_re_performed(ledger, series, tmp_path, capsys):
    folder, document, *_ = ledger
    frame = sampling.population(document)
    # The ledger names packs by where they were; point it at copies, then change one copy.
    copies = tmp_path / "copies"
    shutil.copytree(series, copies, ignore=shutil.ignore_patterns(".inputs"))
    ledger_copy = tmp_path / "ledger"
    shutil.copytree(folder, ledger_copy)
    text = (ledger_copy / "ledger.json").read_text().replace(str(series), str(copies))
    (ledger_copy / "ledger.json").write_text(text)
    metadata = {k: v for k, v in read_manifest(ledger_copy).items() if k not in ("files", "pack_format", "algorithm")}
    (ledger_copy / "manifest.sig").unlink()
    write_manifest(ledger_copy, metadata)
    seed = 3
    first_run = sampling.draw(frame, 1, seed)[0]
    changed = copies / folder_of(USED[first_run["run"]])
    evidence = sorted((changed / "evidence").glob("*/*.json"))[0]
    evidence.write_text(evidence.read_text() + " ")
    out = tmp_path / "sample"
    assert rootguard(["sample", str(ledger_copy), "--size", "1", "--seed", str(seed), "--output", str(out)]) == 1
    [record] = json.loads((out / "sample.json").read_text())["verdicts"]
    assert not record["agreed"] and record["problem"].endswith("its files differ from its manifest")
    assert record["reperformed"] is None and "not agreed: " in capsys.readouterr().out
    # Re-hashed, the pack verifies again, but it is not the pack the ledger used.
    write_manifest(changed, {k: v for k, v in read_manifest(changed).items() if k not in ("files", "pack_format", "algorithm")})
    assert rootguard(["sample", str(ledger_copy), "--size", "1", "--seed", str(seed), "--output", str(tmp_path / "again")]) == 1
    [record] = json.loads((tmp_path / "again" / "sample.json").read_text())["verdicts"]
    assert not record["agreed"] and "not the pack the ledger used (its manifest's SHA-256 differs)" in record["problem"]


def test_sample_usage_errors(ledger, tmp_path, capsys):
    folder = ledger[0]
    assert rootguard(["sample", str(folder), "--size", "49", "--seed", "1", "--output", str(tmp_path / "s")]) == 4
    assert "holds only 48 verdict(s)" in capsys.readouterr().err
    assert rootguard(["sample", str(tmp_path / "none"), "--size", "1", "--seed", "1", "--output", str(tmp_path / "s")]) == 4
    changed = tmp_path / "changed"
    shutil.copytree(folder, changed)
    (changed / "ledger.html").write_text("edited")
    assert rootguard(["sample", str(changed), "--size", "1", "--seed", "1", "--output", str(tmp_path / "s")]) == 1
    assert "differ from its manifest" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_ledger_and_sample_read_packs_from_an_evidence_bucket(aws, series, tmp_path):
    """The weekly packs published to a bucket with Object Lock: the ledger reads them there, and the sample fetches them again."""
    locked_bucket()
    for when in USED[:2]:
        assert rootguard(["publish", str(series / folder_of(when)), f"s3://{BUCKET}/weekly", "--retain-days", "30"]) == 0
    assert rootguard(["ledger", f"s3://{BUCKET}/weekly", str(series / folder_of(USED[2])), "--from", "2026-01-01", "--to", "2026-01-20", "--cadence", "7d",
                      "--output", str(tmp_path / "ledger")]) == 0
    document = json.loads((tmp_path / "ledger" / "ledger.json").read_text())
    runs = document["runs"]
    assert [run["source"] for run in runs] == [f"s3://{BUCKET}/weekly/{folder_of(when)}" for when in USED[:2]] + [
        str(series / folder_of(USED[2]))]
    assert [run["manifest_sha256"] for run in runs] == [sha256_file(series / folder_of(when) / "manifest.json") for when in USED[:3]]
    assert all(run["retention"]["locked"] and run["retention"]["mode"] == "GOVERNANCE" for run in runs[:2]) and runs[2]["retention"] is None
    page = (tmp_path / "ledger" / "ledger.html").read_text()
    assert "governance until " in page and "not read from a bucket" in page
    frame = sampling.population(document)
    seed = next(s for s in range(1000) if {v["run"] for v in sampling.draw(frame, 2, s)} <= {0, 1})  # from the bucket only
    out = tmp_path / "sample"
    assert rootguard(["sample", str(tmp_path / "ledger"), "--size", "2", "--seed", str(seed), "--output", str(out)]) == 0
    sample = json.loads((out / "sample.json").read_text())
    assert all(v["agreed"] and v["source"].startswith(f"s3://{BUCKET}/weekly/") for v in sample["verdicts"])


def synthetic_run(index: int, when: str, verdicts: list[tuple], in_scope: dict, left_out: dict | None = None):
    from rootguard.ledger.build import Run, parse_time

    return Run(source=f"pack-{index}", path=Path("."), manifest_sha256=f"{index:064x}", started_at=parse_time(when),
               results={"profile": "p", "backend": "live"}, verdicts=verdicts,
               names={account: name for account, name in in_scope.items()}, controls={"c": ("C", "high", {"soc2": ["CC1"]})},
               in_scope=in_scope, left_out=left_out or {}, signature="unsigned", signoffs=0, index=index)


def test_episodes_errors_and_accounts_that_leave():
    """An error is no evidence either way; an account that leaves with a failure open is not left open at the end."""
    from rootguard.ledger.build import Ledger, Period, Sorting

    both, one = {"A": "a", "B": "b"}, {"A": "a"}
    runs = [
        synthetic_run(0, "2026-01-05T00:00:00Z", [("c", "A", None, "error"), ("c", "B", None, "failed")], both),
        synthetic_run(1, "2026-01-12T00:00:00Z", [("c", "A", None, "failed"), ("c", "B", None, "failed")], both),
        synthetic_run(2, "2026-01-19T00:00:00Z", [("c", "A", None, "error")], one, {"B": "suspended or closed"}),
        synthetic_run(3, "2026-01-26T00:00:00Z", [("c", "A", None, "passed")], one, {"B": "suspended or closed"}),
    ]
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31), "7d")
    document = Ledger(Sorting(runs=runs), period, None, dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)).document()
    episodes = {e["account_id"]: e for e in document["episodes"]}
    # A: unknown, failed, unknown, passed: failing from the first run that said anything, one error inside, closed by the pass.
    assert (episodes["A"]["open_at_start"], episodes["A"]["runs_failed"], episodes["A"]["runs_error"]) == (True, 1, 1)
    assert (episodes["A"]["first_failed"], episodes["A"]["passed_again"], episodes["A"]["days_to_remediate"]) == (
        "2026-01-12T00:00:00Z", "2026-01-26T00:00:00Z", 14.0)
    # B failed until it left the population: not remediated, and not open at the end either.
    assert episodes["B"]["closed_by"] == "the account left the population" and not episodes["B"]["open_at_end"]
    assert episodes["B"]["passed_again"] is None and document["open_failures"] == []
    assert document["coverage"]["population_changes"] == [{"account_id": "B", "account_name": "b", "change": "left",
                                                           "at": "2026-01-19T00:00:00Z", "run": 2, "reason": "suspended or closed"}]
    # A's errors leave it without evidence from 01-12 to 01-26 (14 days); B is not owed evidence once it left.
    assert [(g["account_id"], g["from"], g["days"]) for g in document["coverage"]["control_gaps"]] == [
        ("A", "2026-01-01T00:00:00Z", 11.0), ("A", "2026-01-12T00:00:00Z", 14.0)]
    assert document["trends"]["open"] == {"failed": [1, 2, 0, 0], "waived": [0, 0, 0, 0], "error": [1, 0, 1, 0]}
    assert document["frameworks"][0]["per_run"][2] == {"passed": 0, "failed": 0, "waived": 0, "error": 1, "skipped": 0, "pass_rate": 0.0}
