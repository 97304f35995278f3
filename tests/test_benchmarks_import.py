"""The benchmarks are not run in CI (their numbers are for people), but they must stay
runnable: each one imports the test helpers it measures with, which move as tests change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_there_are_benchmarks() -> None:
    assert {p.name for p in BENCHMARKS} >= {"run.py", "tui_bench.py", "status_bench.py"}


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_a_benchmark_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs nothing: each benchmark runs under __main__ only
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
