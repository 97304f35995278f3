"""The scratch cell: any command, on any node or role, as the learner types it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Select, Static, TextArea

from mesoslab.tui.cells import CellRecord
from mesoslab.tui.runtime import NotebookRuntime
from mesoslab.tui.widgets.command_cell import CommandCell, record_text


class ScratchCell(CommandCell):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r,ctrl+r", "run", "Run", tooltip="Run this cell"),
        Binding("e", "edit", "Edit", tooltip="Edit this cell"),
        Binding("escape", "stop_editing", "Done editing"),
    ]

    def __init__(self, runtime: NotebookRuntime) -> None:
        targets = runtime.targets()
        scratch = runtime.store.scratch(runtime.lesson_id)
        last = scratch[-1] if scratch else None
        target = last.target if last is not None and last.target in targets else ""
        super().__init__(
            runtime,
            key="scratch",
            step=0,
            target=target or (targets[0] if targets else ""),
            code=last.command if last is not None else "",
            sudo=last.sudo if last is not None else False,
            where="scratch",
            record=last,
        )
        self.add_class("scratch")
        self.targets = targets

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Scratch cell[/b] · any command on any node (ctrl+r runs it)", classes="cell-where"
        )
        with Horizontal(classes="cell-head"):
            yield Select(
                [(t, t) for t in self.targets],
                value=self.target if self.target in self.targets else Select.BLANK,
                prompt="node or role",
                classes="scratch-target",
                compact=True,
            )
            yield Checkbox("sudo", self.sudo, classes="scratch-sudo", compact=True)
            run = Button("▶ Run", classes="cell-run", compact=True)
            run.can_focus = False
            yield run
        yield TextArea(self.code, classes="cell-editor scratch-editor", soft_wrap=False)
        output = Static("", classes="cell-output")
        output.display = False
        yield output

    def _head(self) -> Text:
        return Text("scratch")

    async def action_edit(self) -> None:
        self.query_one(TextArea).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_editing":
            return self.query_one(TextArea).has_focus
        return super().check_action(action, parameters)

    def action_stop_editing(self) -> None:
        self.focus()

    def action_reset(self) -> None:
        return

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.run_or_stop()

    def action_run(self) -> None:
        target = self.query_one(Select).value
        if not isinstance(target, str):
            self.notify("choose a node or role to run on", severity="warning")
            return
        self.target = target
        self.sudo = self.query_one(Checkbox).value
        self.code = self.query_one(TextArea).text.rstrip("\n")
        self.where = f"on {target}" + (" as root" if self.sudo else "")
        super().action_run()

    def start(self) -> None:
        self.original = self.code
        super().start()
        # out of the editor (where `c` would type), so that `c` stops it; `e` edits again
        self.call_after_refresh(self.focus)

    def save(self, record: CellRecord) -> None:
        self.runtime.store.add_scratch(self.runtime.lesson_id, record)

    def on_mount(self) -> None:
        if self.record is not None:
            self._show_output(self._stored_header(self.record), record_text(self.record))
