"""`rootguard sample LEDGER --size N --seed S`: an auditor's random sample of a ledger's verdicts, re-performed.

The population is every verdict the ledger used: one per (run, control, account, region). Each
is ranked by the SHA-256 of the seed and its identity, and the lowest ranks are drawn, so the same
ledger, size and seed give the same sample on any machine, and an auditor can recompute it with
any SHA-256 tool; the seed, the method and the population's size are recorded. Each sampled verdict is re-performed from its own pack: the
pack is fetched again (from its folder or from the evidence bucket), must be the pack the
ledger used (its manifest's SHA-256) and must verify, and `rootguard run --replay PACK
--account ID` judges it again from the recorded AWS responses alone. The sample folder holds
sample.json and sample.html, each sampled verdict's evidence files, the replay packs, and a
manifest over all of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rootguard import __version__
from rootguard.evidence.pack import MANIFEST, RESULTS, PackError, sha256_file, verify, write_json_atomic, write_manifest
from rootguard.ledger.build import LEDGER, LedgerError, prepare_output, stamp

SAMPLE_FORMAT = 1
ORDER = "runs oldest first, then control, account id and region (null first), as in ledger.json's timelines"
DRAW = ("each verdict's rank is the SHA-256 (hex) of '<seed>|<run started_at>|<control>|<account id>|<region, or empty>'; "
        "the size lowest ranks are drawn: the same seed and population give the same sample with any tool that computes SHA-256")


def population(document: dict) -> list[dict]:
    """Every verdict of the ledger, in the stated order: the sampling frame."""
    frame = []
    timelines = sorted(document["timelines"], key=lambda t: (t["control"], t["account_id"], t["region"] or ""))
    for run in document["runs"]:
        for timeline in timelines:
            outcome = timeline["outcomes"][run["index"]]
            if outcome is not None:
                frame.append({"run": run["index"], "started_at": run["started_at"], "control": timeline["control"],
                              "account_id": timeline["account_id"], "account_name": timeline["account_name"],
                              "region": timeline["region"], "outcome": outcome})
    return frame


def draw(frame: list[dict], size: int, seed: int) -> list[dict]:
    if size < 1:
        raise LedgerError(f"--size {size}: draw at least one verdict")
    if size > len(frame):
        raise LedgerError(f"--size {size}: the ledger holds only {len(frame)} verdict(s); sample at most that many")
    ranked = sorted(range(len(frame)), key=lambda index: (rank(seed, frame[index]), index))
    return [frame[index] for index in sorted(ranked[:size])]


def rank(seed: int, verdict: dict) -> str:
    """A verdict's place in the draw: a hash of the seed and the verdict's identity, so that an auditor can
    recompute the sample without rootguard (and without depending on a language's random number generator)."""
    text = f"{seed}|{verdict['started_at']}|{verdict['control']}|{verdict['account_id']}|{verdict['region'] or ''}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_ledger(folder: Path, key: Path | None) -> tuple[dict, str]:
    """The ledger document of a verified ledger folder, and its manifest's SHA-256."""
    if not folder.is_dir():
        raise LedgerError(f"{folder}: no such folder; give the folder `rootguard ledger --output` wrote")
    try:
        checked = verify(folder)
    except PackError as exc:
        raise LedgerError(str(exc)) from None
    if checked.manifest.get("kind") != "ledger":
        raise LedgerError(f"{folder}: not a ledger (its manifest.json is not a ledger's); give the folder `rootguard ledger` wrote")
    if not checked.ok:
        differ = checked.changed + checked.added + checked.missing
        raise LedgerError(f"{folder}: {len(differ)} file(s) differ from its manifest ({differ[0]} ...); a changed ledger is not sampled", 1)
    if key is not None:
        from rootguard.evidence.signing import check_signature

        try:
            check_signature(folder, key)
        except PackError as exc:
            raise LedgerError(str(exc), 1) from None
    return json.loads((folder / LEDGER).read_text(encoding="utf-8")), sha256_file(folder / MANIFEST)


@dataclass
class Reperformance:
    """The replay of one run for the sampled accounts: its results, or why there are none."""

    results: dict[tuple, dict]
    pack: str | None
    problem: str | None = None


def replay(pack: Path, accounts: list[str], controls: list[str], output: Path, named: str) -> Reperformance:
    """`rootguard run --replay PACK` for these accounts and controls, in a child process as a user would run it,
    into output/<named>; the Reperformance names its pack by that path in the sample folder."""
    into = output / named
    selection = " or ".join("test_" + control.replace("-", "_") for control in controls)
    command = [sys.executable, "-m", "rootguard.cli", "run", "--replay", str(pack), "--report-dir", str(into),
               "-k", selection, "-q", "-p", "no:cacheprovider", "--export", "none"]
    for account in accounts:
        command += ["--account", account]
    into.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(command, capture_output=True, text=True, cwd=into.parent)
    results_file = into / RESULTS
    # A finished replay exits 0 (every verdict as recorded) or 7 (one differs: compared below, verdict by verdict).
    if completed.returncode not in (0, 7) or not results_file.is_file():
        last = (completed.stderr.strip() or completed.stdout.strip()).splitlines()[-1:] or ["no output"]
        return Reperformance({}, None, f"the replay exited {completed.returncode}: {last[0]}")
    document = json.loads(results_file.read_text(encoding="utf-8"))
    return Reperformance({(r["control"], r["account_id"], r.get("region")): r for r in document["results"]}, named)


def copy_evidence(pack: Path, paths: list[str], output: Path, folder: str) -> list[dict]:
    """Copy a verdict's evidence files to output/evidence/<run>/...; each named by its path in the sample folder."""
    copied = []
    for relative in paths:
        named = f"evidence/{folder}/{relative}"
        target = output / named
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pack / relative, target)
        copied.append({"path": named, "sha256": sha256_file(target)})
    return copied


