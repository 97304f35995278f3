"""A closed lesson is freed, and a step's prose is made when it first opens (tui/release.py,
tui/app.py FreshContextExecutor, tui/widgets/step_section.py Prose). Textual keeps closed
widgets in its watcher lists and thread workers' contexts, and their rendered lines until a
full collection: these tests fail if an upgrade of Textual brings any of it back."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from textual.strip import Strip
from textual.widgets import Header

from mesoslab.tui.screens.lesson import LessonScreen
from mesoslab.tui.widgets.command_cell import CommandCell
from mesoslab.tui.widgets.step_section import Prose, StepSection
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster
from tests.support.tui import cluster, make_test_app, open_lesson, wait_for

__all__ = ["cluster"]  # a fixture used by name

SHIPPED = Path(__file__).resolve().parents[1] / "lessons"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shipped_lessons(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MESOSLAB_LESSONS", str(SHIPPED))
    return SHIPPED


async def test_a_closed_lesson_is_freed(
    cluster: tuple[Cluster, Path], shipped_lessons: Path
) -> None:
    _, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=(100, 36)) as pilot:
        for _ in range(2):  # the second visit runs its thread workers on the same threads
            screen = await open_lesson(pilot, app, "lesson-1")
            refs = [
                weakref.ref(screen),
                weakref.ref(screen.query_one(Header)),
                weakref.ref(screen.query(CommandCell).first()),
            ]
            del screen
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, LessonScreen))

            def freed(refs: list[weakref.ref[object]] = refs) -> bool:
                """every reference of the closed lesson gone (its workers may still end)"""
                gc.collect()
                return all(ref() is None for ref in refs)

            await wait_for(pilot, freed)  # a leak never gets there


async def test_a_closed_lesson_lets_go_of_its_rendered_lines_as_it_closes(
    cluster: tuple[Cluster, Path], shipped_lessons: Path
) -> None:
    """Most of its Strips (a line each, with their cached copies) are freed by reference
    counting as it closes, not left as garbage for the collector's next full pass."""
    _, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await open_lesson(pilot, app, "lesson-1")
        await pilot.press("n", "n", "n")  # three more steps open and painted
        await wait_for(pilot, lambda s=screen: s.current == 4)
        await pilot.pause(0.3)
        del screen
        gc.collect()
        gc.disable()  # what the closing leaves stays where it is until counted
        try:
            shown = sum(type(o) is Strip for o in gc.get_objects())
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, LessonScreen))
            await pilot.pause(0.3)
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            left = sum(type(o) is Strip for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    # shipped lesson 1, four steps seen: 1 546 of 2 104 left before, 453 of 2 074 now
    assert shown > 1000 and left < shown / 3, f"{left} of {shown} Strips left to the collector"


async def test_the_next_step_s_prose_is_drawn_ahead_and_opening_it_draws_nothing_more(
    cluster: tuple[Cluster, Path], shipped_lessons: Path
) -> None:
    """Drawing the Markdown was the longest part of a step change (tui_bench.py): the
    neighbours of the current step draw theirs while the learner reads, with the options
    their own paint then brings, so opening the step only lays it out."""
    _, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await open_lesson(pilot, app, "lesson-1")

        def prose(number: int) -> list[Prose]:
            return list(screen.query_one(f"#step-{number}", StepSection).query(Prose))

        await wait_for(pilot, lambda: all(p.draws == 1 for p in prose(2)))
        assert prose(2) and not any(p.made for p in prose(2))  # drawn, not shown
        assert prose(3) and all(p.draws == 0 for p in prose(3))  # two steps away: not yet
        await pilot.press("n")
        await wait_for(pilot, lambda: all(p.made and p.content != "" for p in prose(2)))
        await pilot.pause(0.1)  # its paint, and the steps next to it drawn ahead in turn
        assert [p.draws for p in prose(2)] == [1] * len(prose(2))
        await wait_for(pilot, lambda: all(p.draws == 1 for p in prose(3)))


async def test_a_step_prose_is_made_when_it_first_opens(
    cluster: tuple[Cluster, Path], shipped_lessons: Path
) -> None:
    _, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await open_lesson(pilot, app, "lesson-1")

        def prose(number: int) -> list[Prose]:
            section = screen.query_one(f"#step-{number}", StepSection)
            return list(section.query(Prose))

        def rendered(p: Prose) -> bool:
            return p.made and p.content != ""

        assert prose(1) and all(rendered(p) for p in prose(1))
        assert prose(3) and not any(p.made or rendered(p) for p in prose(3))
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: screen.current == 3)
        await wait_for(pilot, lambda: all(rendered(p) for p in prose(3)))
        await pilot.press("p")  # closing a step keeps what was made
        await wait_for(pilot, lambda: screen.current == 2)
        assert all(rendered(p) for p in prose(3))
