"""How rootguard scales with the number of accounts: the real suite against a slow, counting AWS.

    python benchmarks/scale.py                       # 10, 100, 500 and 1000 accounts
    python benchmarks/scale.py --accounts 10,100 --latency-ms 50
    python benchmarks/scale.py --server moto --accounts 10

For each size N it starts the benchmark's AWS in its own process, serving an N-account
organization grown from the demo and adding --latency-ms to every request:
benchmarks/standin.py (default: moto's answers recorded once and replayed, with AWS-like
throttling unless --throttle off) or benchmarks/server.py (--server moto: a moto server seeded
with all N accounts). Then it runs `pytest --profile <a live profile pointing at it>
--report-dir <tmp>` as a user would, with fake credentials: every control, every control on
--workers xdist workers, and only root-mfa (`-k test_root_mfa`, to show that controls not
selected cost no AWS calls). It measures the wall time of each pytest process, its peak RSS,
the server's request counts by account and action and its CPU per request, and compares the
requests with those the verdicts rest on (every call recorded in the pack's evidence). Seeding
(or recording) is timed and printed, never counted. A table goes to stdout and everything to
benchmarks/results.json.

The targets these numbers are read against (issue 4): 1000 accounts x all controls under 60 s
and 100 accounts under 10 s at 20 ms latency on a 2-core machine, under 1 GB at 1000 accounts,
and no more requests per account than the distinct facts its verdicts need.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import floor  # noqa: E402

HUB_ACCOUNT_ID = "123456789012"
DEFAULT_SIZES = (10, 100, 500, 1000)
TARGETS = {"wall_seconds": {1000: 60, 100: 10}, "peak_mb": {1000: 1024}}
FLOOR_RATIO = 1.5  # the suite's CPU per account against the stack's, in the same run
# Calls that reach accounts rather than read facts: made once per run or once per account.
ACCESS_ACTIONS = {"sts:AssumeRole"}


def sizes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of account counts") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give at least one account count, each at least 1")
    return values


SERVERS = ("standin", "moto")


def server_command(kind: str, accounts: int, latency_ms: float, regions: list[str], throttle: bool, limits: list[str]) -> list[str]:
    """The command that serves the benchmark's AWS: the stand-in (with its throttling) or the moto server."""
    if kind == "moto":
        return [sys.executable, str(REPO / "benchmarks" / "server.py"), "--accounts", str(accounts), "--latency-ms", str(latency_ms)]
    return [sys.executable, str(REPO / "benchmarks" / "standin.py"), "--accounts", str(accounts), "--latency-ms", str(latency_ms),
            "--regions", ",".join(regions), "--throttle", "on" if throttle else "off", *(f"--limit={limit}" for limit in limits)]


class Server:
    """The benchmark server (benchmarks/standin.py or server.py) as a child process, from ready to stopped."""

    def __init__(self, command: list[str], log: Path, timeout: float):
        self.log = log
        self._log_handle = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._log_handle,
            text=True,
        )
        self.ready = self._wait_ready(timeout)
        self.endpoint = self.ready["endpoint"]

    def _wait_ready(self, timeout: float) -> dict:
        # Seeding 1000 accounts takes minutes; readline would block past a dead server, so read in a thread.
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines or not lines[0].strip():
            self.stop()
            tail = self.log.read_text(errors="replace").splitlines()[-20:]
            raise RuntimeError(f"benchmark server not ready within {timeout:g} s:\n" + "\n".join(tail))
        return json.loads(lines[0])

    def call(self, command: str) -> dict:
        method = "POST" if command == "reset" else "GET"
        with urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/__bench/{command}", method=method), timeout=60) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()


def write_profile(path: Path, endpoint: str, regions: list[str]) -> Path:
    path.write_text(
        "description: rootguard scale benchmark, an organization behind the benchmark's AWS\n"
        "backend: live\n"
        f"endpoint_url: {endpoint}\n"
        f"home_region: {regions[0]}\n"
        f"regions: [{', '.join(regions)}]\n"
        "organization:\n"
        "  role_name: OrganizationAccountAccessRole\n",
        encoding="utf-8",
    )
    return path


