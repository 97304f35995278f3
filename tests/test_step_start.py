"""`since: step start`: a check compares with the time its step's commands began, which
whoever ran them passes on (dev check, catch-up) or records (`mesoslab run`, the TUI's first
cell of a step) for `verify` to read; nobody recorded it: the check says it compares with
nothing. Against job lists served by a real local server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesoslab.checks import moments
from mesoslab.checks.kinds.chronos import _Found, clock_ahead
from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import Status
from mesoslab.checks.runner import plan, run_all
from mesoslab.checks.spec import CheckSpec
from mesoslab.lessons.loader import parse_lesson
from mesoslab.lessons.run import StepRun
from mesoslab.lessons.verify import StepReport, VerifyReport, verify_lesson
from mesoslab.ops import catchup, devcheck
from mesoslab.ops.verify import record_step_start, step_states, verify_and_record
from mesoslab.progress import ProgressStore
from mesoslab.remote.session import Session
from tests.support.fixture_server import FakeLab

T = datetime(2026, 12, 2, 9, 0, 0, tzinfo=UTC)
LESSON = """---
id: lesson-6
title: Since test
summary: One step whose check wants a success after the step began.
preset: 1m-2a
platforms: [centos7, rehearsal]
---

## Run hello

```sh on=master1
true
```

```check
- kind: chronos.job_succeeded
  name: hello
  since: step start
  timeout: 1
  hint: run hello
```
"""


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab([("master1", ["master", "chronos"])]) as lab:
        lab.server("master1", "chronos").json(
            "/scheduler/jobs",
            [{"name": "hello", "successCount": 1, "lastSuccess": "2026-12-02T09:00:00.000Z",
              "errorCount": 1, "lastError": "2026-12-02T08:59:00.000Z", "retries": 2}],
        )  # fmt: skip
        yield lab


def since_check(kind: str = "chronos.job_succeeded", **params: Any) -> CheckSpec:
    return CheckSpec(kind, {"name": "hello", "since": moments.STEP_START, **params}, timeout=0.5)


def settle(lab: FakeLab, spec: CheckSpec, started: datetime | None) -> Any:
    with Session(lab.inventory) as session:
        planned = plan([spec], lab.inventory, step=3)
        return run_all(planned, session, started=None if started is None else {3: started})[0]


def test_a_time_parameter_is_iso_8601_or_step_start() -> None:
    for name in ("chronos.job_succeeded", "chronos.job_failed"):
        kind = catalogue()[name]
        assert kind.problems({"name": "x", "since": "step start"}) == []
        assert kind.problems({"name": "x", "since": "2026-12-02T09:00:00+01:00"}) == []
        assert kind.problems({"name": "x", "since": T}) == []  # YAML's own timestamp
        assert kind.problems({"name": "x", "since": "step_start"}) == [
            f"{name}: since must be an ISO 8601 time or 'step start', got 'step_start'"
        ]
        assert kind.problems({"name": "x", "since": 5}) != []


def test_step_start_is_the_time_the_caller_gives_for_the_step(lab: FakeLab) -> None:
    late = settle(lab, since_check(), T + timedelta(seconds=1))
    assert late.status is Status.FAIL
    assert late.summary == (
        "Chronos job hello has not succeeded since the step's start (2026-12-02T09:00:01+00:00)"
    )
    assert "last success at or after the step's start (2026-12-02T09:00:01" in late.expected
    early = settle(lab, since_check(), T - timedelta(seconds=1))
    assert early.status is Status.PASS, early


def test_a_start_nobody_recorded_bounds_nothing_and_says_so(lab: FakeLab) -> None:
    result = settle(lab, since_check(), None)
    assert result.status is Status.PASS, result
    assert "the step's start (not recorded)" in result.expected
    assert "did not run through mesoslab, so any time counts" in result.expected


def test_job_failed_takes_since_too(lab: FakeLab) -> None:
    old = settle(lab, since_check("chronos.job_failed"), T)  # the error was at 08:59
    assert old.status is Status.FAIL
    assert old.summary.startswith("Chronos job hello has not failed beyond its retries since")
    new = settle(lab, since_check("chronos.job_failed"), T - timedelta(minutes=2))
    assert new.status is Status.PASS, new


def test_verify_lesson_hands_each_step_its_start(lab: FakeLab, tmp_path: Path) -> None:
    lesson = parse_lesson(LESSON, tmp_path / "lesson.md").lesson
    assert lesson is not None
    after = verify_lesson(lesson, lab.inventory, step=1, started={1: T + timedelta(minutes=1)})
    assert not after.passed
    before = verify_lesson(lesson, lab.inventory, step=1, started={1: T - timedelta(minutes=1)})
    assert before.passed


def test_verify_and_record_reads_the_start_run_recorded(lab: FakeLab, tmp_path: Path) -> None:
    lesson = parse_lesson(LESSON, tmp_path / "lesson.md").lesson
    assert lesson is not None
    progress = tmp_path / "progress.json"
    unknown = verify_and_record(lesson, lab.inventory, progress, step=1)
    assert unknown.report.passed  # no start on record: the old success counts
    assert record_step_start("lesson-6", 1, T + timedelta(seconds=30), progress) is None
    recorded = verify_and_record(lesson, lab.inventory, progress, step=1)
    assert not recorded.report.passed
    result = recorded.report.steps[0].results[0]
    assert "since the step's start (2026-12-02T09:00:30+00:00)" in result.summary


def test_a_recorded_start_is_not_a_verify_outcome(tmp_path: Path) -> None:
    progress = tmp_path / "progress.json"
    record_step_start("lesson-6", 2, T, progress)
    assert ProgressStore(progress).starts("lesson-6") == {2: T}
    assert step_states("lesson-6", progress) == ({}, None)  # ran, never verified
    record_step_start("lesson-6", 2, T + timedelta(hours=1), progress)
    assert ProgressStore(progress).starts("lesson-6") == {2: T + timedelta(hours=1)}


def test_dev_check_gives_before_its_own_time_and_after_the_run_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lesson = parse_lesson(LESSON, tmp_path / "lesson.md").lesson
    assert lesson is not None
    seen: list[tuple[str, datetime]] = []
    ran: list[datetime] = []

    def fake_verify(lesson: Any, inventory: Any, **kwargs: Any) -> VerifyReport:
        phase = "after" if kwargs.get("patience") else "before"
        seen.append((phase, kwargs["started"][1]))
        return VerifyReport("lesson-6", "t", [StepReport(1, "t")])

    def fake_run(*args: Any, **kwargs: Any) -> StepRun:
        ran.append(datetime.now(UTC))
        return StepRun("lesson-6", 1, "t", [])

    monkeypatch.setattr(devcheck, "verify_lesson", fake_verify)
    monkeypatch.setattr(devcheck, "run_step", fake_run)
    monkeypatch.setattr(devcheck, "emit_step_run", lambda *a, **k: None)
    monkeypatch.setattr(devcheck, "emit_verify", lambda *a, **k: None)
    first = datetime.now(UTC)
    devcheck._check_step(lesson, 1, None, "rehearsal", None, 1.0, devcheck.DevCheckCallbacks())  # type: ignore[arg-type]
    (before, before_at), (after, after_at) = seen
    assert (before, after) == ("before", "after")
    assert first <= before_at <= after_at <= ran[0]  # after: the time the commands began


def test_catch_up_gives_each_step_its_run_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lesson = parse_lesson(LESSON, tmp_path / "lesson.md").lesson
    assert lesson is not None
    seen: list[datetime] = []
    ran: list[datetime] = []

    def fake_verify(lesson: Any, inventory: Any, **kwargs: Any) -> VerifyReport:
        seen.append(kwargs["started"][1])
        return VerifyReport("lesson-6", "t", [StepReport(1, "t")])

    def fake_run(*args: Any, **kwargs: Any) -> StepRun:
        ran.append(datetime.now(UTC))
        return StepRun("lesson-6", 1, "t", [])

    monkeypatch.setattr(catchup, "lessons_through", lambda through: [lesson])
    monkeypatch.setattr(catchup, "check_lab_fits", lambda lessons, inventory: None)
    monkeypatch.setattr(catchup, "verify_lesson", fake_verify)
    monkeypatch.setattr(catchup, "run_step", fake_run)
    report = catchup.catch_up("lesson-6", None, platform="rehearsal", session=_Idle())  # type: ignore[arg-type]
    assert report.ok
    assert len(seen) == 1 and seen[0] <= ran[0] <= seen[0] + timedelta(seconds=5)


class _Idle:
    """All catch-up asks of its session here: whether it was cancelled."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()


