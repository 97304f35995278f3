"""Help (``?``): what the screen underneath is for, and every key it answers to."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Markdown, Static

from mesoslab.tui.screens.base import BaseScreen
from mesoslab.tui.widgets.footer import KeyFooter

ABOUT = {
    "LabScreen": (
        "## The lab\n\n"
        "One row per node: its address, its machine state (for a lab made by `mesoslab init`) "
        "and, for each role, the live health of its service: the Mesos master (leader or "
        "standby), the agent (registered with a master), ZooKeeper (its mode), Marathon and "
        "Chronos. Health refreshes in the background every few seconds.\n\n"
        "`up`, `provision` and the other machine actions stream Vagrant's and the nodes' output "
        "into the output panel, each line prefixed with its node. Halt, destroy and restoring a "
        "checkpoint ask first. `ssh` opens a shell on the selected node; leaving the shell "
        "brings you back."
    ),
    "LessonsScreen": (
        "## Lessons\n\n"
        "Every lesson with your progress on this lab: the steps that passed verify out of all "
        "its steps. Open one to read it as a notebook."
    ),
    "LessonScreen": (
        "## A lesson notebook\n\n"
        "The lesson is shown step by step. Commands are **cells**: each says on which nodes it "
        "runs. Run shows you the exact command and asks once; the output of every node streams "
        "in under the cell and is kept, so reopening the lesson shows what ran and what came "
        "back. A cell can be edited before it runs. The scratch cell at the end runs any "
        "command on any node.\n\n"
        "**Verify** runs the step's checks against the lab, all at once: each goes from "
        "pending to pass or fail, with what was expected, what was observed and a hint. If "
        "the hint is not enough, the solution shows the step's commands. **Catch up** (C) "
        "applies the previous lessons' solutions to your lab; the lesson says when an earlier "
        "lesson is not done there yet. n and p move between the steps, the step's first cell "
        "in focus."
    ),
    "FirstRunScreen": (
        "## No lab yet\n\n"
        "Choose the layout (preset), how the machines run (provider) and what runs on them "
        "(platform). The suggestions come from `mesoslab doctor`: when neither VirtualBox nor "
        "KVM works on this machine, LXC with the rehearsal platform still runs a real lab "
        "(real ZooKeeper, systemd and SSH; emulated Mesos). Creating the lab writes lab.toml "
        "and the Vagrantfile, then `up` builds it."
    ),
}

CELL_KEYS = [
    ("r / ctrl+r", "run the focused cell, or the current step's (asks first)"),
    ("e", "edit the focused cell; Escape when done"),
    ("u", "reset an edited cell to the lesson's command"),
    ("c", "stop the running cell (its output so far is kept); Escape stops a catch up"),
    ("tab", "move between the steps panel and the cells"),
]
MOUSE = (
    "The mouse works too (click a row, a step or a cell's Run button), but every action has a key."
)
GLOBAL_KEYS = [
    ("?", "this help (again to close)"),
    ("ctrl+p", "command palette: every action by name"),
    ("t", "switch between the dark and light theme"),
    ("q / ctrl+q", "quit (asks first while `up` runs)"),
]


def key_rows(screen: Screen[Any], key_display: Any) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for binding in Binding.make_bindings(getattr(type(screen), "BINDINGS", [])):
        action = binding.action.split("(", 1)[0]
        if binding.description and screen.check_action(action, ()) is not False:
            rows.append((key_display(binding), binding.tooltip or binding.description))
    if type(screen).__name__ == "LessonScreen":
        rows += CELL_KEYS
    return rows


def _keys_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, expand=True)
    table.add_column("key", style="bold", no_wrap=True, width=12)
    table.add_column("what it does", ratio=1)
    for key, what in rows:
        table.add_row(key, what)
    return table


class HelpScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__(classes="help-screen")
        self.under = under

    def compose(self) -> ComposeResult:
        name = type(self.under).__name__
        yield Header(show_clock=False)
        with VerticalScroll(id="help-body"):
            yield Static(
                _keys_table("Keys on this screen", key_rows(self.under, self.app.get_key_display)),
                id="help-keys",
            )
            yield Static(_keys_table("Everywhere", GLOBAL_KEYS), id="help-global")
            yield Markdown(ABOUT.get(name, "## mesoslab") + "\n\n" + MOUSE, id="help-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "help"
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.app.pop_screen()
