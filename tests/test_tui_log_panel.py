"""The output panel follows the newest lines while the learner is at the bottom, and stays
where they scrolled to read when they are not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.app import App, ComposeResult

from mesoslab.tui.widgets.log_panel import LogPanel
from tests.support.tui import wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class PanelApp(App[None]):
    CSS = "LogPanel { height: 10; }"

    def compose(self) -> ComposeResult:
        yield LogPanel()


def at_bottom(panel: LogPanel, lines: int) -> Callable[[], bool]:
    """All ``lines`` are written and laid out, and the newest is in view."""

    def check() -> bool:
        return (
            panel.line_count == lines
            and panel.max_scroll_y == lines - panel.scrollable_content_region.height
            and panel.scroll_y == panel.max_scroll_y
        )

    check.__doc__ = f"{lines} lines, scrolled to the bottom"
    return check


# The waits below end as soon as the panel is where it must be; a panel that lost the tail
# never gets there and the wait fails. (Fixed pauses failed on a busy CI machine.)


async def test_the_panel_follows_the_stream_until_the_reader_scrolls_up() -> None:
    app = PanelApp()
    async with app.run_test(size=(60, 20)) as pilot:
        panel = app.query_one(LogPanel)
        for batch in range(6):  # several flushes, as `vagrant up` streams
            for i in range(15):
                panel.feed("node1", f"line {batch}.{i}")
            await pilot.pause(0.12)
        await wait_for(pilot, at_bottom(panel, 90))
        assert panel.max_scroll_y > 0

        panel.scroll_home(animate=False)  # the reader goes back to read
        await wait_for(pilot, lambda: panel.scroll_y == 0 and not panel.following)
        for i in range(15):
            panel.feed("node1", f"more {i}")
        await wait_for(pilot, lambda: panel.line_count == 105)
        await pilot.pause(0.2)  # a layout after the flush must not move the reader either
        assert panel.scroll_y == 0, "the panel stays where the reader is"

        panel.scroll_end(animate=False)  # back at the bottom: following again
        await wait_for(pilot, lambda: panel.following)
        for i in range(15):
            panel.feed("node1", f"last {i}")
        await wait_for(pilot, at_bottom(panel, 120))
        assert "last 14" in panel.text


async def test_the_panel_keeps_following_when_it_shrinks() -> None:
    """The lab screen adds progress rows above the panel as `up` starts: the tail stays in
    view."""
    app = PanelApp()
    async with app.run_test(size=(60, 20)) as pilot:
        panel = app.query_one(LogPanel)
        for i in range(30):
            panel.feed("node1", f"line {i}")
        await wait_for(pilot, at_bottom(panel, 30))
        tall = panel.scrollable_content_region.height
        panel.styles.height = 5
        await wait_for(pilot, lambda: panel.scrollable_content_region.height < tall)
        await wait_for(pilot, at_bottom(panel, 30))
        for i in range(3):
            panel.feed("node1", f"after {i}")
        await wait_for(pilot, at_bottom(panel, 33))
