"""A command cell: a lesson's command block with the nodes it runs on, editable before it runs;
Run shows the exact command, asks once, and streams each node's output live under the cell.
While it runs, Stop (``c`` or the button) stops waiting for it: the output so far is kept.
The last run is kept with the learner's progress and shown again when the lesson reopens.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static, TextArea

from mesoslab.tui.cells import CellRecord
from mesoslab.tui.dialogs.confirm import ConfirmScreen, when_yes
from mesoslab.tui.errors import error_parts

if TYPE_CHECKING:
    from mesoslab.tui.runtime import NotebookRuntime

NODE_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")
SHOWN_LINES = 400  # lines kept on screen per cell (the store keeps each node's tail)
FLUSH_EVERY = 0.1


def record_text(record: CellRecord, *, live: bool = False) -> Text:
    """A finished run as the learner reads it: each node's output, then how each ended."""
    text = Text()
    if record.error:
        text.append(f"✘ {record.error}", style="red")
        return text
    colours = _colours(list(record.nodes))
    width = max([6, *(len(n) for n in record.nodes)])
    if not live:
        for out in record.outputs:
            for line in out.output.splitlines()[-SHOWN_LINES:]:
                text.append(f"{out.node:<{width}} │ ", style=colours.get(out.node, "white"))
                text.append(line + "\n")
    for index, out in enumerate(record.outputs):
        if index:
            text.append("\n")
        mark, style = ("✔", "green") if out.ok else ("✘", "red")
        text.append(f"{mark} {out.describe()}", style=style)
    return text


def _colours(nodes: list[str]) -> dict[str, str]:
    return {n: NODE_COLOURS[i % len(NODE_COLOURS)] for i, n in enumerate(nodes)}


@dataclass
class RunReturned(Message, bubble=False):
    """The cell's command returned on every node (posted by its worker to the cell itself)."""

    record: CellRecord


