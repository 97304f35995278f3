"""Verify and record: the one path from "check this lesson" to the learner's progress.

``mesoslab verify`` and the TUI's Verify both call :func:`verify_and_record`: plan the
lesson's checks onto the inventory, settle them all concurrently, and remember each
verified step's outcome in the lab's progress file. Rendering stays with the front ends.

A check that compares with the ``step start`` gets the time the step's commands last began,
as ``mesoslab run`` and the TUI record it here (:func:`record_step_start`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mesoslab.checks.result import CheckResult, Waiting
from mesoslab.checks.runner import PlannedCheck
from mesoslab.lab.inventory import Inventory
from mesoslab.lessons.model import Lesson
from mesoslab.lessons.verify import StepReport, VerifyReport, plan_lesson, verify_lesson
from mesoslab.ops.classroom.emit import emit_verify
from mesoslab.progress import ProgressStore
from mesoslab.remote.session import Session

# {step: "passed" | "failed" | "skipped"}; steps never verified are absent. "skipped": every
# check of the step skipped on its last verify, so it is not done.
StepStates = dict[int, str]


@dataclass
class Verified:
    """One verify and what became of it in the progress file."""

    report: VerifyReport
    states: StepStates | None  # every step's outcome on record; None: nothing was recorded
    warning: str | None  # the progress file was set aside or could not be written


def verify_and_record(
    lesson: Lesson,
    inventory: Inventory,
    progress_path: Path | None,
    *,
    step: int | None = None,
    timeout: float | None = None,
    planned: list[PlannedCheck] | None = None,
    on_result: Callable[[int, CheckResult], None] | None = None,
    session: Session | None = None,
    on_waiting: Callable[[int, Waiting], None] | None = None,
) -> Verified:
    """Check ``lesson`` (or one step) and record the outcome (unless ``progress_path`` is
    None). A verify that was cancelled through ``session.cancelled`` is not recorded: its
    checks did not settle."""
    planned = planned if planned is not None else plan_lesson(lesson, inventory, step)
    started, start_warning = step_starts(lesson.id, progress_path)
    report = verify_lesson(
        lesson,
        inventory,
        step=step,
        timeout=timeout,
        planned=planned,
        on_result=on_result,
        session=session,
        on_waiting=on_waiting,
        started=started,
    )
    if session is not None and session.cancelled.is_set():
        return Verified(report, None, start_warning)
    states, warning = record_verify(report, progress_path, inventory=inventory)
    return Verified(report, states, warning or start_warning)


def step_starts(
    lesson_id: str, progress_path: Path | None
) -> tuple[dict[int, datetime], str | None]:
    """When each step's commands last began, as recorded (none without a progress file)."""
    if progress_path is None:
        return {}, None
    store = ProgressStore(progress_path)
    return store.starts(lesson_id), store.warning


def record_step_start(
    lesson_id: str, step: int, when: datetime, progress_path: Path | None
) -> str | None:
    """Remember that the step's commands began at ``when`` (``mesoslab run``, the TUI's
    first cell of a step); a warning for the person when the file could not be written."""
    if progress_path is None:
        return None
    store = ProgressStore(progress_path)
    try:
        store.record_start(lesson_id, step, when)
    except OSError as exc:
        return f"cannot save your progress in {progress_path}: {exc}"
    return store.warning


def record_verify(
    report: VerifyReport,
    progress_path: Path | None,
    *,
    inventory: Inventory | None = None,
    source: str = "verify",
) -> tuple[StepStates | None, str | None]:
    """Save each verified step's outcome; the lesson's step states after it, and a warning
    for the person (a corrupt file set aside, a file that could not be written).

    A learner who joined a class also gets the outcome queued for the instructor
    (:mod:`mesoslab.ops.classroom.emit`: a local insert, never the network)."""
    class_warning = emit_verify(report, source=source, inventory=inventory)
    if progress_path is None:
        return None, class_warning
    store = ProgressStore(progress_path)
    try:
        store.record(report)
    except OSError as exc:
        return None, f"cannot save your progress in {progress_path}: {exc}"
    return _states(store, report.lesson), store.warning or class_warning


def step_states(lesson_id: str, progress_path: Path | None) -> tuple[StepStates, str | None]:
    """The lesson's step states on record (none when there is no progress file yet)."""
    if progress_path is None:
        return {}, None
    store = ProgressStore(progress_path)
    return _states(store, lesson_id), store.warning


def _states(store: ProgressStore, lesson_id: str) -> StepStates:
    return {number: entry_state(entry) for number, entry in store.steps(lesson_id).items()}


def entry_state(entry: dict[str, object]) -> str:
    """A progress entry as a step state: passed, skipped (nothing verified) or failed."""
    if entry.get("passed"):
        return "passed"
    return "skipped" if entry.get("skipped") else "failed"


def report_state(step: StepReport) -> str:
    """What one verify of a step says, as a step state (see :func:`entry_state`)."""
    if step.done:
        return "passed"
    return "skipped" if step.skipped else "failed"
