"""The TUI on a real rehearsal lab (LXC, real systemd, SSH and ZooKeeper; emulated Mesos),
driven by keyboard as a learner would: `u` brings the lab up with its output streamed, the
lessons list opens lesson 3, which says lesson 1 is not done and offers to catch up, `C`
catches up, then each step's command runs (`r`, confirmed), `v` verifies it and the step
turns green; a mistake typed into a cell (a wrong port range) turns the step red with what
the agent really has, and resetting the cell fixes it.

Then, on the same lab, the container lessons are walked the same way, every cell of every
step run and every step verified green: lesson 2 (real Docker Engine; the scratch cell runs
`docker ps` on the agents and fetches the page the Marathon app's nginx container serves on
its host port), lesson 7 (the unified containerizer, agent recovery) and lesson 9 (a second
cluster of Mesos, Marathon and ZooKeeper containers).

With MESOSLAB_SCREENSHOTS=DIR set, the screens on the way are saved there as SVG (the
README's lab, lessons, catch-up and lesson-3 screenshots come from this walk;
docs/screenshots/render.sh makes the PNGs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Select, Static, TextArea

from mesoslab.tui.app import MesoslabApp, make_app
from mesoslab.tui.dialogs.catch_up import CatchUpScreen
from mesoslab.tui.dialogs.confirm import ConfirmScreen
from mesoslab.tui.screens.lab import LabScreen
from mesoslab.tui.screens.lesson import LessonScreen
from mesoslab.tui.screens.lessons import LessonsScreen
from mesoslab.tui.widgets.check_list import CheckList
from mesoslab.tui.widgets.command_cell import CommandCell
from mesoslab.tui.widgets.scratch_cell import ScratchCell
from tests.support.lxc import mesoslab, new_lab
from tests.support.tui import checks_text, log_text, static_text, table_text, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "tui", "1m-2a") as directory:
        yield directory


def shot(app: MesoslabApp, name: str) -> None:
    folder = os.environ.get("MESOSLAB_SCREENSHOTS")
    if folder:
        app.clear_notifications()
        app.save_screenshot(f"{name}.svg", folder)


def notes(app: MesoslabApp) -> str:
    return "\n".join(n.message for n in app._notifications)


async def run_focused_cell(pilot: Pilot[None], app: MesoslabApp, lesson: LessonScreen) -> None:
    """`r` on the step (its cell), confirm, wait until the command has run on every node."""
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    cell = lesson.focused
    assert isinstance(cell, CommandCell)
    assert cell.step == lesson.current or isinstance(cell, ScratchCell)
    before = cell.record  # replaced when the run ends
    await pilot.press("y")
    await wait_for(pilot, lambda: not cell.running and cell.record is not before, 180)
    assert cell.record is not None and cell.record.ok, static_text(
        cell.query_one(".cell-output", Static)
    )


async def verify_step(pilot: Pilot[None], lesson: LessonScreen) -> CheckList:
    checklist = lesson.query_one(f"#checks-{lesson.current}", CheckList)
    before = checklist.results  # a verify replaces it when it starts and when it ends
    await pilot.press("v")
    await wait_for(
        pilot, lambda: checklist.state == "done" and checklist.results is not before, 180
    )
    return checklist


async def test_a_learner_brings_the_lab_up_and_turns_lesson_3_green(lab: Path) -> None:
    app = make_app(lab, refresh_every=0, pace_gc=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, LabScreen)
        # -- up, streamed into the output panel
        await pilot.press("u")
        await wait_for(pilot, lambda: screen.busy)
        await wait_for(pilot, lambda: not screen.busy, 900)
        log = log_text(screen.log_panel)
        assert "master1 │ Importing base box" in log, log[-3000:]
        await wait_for(pilot, lambda: "Press l for the lessons" in notes(app))
        await pilot.press("r")
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: table_text(table).count(" | running | ") == 3, 60)
        shot(app, "lab-up")

        # -- lesson 3 from the lessons list; lesson 1 is not done on this fresh lab
        await pilot.press("l")
        assert isinstance(app.screen, LessonsScreen)
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count >= 3)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        lesson = app.screen
        assert isinstance(lesson, LessonScreen) and lesson.lesson_id == "lesson-3"
        await wait_for(pilot, lambda: lesson.ready)
        note = lesson.query_one("#prerequisites", Static)
        await wait_for(pilot, lambda: bool(note.display))
        assert "lesson-1 (Your first cluster): 0/6 steps passed" in static_text(note)
        shot(app, "lesson-prerequisites")

        # -- catch up through lessons 1 and 2 (the real commands, over SSH)
        await pilot.press("C", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, CatchUpScreen))
        catch_up = app.screen
        assert isinstance(catch_up, CatchUpScreen)
        await wait_for(pilot, lambda: catch_up.done, 900)
        status = static_text(catch_up.query_one("#catch-up-status", Static))
        assert "caught up through lesson-2" in status, status
        shot(app, "catch-up")
        await pilot.press("escape")
        assert app.screen is lesson
        await wait_for(pilot, lambda: not note.display)  # the progress says lesson 1 is done

        # -- step 1: what the agents offer today
        assert lesson.current == 1
        await run_focused_cell(pilot, app, lesson)
        output = static_text(app.focused.query_one(".cell-output", Static))  # type: ignore[union-attr]
        assert 'agent1 │ "ports":"[31000-32000]"' in output, output
        checks = await verify_step(pilot, lesson)
        assert checks.has_class("-passed"), checks_text(checks)

        # -- step 2, with a typo first: the learner's range is not the lesson's
        await pilot.press("n")
        assert lesson.current == 2
        cell = app.focused
        assert isinstance(cell, CommandCell)
        await pilot.press("e")
        editor = cell.query_one(".cell-editor", TextArea)
        assert '{"begin": 21000, "end": 24000}' in editor.text
        editor.text = editor.text.replace('"begin": 21000', '"begin": 22000')
        await pilot.press("escape")
        await run_focused_cell(pilot, app, lesson)
        checks = await verify_step(pilot, lesson)
        assert checks.has_class("-failed")
        text = checks_text(checks)
        assert "✘ host.file_json_equals [agent1]" in text and "22000" in text, text
        assert lesson.states[2] == "failed"
        shot(app, "lesson-failed-step")
        await pilot.press("u")  # reset the cell to the lesson's command, run it again
        assert '"begin": 21000' in cell.code
        await run_focused_cell(pilot, app, lesson)
        checks = await verify_step(pilot, lesson)
        assert checks.has_class("-passed"), checks_text(checks)

        # -- steps 3 and 4: the agents restart with the new ranges; an app on port 21001
        for number in (3, 4):
            await pilot.press("n")
            assert lesson.current == number
            await run_focused_cell(pilot, app, lesson)
            checks = await verify_step(pilot, lesson)
            assert checks.has_class("-passed"), checks_text(checks)
            assert lesson.query_one(f"#step-{number}").heading.has_class("-passed")  # type: ignore[attr-defined]
        assert "[21000-24000, 30000-64000]" in checks_text(lesson.query_one("#checks-3", CheckList))
        assert lesson.states == {1: "passed", 2: "passed", 3: "passed", 4: "passed"}
        await wait_for(pilot, lambda: "Every step of lesson-3 has passed" in notes(app))
        shot(app, "lesson-passed")

        # -- the lessons list shows the progress
        await pilot.press("escape")
        lessons = app.screen
        assert isinstance(lessons, LessonsScreen)
        rows = lessons.query_one(DataTable)
        await wait_for(pilot, lambda: "lesson-3 | Custom port ranges | 4/4 ✔" in table_text(rows))
        shot(app, "lessons")
        assert "lesson-1 | Your first cluster | 6/6 ✔" in table_text(rows)

        # -- back on the lab screen, the services lessons 1-3 set up answer
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("r")
        await wait_for(pilot, lambda: "leader" in table_text(table), 60)
        await wait_for(pilot, lambda: table_text(table).count("✔ registered") == 2, 60)
        shot(app, "lab")


async def open_from_list(pilot: Pilot[None], app: MesoslabApp, lesson_id: str) -> LessonScreen:
    """`l`, the cursor moved down or up to the lesson's row, enter."""
    await pilot.press("l")
    lessons = app.screen
    assert isinstance(lessons, LessonsScreen)
    table = lessons.query_one(DataTable)
    await wait_for(pilot, lambda: table.row_count >= 9 and not table.loading)
    ids = [line.split(" | ")[0] for line in table_text(table).splitlines()]
    moves = ids.index(lesson_id) - table.cursor_row
    await pilot.press(*(["down"] * moves if moves > 0 else ["up"] * -moves), "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
    lesson = app.screen
    assert isinstance(lesson, LessonScreen) and lesson.lesson_id == lesson_id
    await wait_for(pilot, lambda: lesson.ready)
    return lesson


async def walk_step(pilot: Pilot[None], app: MesoslabApp, lesson: LessonScreen) -> CheckList:
    """Every command cell of the current step run in turn (tab to it, `r`, confirm), then
    `v`: the step must turn green."""
    cells = lesson.step_cells(lesson.current)
    for cell in cells:
        cell.focus()
        await pilot.pause()
        await run_focused_cell(pilot, app, lesson)
    checks = await verify_step(pilot, lesson)
    assert checks.has_class("-passed"), f"{lesson.lesson_id} step {lesson.current}: " + (
        checks_text(checks)
    )
    return checks


async def walk_lesson(pilot: Pilot[None], app: MesoslabApp, lesson_id: str) -> LessonScreen:
    """The whole lesson, step by step (`n` to the next), every step green at the end."""
    lesson = await open_from_list(pilot, app, lesson_id)
    assert lesson.lesson is not None
    count = len(lesson.lesson.steps)
    for number in range(1, count + 1):
        if number > 1:
            await pilot.press("n")
        assert lesson.current == number
        await walk_step(pilot, app, lesson)
    assert set(lesson.states.values()) == {"passed"}, lesson.states
    await wait_for(pilot, lambda: f"Every step of {lesson_id} has passed" in notes(app))
    return lesson


async def run_scratch(
    pilot: Pilot[None], app: MesoslabApp, lesson: LessonScreen, target: str, code: str
) -> str:
    """`x` opens the scratch cell's editor; the command is typed, run on ``target`` as root
    (the node/role list and the sudo box), confirmed; returns what the nodes printed."""
    await pilot.press("x")
    cell = lesson.query_one(ScratchCell)
    editor = cell.query_one(TextArea)
    await wait_for(pilot, lambda: editor.has_focus)
    editor.text = code
    cell.query_one(Select).value = target
    cell.query_one(Checkbox).value = True
    await pilot.press("escape")
    assert app.focused is cell
    await run_focused_cell(pilot, app, lesson)
    return static_text(cell.query_one(".cell-output", Static))


async def test_a_learner_runs_the_container_lessons_2_7_and_9(lab: Path) -> None:
    """After the walk above (or on its own, with the lab brought up through lesson 2)."""
    status = mesoslab(lab, "status")
    if status.returncode != 0 or "not created" in status.stdout:
        out = mesoslab(lab, "up", "--through", "lesson-2", timeout=1200)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    app = make_app(lab, refresh_every=0, pace_gc=False)
    async with app.run_test(size=(120, 40)) as pilot:
        lesson = await walk_lesson(pilot, app, "lesson-2")
        # Docker on the agents shows what Mesos runs, and the container serves its page
        ps = await run_scratch(
            pilot, app, lesson, "agent", "docker ps --format '{{.Image}} {{.Ports}} {{.Names}}'"
        )
        assert "nginx 0.0.0.0:" in ps and "->80/tcp mesos-" in ps, ps
        page = await run_scratch(
            pilot,
            app,
            lesson,
            "agent",
            "for port in $(docker ps --filter name=mesos- --format '{{.Ports}}'"
            " | sed -n 's/.*:\\([0-9]*\\)->80.*/\\1/p'); do curl -s localhost:$port/; done",
        )
        assert "Welcome to nginx" in page, page
        shot(app, "lesson-2-docker-ps")
        await pilot.press("escape", "escape")

        await walk_lesson(pilot, app, "lesson-7")
        shot(app, "lesson-7-passed")
        await pilot.press("escape", "escape")

        await walk_lesson(pilot, app, "lesson-9")
        shot(app, "lesson-9-passed")
        await pilot.press("escape")
        lessons = app.screen
        assert isinstance(lessons, LessonsScreen)
        table = lessons.query_one(DataTable)
        for line in (
            "lesson-2 | Docker containerizer | 3/3 ✔",
            "lesson-7 | Unified containerizer and agent recovery | 5/5 ✔",
            "lesson-9 | Mesos, Marathon and ZooKeeper themselves in Docker | 2/2 ✔",  # + 6 drills
        ):
            await wait_for(pilot, lambda line=line: line in table_text(table))  # type: ignore[misc]
