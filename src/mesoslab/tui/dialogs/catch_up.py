"""Catch up: run the solutions of lessons 1…N on the lab, with live output.

Each step whose checks pass is recorded in the learner's progress as it passes (the same
record a verify makes). Escape (or ``c``) stops it: the commands running now stop being waited
for and no further step starts; Escape again closes once it has stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from mesoslab.errors import MesoslabError
from mesoslab.tui.widgets.log_panel import LogPanel

if TYPE_CHECKING:
    from mesoslab.lessons.model import Lesson
    from mesoslab.lessons.verify import VerifyReport
    from mesoslab.ops.catchup import CatchUpReport
    from mesoslab.remote.session import Session

STOPPING = "stopping… (waits for the commands running now to let go)"


# What the catch-up worker reports (posted to the dialog, handled on the event loop).


@dataclass
class CatchUpStep(Message, bubble=False):
    """Catch up started step ``number`` of ``lesson``."""

    lesson: str
    number: int
    title: str


@dataclass
class CatchUpFailed(Message, bubble=False):
    """Catch up could not run (a lesson missing or unreadable, the lab not fit for it)."""

    exc: MesoslabError


@dataclass
class CatchUpFinished(Message, bubble=False):
    """Catch up is over: caught up, stopped by the learner, or stopped at a failure."""

    report: CatchUpReport


class CatchUpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Stop / close", show=False),
        Binding("c", "stop", "Stop", show=False),
    ]

    def __init__(self, through: str) -> None:
        super().__init__(classes="dialog wide")
        self.through = through
        self.done = False
        self.stopping = False
        self.recorded = 0  # steps recorded as passed in the progress file
        self._session: Session | None = None
        self._record_warning: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Catching up through {self.through}", id="dialog-title")
            yield Static("starting… (Escape stops it)", id="catch-up-status")
            yield LogPanel(id="catch-up-log")

    def on_mount(self) -> None:
        from mesoslab.remote.session import Session

        app = cast(Any, self.app)
        inventory = app.context.inventory
        if inventory is not None:
            self.query_one(LogPanel).set_nodes([n.name for n in inventory.nodes])
        # Made here (not in the worker) so that Escape can always reach its cancel event.
        self._session = Session(inventory)
        self._run()

    def _status(self, text: str | Text) -> None:
        self.query_one("#catch-up-status", Static).update(
            Text(text) if isinstance(text, str) else text
        )

    def on_catch_up_step(self, message: CatchUpStep) -> None:
        text = f"{message.lesson} step {message.number}: {message.title}"
        if not self.stopping and not self.done:  # a late step line never hides "stopping…"
            self._status(Text.assemble(text, ("  (Escape stops it)", "dim")))

    @work(thread=True, exit_on_error=False)
    def _run(self) -> None:
        from mesoslab.ops.catchup import catch_up

        app = cast(Any, self.app)
        ctx = app.context
        log = self.query_one(LogPanel)
        session = self._session
        assert session is not None

        def on_step(lesson: Lesson, number: int, title: str) -> None:
            self.post_message(CatchUpStep(lesson.id, number, title))

        try:
            with session:
                report = catch_up(
                    self.through,
                    ctx.inventory,
                    platform=ctx.platform,
                    session=session,
                    on_step=on_step,
                    on_action=lambda action, nodes: log.note(
                        f"▶ {', '.join(n.name for n in nodes)}: "
                        f"{action.code.strip().splitlines()[0] if action.code.strip() else ''}",
                        "cyan",
                    ),
                    on_output=lambda node, line: log.feed(node.name, line),
                    on_verified=self._record,
                )
        except MesoslabError as exc:
            self.post_message(CatchUpFailed(exc))
            return
        # after every _record: what they counted is read when this is handled
        self.post_message(CatchUpFinished(report))

    def _record(self, report: VerifyReport) -> None:
        """A step passed: keep it in the learner's progress (worker thread), as verify does."""
        from mesoslab.tui.screens.lesson import keep_verify

        states, warning = keep_verify(self.app, report)
        if states is not None:  # None: no progress file (no lab file) or it cannot be saved
            self.recorded += sum(1 for s in report.steps if s.done)
        if warning:
            self._record_warning = warning

    def on_catch_up_failed(self, message: CatchUpFailed) -> None:
        exc = message.exc
        self.query_one(LogPanel).flush()
        self.done = True
        self._status(Text.assemble((f"✘ {exc.title}: {exc}", "red"), "\nEscape closes."))
        cast(Any, self.app).show_error(exc)

    def on_catch_up_finished(self, message: CatchUpFinished) -> None:
        report = message.report
        self.query_one(LogPanel).flush()
        self.done = True
        if self._record_warning:
            self.notify(self._record_warning, title="Progress", severity="warning")
        if report.ok:
            self._status(
                Text.assemble(
                    (f"✔ caught up through {report.through}", "green"),
                    f" ({len(report.runs)} steps ran). Escape closes.",
                )
            )
            self.notify(f"caught up through {report.through}", title="Catch up")
            return
        if report.cancelled:
            self._status(self._stopped_text(report))
            self.notify("catch up stopped", title="Catch up")
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
            assert step is not None
            text = Text(
                f"✘ stopped after {report.unsettled_lesson} step {step.step}: {step.title}: "
                "its commands ran but its checks did not pass",
                "red",
            )
            for check in step.results:
                if not check.passed:
                    text.append(f"\n  ✘ {check.kind} [{check.node}] {check.summary}")
        text.append("\nFix it (the output is above), then catch up again. Escape closes.")
        self._status(text)
        self.notify("catch up stopped at a failure", title="Catch up", severity="error")

    def _stopped_text(self, report: CatchUpReport) -> Text:
        last = report.last_passed
        if last is not None:
            text = Text(f"■ stopped after {last[0]} step {last[1]}", "yellow")
        else:
            text = Text("■ stopped before any step passed", "yellow")
        if self.recorded:
            text.append(f" ({self.recorded} steps passed and are in your progress)")
        cut = report.interrupted
        if cut is not None:
            text.append(
                f"\n  {cut.lesson} step {cut.step} ({cut.title}) was cut short: its commands "
                "may be half done, and one may still be running on a node until it next "
                "writes output."
            )
        text.append("\nCatching up again starts from lesson-1 step 1. Escape closes.")
        return text

    def action_stop(self) -> None:
        if self.done or self.stopping:
            return
        self.stopping = True
        if self._session is not None:
            self._session.cancelled.set()
        self._status(Text(STOPPING, "yellow"))

    def action_close(self) -> None:
        if self.done:
            self.dismiss(None)
        elif not self.stopping:
            self.action_stop()
        else:
            self.notify(STOPPING)
