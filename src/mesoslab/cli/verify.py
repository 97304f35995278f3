"""`mesoslab verify`: load lesson and lab, verify and record (:mod:`mesoslab.ops.verify`),
render the report as text, JSON or JUnit."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from mesoslab.checks.result import CheckResult
from mesoslab.checks.runner import PlannedCheck
from mesoslab.lab.current import resolve_lab
from mesoslab.lab.inventory import Inventory
from mesoslab.lessons.catalog import load
from mesoslab.lessons.model import Lesson
from mesoslab.lessons.verify import VerifyReport, plan_lesson
from mesoslab.ops.verify import verify_and_record
from mesoslab.progress import progress_path_for_inventory
from mesoslab.report import render_json, render_junit, render_text

WATCH_PAUSE = 2.0


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
    lesson = load(lesson_text)
    lab = resolve_lab(inventory)
    planned = plan_lesson(lesson, lab.inventory, step)
    progress = progress_path_for_inventory(lab.inventory_path)
    report: VerifyReport | None = None
    try:
        while True:
            report = _verify_once(lesson, lab.inventory, progress, planned, step, timeout, fmt)
            done = not watch or report.passed
            if done or fmt == "text":  # scripts get one document: the final one
                _emit(report, fmt)
            if done:
                return 0 if report.passed else 1
            if fmt == "text":
                print(f"Not there yet; checking again in {WATCH_PAUSE:.0f}s (Ctrl-C to stop)")
            time.sleep(WATCH_PAUSE)
    except KeyboardInterrupt:
        print("mesoslab: interrupted", file=sys.stderr)
        if report is not None and fmt != "text":
            _emit(report, fmt)
        return 1


def _verify_once(
    lesson: Lesson,
    inventory: Inventory,
    progress: Path,
    planned: list[PlannedCheck],
    step: int | None,
    timeout: float | None,
    fmt: str,
) -> VerifyReport:
    def verify(on_result: Callable[[int, CheckResult], None] | None) -> VerifyReport:
        verified = verify_and_record(
            lesson,
            inventory,
            progress,
            step=step,
            timeout=timeout,
            planned=planned,
            on_result=on_result,
        )
        if verified.warning:
            print(f"mesoslab: warning: {verified.warning}", file=sys.stderr)
        return verified.report

    if fmt != "text":
        return verify(None)
    from rich.console import Console

    from mesoslab.cli.live import LiveVerifyView

    titles = {s.number: s.title for s in lesson.steps}
    view = LiveVerifyView(Console(), planned, titles, f"Verifying {lesson.id}: {lesson.title}")
    report: VerifyReport = view.run(verify)
    return report


def _emit(report: VerifyReport, fmt: str) -> None:
    if fmt == "json":
        print(render_json(report))
    elif fmt == "junit":
        print(render_junit(report))
    else:
        print(render_text(report))