def fake_aws_environment(scratch: Path) -> dict[str, str]:
    """Credentials as a user exports them, and nothing from this machine's AWS configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    return env


def tree_rss_kb(pid: int) -> int:
    """The resident memory of a process and all its descendants now (pytest -n: the controller and its workers)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def peak_rss_watch(pid: int, seen: dict, cap_kb: int) -> None:
    """Poll the process's own high-water mark (VmHWM): the suite alone, not the tools it starts.

    A run past `cap_kb` is killed, so that a suite that outgrows the machine ends as a
    measurement ("killed at the memory cap") instead of taking the machine down with it.
    """
    path = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = path.read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            return
        hwm = int(fields.get("VmHWM", "0 kB").split()[0])
        seen["kb"] = max(seen.get("kb", 0), hwm)
        seen["tree_kb"] = max(seen.get("tree_kb", 0), tree_rss_kb(pid))
        if int(fields.get("VmRSS", "0 kB").split()[0]) > cap_kb:
            seen["killed"] = True
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


def run_pytest(profile: Path, pack: Path, extra: list[str], env: dict[str, str], log: Path, cap_mb: int) -> dict:
    phases_file = pack.parent / f"{pack.name}-phases.json"
    command = [
        sys.executable, "-m", "pytest", "--profile", str(profile), "--report-dir", str(pack),
        # hypothesis comes with the suite's own test tools, not with rootguard: its plugin would
        # add a second to every run that a user's installation does not have.
        "-p", "benchmarks.phases", "-p", "no:hypothesispytest",
        # A temporary directory of the run's own: otherwise pytest (under -n, where xdist asks
        # for one) ends the run by deleting the machine's older pytest-of-<user> directories,
        # 8 to 14 s here after the suite's own tests had left 520 MB in them.
        "--basetemp", str(pack.parent / f"{pack.name}-basetemp"), *extra,
    ]
    load_before = os.getloadavg()[0]
    started_epoch = time.time()
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=REPO, env=dict(env, ROOTGUARD_BENCH_PHASES=str(phases_file)),
                                   stdout=output, stderr=subprocess.STDOUT)
        peak: dict = {}
        watcher = threading.Thread(target=peak_rss_watch, args=(process.pid, peak, cap_mb * 1024), daemon=True)
        watcher.start()
        # wait4, not wait: it also returns the process's resource usage.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        watcher.join(1)
    phases, collector, cpu = {}, None, {}
    if phases_file.exists():
        marks = json.loads(phases_file.read_text())
        collector = marks.pop("gc", None)
        cpu = marks.pop("cpu", {})
        phases = {name: round(at - started_epoch, 2) for name, at in marks.items()}
    return {
        "command": command,
        "exit_code": process.returncode,
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(peak.get("kb", usage.ru_maxrss) / 1024, 1),
        # wait4 reports the largest of the process and the children it waited for (Allure's node).
        "peak_rss_mb_with_children": round(usage.ru_maxrss / 1024, 1),
        # The sum over the process and its descendants, sampled: what a run with workers occupies.
        "peak_rss_mb_all_processes": round(peak.get("tree_kb", 0) / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "killed_at_memory_cap": bool(peak.get("killed")),
        # This machine may be shared: a 1-minute load average above the benchmark's own busy
        # processes means someone else's work was competing for the CPUs (verdicts).
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "phases": phases,
        # The pytest process's user and system CPU seconds at each of those marks (the controller's, with -n).
        "phases_cpu": cpu,
        # Python's garbage collector in the pytest process (the controller's, with -n).
        "gc": collector,
    }


def evidence_requests(pack: Path) -> dict[str, Counter]:
    """Per account, the requests behind its verdicts by action: each evidence call, page by page."""
    needed: dict[str, Counter] = defaultdict(Counter)
    for document_path in (pack / "evidence").glob("*/*.json"):
        document = json.loads(document_path.read_text())
        # A fact read through the hub (SCPs, the organization) sits with the hub's evidence.
        account = document_path.parent.name
        for call in document.get("calls", []):
            if (call.get("error") or {}).get("Kind") == "session":
                continue  # the account could not be reached: no request was made
            needed[account][call["action"]] += max(1, call.get("pages") or 1)
    return needed


def server_action(action: str) -> str:
    # The server names S3 Control and CloudWatch by their API, rootguard's evidence by IAM action prefix.
    service, _, operation = action.partition(":")
    prefix = {"cloudwatch": "cloudwatch", "s3control": "s3control"}.get(service, service)
    return f"{prefix}:{operation}".replace("Mfa", "MFA")


def compare_requests(stats: dict, needed: dict[str, Counter], accounts: int) -> dict:
    made: dict[str, Counter] = defaultdict(Counter)
    for account, action, count in stats["requests"]:
        made[account][server_action(action)] += count
    by_action: Counter = Counter()
    for counter in made.values():
        by_action.update(counter)
    needed_total = sum(sum(c.values()) for c in needed.values())
    made_total = stats["total"]
    access = sum(made[a][x] for a in made for x in ACCESS_ACTIONS)
    # Requests beyond what the evidence shows, by action: what the "no call repeated" target is about.
    excess: Counter = Counter()
    for account, counter in made.items():
        for action, count in counter.items():
            over = count - needed.get(account, Counter()).get(action, 0)
            if over > 0 and action not in ACCESS_ACTIONS:
                excess[action] += over
    # A repeat the evidence records as well is part of a fact (GenerateCredentialReport polled
    # until the report is ready); one it does not record is a call made twice for nothing.
    unrecorded = [
        r for r in stats["repeated"]
        if made[r["account"]][server_action(r["action"])] > needed.get(r["account"], Counter()).get(server_action(r["action"]), 0)
    ]
    answered = made_total + stats.get("throttled_total", 0) + sum(count for _, _, count in stats.get("unrecorded", []))
    members = [sum(made[a].values()) for a in made if a != HUB_ACCOUNT_ID]
    member_needed = [sum(needed[a].values()) for a in needed if a != HUB_ACCOUNT_ID]
    return {
        "total": made_total,
        "per_account": round(made_total / accounts, 2),
        "needed_total": needed_total,
        "needed_per_account": round(needed_total / accounts, 2),
        "access_requests": access,
        "repeated_requests": sum(r["times"] - 1 for r in stats["repeated"]),
        "repeated": stats["repeated"][:50],
        "repeated_not_in_evidence": unrecorded[:50],
        "beyond_evidence": dict(excess.most_common()),
        "member_requests": {"min": min(members, default=0), "max": max(members, default=0)},
        "member_needed": {"min": min(member_needed, default=0), "max": max(member_needed, default=0)},
        "hub_requests": sum(made.get(HUB_ACCOUNT_ID, Counter()).values()),
        "by_action_per_account": {k: round(v / accounts, 2) for k, v in sorted(by_action.items())},
        "server_cpu_seconds": stats["cpu_seconds"],
        # CPU per request answered, throttled ones included: what the server costs the machine per call.
        "server_cpu_ms_per_request": round(stats["cpu_seconds"] / answered * 1000, 3) if answered else None,
        "throttled_requests": stats.get("throttled_total", 0),
        "throttled": stats.get("throttled", []),
        "unrecorded_requests": sum(count for _, _, count in stats.get("unrecorded", [])),
        "unrecorded": stats.get("unrecorded", []),
        "server_max_rss_mb": stats["max_rss_mb"],
        "server_peak_threads": stats["peak_threads"],
        "server_threads_after": stats["threads"],
    }


def outcome_counts(pack: Path) -> dict:
    results = pack / "results.json"
    if not results.exists():
        return {}
    data = json.loads(results.read_text())
    return {"results": len(data.get("results", [])), "accounts": len(data.get("accounts") or []), **(data.get("counts") or {})}


def measure(size: int, args, scratch: Path) -> dict:
    where = scratch / f"n{size}"
    where.mkdir()
    regions = args.regions.split(",")
    preparing = "recording the demo organization for the stand-in" if args.server == "standin" else "seeding the moto server"
    print(f"[{size} accounts] {preparing} ...", flush=True)
    command = server_command(args.server, size, args.latency_ms, regions, args.throttle == "on", args.limit)
    server = Server(command, where / "server.log", args.seed_timeout)
    try:
        prepared = "recorded and ready" if args.server == "standin" else "seeded"
        print(f"[{size} accounts] {prepared} in {server.ready['seed_seconds']} s ({server.ready['seed_requests']} requests, not measured)", flush=True)
        profile = write_profile(where / "benchmark.yaml", server.endpoint, regions)
        env = fake_aws_environment(where)
        runs = {}
        plan = [("all", [])]
        if args.workers:
            plan.append(("xdist", ["-n", str(args.workers)]))
        plan.append(("root-mfa", ["-k", "test_root_mfa"]))
        for label, extra in plan:
            server.call("reset")
            pack = where / f"pack-{label}"
            extra = [*extra, "--fetch-workers", str(args.fetch_workers)] if args.fetch_workers else extra
            extra = [*extra, "--fetch-processes", args.fetch_processes] if args.fetch_processes else extra
            run = run_pytest(profile, pack, extra + args.pytest_args, env, where / f"pytest-{label}.log", args.max_rss_mb)
            stats = server.call("stats")
            if run["killed_at_memory_cap"]:
                run["requests"] = {"total": stats["total"], "server_cpu_seconds": stats["cpu_seconds"], "server_cpu_ms_per_request": None}
                runs[label] = run
                print(f"[{size} accounts] {label}: killed after {run['wall_seconds']} s at the {args.max_rss_mb} MB memory cap", flush=True)
                continue
            if run["exit_code"] not in (0, 1):
                tail = (where / f"pytest-{label}.log").read_text(errors="replace").splitlines()[-25:]
                raise RuntimeError(f"pytest exited {run['exit_code']} ({label}, {size} accounts):\n" + "\n".join(tail))
            run["outcomes"] = outcome_counts(pack)
            run["requests"] = compare_requests(stats, evidence_requests(pack), size)
            if "peak_in_flight" in stats:  # the stand-in's: {family: [most in flight at once, caller]}
                run["requests"]["peak_in_flight"] = stats["peak_in_flight"]
            # Distinct facts behind the verdicts: one evidence file each (hub-read facts once, with the hub).
            run["requests"]["facts_per_account"] = round(sum(1 for _ in (pack / "evidence").glob("*/*.json")) / size, 2)
            runs[label] = run
            print(f"[{size} accounts] {label}: {run['wall_seconds']} s, peak {run['peak_rss_mb']} MB, "
                  f"{run['requests']['per_account']} requests/account "
                  f"({run['requests']['needed_per_account']} behind verdicts), "
                  f"{run['requests']['throttled_requests']} throttled, server {run['requests']['server_cpu_ms_per_request']} ms CPU/request",
                  flush=True)
            if args.keep:
                shutil.copytree(pack, Path(args.keep) / f"n{size}-{label}", dirs_exist_ok=True)
        measured = {"accounts": size, "server": args.server, "seed_seconds": server.ready["seed_seconds"],
                    "seed_requests": server.ready["seed_requests"], "recording": server.ready.get("recording"), "runs": runs}
    finally:
        server.stop()
    if args.floor == "on" and not runs["all"]["killed_at_memory_cap"]:
        measured["floor"] = stack_floor(size, runs["all"], where)
        print(f"[{size} accounts] floor: {measured['floor']['cpu_ms_per_account']} ms CPU per account "
              f"(pytest with its reports {measured['floor']['pytest_ms_per_account']}, botocore {measured['floor']['botocore_ms_per_account']})",
              flush=True)
    return measured


def stack_floor(size: int, run: dict, where: Path) -> dict:
    """What pytest with its three reports and botocore's requests cost for this sweep's tests and requests (floor.py), per account."""
    tests_per_account = max(1, round(run["outcomes"]["results"] / size))
    scratch = where / "floor"
    scratch.mkdir()
    reported = floor.pytest_cpu(size, tests_per_account, scratch, reports=True)
    per_request = floor.botocore_cpu_ms(1000)
    botocore_ms = min(per_request.values()) * run["requests"]["per_account"]
    pytest_ms = reported["cpu_seconds"] / size * 1000
    return {
        "tests_per_account": tests_per_account,
        "pytest_ms_per_account": round(pytest_ms, 1),
        "botocore_ms_per_request": per_request,
        "botocore_ms_per_account": round(botocore_ms, 1),
        "cpu_ms_per_account": round(pytest_ms + botocore_ms, 1),
    }


def verdicts(measurement: dict) -> list[str]:
    """Each issue-4 target this size is measured against, met or not, and where the requests went."""
    size, run = measurement["accounts"], measurement["runs"]["all"]
    if run["killed_at_memory_cap"]:
        return [f"{size} accounts: killed at the memory cap after {run['wall_seconds']} s (peak {run['peak_rss_mb']} MB)"]
    lines = []
    if size in TARGETS["wall_seconds"]:
        limit = TARGETS["wall_seconds"][size]
        met = "met" if run["wall_seconds"] < limit else "NOT met"
        lines.append(f"{size} accounts: wall {run['wall_seconds']} s, target < {limit} s: {met}")
    if size in TARGETS["peak_mb"]:
        limit = TARGETS["peak_mb"][size]
        # Every process of the run counts: the fetching children (--fetch-processes) and the one
        # writing exports aside. Summed RSS counts the pages a forked child still shares with the
        # run once in each: an upper bound.
        whole = max(run["peak_rss_mb"], run["peak_rss_mb_all_processes"])
        met = "met" if whole < limit else "NOT met"
        lines.append(f"{size} accounts: peak {run['peak_rss_mb']} MB, {whole} MB with every process of the run (summed RSS, an upper bound), "
                     f"target < {limit} MB: {met}")
    stack = (measurement.get("floor") or {}).get("cpu_ms_per_account")
    if stack:
        cpu = run["cpu_seconds"] / size * 1000
        met = "met" if cpu <= FLOOR_RATIO * stack else "NOT met"
        lines.append(f"{size} accounts: {cpu:.0f} ms CPU per account, {cpu / stack:.2f} x the floor measured beside it "
                     f"({stack} ms: pytest with its reports, botocore), target <= {FLOOR_RATIO} x: {met}")
    req = run["requests"]
    other = req["total"] - req["needed_total"] - req["access_requests"]
    lines.append(f"{size} accounts: {req['total']} requests = {req['needed_total']} behind verdicts + "
                 f"{req['access_requests']} AssumeRole + {other} more ({describe(req['beyond_evidence'])}); "
                 f"{req['repeated_requests']} repeated, {len(req['repeated_not_in_evidence'])} of them not in the evidence")
    if req.get("throttled_requests"):
        lines.append(f"{size} accounts: {req['throttled_requests']} requests throttled and retried "
                     f"({describe(by_action(req['throttled']))})")
    if req.get("unrecorded_requests"):
        lines.append(f"{size} accounts: {req['unrecorded_requests']} requests the stand-in never recorded, answered with an error: "
                     f"{describe(by_action(req['unrecorded']))}; the verdicts are not comparable with moto's")
    mfa = measurement["runs"]["root-mfa"]
    if not mfa["killed_at_memory_cap"]:
        lines.append(f"{size} accounts, -k test_root_mfa: {mfa['requests']['per_account']} requests/account "
                     f"({mfa['requests']['needed_per_account']} behind verdicts), {mfa['wall_seconds']} s")
    # The run's own busy processes: one fetching per core (--fetch-processes auto), the process
    # itself and the stand-in; a load above them is someone else's work.
    if max(run["load_average_before"], run["load_average_after"]) > (os.cpu_count() or 1) + 2:
        lines.append(f"{size} accounts: load average {run['load_average_before']} -> {run['load_average_after']}: "
                     "other work shared the CPUs, the times are pessimistic")
    return lines


def by_action(rows: list) -> dict:
    """[account, action, count] rows summed by action, most first."""
    total: Counter = Counter()
    for _, action, count in rows:
        total[action] += count
    return dict(total.most_common())


def describe(counts: dict) -> str:
    return ", ".join(f"{action} x{count}" for action, count in counts.items()) or "none"


def phase_cpu(run: dict, start: str, end: str) -> str:
    """CPU seconds (user and system) the pytest process spent between two marks, or "-"."""
    cpu = run.get("phases_cpu") or {}
    if start not in cpu or end not in cpu:
        return "-"
    return f"{sum(cpu[end]) - sum(cpu[start]):.1f}"


def table(measurements: list[dict]) -> list[str]:
    header = (f"{'N':>6} {'wall s':>8} {'peak MB':>8} {'all MB':>7} {'req/acct':>9} {'needed':>7} {'s/acct':>7} "
              f"{'prefetch s':>10} {'cpu':>5} {'tests s':>8} {'cpu':>5} {'finish s':>9} {'gc s':>5} {'srv cpu s':>9} {'srv ms/req':>10} {'mfa-only req/acct':>17} "
              f"{'-n wall s':>9} {'-n MB':>6} {'-n req/acct':>11} {'cpu ms/acct':>11} {'floor ms':>8} {'x floor':>7} {'-n cpu ms/acct':>14}")
    lines = [header, "-" * len(header)]
    for m in measurements:
        run, mfa = m["runs"]["all"], m["runs"]["root-mfa"]
        if run["killed_at_memory_cap"]:
            lines.append(f"{m['accounts']:>6} {'killed at the memory cap after ' + str(run['wall_seconds']) + ' s':>40}")
            continue
        phases = run["phases"]
        prefetch = phases.get("prefetch_end", 0) - phases.get("prefetch_start", 0)
        tests = phases.get("tests_end", 0) - phases.get("prefetch_end", 0)
        finish = run["wall_seconds"] - phases.get("tests_end", run["wall_seconds"])
        prefetch_cpu, tests_cpu = phase_cpu(run, "prefetch_start", "prefetch_end"), phase_cpu(run, "prefetch_end", "tests_end")
        mfa_requests = "-" if mfa["killed_at_memory_cap"] else f"{mfa['requests']['per_account']:.1f}"
        xdist = m["runs"].get("xdist")
        if xdist is None or xdist["killed_at_memory_cap"]:
            spread = f"{'-':>9} {'-':>6} {'-':>11}"
        else:  # every process of the run: the controller and its workers
            spread = f"{xdist['wall_seconds']:>9.1f} {xdist['peak_rss_mb_all_processes']:>6.0f} {xdist['requests']['per_account']:>11.1f}"
        # CPU of the pytest process (and, with -n, of its workers), per account, beside the stack's floor measured in the same run.
        cpu = run["cpu_seconds"] / m["accounts"] * 1000
        stack = (m.get("floor") or {}).get("cpu_ms_per_account")
        xdist_cpu = f"{xdist['cpu_seconds'] / m['accounts'] * 1000:>14.0f}" if xdist and not xdist["killed_at_memory_cap"] else f"{'-':>14}"
        against = f"{stack:>8.0f} {cpu / stack:>7.2f}" if stack else f"{'-':>8} {'-':>7}"
        spread += f" {cpu:>11.0f} {against} {xdist_cpu}"
        lines.append(
            f"{m['accounts']:>6} {run['wall_seconds']:>8.1f} {run['peak_rss_mb']:>8.0f} {run['peak_rss_mb_all_processes']:>7.0f} "
            f"{run['requests']['per_account']:>9.1f} "
            f"{run['requests']['needed_per_account']:>7.1f} {run['wall_seconds'] / m['accounts']:>7.3f} {prefetch:>10.1f} {prefetch_cpu:>5} "
            f"{tests:>8.1f} {tests_cpu:>5} {finish:>9.1f} {(run.get('gc') or {}).get('seconds', 0):>5.1f} {run['requests']['server_cpu_seconds']:>9.1f} "
            f"{run['requests']['server_cpu_ms_per_request'] or 0:>10.3f} {mfa_requests:>17} {spread}"
        )
    return lines


def source_state() -> dict:
    """The commit measured, and whether the working tree differed from it (numbers follow the code)."""
    def git(*command: str) -> str:
        try:
            return subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""

    # Porcelain lines are "XY path"; X may be a space, so the output is not stripped.
    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "HEAD").strip() or None, "uncommitted_files": changed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/scale.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=sizes, default=list(DEFAULT_SIZES), help="account counts, comma-separated (default 10,100,500,1000)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay the server adds to every request (default %(default)s)")
    parser.add_argument("--server", choices=SERVERS, default="standin",
                        help="the benchmark's AWS: standin (recorded answers, benchmarks/standin.py) or moto (benchmarks/server.py) (default %(default)s)")
    parser.add_argument("--throttle", choices=("on", "off"), default="on",
                        help="the stand-in's AWS-like throttling per API family (default %(default)s; moto never throttles)")
    parser.add_argument("--limit", action="append", default=[], metavar="FAMILY=RATE:BURST",
                        help="change one of the stand-in's throttling limits (see benchmarks/standin.py)")
    parser.add_argument("--regions", default="us-east-1,eu-west-1", help="the profile's regions, home first (default %(default)s)")
    parser.add_argument("--fetch-workers", type=int, help="pass --fetch-workers N to the suite (default: the suite's own)")
    parser.add_argument("--fetch-processes", help="pass --fetch-processes N|auto to the suite (default: the suite's own, auto)")
    parser.add_argument("--workers", type=int, default=2, help="also run every control with pytest -n WORKERS (default %(default)s; 0: no such run)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results.json", help="results file (default %(default)s)")
    parser.add_argument("--keep", metavar="DIR", help="copy each run's evidence pack here")
    parser.add_argument("--floor", choices=("on", "off"), default="on",
                        help="also measure, per size, what pytest with its reports and botocore cost for the same tests and requests (default on)")
    parser.add_argument("--max-rss-mb", type=int, default=12000, help="kill a pytest run whose memory passes this (default %(default)s)")
    parser.add_argument("--seed-timeout", type=float, default=3600, help="seconds to wait for the server to seed or record (default %(default)s)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    args = parser.parse_args(argv)

    source = source_state()  # before the runs: the code they measured
    report = {
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "latency_ms": args.latency_ms,
        "server": args.server,
        "throttle": args.throttle == "on" and args.server == "standin",
        "limits": args.limit,
        "regions": args.regions.split(","),
        "fetch_workers": args.fetch_workers,
        "fetch_processes": args.fetch_processes,
        "xdist_workers": args.workers,
        "pytest_args": args.pytest_args,
        "source": source,
        "targets": {"wall_seconds": {str(k): v for k, v in TARGETS["wall_seconds"].items()}, "peak_mb": {str(k): v for k, v in TARGETS["peak_mb"].items()}},
        "complete": False,
        "measurements": [],
    }
    measurements = report["measurements"]
    with tempfile.TemporaryDirectory(prefix="rootguard-bench-") as scratch:
        for size in args.accounts:
            measurements.append(measure(size, args, Path(scratch)))
            # After each size, so an interrupted benchmark keeps the sizes it finished.
            args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["complete"] = True
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    throttling = "throttling on" if report["throttle"] else "no throttling"
    print(f"rootguard scale benchmark: {args.server} server, {args.latency_ms:g} ms per request, {throttling}, "
          f"regions {args.regions}, {os.cpu_count()} CPUs")
    for line in table(measurements):
        print(line)
    print()
    for m in measurements:
        for line in verdicts(m):
            print(line)
    print(f"results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