class CommandCell(Vertical, can_focus=True):
    """One runnable command block of a lesson step."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r,ctrl+r", "run", "Run", tooltip="Run this cell"),
        Binding("e", "edit", "Edit", tooltip="Edit this cell"),
        Binding("escape", "stop_editing", "Done editing"),
        Binding("u", "reset", "Reset cell", show=False),
        Binding("c", "stop", "Stop"),  # shown only while the cell runs (check_action)
    ]

    class Ran(Message):
        """A cell finished running (posted so the screen can update the step)."""

        def __init__(self, cell: CommandCell, record: CellRecord) -> None:
            super().__init__()
            self.cell = cell
            self.record = record

    def __init__(
        self,
        runtime: NotebookRuntime,
        *,
        key: str,
        step: int,
        target: str,
        code: str,
        sudo: bool,
        where: str,
        record: CellRecord | None = None,
    ) -> None:
        super().__init__(classes="command-cell")
        self.runtime = runtime
        self.key = key
        self.step = step
        self.target = target
        self.original = code.rstrip("\n")
        self.code = record.command if record is not None and record.edited else self.original
        self.sudo = sudo
        self.where = where
        self.record = record
        self.running = False
        self.editing = False
        self._cancel = threading.Event()  # set by Stop; a new one for every run
        self._pending: collections.deque[tuple[str, str]] = collections.deque()
        self._lines: list[Text] = []
        self._colours: dict[str, str] = {}
        self._prefix_width = 6
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(classes="cell-head"):
            yield Static(self._head(), classes="cell-where")
            run = Button("▶ Run", classes="cell-run", compact=True)
            run.can_focus = False
            yield run
            edit = Button("Edit", classes="cell-edit", compact=True)
            edit.can_focus = False
            yield edit
        yield Static(Text(self.code), classes="cell-code")
        # the editor (a TextArea) is mounted on first edit: cells are many, edits few
        output = Static("", classes="cell-output")
        output.display = False
        yield output

    def _head(self) -> Text:
        text = Text()
        text.append("$ ", style="bold")
        text.append(self.where, style="bold")
        text.append(f" → {self.runtime.targets_text(self.target)}", style="dim")
        if self.code != self.original:
            text.append("  (edited)", style="yellow")
        return text

    def on_mount(self) -> None:
        if self.record is not None:
            self._show_output(self._stored_header(self.record), record_text(self.record))

    def _stored_header(self, record: CellRecord) -> Text:
        when = record.ran_at.replace("T", " ").replace("+00:00", " UTC")
        mark = ("✔", "green") if record.ok else ("✘", "red")
        return Text.assemble((f"{mark[0]} ", mark[1]), (f"last run {when}", "dim"))

    def _show_output(self, header: Text, body: Text) -> None:
        output = self.query_one(".cell-output", Static)
        output.update(Text("\n").join([header, body]) if body.plain else header)
        output.display = True

    # ------------------------------------------------------------------ editing

    async def action_edit(self) -> None:
        if self.running:
            return
        found = self.query(".cell-editor")
        if found:
            editor = found.first(TextArea)
        else:
            editor = TextArea(self.code, classes="cell-editor", soft_wrap=False)
            await self.mount(editor, after=self.query_one(".cell-code"))
        editor.text = self.code
        editor.display = True
        self.query_one(".cell-code", Static).display = False
        self.editing = True
        editor.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_editing":
            return self.editing  # else Escape goes on to the screen (back)
        if action == "stop":
            return self.running  # hidden from the footer (and the key passed on) when idle
        return True

    def action_stop_editing(self) -> None:
        if not self.editing:
            return
        self.code = self.query_one(".cell-editor", TextArea).text.rstrip("\n")
        self.query_one(".cell-editor", TextArea).display = False
        code = self.query_one(".cell-code", Static)
        code.update(Text(self.code))
        code.display = True
        self.editing = False
        self.query_one(".cell-where", Static).update(self._head())
        self.focus()

    def action_reset(self) -> None:
        if self.running:
            return
        if self.editing and self.query(".cell-editor"):
            self.query_one(".cell-editor", TextArea).text = self.original
        self.code = self.original
        self.query_one(".cell-code", Static).update(Text(self.code))
        self.query_one(".cell-where", Static).update(self._head())

    # ------------------------------------------------------------------ running

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.has_class("cell-run"):
            self.run_or_stop()
        elif self.editing:
            self.action_stop_editing()
        else:
            await self.action_edit()

    def run_or_stop(self) -> None:
        """The Run button: runs the cell, or stops it while it runs."""
        if self.running:
            self.action_stop()
        else:
            self.action_run()

    def action_run(self) -> None:
        if self.running:
            self.notify("this cell is still running", severity="warning")
            return
        if self.editing:
            self.action_stop_editing()
        if not self.code.strip():
            self.notify("the cell is empty", severity="warning")
            return
        if self.runtime.inventory is None:
            self.notify("there is no lab yet: create one to run commands", severity="warning")
            return
        body = Text()
        body.append(f"{self.where} → {self.runtime.targets_text(self.target)}\n\n", style="bold")
        body.append(self.code)
        self.app.push_screen(
            ConfirmScreen("Run this command?", body, yes="Run"),
            when_yes(self.start),
        )

    def start(self) -> None:
        """Run the cell now (the learner has confirmed)."""
        self._cancel = threading.Event()
        self._set_running(True)
        self._lines = []
        self._pending.clear()
        self._show_output(self._live_header(), Text(""))
        self._flush_timer = self.set_interval(FLUSH_EVERY, self._flush)
        self._run(self.code, self.code != self.original, self._cancel)

    def action_stop(self) -> None:
        """Stop waiting for the running command (its output so far is kept)."""
        if not self.running or self._cancel.is_set():
            return
        self._cancel.set()
        self._flush()
        self._show_output(self._live_header(), Text("\n").join(self._lines))

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.set_class(running, "-running")
        found = self.query(".cell-run")
        if found:
            found.first(Button).label = "■ Stop" if running else "▶ Run"
        self.refresh_bindings()

    def _live_header(self) -> Text:
        if self._cancel.is_set():
            return Text("… stopping", style="yellow")
        return Text.assemble(("… running", "yellow"), ("  (c stops it)", "dim"))

    def _set_nodes(self, nodes: list[str]) -> None:
        with self._lock:
            self._colours = _colours(nodes)
            self._prefix_width = max([6, *(len(n) for n in nodes)])

    def _feed(self, node: str, line: str) -> None:
        """From the SSH threads: queue a line (thread-safe)."""
        self._pending.append((node, line))

    def _flush(self) -> None:
        if not self._pending:
            return
        with self._lock:
            colours, width = self._colours, self._prefix_width
        while self._pending:
            node, line = self._pending.popleft()
            self._lines.append(
                Text.assemble((f"{node:<{width}} │ ", colours.get(node, "white")), line)
            )
        del self._lines[:-SHOWN_LINES]
        self._show_output(self._live_header(), Text("\n").join(self._lines))

    @work(thread=True, exclusive=True, group="cell", exit_on_error=False)
    def _run(self, command: str, edited: bool, cancel: threading.Event) -> None:
        from mesoslab.tui.runtime import run_cell

        try:
            record = run_cell(
                self.runtime,
                self.target,
                command,
                sudo=self.sudo,
                edited=edited,
                on_nodes=self._set_nodes,
                on_output=self._feed,
                cancel=cancel,
            )
            self.save(record)
        except Exception as exc:  # shown under the cell, never a traceback
            title, message = error_parts(exc)
            record = CellRecord(command, self.target, self.sudo, error=f"{title}: {message}")
        # every node has returned: its lines are all queued for the flush that shows the end
        self.post_message(RunReturned(record))

    def save(self, record: CellRecord) -> None:
        """Keep the run with the learner's progress (called in the worker thread)."""
        self.runtime.store.put_cell(self.runtime.lesson_id, self.key, record)

    def on_run_returned(self, message: RunReturned) -> None:
        record = message.record
        self._flush()
        self._flush_timer.stop()
        self._set_running(False)
        self.record = record
        if self._cancel.is_set() and not record.ok:
            header = Text("■ stopped", style="yellow")
        else:
            mark = ("✔", "green") if record.ok else ("✘", "red")
            header = Text(f"{mark[0]} ran", style=mark[1])
        body = Text("\n").join([*self._lines, record_text(record, live=True)])
        self._show_output(header, body)
        self.post_message(self.Ran(self, record))
