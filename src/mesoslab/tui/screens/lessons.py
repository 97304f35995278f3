"""The lessons, each with the learner's progress on this lab (steps passed / total)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from mesoslab.tui.screens.base import BaseScreen
from mesoslab.tui.widgets.footer import KeyFooter


@dataclass(frozen=True)
class LessonRow:
    id: str
    title: str
    summary: str
    preset: str
    steps: int  # the steps that make it done (a drill step is not one)
    passed: int | None  # None: no lab, so no progress
    problem: str = ""  # why the lesson cannot be loaded
    drills: int = 0  # drill steps, on top of ``steps``
    skipped: int = 0  # steps whose checks all skipped: not passed, so not done


@dataclass
class LessonsListed(Message, bubble=False):
    """The lessons were read, with the progress; ``warning`` is about the progress file."""

    rows: list[LessonRow]
    warning: str | None


def lesson_rows(progress_path: Path | None) -> tuple[list[LessonRow], str | None]:
    """Every lesson with its progress; the second item is a warning about the progress file."""
    from mesoslab.lessons.catalog import lesson_files
    from mesoslab.lessons.loader import load_lesson

    store = None
    if progress_path is not None:
        from mesoslab.progress import ProgressStore

        store = ProgressStore(progress_path)
    rows: list[LessonRow] = []
    for entry in lesson_files():
        result = load_lesson(entry.path)
        lesson = result.lesson
        if lesson is None or result.problems:
            first = result.problems[0].message if result.problems else "cannot load"
            title = lesson.title if lesson is not None else entry.id
            rows.append(LessonRow(entry.id, title, "", "", 0, None, first))
            continue
        passed = None
        skipped = 0
        if store is not None:
            passed = len(store.passed_steps(lesson.id) & lesson.counted_steps)
            skipped = len(store.skipped_steps(lesson.id) & lesson.counted_steps)
        rows.append(
            LessonRow(
                lesson.id,
                lesson.title,
                lesson.summary,
                lesson.preset,
                len(lesson.counted_steps),
                passed,
                drills=len(lesson.drill_steps),
                skipped=skipped,
            )
        )
    return rows, store.warning if store is not None else None


class LessonsScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", priority=True),
        Binding("escape", "back", "Back"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="lessons")
        self.rows: list[LessonRow] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("Lessons", id="lessons-title")
        table: DataTable[Text | str] = DataTable(id="lesson-table", cursor_type="row")
        yield table
        yield Static("", id="lesson-summary")
        yield KeyFooter()

    def on_mount(self) -> None:
        ctx = self.mapp.context
        self.sub_title = ctx.label
        what = "your progress on this lab" if ctx.has_lab else "no lab yet, so no progress"
        self.query_one("#lessons-title", Static).update(f"[b]Lessons[/b] · {what}")
        table = self.query_one(DataTable)
        for key, label in (("id", "lesson"), ("title", "title"), ("steps", "done")):
            table.add_column(label, key=key)
        table.loading = True
        table.focus()
        self.load()

    def on_screen_resume(self) -> None:
        if self.rows:  # back from a lesson: its progress may have changed
            self.load()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Open the selected lesson", "Read it as a notebook and verify it", "open"),
            ("Reload the lessons", "Read the lesson files and progress again", "reload"),
        ]

    @work(thread=True, exclusive=True, group="lessons", exit_on_error=False)
    def load(self) -> None:
        self.post_message(LessonsListed(*lesson_rows(self.mapp.context.progress_path())))

    def on_lessons_listed(self, message: LessonsListed) -> None:
        rows, warning = message.rows, message.warning
        self.rows = rows
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for row in rows:
            if row.problem:
                done = Text("cannot load", style="red")
            elif row.passed is None:
                done = Text(f"{row.steps} steps", style="dim")
            elif row.passed == row.steps:
                done = Text(f"{row.passed}/{row.steps} ✔", style="green")
            else:
                done = Text(f"{row.passed}/{row.steps}", style="yellow" if row.passed else "")
            if row.skipped and not row.problem:
                done.append(f" ({row.skipped} skipped)", style="yellow")
            table.add_row(row.id, row.title, done, key=row.id)
        table.loading = False
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        if warning:
            self.notify(warning, title="Progress file", severity="warning", timeout=12)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.rows):
            row = self.rows[index]
            text = Text(row.problem, "red") if row.problem else Text(row.summary)
            if row.preset:
                plural = "s" if row.drills > 1 else ""
                drills = f" (+ {row.drills} drill step{plural}, not counted)" if row.drills else ""
                text.append(f"\nneeds preset {row.preset} · {row.steps} steps{drills}", "dim")
            self.query_one("#lesson-summary", Static).update(text)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return
        row = self.rows[table.cursor_row]
        if row.problem:
            self.notify(
                f"{row.id} cannot be loaded: {row.problem} (`mesoslab lint` lists every problem)",
                severity="error",
            )
            return
        self.mapp.open_lesson(row.id)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:  # the app's blank default screen is at the bottom
            self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()
