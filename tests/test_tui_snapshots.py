"""Snapshots (pytest-textual-snapshot) of the first-run screen, the lab screen, the lesson list,
a lesson with a failed check and the help screen, at 80x24 and 120x40.

The data is frozen: our own small lessons (tests/test_tui_helpers.py), a loopback cluster whose
answers never change, no clock, no timings and no temporary paths on screen. Regenerate with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs before committing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from mesoslab.checks.result import CheckResult, Status
from mesoslab.lab.doctor import Host
from mesoslab.lessons.verify import StepReport, VerifyReport
from mesoslab.progress import ProgressStore
from mesoslab.tui.app import make_app
from mesoslab.tui.context import LabContext
from mesoslab.tui.screens.help import HelpScreen
from mesoslab.tui.screens.lesson import LessonScreen
from mesoslab.tui.widgets.check_list import CheckList
from tests.support.lesson3_cluster import DEFAULT
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster
from tests.support.tui import cluster, make_test_app, table_text, test_lessons, wait_for

__all__ = ["cluster", "test_lessons"]  # fixtures used by name

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def still(pilot: Pilot[None], timeout: float = 30.0) -> None:
    """Wait until three screenshots 0.25 s apart are the same: on a busy machine a repaint
    (DataTable's header after its columns were measured) came after the snapshot."""
    deadline = time.monotonic() + timeout
    shots: list[str] = []
    while time.monotonic() < deadline:
        shots = [*shots[-2:], pilot.app.export_screenshot()]
        if len(shots) == 3 and len(set(shots)) == 1:
            return
        await pilot.pause(0.25)
    raise AssertionError("the screen never stopped changing")


def _settled(check: Callable[[], bool]) -> Callable[[Pilot[None]], object]:
    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for(pilot, check)
        pilot.app.clear_notifications()
        await still(pilot)

    return run_before


def laid_out(table: DataTable[object]) -> bool:
    """The table has measured its new rows: DataTable sizes its columns when its message queue
    next runs dry. (The header is repainted with the new widths later still: still() waits
    for that.)"""
    return not table._require_update_dimensions


def _result(kind: str, node: str, status: Status) -> CheckResult:
    return CheckResult(kind, node, status, "", "", "", "", 1, 0.1)


@pytest.mark.parametrize("size", SIZES)
def test_first_run_screen(snap_compare: object, size: tuple[int, int]) -> None:
    nothing = Path("/nonexistent/mesoslab-host")  # the same on screen wherever this runs
    host = Host(  # a machine with nothing installed and no virtualization, whatever runs this
        arch="x86_64",
        system="Linux",
        meminfo=nothing / "meminfo",
        cpuinfo=nothing / "cpuinfo",
        networks_conf=nothing / "networks.conf",
        kvm=nothing / "kvm",
        vboxdrv=nothing / "vboxdrv",
        sys_module=nothing,
        bridge="mesoslab-no-such-bridge",
        is_root=True,
        path=str(nothing),
    )
    app = make_app(
        context=LabContext(folder=Path("/home/learner/mylab")),  # not created: nothing is pressed
        refresh_every=0,
        doctor_host=host,
        pace_gc=False,
    )

    def ready() -> bool:
        return "Suggested" in str(app.screen.query_one("#why").render())

    assert snap_compare(app, terminal_size=size, run_before=_settled(ready))  # type: ignore[operator]


@pytest.mark.parametrize("size", SIZES)
def test_lab_screen(
    snap_compare: object, cluster: tuple[Cluster, Path], test_lessons: Path, size: tuple[int, int]
) -> None:
    lab, inventory = cluster
    lab.serve(DEFAULT, registered=("agent1",))  # agent2 answers but is not registered
    # Every probe gets an answer, however busy the machine: with the app's 2 s, Marathon's or
    # Chronos' probe can time out on a slow CI machine and the screen differs.
    app = make_test_app(inventory, probe_timeout=30.0)

    def ready() -> bool:
        table = app.screen.query_one(DataTable)
        text = table_text(table)
        return "not registered" in text and "leader" in text and laid_out(table)

    assert snap_compare(app, terminal_size=size, run_before=_settled(ready))  # type: ignore[operator]


@pytest.mark.parametrize("size", SIZES)
def test_lesson_list(
    snap_compare: object, cluster: tuple[Cluster, Path], test_lessons: Path, size: tuple[int, int]
) -> None:
    _, inventory = cluster
    app = make_test_app(inventory)
    store = ProgressStore(app.context.progress_path())  # type: ignore[arg-type]
    store.record(
        VerifyReport(
            "lesson-1",
            "Your first cluster",
            [
                StepReport(1, "The agents register", [_result("a", "m", Status.PASS)]),
                StepReport(2, "Say hello", [_result("b", "agent1", Status.SKIP)]),
            ],
        )
    )
    store.record(
        VerifyReport(
            "lesson-3",
            "Custom port ranges",
            [StepReport(1, "What the agents offer today", [_result("a", "m", Status.PASS)])],
        )
    )

    async def open_list(pilot: Pilot[None]) -> None:
        await pilot.press("l")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2 and laid_out(table))
        await pilot.press("down")
        await wait_for(pilot, lambda: table.cursor_row == 1)
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_list)  # type: ignore[operator]


@pytest.mark.parametrize("size", SIZES)
def test_lesson_with_a_failed_check(
    snap_compare: object, cluster: tuple[Cluster, Path], test_lessons: Path, size: tuple[int, int]
) -> None:
    lab, inventory = cluster
    lab.serve(DEFAULT)  # the agents still offer the default range: step 3 fails
    app = make_test_app(inventory)

    async def verify_step_3(pilot: Pilot[None]) -> None:
        app.open_lesson("lesson-3")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and app.screen.ready)
        await pilot.press("n", "n", "v")
        checklist = app.screen.query_one("#checks-3", CheckList)
        await wait_for(pilot, lambda: checklist.state == "done")
        # the verify's own notification comes a moment after the checks: clear it too
        await wait_for(pilot, lambda: any("2 failed" in n.message for n in app._notifications))
        app.clear_notifications()
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=verify_step_3)  # type: ignore[operator]


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(
    snap_compare: object, cluster: tuple[Cluster, Path], test_lessons: Path, size: tuple[int, int]
) -> None:
    _, inventory = cluster
    app = make_test_app(inventory)

    async def open_help(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await still(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_help)  # type: ignore[operator]
