"""Lesson 11 on a rehearsal LXC lab: `mesoslab dev check lesson-11` catches up through the
earlier 1m-2a lessons, then proves each step's checks fail before and pass after its
commands (the scheduler written by the lesson runs on master1 with the avmesos copy that
provisioning put in /opt/mesoslab-pylib)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lxc import mesoslab, new_lab

pytestmark = pytest.mark.lab

STEPS = 4


def _tail(out: subprocess.CompletedProcess[str], chars: int = 6000) -> str:
    return out.stdout[-chars:] + "\n--- stderr ---\n" + out.stderr[-2000:]


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "l11", "1m-2a") as directory:
        out = mesoslab(directory, "up")
        assert out.returncode == 0, _tail(out)
        yield directory


def test_lesson_11_runs_end_to_end(lab: Path) -> None:
    out = mesoslab(lab, "dev", "check", "lesson-11")
    assert out.returncode == 0, _tail(out)
    for step in range(1, STEPS + 1):
        line = re.search(rf"^([✔✘]) lesson-11 step {step}: .*$", out.stdout, re.MULTILINE)
        assert line is not None and line.group(1) == "✔", _tail(out)
    assert re.search(rf"^✔ lesson-11: {STEPS}/{STEPS} step\(s\) ok", out.stdout, re.MULTILINE)
    assert "DECLINE " in out.stdout and "done: 3 of 3 tasks finished" in out.stdout
