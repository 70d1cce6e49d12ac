"""benchmarks/floor.py: the lower bound it prints is the arithmetic of what it measured."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_floor_is_the_stacks_cpu_over_the_cores(tmp_path):
    output = tmp_path / "floor.json"
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "floor.py"), "--accounts", "3", "--tests-per-account", "4",
         "--requests-per-account", "10", "--server-ms-per-request", "5", "--botocore-requests", "40", "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    figures = json.loads(output.read_text())
    # Both pytest runs ran every test: a run with a failure or an error exits non-zero, which floor.py refuses.
    assert figures["pytest_bare"]["tests"] == figures["pytest_with_reports"]["tests"] == 12
    assert figures["pytest_with_reports"]["cpu_seconds"] > 0
    ms = figures["botocore_ms_per_request"]
    assert len(ms) == 2 and all(value > 0 for value in ms.values())
    assert figures["botocore_cpu_seconds"] == round(3 * 10 * min(ms.values()) / 1000, 1)
    assert figures["server_cpu_seconds"] == round(3 * 10 * 5 / 1000, 1)
    stack = figures["pytest_with_reports"]["cpu_seconds"] + 3 * 10 * min(ms.values()) / 1000
    assert figures["floor_wall_seconds"] == round((stack + 3 * 10 * 5 / 1000) / figures["cores"], 1)
    assert figures["floor_wall_seconds_without_server"] == round(stack / figures["cores"], 1)
    assert f"floor: {figures['floor_wall_seconds']} s wall" in completed.stdout


def test_without_counts_or_a_scale_measurement_it_says_what_is_missing(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "floor.py"), "--results", str(tmp_path / "none.json"), "--output", str(tmp_path / "f.json")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode != 0
    assert completed.stderr.strip().startswith(f"floor: {tmp_path / 'none.json'}: no usable scale.py measurement")
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "f.json").exists()
