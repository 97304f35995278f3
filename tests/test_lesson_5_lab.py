"""Lesson 5 on a real rehearsal lab (LXC): `mesoslab dev check lesson-5` catches up through
lessons 1-3, then proves each step's checks fail before and pass after its commands: Mesos-DNS
(needs the `mesosdns` branch's twin and dns.resolves kind), a web app behind marathon-lb's
real HAProxy on agent1, a killed task dropped and replaced."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lxc import mesoslab, new_lab

pytestmark = pytest.mark.lab

STEPS = 7


def _tail(out: subprocess.CompletedProcess[str], chars: int = 6000) -> str:
    return out.stdout[-chars:] + "\n--- stderr ---\n" + out.stderr[-2000:]


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "l5", "1m-2a") as directory:
        out = mesoslab(directory, "up")
        assert out.returncode == 0, _tail(out)
        yield directory


def test_lesson_5_runs_end_to_end(lab: Path) -> None:
    out = mesoslab(lab, "dev", "check", "lesson-5")
    assert out.returncode == 0, _tail(out)
    lines = re.findall(r"^([✔✘]) lesson-5 step (\d+): .*$", out.stdout, re.MULTILINE)
    assert [int(step) for _, step in lines] == list(range(1, STEPS + 1)), _tail(out)
    assert all(mark == "✔" for mark, _ in lines), _tail(out)
    assert f"✔ lesson-5: {STEPS}/{STEPS} step(s) ok (after catching up)" in out.stdout
    # the service port answered through the real HAProxy from three tasks
    curl = mesoslab(
        lab, "ssh", "agent2", "--", "for i in 1 2 3 4 5 6; do curl -s agent1:10000/; done"
    )
    assert len(set(curl.stdout.split())) == 3, _tail(curl)
