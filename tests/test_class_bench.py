"""The classroom benchmark's quick mode as a smoke test: it runs end to end against the real
server and loses no event (its latency and CPU numbers are for people, not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "class_bench.py"


def test_the_class_benchmark_runs_and_loses_nothing() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lost = next(line for line in out.stdout.splitlines() if line.startswith("events lost"))
    assert lost.split()[2] == "0" and lost.endswith("ok"), lost
    assert "p99 event -> dashboard update" in out.stdout
    assert "server CPU" in out.stdout
