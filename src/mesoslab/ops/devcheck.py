"""`mesoslab dev check`: prove on a real lab that a lesson's commands make its checks pass.

For every step of a lesson, in order: (a) verify the step with a short timeout and expect it
to fail (the commands have not run yet), (b) run the step's commands for the lab's platform,
(c) verify the step with the lesson's own timeouts, each raised to at least a minute
(catchup.CONVERGE_TIMEOUT), and expect it to pass. A check that compares with the
``step start`` gets the time (a) began in (a), so nothing done before the step counts, and
the time (b) began in (c). A learner in a class reports (b) and (c)
like a step run and a verify. A step whose checks
already pass before its commands run is a finding, not an error; a drill step is not checked
before. A lesson that builds on earlier ones gets their state by catching up first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from mesoslab.checks.result import CheckResult, Status
from mesoslab.errors import UsageError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lessons.catalog import load
from mesoslab.lessons.ids import LESSON_COUNT, normalize_lesson_id
from mesoslab.lessons.model import Action, Lesson
from mesoslab.lessons.run import StepRun, run_step
from mesoslab.lessons.verify import StepReport, VerifyReport, verify_lesson
from mesoslab.ops.catchup import (
    CONVERGE_TIMEOUT,
    CatchUpReport,
    catch_up,
    check_lab_fits,
    earlier_lessons,
)
from mesoslab.ops.classroom.emit import emit_step_run, emit_verify
from mesoslab.remote.session import Session

BEFORE_TIMEOUT = 5.0  # seconds: failure is expected, so do not wait for it
PREVIOUS_TIMEOUT = 10.0  # a quick look whether the previous lesson's checks hold

Before = Literal["failed", "passed", "drill", "no-checks"]


@dataclass
class StepCheck:
    """How one step went: its checks before, its commands, its checks after."""

    lesson: str
    step: int
    title: str
    before: Before
    before_report: StepReport | None = None
    run: StepRun | None = None
    after: StepReport | None = None
    run_s: float = 0.0
    after_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.run is not None and self.run.ok and self.after is not None and self.passed

    @property
    def passed(self) -> bool:
        return self.after is not None and self.after.passed

    @property
    def finding(self) -> str:
        """What is worth an author's look even when the step is fine."""
        if self.before == "passed":
            return f"step {self.step}'s checks already pass before its commands run"
        if self.before == "no-checks":
            return f"step {self.step} has no checks"
        return ""

    def failed_checks(self) -> list[CheckResult]:
        return [r for r in (self.after.results if self.after else []) if not r.passed]


@dataclass
class LessonCheck:
    lesson: str
    title: str
    total: int = 0  # the lesson's steps (``steps`` stops at the first step that fails)
    catch_up: CatchUpReport | None = None
    catch_up_reason: str = ""
    steps: list[StepCheck] = field(default_factory=list)
    error: str = ""  # why the lesson could not be checked (catch-up failed, ...)

    @property
    def ok(self) -> bool:
        return not self.error and len(self.steps) == self.total and all(s.ok for s in self.steps)


@dataclass
class DevCheckReport:
    lessons: list[LessonCheck] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.lessons) and all(lesson.ok for lesson in self.lessons)


@dataclass
class DevCheckCallbacks:
    """Progress for a live display; every callback is optional."""

    on_note: Callable[[str], None] | None = None  # e.g. "catching up through lesson-2"
    on_phase: Callable[[str, int, str], None] | None = None  # (lesson, step, phase)
    on_step: Callable[[StepCheck], None] | None = None  # a step is done
    on_action: Callable[[Action, list[Node]], None] | None = None
    on_output: Callable[[Node, str], None] | None = None

    def note(self, text: str) -> None:
        if self.on_note is not None:
            self.on_note(text)

    def phase(self, lesson: str, step: int, phase: str) -> None:
        if self.on_phase is not None:
            self.on_phase(lesson, step, phase)


def resolve_lessons(names: Sequence[str]) -> list[Lesson]:
    """The lessons named (lesson-3, 3, 03), once each, in lesson order."""
    if not names:
        raise UsageError("name the lessons to check, e.g. `mesoslab dev check lesson-1`")
    ids = []
    for name in names:
        lesson_id = normalize_lesson_id(name)
        if lesson_id is None:
            raise UsageError(f"unknown lesson {name!r}: use lesson-1 … lesson-{LESSON_COUNT}")
        if lesson_id not in ids:
            ids.append(lesson_id)
    lessons = [load(i) for i in ids]
    return sorted(lessons, key=lambda lesson: lesson.number)


def dev_check(
    names: Sequence[str],
    inventory: Inventory,
    *,
    platform: str,
    from_scratch: bool = False,
    before_timeout: float = BEFORE_TIMEOUT,
    callbacks: DevCheckCallbacks | None = None,
    session: Session | None = None,
) -> DevCheckReport:
    """Check the lessons named in ``names`` on the lab of ``inventory`` (see the module)."""
    cb = callbacks or DevCheckCallbacks()
    lessons = resolve_lessons(names)
    check_lab_fits(lessons, inventory)
    start = time.monotonic()
    report = DevCheckReport()
    own = session is None
    session = session or Session(inventory)
    try:
        done_ok: set[int] = set()  # lesson numbers checked successfully in this run
        for lesson in lessons:
            before = _previous(lesson)
            result = _check_lesson(
                lesson,
                inventory,
                platform=platform,
                session=session,
                before=before,
                catch_up_first=_needs_catch_up(before, inventory, session, from_scratch, done_ok),
                before_timeout=before_timeout,
                cb=cb,
            )
            report.lessons.append(result)
            if result.ok:
                done_ok.add(lesson.number)
    finally:
        if own:
            session.close()
    report.elapsed_s = time.monotonic() - start
    return report


