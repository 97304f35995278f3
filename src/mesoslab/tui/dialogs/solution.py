"""The second level of help after a failed check: the commands that do the step."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class SolutionScreen(ModalScreen[bool]):
    """Dismisses True to go to the step's first cell, False to just close."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,g", "go", "Go to the cells", show=False),
        Binding("escape,s,q", "close", "Close", show=False),
    ]

    def __init__(self, title: str, commands: list[tuple[str, str, str]]) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.commands = commands  # (where, nodes, code)

    def compose(self) -> ComposeResult:
        text = Text()
        if not self.commands:
            text.append(
                "This step has no commands to run on this platform: its prose says what to do.",
                style="italic",
            )
        for index, (where, nodes, code) in enumerate(self.commands):
            if index:
                text.append("\n\n")
            text.append(f"$ {where} → {nodes}\n", style="bold")
            text.append(code.rstrip("\n"))
        with Vertical(id="dialog"):
            yield Static(f"Solution · {self.title_text}", id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(text)
            yield Static(
                "These are the step's cells. Enter goes to the first one (r runs it) · "
                "Escape closes",
                classes="dim",
            )

    def action_go(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
