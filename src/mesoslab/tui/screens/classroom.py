"""The instructor's screen (`mesoslab class`): the class grid, who is stuck and why, live
from the class database beside `mesoslab class serve` (polled: a commit by the server
changes SQLite's ``data_version``, and only then is the view rebuilt)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from mesoslab.ops.classroom.store import ClassStore
from mesoslab.ops.classroom.view import ClassView, StuckRule, build_view
from mesoslab.tui.widgets.class_grid import ClassGrid


class ViewBuilt(Message, bubble=False):
    def __init__(self, view: ClassView) -> None:
        super().__init__()
        self.view = view


class ClassScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
    ]
    DEFAULT_CSS = """
    ClassScreen #stuck { width: 45; border-left: solid $error; padding: 0 1; }
    ClassScreen #summary { height: 1; padding: 0 1; background: $boost; }
    """

    def __init__(self, db: Path, *, refresh: float = 1.0, rule: StuckRule | None = None) -> None:
        super().__init__()
        self.db = db
        self.refresh_every = refresh
        self.rule = rule or StuckRule()
        self.store = ClassStore(db)
        self._version: int | None = None
        self.view: ClassView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="summary")
        with Horizontal():
            yield ClassGrid()
            with VerticalScroll(id="stuck"):
                yield Static("Nobody is stuck.", id="stuck-text")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(self.refresh_every, self._poll)

    def on_unmount(self) -> None:
        self.store.close()

    def _poll(self) -> None:
        version = self.store.data_version()
        if version != self._version:
            self._version = version
            self._build()

    def action_refresh(self) -> None:
        self._version = self.store.data_version()
        self._build()

    @work(thread=True, exclusive=True, group="class-view", exit_on_error=False)
    def _build(self) -> None:
        self.post_message(ViewBuilt(build_view(self.store, self.rule)))

    def on_view_built(self, message: ViewBuilt) -> None:
        view = self.view = message.view
        self.title = f"mesoslab class · {view.name}"
        present = sum(not r.left for r in view.learners)
        state = "open" if view.code_open else "closed"
        self.query_one("#summary", Static).update(
            f"{present} learner(s) · joining {state} · code {view.code}"
        )
        self.query_one(ClassGrid).show(view)
        lines = []
        for row, lesson, number, cell in view.stuck():
            lines.append(f"[b]{row.name}[/b] — {lesson} step {number}")
            lines.append(f"  {cell.fail_count} failed verifies in a row")
            for check in cell.last_fail[:1]:
                lines.append(f"  check: {check['kind']} [{check['node']}]")
                for key in ("expected", "observed", "hint"):
                    if check.get(key):
                        lines.append(f"  {key}: {check[key]}")
            lines.append("")
        text = self.query_one("#stuck-text", Static)
        text.update("\n".join(lines) if lines else "Nobody is stuck.")
