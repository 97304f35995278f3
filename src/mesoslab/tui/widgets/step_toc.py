"""The table of contents of a lesson: its steps, each with its verify state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

STATE_MARKS = {
    "passed": ("✔", "green"),
    "failed": ("✘", "red"),
    "skipped": ("–", "yellow"),  # every check skipped: not done
    "": ("·", "dim"),
}


class StepToc(OptionList):
    """One option per step (id ``step-N``); selecting one jumps to it."""

    def __init__(self, steps: list[tuple[int, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps = steps
        self.states: dict[int, str] = {}

    def on_mount(self) -> None:
        self.border_title = "steps"
        self.rebuild()

    def prompt(self, number: int, title: str) -> Text:
        mark, style = STATE_MARKS[self.states.get(number, "")]
        return Text.assemble((f"{mark} ", style), (f"{number} ", "bold"), title)

    def rebuild(self) -> None:
        keep = self.highlighted
        self.clear_options()
        self.add_options([Option(self.prompt(n, title), id=f"step-{n}") for n, title in self.steps])
        if keep is not None:
            self.highlighted = keep

    def set_states(self, states: dict[int, str]) -> None:
        self.states = dict(states)
        self.rebuild()

    def show_current(self, number: int) -> None:
        for index, (n, _) in enumerate(self.steps):
            if n == number:
                self.highlighted = index
