"""Verify a lesson: plan its checks onto the inventory and settle them all concurrently."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mesoslab.checks.result import CheckResult, Status, Waiting
from mesoslab.checks.runner import PlannedCheck, plan, run_all
from mesoslab.errors import UsageError
from mesoslab.lab.inventory import Inventory
from mesoslab.lessons.model import Lesson
from mesoslab.remote.session import Session


@dataclass
class StepReport:
    step: int
    title: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No check failed: what the exit status says (DESIGN §4: 0 with skips allowed)."""
        return all(r.status is not Status.FAIL for r in self.results)

    @property
    def skipped(self) -> bool:
        """Every check skipped (none failed, none passed): nothing was verified."""
        return bool(self.results) and all(r.status is Status.SKIP for r in self.results)

    @property
    def done(self) -> bool:
        """No check failed and at least one really passed: the step counts as done (✔) in
        the progress and the lesson list. A step whose checks all skipped is not done."""
        return self.passed and any(r.status is Status.PASS for r in self.results)


@dataclass
class VerifyReport:
    lesson: str
    title: str
    steps: list[StepReport]

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.steps)

    def counts(self) -> dict[Status, int]:
        out = dict.fromkeys(Status, 0)
        for step in self.steps:
            for result in step.results:
                out[result.status] += 1
        return out


def plan_lesson(
    lesson: Lesson, inventory: Inventory, step: int | None = None
) -> list[PlannedCheck]:
    if step is not None and lesson.step(step) is None:
        raise UsageError(f"{lesson.id} has no step {step}: it has steps 1–{len(lesson.steps)}")
    planned: list[PlannedCheck] = []
    for s in lesson.steps:
        if step == s.number or (step is None and s.number not in lesson.drill_steps):
            planned.extend(plan(s.checks, inventory, step=s.number))
    return planned


def drill_skip(number: int) -> CheckResult:
    """What a whole-lesson verify reports for a drill step instead of its checks."""
    return CheckResult(
        kind="drill",
        node="cluster",
        status=Status.SKIP,
        summary=f"step {number} is a drill whose checks hold only while it is on; "
        f"check it with --step {number}",
        expected="",
        observed="",
        hint="",
        attempts=0,
        elapsed_s=0.0,
    )


def verify_lesson(
    lesson: Lesson,
    inventory: Inventory,
    *,
    step: int | None = None,
    timeout: float | None = None,
    planned: list[PlannedCheck] | None = None,
    on_result: Callable[[int, CheckResult], None] | None = None,
    session: Session | None = None,
    patience: float | None = None,
    on_waiting: Callable[[int, Waiting], None] | None = None,
    started: Mapping[int, datetime] | None = None,
) -> VerifyReport:
    """Check every step (or one) of ``lesson``; a failed step does not hide later ones.

    ``patience`` raises every check's settling time to at least that many seconds;
    ``on_waiting`` hears what each unsettled check saw last (see :func:`run_all`);
    ``started`` says when each step's commands began, for checks that compare with the
    ``step start``."""
    planned = planned if planned is not None else plan_lesson(lesson, inventory, step)
    own_session = session is None
    session = session or Session(inventory)
    try:
        results = run_all(
            planned,
            session,
            timeout=timeout,
            on_result=on_result,
            patience=patience,
            on_waiting=on_waiting,
            started=started,
        )
    finally:
        if own_session:
            session.close()
    steps = [
        StepReport(s.number, s.title) for s in lesson.steps if step is None or s.number == step
    ]
    by_number = {s.step: s for s in steps}
    for pc, result in zip(planned, results, strict=True):
        by_number[pc.step].results.append(result)
    if step is None:
        for number in lesson.drill_steps:
            if number in by_number:
                by_number[number].results.append(drill_skip(number))
    return VerifyReport(lesson=lesson.id, title=lesson.title, steps=steps)
