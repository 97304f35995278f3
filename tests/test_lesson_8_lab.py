"""Lesson 8 on a rehearsal LXC lab: the twin's mesos_exporter on every node and the box's
real Prometheus on master1, through `mesoslab dev check lesson-8` (which catches up through
lessons 1-3 first, then proves each step's checks fail before and pass after its commands).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lxc import mesoslab, new_lab

pytestmark = pytest.mark.lab

STEPS = 6


def _tail(out: subprocess.CompletedProcess[str], chars: int = 6000) -> str:
    return out.stdout[-chars:] + "\n--- stderr ---\n" + out.stderr[-2000:]


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "l8", "1m-2a") as directory:
        out = mesoslab(directory, "up")
        assert out.returncode == 0, _tail(out)
        yield directory


def test_lesson_8_runs_end_to_end(lab: Path) -> None:
    out = mesoslab(lab, "dev", "check", "lesson-8")
    assert out.returncode == 0, _tail(out)
    lines = re.findall(r"^([✔✘]) lesson-8 step (\d+): .*$", out.stdout, re.MULTILINE)
    assert [int(n) for _, n in lines] == list(range(1, STEPS + 1)), _tail(out)
    assert all(mark == "✔" for mark, _ in lines), _tail(out)
    assert re.search(rf"✔ lesson-8: {STEPS}/{STEPS} step\(s\) ok", out.stdout), _tail(out)
    assert "catching up through lesson-3 first" in out.stdout, _tail(out)
    # every step but the drill (5) fails before its commands and passes after
    assert out.stdout.count("before  FAIL as expected") >= STEPS - 1, _tail(out)
    assert "finding:" not in out.stdout, _tail(out)
