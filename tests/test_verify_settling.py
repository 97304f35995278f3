"""While a check settles, verify shows what it saw last and how long it may still wait;
Ctrl-C stops the waiting and reports that last observation as the failure (not recorded).

A real `mesoslab verify` process against lesson 3 step 3 on a cluster of loopback HTTP
servers whose agents still offer the default [31000-32000]."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.checks.result import Observation, Waiting
from mesoslab.checks.runner import plan, settle
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import load_inventory
from mesoslab.remote.session import Session
from tests.support.fixture_server import FakeLab
from tests.support.lesson3_cluster import CUSTOM, DEFAULT, Lesson3Cluster, write_inventory

MESOSLAB = [sys.executable, "-m", "mesoslab"]


@pytest.fixture
def before_the_fix(tmp_path: Path) -> Iterator[tuple[Lesson3Cluster, Path]]:
    nodes = [("master1", ["master"]), ("agent1", ["agent"]), ("agent2", ["agent"])]
    with FakeLab(nodes) as lab:
        cluster = Lesson3Cluster(lab)
        cluster.serve(DEFAULT)  # the agents were not restarted with the new ranges yet
        yield cluster, write_inventory(lab, tmp_path / "inv.toml")


def test_waiting_says_what_was_seen_what_is_awaited_and_the_time_left() -> None:
    seen = Observation.fail("wrong ports", expected=CUSTOM, observed=DEFAULT)
    waiting = Waiting(seen, deadline=172.4)
    assert waiting.line(now=100.0) == (f"saw {DEFAULT} · waiting for {CUSTOM} · 72 s left")
    assert waiting.left(now=200.0) == 0.0
    plain = Waiting(Observation.fail("master1:5050 does not answer"), deadline=10.0)
    assert plain.line(now=0.0) == "master1:5050 does not answer · 10 s left"


def test_settle_reports_each_attempt_it_will_repeat(
    before_the_fix: tuple[Lesson3Cluster, Path],
) -> None:
    _, inventory_file = before_the_fix
    inventory = load_inventory(inventory_file)
    spec = CheckSpec(kind="mesos.agent_resources", on="agent1", params={"ports": CUSTOM})
    (planned,) = plan([spec], inventory)
    heard: list[Waiting] = []
    with Session(inventory) as session:
        start = time.monotonic()
        result = settle(planned, session, 2.5, heard.append)
    assert not result.passed
    assert heard, "a check that waited said nothing while it waited"
    assert all(w.observation.observed == result.observed for w in heard)
    assert DEFAULT in heard[0].line()
    assert abs(heard[0].deadline - (start + 2.5)) < 0.5
    assert len(heard) == result.attempts - 1  # the last attempt is the result, not a wait


def _verify(inventory: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*MESOSLAB, "verify", "lesson-3", "-s", "3", "-i", str(inventory), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_log_shows_the_waiting_line_before_the_failure(
    before_the_fix: tuple[Lesson3Cluster, Path],
) -> None:
    _, inventory = before_the_fix
    proc = _verify(inventory, "--timeout", "4")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    lines = out.splitlines()
    waiting = [i for i, line in enumerate(lines) if "mesos.agent_resources [agent1] saw" in line]
    failed = [i for i, line in enumerate(lines) if "✘" in line and "[agent1]" in line]
    assert waiting and failed and waiting[0] < failed[0], out
    assert f"waiting for {CUSTOM}" in lines[waiting[0]] and "s left" in lines[waiting[0]]
    assert len(waiting) == 1, out  # one line per change of what it sees, not per attempt


def test_ctrl_c_stops_waiting_and_reports_the_last_observation(
    before_the_fix: tuple[Lesson3Cluster, Path],
) -> None:
    _, inventory = before_the_fix
    proc = _verify(inventory)  # the lesson's own 90 s timeout
    assert proc.stdout is not None
    first = proc.stdout.readline()
    deadline = time.monotonic() + 30
    while "saw" not in first and time.monotonic() < deadline:
        first = proc.stdout.readline()
    assert "waiting for" in first, first
    stopped = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - stopped < 15  # not the rest of the 90 s
    assert proc.returncode == 1
    assert "stopped waiting (Ctrl-C)" in err and "not recorded" in err
    assert DEFAULT in out  # the last observation, reported as the failure
    assert "✘" in out and "Traceback" not in err
