"""The class as a table: one row per learner, one column per lesson step, ✔ ✘ – in colour,
the step each learner is on underlined, and a last row of how many finished each step."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from mesoslab.ops.classroom.view import ClassView

MARKS = {
    "pass": ("✔", "bold white on dark_green"),
    "fail": ("✘", "bold white on red3"),
    "skip": ("–", "white on grey42"),
}


class ClassGrid(DataTable[Text]):
    DEFAULT_CSS = "ClassGrid { height: 1fr; }"

    def __init__(self) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row")
        self._columns: list[tuple[str, int]] = []

    def show(self, view: ClassView) -> None:
        columns = [(c.id, n) for c in view.lessons for n, _ in c.steps]
        if columns != self._columns:
            self.clear(columns=True)
            self.add_column(Text("learner", style="bold"), key="learner")
            for lesson, number in columns:
                self.add_column(Text(f"{lesson.split('-')[1]}.{number}"), key=f"{lesson}:{number}")
            self._columns = columns
        else:
            self.clear()
        stuck = {(row.name, lesson, number) for row, lesson, number, _ in view.stuck()}
        for row in view.learners:
            cells = [
                Text(
                    row.name + (" (left)" if row.left else ""), style="dim" if row.left else "bold"
                )
            ]
            for lesson, number in columns:
                cell = row.steps.get(lesson, {}).get(number)
                mark, style = MARKS.get(cell.status, ("", "")) if cell else ("·", "dim")
                if (row.name, lesson, number) in stuck:
                    mark, style = "!", "bold white on dark_red blink"
                if row.lesson == lesson and row.step == number:
                    style += " underline"
                cells.append(Text(f" {mark} ", style=style))
            self.add_row(*cells, key=row.name)
        done = view.completion()
        present = sum(not r.left for r in view.learners)
        self.add_row(
            Text("done", style="bold italic"),
            *[
                Text(f"{done[lesson][number]}/{present}", style="italic")
                for lesson, number in columns
            ],
            key="__done__",
        )
