"""`mesoslab verify`: load lesson and lab, verify and record (:mod:`mesoslab.ops.verify`),
render the report as text (live, :mod:`.verify_view`), JSON or JUnit.

The command line is a contract (DESIGN §4). Library imports stay inside the functions so
`mesoslab verify --help` stays light.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mesoslab.cli.options import EXIT_FAILED, EXIT_OK, format_option, inventory_option, step_option

if TYPE_CHECKING:
    from mesoslab.checks.result import CheckResult
    from mesoslab.checks.runner import PlannedCheck
    from mesoslab.lab.inventory import Inventory
    from mesoslab.lessons.model import Lesson
    from mesoslab.lessons.verify import VerifyReport

FORMATS = ("text", "json", "junit")
WATCH_PAUSE = 2.0


@click.command()
@click.argument("lesson")
@step_option("check only this step")
@inventory_option
@format_option(*FORMATS, help="text for people, json or junit for scripts and CI")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="bound each check's settling time (default: the lesson's, else 20 s)",
)
@click.option(
    "--watch", is_flag=True, help="keep checking until every check passes (Ctrl-C to stop)"
)
def verify(
    lesson: str,
    step: int | None,
    inventory: str | None,
    fmt: str,
    timeout: float | None,
    watch: bool,
) -> None:
    """Check a running cluster against LESSON (lesson-3, 3 or 03).

    Every check of every step runs at once; each retries until it passes or its timeout
    expires. Exit status: 0 all passed (skips allowed), 1 a check failed, 2 usage,
    inventory or lesson error.
    """
    sys.exit(
        run_verify(lesson, step=step, inventory=inventory, fmt=fmt, timeout=timeout, watch=watch)
    )


def run_verify(
    lesson_text: str,
    *,
    step: int | None,
    inventory: str | None,
    fmt: str,
    timeout: float | None,
    watch: bool,
) -> int:
    """Returns the exit status (0 all passed, 1 a check failed); raises MesoslabError (2)."""
    from mesoslab.lab.current import resolve_lab
    from mesoslab.lessons.catalog import load
    from mesoslab.lessons.verify import plan_lesson
    from mesoslab.progress import progress_path_for_inventory

    lesson = load(lesson_text)
    lab = resolve_lab(inventory)
    planned = plan_lesson(lesson, lab.inventory, step)
    progress = progress_path_for_inventory(lab.inventory_path)
    report: VerifyReport | None = None
    try:
        while True:
            report, stopped = _verify_once(
                lesson, lab.inventory, progress, planned, step, timeout, fmt
            )
            done = not watch or report.passed or stopped
            if stopped:
                print(
                    "mesoslab: stopped waiting (Ctrl-C): each check that had not settled "
                    "reports what it saw last; this verify was not recorded",
                    file=sys.stderr,
                )
            if done or fmt == "text":  # scripts get one document: the final one
                _emit(report, fmt)
            if done:
                return EXIT_OK if report.passed and not stopped else EXIT_FAILED
            if fmt == "text":
                print(f"Not there yet; checking again in {WATCH_PAUSE:.0f}s (Ctrl-C to stop)")
            time.sleep(WATCH_PAUSE)
    except KeyboardInterrupt:
        print("mesoslab: interrupted", file=sys.stderr)
        if report is not None and fmt != "text":
            _emit(report, fmt)
        return EXIT_FAILED


def _verify_once(
    lesson: Lesson,
    inventory: Inventory,
    progress: Path,
    planned: list[PlannedCheck],
    step: int | None,
    timeout: float | None,
    fmt: str,
) -> tuple[VerifyReport, bool]:
    """One verify; True beside it when Ctrl-C stopped the waiting (then nothing is recorded
    and each unsettled check reports its last observation)."""
    from mesoslab.cli.stop_signals import interrupt_sets
    from mesoslab.ops.verify import verify_and_record
    from mesoslab.remote.session import Session

    session = Session(inventory)
    view = None
    if fmt == "text":
        from rich.console import Console

        from mesoslab.cli.verify_view import LiveVerifyView

        titles = {s.number: s.title for s in lesson.steps}
        view = LiveVerifyView(Console(), planned, titles, f"Verifying {lesson.id}: {lesson.title}")

    def verify(on_result: Callable[[int, CheckResult], None] | None) -> VerifyReport:
        verified = verify_and_record(
            lesson,
            inventory,
            progress,
            step=step,
            timeout=timeout,
            planned=planned,
            on_result=on_result,
            session=session,
            on_waiting=view.on_waiting if view is not None else None,
        )
        if verified.warning:
            print(f"mesoslab: warning: {verified.warning}", file=sys.stderr)
        return verified.report

    try:
        with interrupt_sets(session.cancelled):
            report: VerifyReport = verify(None) if view is None else view.run(verify)
    finally:
        session.close()
    return report, session.cancelled.is_set()


def _emit(report: VerifyReport, fmt: str) -> None:
    from mesoslab.report import render_json, render_junit, render_text

    if fmt == "json":
        print(render_json(report))
    elif fmt == "junit":
        print(render_junit(report))
    else:
        print(render_text(report))
        from mesoslab.ops.classroom.emit import emit_hints_shown

        emit_hints_shown(report)  # a learner in a class: the instructor sees hints were read
