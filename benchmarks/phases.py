"""A pytest plugin for the scale benchmark: when each phase of a rootguard run began and ended.

Loaded into the measured run with `-p benchmarks.phases`; when the process exits (after the
last pytest hook, so the evidence pack's finishing work is inside) it writes its marks, as
epoch seconds, to the file named by $ROOTGUARD_BENCH_PHASES. It hooks no per-test call, so
it adds nothing a run would notice. Beside the marks, under "gc", it writes how long
Python's garbage collector ran in the process, from the plugin's loading to its exit, and
how many collections of each generation it made (a callback at each collection's start and
end: two clock reads). Under "cpu", the process's user and system CPU seconds (all its
threads) at each mark, so that a phase's CPU is the difference of two.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import time

import pytest

_marks: dict[str, float] = {}
_cpu: dict[str, list[float]] = {}
_gc = {"seconds": 0.0, "collections": [0, 0, 0], "started": 0.0}


def _collecting(phase: str, info: dict) -> None:
    if phase == "start":
        _gc["started"] = time.perf_counter()
    else:
        _gc["seconds"] += time.perf_counter() - _gc["started"]
        _gc["collections"][info["generation"]] += 1


gc.callbacks.append(_collecting)


def mark(name: str) -> None:
    if name in _marks:  # the first time a phase is reached counts
        return
    # Epoch time, not monotonic: the benchmark compares it with its own clock in another process.
    _marks[name] = time.time()
    times = os.times()
    _cpu[name] = [round(times.user, 3), round(times.system, 3)]


def _write() -> None:
    mark("exit")
    target = os.environ.get("ROOTGUARD_BENCH_PHASES")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump({**_marks, "cpu": _cpu, "gc": {"seconds": round(_gc["seconds"], 3), "collections": _gc["collections"]}}, handle, indent=1)


atexit.register(_write)
mark("plugin_loaded")


def pytest_configure(config):
    # Under pytest -n, the workers load this plugin too: only the controller's marks are written.
    if hasattr(config, "workerinput"):
        atexit.unregister(_write)


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session):
    mark("collection_start")
    yield
    mark("collection_end")


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_finish(session):
    # rootguard fetches every selected fact ahead of the tests in this hook.
    mark("prefetch_start")
    yield
    mark("prefetch_end")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    mark("tests_start")


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session, exitstatus):
    mark("tests_end")
    yield
    mark("sessionfinish_end")


@pytest.hookimpl(hookwrapper=True)
def pytest_unconfigure(config):
    mark("unconfigure_start")
    yield
    mark("unconfigure_end")