def _previous(lesson: Lesson) -> Lesson | None:
    """The last written lesson before ``lesson`` on the same preset (what it builds on)."""
    earlier = earlier_lessons(lesson)
    return earlier[-1] if earlier else None


def _needs_catch_up(
    before: Lesson | None,
    inventory: Inventory,
    session: Session,
    from_scratch: bool,
    done_ok: set[int],
) -> str:
    """Why the earlier lessons (through ``before``, the lesson's :func:`_previous`) must be
    applied first ("" = no need)."""
    if before is None or before.number in done_ok:
        # e.g. lesson 4 (3m-3a): no earlier lesson is written for its layout, and the
        # lesson's first step prepares its own nodes
        return ""
    previous = before.id
    if from_scratch:
        return f"--from-scratch: applying the lessons through {previous} first"
    try:
        prior = verify_lesson(before, inventory, timeout=PREVIOUS_TIMEOUT, session=session)
    except UsageError as exc:
        return f"cannot verify {previous} ({exc}): applying the lessons through it first"
    if prior.passed:
        return ""
    return (
        f"{previous}'s checks do not pass on this lab (a fresh lab?): "
        f"catching up through {previous} first"
    )


def _check_lesson(
    lesson: Lesson,
    inventory: Inventory,
    *,
    platform: str,
    session: Session,
    before: Lesson | None,
    catch_up_first: str,
    before_timeout: float,
    cb: DevCheckCallbacks,
) -> LessonCheck:
    result = LessonCheck(lesson.id, lesson.title, len(lesson.steps), catch_up_reason=catch_up_first)
    if platform not in lesson.platforms:
        result.error = f"{lesson.id} is not written for platform {platform}"
        return result
    if catch_up_first and before is not None:
        previous = before.id
        cb.note(f"{lesson.id}: {catch_up_first}")
        result.catch_up = catch_up(
            previous,
            inventory,
            platform=platform,
            session=session,
            on_step=lambda les, number, title: cb.note(f"  catch-up: {les.id} step {number}"),
            on_action=cb.on_action,
            on_output=cb.on_output,
        )
        failed = result.catch_up.failed
        if failed is not None:
            result.error = (
                f"catching up through {previous} failed at {failed.lesson} step {failed.step}"
            )
            return result
        unsettled = result.catch_up.unsettled
        if unsettled is not None:
            seen = "; ".join(
                f"{r.kind} [{r.node}]: {r.summary}" for r in unsettled.results if not r.passed
            )
            result.error = (
                f"catching up through {previous}: {result.catch_up.unsettled_lesson} step "
                f"{unsettled.step} ran but its checks did not pass ({seen})"
            )
            return result
    for step in lesson.steps:
        check = _check_step(lesson, step.number, inventory, platform, session, before_timeout, cb)
        result.steps.append(check)
        if cb.on_step is not None:
            cb.on_step(check)
        if not check.ok:
            break  # later steps build on this one
    return result


def _check_step(
    lesson: Lesson,
    number: int,
    inventory: Inventory,
    platform: str,
    session: Session,
    before_timeout: float,
    cb: DevCheckCallbacks,
) -> StepCheck:
    step = lesson.step(number)
    assert step is not None
    check = StepCheck(lesson.id, number, step.title, before="failed")
    if number in lesson.drill_steps:
        check.before = "drill"
    elif not step.checks:
        check.before = "no-checks"
    else:
        cb.phase(lesson.id, number, "before")
        report = verify_lesson(
            lesson,
            inventory,
            step=number,
            timeout=before_timeout,
            session=session,
            started={number: datetime.now(UTC)},
        ).steps[0]
        check.before_report = report
        check.before = "passed" if report.passed else "failed"
    cb.phase(lesson.id, number, "run")
    started = time.monotonic()
    began = datetime.now(UTC)
    check.run = run_step(
        lesson,
        number,
        inventory,
        platform=platform,
        session=session,
        on_action=cb.on_action,
        on_output=cb.on_output,
    )
    check.run_s = time.monotonic() - started
    emit_step_run(check.run, inventory=inventory)
    if not check.run.ok:
        return check
    cb.phase(lesson.id, number, "after")
    started = time.monotonic()
    check.after = verify_lesson(
        lesson,
        inventory,
        step=number,
        session=session,
        patience=CONVERGE_TIMEOUT,
        started={number: began},
    ).steps[0]
    check.after_s = time.monotonic() - started
    emit_verify(
        VerifyReport(lesson.id, lesson.title, [check.after]),
        source="dev check",
        inventory=inventory,
    )
    return check


def failed_before(check: StepCheck) -> list[CheckResult]:
    """The checks that failed before the commands ran (what the step is meant to fix)."""
    if check.before_report is None:
        return []
    return [r for r in check.before_report.results if r.status is Status.FAIL]