def test_chronos_clock_from_its_date_header() -> None:
    def response(moment: datetime) -> httpx.Response:
        return httpx.Response(200, headers={"Date": format_datetime(moment, usegmt=True)})

    now = datetime.now(UTC)
    assert clock_ahead(response(now)) == timedelta(0)  # within the header's second
    ahead = clock_ahead(response(now + timedelta(seconds=30)))
    assert timedelta(seconds=28) < ahead < timedelta(seconds=31)
    assert clock_ahead(response(now - timedelta(minutes=5))) < timedelta(minutes=-4)
    assert clock_ahead(httpx.Response(200, headers={"Date": "yesterday"})) == timedelta(0)
    assert clock_ahead(httpx.Response(200)) == timedelta(0)
    # a Chronos 30 s ahead stamps a success just after the step started 30 s "later"
    found = _Found(None, [], None, timedelta(seconds=30))
    bound = found.on_their_clock(moments.Moment(T, step_start=True))
    assert bound == T + timedelta(seconds=29)
    assert found.on_their_clock(moments.Moment(None, step_start=True)) is None


def test_mesoslab_run_records_the_step_start(tmp_path: Path) -> None:
    """`mesoslab run` writes the start before it runs anything (a node it cannot reach
    still ran nothing later than that)."""
    lessons = tmp_path / "lessons" / "06-since"
    lessons.mkdir(parents=True)
    (lessons / "lesson.md").write_text(LESSON)
    inventory = tmp_path / "inv.toml"
    inventory.write_text(
        '[[node]]\nname = "master1"\naddress = "127.0.0.1"\nroles = ["master", "chronos"]\n'
        '[node.ssh]\nuser = "nobody"\nhost = "127.0.0.1"\nport = 1\n'
    )
    env = {
        **os.environ,
        "MESOSLAB_LESSONS": str(tmp_path / "lessons"),
        "MESOSLAB_INVENTORY": str(inventory),
    }
    before = datetime.now(UTC)
    out = subprocess.run(
        [sys.executable, "-m", "mesoslab", "run", "lesson-6", "--step", "1", "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 1, out.stdout + out.stderr  # port 1: nothing ran
    from mesoslab.progress import progress_path_for_inventory

    starts = ProgressStore(progress_path_for_inventory(inventory)).starts("lesson-6")
    assert list(starts) == [1]
    assert before - timedelta(seconds=1) <= starts[1] <= datetime.now(UTC)
