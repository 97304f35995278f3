"""Catch up: run the solutions of lessons 1…N on the lab, with live output."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from mesoslab.errors import MesoslabError
from mesoslab.tui.widgets.log_panel import LogPanel


class CatchUpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    def __init__(self, through: str) -> None:
        super().__init__(classes="dialog wide")
        self.through = through
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Catching up through {self.through}", id="dialog-title")
            yield Static("starting…", id="catch-up-status")
            yield LogPanel(id="catch-up-log")

    def on_mount(self) -> None:
        app = cast(Any, self.app)
        inventory = app.context.inventory
        if inventory is not None:
            self.query_one(LogPanel).set_nodes([n.name for n in inventory.nodes])
        self._run()

    def _ui(self, fn: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(fn, *args)

    def _status(self, text: str | Text) -> None:
        self.query_one("#catch-up-status", Static).update(
            Text(text) if isinstance(text, str) else text
        )

    @work(thread=True, exit_on_error=False)
    def _run(self) -> None:
        from mesoslab.checks.context import Session
        from mesoslab.lessons.catchup import catch_up

        app = cast(Any, self.app)
        ctx = app.context
        log = self.query_one(LogPanel)
        try:
            with Session(ctx.inventory) as session:
                report = catch_up(
                    self.through,
                    ctx.inventory,
                    platform=ctx.platform,
                    session=session,
                    on_step=lambda lesson, n, title: self._ui(
                        self._status, f"{lesson.id} step {n}: {title}"
                    ),
                    on_action=lambda action, nodes: log.note(
                        f"▶ {', '.join(n.name for n in nodes)}: "
                        f"{action.code.strip().splitlines()[0] if action.code.strip() else ''}",
                        "cyan",
                    ),
                    on_output=lambda node, line: log.feed(node.name, line),
                )
        except MesoslabError as exc:
            self._ui(self._failed, exc)
            return
        self._ui(self._finished, report)

    def _failed(self, exc: MesoslabError) -> None:
        self.query_one(LogPanel).flush()
        self.done = True
        self._status(Text.assemble((f"✘ {exc.title}: {exc}", "red"), "\nEscape closes."))
        cast(Any, self.app).show_error(exc)

    def _finished(self, report: Any) -> None:
        self.query_one(LogPanel).flush()
        self.done = True
        if report.ok:
            self._status(
                Text.assemble(
                    (f"✔ caught up through {report.through}", "green"),
                    f" ({len(report.runs)} steps ran). Escape closes.",
                )
            )
            self.notify(f"caught up through {report.through}", title="Catch up")
            return
        failed = report.failed
        if failed is not None:
            text = Text(f"✘ stopped at {failed.lesson} step {failed.step}: {failed.title}", "red")
            for action in failed.actions:
                for result in action.results:
                    if not result.ok:
                        text.append(f"\n  {result.describe()}")
        else:  # the commands ran, but the step's checks did not pass afterwards
            step = report.unsettled
            text = Text(
                f"✘ stopped after {report.unsettled_lesson} step {step.step}: {step.title}: "
                "its commands ran but its checks did not pass",
                "red",
            )
            for result in step.results:
                if not result.passed:
                    text.append(f"\n  ✘ {result.kind} [{result.node}] {result.summary}")
        text.append("\nFix it (the output is above), then catch up again. Escape closes.")
        self._status(text)
        self.notify("catch up stopped at a failure", title="Catch up", severity="error")

    def action_close(self) -> None:
        if not self.done:
            self.notify("catch up is still running: it cannot be stopped midway")
            return
        self.dismiss(None)