def reperform(document: dict, sampled: list[dict], output: Path, fetch) -> list[dict]:
    """Each sampled verdict with its original, its evidence files and its re-performance."""
    from rootguard.ledger.sources import SourceError

    runs = {run["index"]: run for run in document["runs"]}
    checked = []
    with tempfile.TemporaryDirectory(prefix="rootguard-sample-") as downloads:
        for index in sorted({entry["run"] for entry in sampled}):
            run = runs[index]
            entries = [entry for entry in sampled if entry["run"] == index]
            folder = run["started_at"].replace("-", "").replace(":", "")
            problem, pack, results = None, None, {}
            try:
                pack = fetch(run["source"], Path(downloads) / str(index))
                if sha256_file(pack / MANIFEST) != run["manifest_sha256"]:
                    problem = f"{run['source']}: not the pack the ledger used (its manifest's SHA-256 differs)"
                elif not verify(pack).ok:
                    problem = f"{run['source']}: its files differ from its manifest"
                else:
                    results = {(r["control"], r["account_id"], r.get("region")): r
                               for r in json.loads((pack / RESULTS).read_text(encoding="utf-8"))["results"]}
            except (PackError, OSError) as exc:
                problem = f"{run['source']}: {exc}"
            except SourceError as exc:  # this pack cannot be fetched: the other runs are still re-performed
                problem = str(exc)
            again = Reperformance({}, None, problem)
            if problem is None:
                again = replay(pack, sorted({e["account_id"] for e in entries}), sorted({e["control"] for e in entries}),
                               output, f"replays/{folder}")
            for entry in entries:
                key = (entry["control"], entry["account_id"], entry["region"])
                original = results.get(key)
                redone = again.results.get(key)
                record = {**entry, "source": run["source"], "original": None, "reperformed": None, "evidence": [],
                          "agreed": False, "problem": again.problem}
                if original is not None:
                    record["original"] = {"outcome": original["outcome"], "message": original["message"]}
                    record["evidence"] = copy_evidence(pack, original.get("evidence") or [], output, folder)
                elif again.problem is None:
                    record["problem"] = "the pack has no such verdict"
                if redone is not None:
                    record["reperformed"] = {"outcome": redone["outcome"], "message": redone["message"], "pack": again.pack}
                elif record["problem"] is None:
                    record["problem"] = "the replay gave no verdict for it"
                if record["original"] and record["reperformed"]:
                    record["agreed"] = record["original"]["outcome"] == record["reperformed"]["outcome"] == entry["outcome"]
                    record["same_message"] = record["original"]["message"] == record["reperformed"]["message"]
                    if not record["agreed"]:
                        record["problem"] = (f"re-performed as {record['reperformed']['outcome']}, "
                                             f"the pack says {record['original']['outcome']}, the ledger {entry['outcome']}")
                checked.append(record)
    return checked


def write_sample(ledger_folder: Path, ledger_sha256: str, document: dict, frame_size: int, size: int, seed: int,
                 checked: list[dict], output: Path, sign_key: Path | None) -> dict:
    sample = {
        "sample_format": SAMPLE_FORMAT,
        "generated_at": stamp(dt.datetime.now(dt.timezone.utc)),
        "suite_version": __version__,
        "ledger": {"folder": str(ledger_folder), "manifest_sha256": ledger_sha256, "profile": document["profile"],
                   "period": document["period"], "data_source": document["data_source"]},
        "population": {"definition": "every verdict of the ledger's runs: one per (run, control, account, region)",
                       "order": ORDER, "size": frame_size},
        "draw": {"method": DRAW, "seed": seed, "size": size},
        "agreed": sum(1 for record in checked if record["agreed"]),
        "disagreed_or_not_reperformed": sum(1 for record in checked if not record["agreed"]),
        "verdicts": checked,
    }
    write_json_atomic(output / "sample.json", sample)
    write_sample_html(sample, output / "sample.html")
    write_manifest(output, {"kind": "sample", "sample_format": SAMPLE_FORMAT, "suite_version": __version__,
                            "generated_at": sample["generated_at"], "ledger_manifest_sha256": ledger_sha256,
                            "seed": seed, "size": size, "complete": True})
    if sign_key is not None:
        from rootguard.evidence.signing import sign_pack

        sign_pack(output, sign_key)
    return sample


def write_sample_html(sample: dict, path: Path) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(loader=PackageLoader("rootguard", "templates"), autoescape=select_autoescape(["html", "j2"]))
    path.write_text(environment.get_template("sample.html.j2").render(sample=sample), encoding="utf-8")


def take_sample(ledger_folder: Path, size: int, seed: int, output: Path, fetch, *, key: Path | None = None,
                sign_key: Path | None = None) -> dict:
    document, ledger_sha256 = read_ledger(ledger_folder, key)
    frame = population(document)
    sampled = draw(frame, size, seed)
    prepare_output(output)
    checked = reperform(document, sampled, output.resolve(), fetch)
    return write_sample(ledger_folder, ledger_sha256, document, len(frame), size, seed, checked, output.resolve(), sign_key)
