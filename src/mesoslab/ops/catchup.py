"""Catch up: apply the solutions of lessons 1…N, so a class can start at any lesson.

The lessons' own command blocks are the solutions: one source of truth, run with the same
mechanism as `mesoslab run`. After each step its checks settle before the next step runs,
as a learner waits for a step to pass: a cluster converges slowly (ZooKeeper and the
masters take seconds to start), and the next step's commands often depend on it.

The report keeps each settled step's VerifyReport (``verified``) so a caller can record the
learner's progress. Setting ``session.cancelled`` stops it: the commands running now stop
being waited for, no further step starts, and the report says ``cancelled``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mesoslab.errors import UsageError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lab.presets import PRESETS
from mesoslab.lessons.catalog import lesson_files, load
from mesoslab.lessons.ids import LESSON_COUNT, normalize_lesson_id
from mesoslab.lessons.model import Action, Lesson
from mesoslab.lessons.run import StepRun, run_step
from mesoslab.lessons.verify import StepReport, VerifyReport, verify_lesson
from mesoslab.remote.session import Session

# Seconds every check of a step just applied may settle, at least: a learner can press Verify
# again, automation cannot, and on a busy machine reading a file over SSH has taken seconds
# (a check's own timeout, 20 s by default, is meant for a learner's quick look).
CONVERGE_TIMEOUT = 60.0


@dataclass
class CatchUpReport:
    through: str
    runs: list[StepRun] = field(default_factory=list)
    unsettled: StepReport | None = None  # a step whose checks did not pass after its commands
    unsettled_lesson: str = ""
    # every step whose checks settled and passed, in order (one single-step report each)
    verified: list[VerifyReport] = field(default_factory=list)
    cancelled: bool = False  # stopped by the caller (session.cancelled) before the end

    @property
    def ok(self) -> bool:
        return not self.cancelled and self.unsettled is None and all(r.ok for r in self.runs)

    @property
    def failed(self) -> StepRun | None:
        """The step whose commands failed (a step cut short by cancelling is not a failure)."""
        return next((r for r in self.runs if not r.ok and not r.cancelled), None)

    @property
    def last_passed(self) -> tuple[str, int] | None:
        """(lesson id, step) of the last step whose checks passed, if any."""
        if not self.verified or not self.verified[-1].steps:
            return None
        last = self.verified[-1]
        return last.lesson, last.steps[-1].step

    @property
    def interrupted(self) -> StepRun | None:
        """The step whose commands were cut short by cancelling, if any."""
        return next((r for r in self.runs if r.cancelled), None)


def earlier_lessons(lesson: Lesson) -> list[Lesson]:
    """The written lessons before ``lesson`` that share its preset, in order: the state a
    learner reaches on that layout before starting it. Lessons for another layout are left
    out (lesson 4 needs 3m-3a, so lesson 5 on 1m-2a builds on lessons 1-3; lesson 4 itself
    prepares its own nodes)."""
    return [
        earlier
        for entry in lesson_files()
        if int(entry.id.split("-")[1]) < lesson.number
        and (earlier := load(entry.id)).preset == lesson.preset
    ]


def lessons_through(through: str) -> list[Lesson]:
    """The lessons to apply to reach the state after ``through``: the earlier lessons of
    its preset, then ``through`` itself."""
    target = normalize_lesson_id(through)
    if target is None:
        raise UsageError(f"unknown lesson {through!r}: use lesson-1 … lesson-{LESSON_COUNT}")
    if target not in {e.id for e in lesson_files()}:
        raise UsageError(f"{target} is not written yet: cannot catch up through it")
    lesson = load(target)
    return [*earlier_lessons(lesson), lesson]


def check_lab_fits(lessons: list[Lesson], inventory: Inventory) -> None:
    """Every preset node a lesson names must exist in the lab."""
    for lesson in lessons:
        missing = [n.name for n in PRESETS.get(lesson.preset, ()) if inventory.node(n.name) is None]
        if missing:
            raise UsageError(
                f"{lesson.id} needs the {lesson.preset} preset; this lab has no "
                f"{', '.join(missing)}",
                hint=f"make a lab with `mesoslab init --preset {lesson.preset}`",
            )


def catch_up(
    through: str,
    inventory: Inventory,
    *,
    platform: str,
    session: Session,
    on_step: Callable[[Lesson, int, str], None] | None = None,
    on_action: Callable[[Action, list[Node]], None] | None = None,
    on_output: Callable[[Node, str], None] | None = None,
    on_verified: Callable[[VerifyReport], None] | None = None,
    patience: float | None = CONVERGE_TIMEOUT,
) -> CatchUpReport:
    """Run every step of the lessons through ``through`` (``lessons_through``) in order;
    stop at the first failure, or as soon as ``session.cancelled`` is set. Each step's
    checks settle for at least ``patience`` s.

    ``on_verified`` is called (from this thread) with each step's report as soon as its
    checks pass, so a caller can record progress even if a later step raises.
    """
    lessons = lessons_through(through)
    check_lab_fits(lessons, inventory)
    report = CatchUpReport(through=lessons[-1].id)
    cancel = session.cancelled
    for lesson in lessons:
        for step in lesson.steps:
            if cancel.is_set():
                report.cancelled = True
                return report
            if on_step is not None:
                on_step(lesson, step.number, step.title)
            began = datetime.now(UTC)  # the step start its checks may compare with
            run = run_step(
                lesson,
                step.number,
                inventory,
                platform=platform,
                session=session,
                on_action=on_action,
                on_output=on_output,
                cancel=cancel,
            )
            report.runs.append(run)
            if run.cancelled or cancel.is_set():
                report.cancelled = True
                return report
            if not run.ok:
                return report
            settled = verify_lesson(
                lesson,
                inventory,
                step=step.number,
                session=session,
                patience=patience,
                started={step.number: began},
            )
            if settled.passed:
                report.verified.append(settled)
                if on_verified is not None:
                    on_verified(settled)
            if cancel.is_set():  # the checks stopped settling: a fail now means nothing
                report.cancelled = True
                return report
            if not settled.passed:
                report.unsettled = settled.steps[0]
                report.unsettled_lesson = lesson.id
                return report
    return report
