"""A missing prerequisite skips on a developer's machine and fails on CI (audit finding 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prerequisites import on_ci

ROOT = Path(__file__).resolve().parents[1]

A_TEST = """
from tests.support.prerequisites import missing

def test_needs_a_tool():
    missing("frobnicator is not installed (apt-get install frobnicator)")

def test_needs_root():
    missing("run me as root", ci_installs_it=False)
"""


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needs.py").write_text(A_TEST)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rsf", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_off_ci_a_missing_prerequisite_skips(tmp_path: Path, ci: str | None) -> None:
    done = _run(tmp_path, ci)
    assert done.returncode == 0, done.stdout
    assert "2 skipped" in done.stdout
    assert "frobnicator is not installed" in done.stdout


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_on_ci_a_missing_prerequisite_fails(tmp_path: Path, ci: str | None) -> None:
    done = _run(tmp_path, ci)
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 skipped" in done.stdout  # "not root" is no broken install
    assert "FAILED test_needs.py::test_needs_a_tool" in done.stdout
    assert "frobnicator is not installed (apt-get install frobnicator) (CI installs it" in (
        done.stdout
    )


def test_on_ci_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert on_ci()
    monkeypatch.setenv("CI", "false")
    assert not on_ci()
    monkeypatch.delenv("CI")
    assert not on_ci()
