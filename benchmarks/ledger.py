"""How `rootguard ledger` scales: a year of weekly packs at organization size, its wall time and peak memory.

    .venv/bin/python benchmarks/ledger.py                          # 52 weekly packs of 1000 accounts
    .venv/bin/python benchmarks/ledger.py --accounts 100 --runs 13

The packs are made from one real pack (the demo's, swept first unless --pack names one): each
run's results.json clones the demo's accounts round-robin up to N accounts with new ids, and
flips a deterministic few verdicts between runs, so the ledger has failures that open and
close; population.json lists the same accounts; a manifest covers both. The ledger reads only
those files, so nothing else is written. Then `rootguard ledger` runs in its own process, and
its wall time, CPU and peak RSS (getrusage of the child) are printed.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rootguard.evidence.pack import write_json_atomic, write_manifest  # noqa: E402


def demo_pack(into: Path) -> Path:
    pack = into / "demo"
    subprocess.run([sys.executable, "-m", "pytest", "--profile", "demo", "--report-dir", str(pack), "-q", "-p", "no:cacheprovider",
                    "--export", "none"], cwd=REPO, capture_output=True, check=False)
    if not (pack / "results.json").is_file():
        raise SystemExit("the demo sweep wrote no pack")
    return pack


def clone_results(template: dict, accounts: int, run: int, started: dt.datetime) -> tuple[dict, dict]:
    """results.json and population.json of one synthetic run."""
    by_account: dict[str, list] = {}
    for entry in template["results"]:
        by_account.setdefault(entry["account_id"], []).append(entry)
    originals = sorted(by_account)
    results, members = [], []
    for number in range(accounts):
        original = originals[number % len(originals)]
        account_id = f"{100000000000 + number:012d}"
        name = f"account-{number:04d}"
        members.append({"account_id": account_id, "account_name": name, "in_scope": True, "reason": "judged"})
        for position, entry in enumerate(by_account[original]):
            clone = copy.copy(entry)
            clone["account_id"], clone["account_name"] = account_id, name
            clone["evidence"] = [path.replace(original, account_id) for path in entry.get("evidence", [])]
            # Every 13th verdict fails for a few runs and then passes again, at a different run per account.
            if (number * 7 + position) % 13 == 0 and (run + number) % 6 < 2:
                clone["outcome"] = "failed"
            results.append(clone)
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {k: v for k, v in template.items() if k != "results"}
    document.update(started_at=stamp, finished_at=stamp, results=results, waivers=[],
                    accounts=[{"account_id": m["account_id"], "account_name": m["account_name"]} for m in members])
    return document, {"statement": "synthetic", "accounts": members}


def make_packs(template_pack: Path, accounts: int, runs: int, into: Path) -> None:
    template = json.loads((template_pack / "results.json").read_text())
    first = dt.datetime(2026, 1, 5, 6, tzinfo=dt.timezone.utc)
    for run in range(runs):
        started = first + dt.timedelta(days=7 * run)
        pack = into / started.strftime("%Y%m%dT%H%M%SZ")
        pack.mkdir(parents=True)
        results, population = clone_results(template, accounts, run, started)
        write_json_atomic(pack / "results.json", results)
        write_json_atomic(pack / "population.json", population)
        write_manifest(pack, {"profile": results["profile"], "started_at": results["started_at"], "complete": True})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=52)
    parser.add_argument("--pack", type=Path, help="the pack to clone (default: a demo sweep made now)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rootguard-ledger-bench-") as work:
        work = Path(work)
        template = args.pack or demo_pack(work)
        began = time.perf_counter()
        make_packs(template, args.accounts, args.runs, work / "packs")
        print(f"made {args.runs} packs of {args.accounts} accounts in {time.perf_counter() - began:.1f} s")
        last = dt.date(2026, 1, 5) + dt.timedelta(days=7 * (args.runs - 1))
        # The child prints its own peak RSS: RUSAGE_CHILDREN's would include the demo sweep's.
        runner = ("import resource, sys; from rootguard.cli import main; code = main(sys.argv[1:]); "
                  "print(f'peak-rss-kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}'); sys.exit(code)")
        command = [sys.executable, "-c", runner, "ledger", str(work / "packs"), "--from", "2026-01-01", "--to", str(last),
                   "--cadence", "7d", "--output", str(work / "ledger")]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if completed.returncode not in (0, 1):
            print(completed.stdout + completed.stderr)
            return 1
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        printed, _, peak = completed.stdout.rpartition("peak-rss-kb ")
        sizes = {path.name: path.stat().st_size / 1e6 for path in (work / "ledger").iterdir()}
        verdicts = args.accounts * len(json.loads((template / "results.json").read_text())["results"]) // 7 * args.runs
        print(printed.strip())
        print(f"ledger: {args.runs} runs x {args.accounts} accounts (about {verdicts:,} verdicts): wall {wall:.1f} s, "
              f"cpu {cpu:.1f} s, peak RSS {int(peak) / 1024:.0f} MB; "
              + ", ".join(f"{name} {size:.1f} MB" for name, size in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
