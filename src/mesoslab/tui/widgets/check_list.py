"""The checks of one lesson step: what they look at, then pending → pass/fail live with
expected vs observed and the hint."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from mesoslab.checks.result import CheckResult, Status, Waiting
from mesoslab.checks.spec import CheckSpec
from mesoslab.tui.notebook import describe_check

MARKS = {Status.PASS: ("✔", "green"), Status.FAIL: ("✘", "red"), Status.SKIP: ("–", "yellow")}


def _row(mark: Text, body: RenderableType) -> Table:
    """A mark and a body whose wrapped lines stay indented under it."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(mark, body)
    return grid


def result_row(result: CheckResult) -> RenderableType:
    """One settled check, as a learner compares it: summary, expected, observed, hint."""
    mark, style = MARKS[result.status]
    head = Text()
    head.append(f"{result.kind} ", style="bold")
    head.append(f"[{result.node}] ", style="dim")
    head.append(result.summary, style=style if result.status is Status.FAIL else "")
    if result.status is not Status.FAIL:
        return _row(Text(mark, style), head)
    details = Table.grid(padding=(0, 1), expand=True)
    details.add_column(width=8, no_wrap=True, style="bold")
    details.add_column(ratio=1)
    for label, value, value_style in (
        ("expected", result.expected, "green"),
        ("observed", result.observed, "red"),
        ("hint", result.hint, "italic"),
    ):
        if value:
            details.add_row(label, Text(value, style=value_style))
    return _row(Text(mark, style), Group(head, details))


def pending_row(kind: str, label: str, waiting: Waiting | None = None) -> RenderableType:
    """A check not settled yet: "checking", then what it saw last and the time left."""
    doing = waiting.line() if waiting is not None else "checking"
    return _row(
        Text("…", "yellow"), Text.assemble((f"{kind} ", "bold"), (f"[{label}] ", "dim"), doing)
    )


def spec_row(spec: CheckSpec) -> RenderableType:
    return _row(Text("·", "dim"), Text(describe_check(spec)))


class CheckList(Vertical):
    """Shows a step's check specs, then a verify's rows as they settle."""

    def __init__(self, step: int, specs: tuple[CheckSpec, ...], last: list[CheckResult]) -> None:
        super().__init__(classes="checks", id=f"checks-{step}")
        self.step = step
        self.specs = specs
        self.last = last
        self.rows: dict[int, RenderableType] = {}  # plan index -> row
        self.order: list[int] = []
        self.results: dict[int, CheckResult] = {}
        self.pending: dict[int, tuple[str, str]] = {}  # plan index -> (kind, label)
        self.waiting: dict[int, Waiting] = {}
        self._ticker: Timer | None = None
        self.state = "idle"  # idle | stored | running | done

    def compose(self) -> ComposeResult:
        yield Static("", classes="checks-title")
        yield Static("", classes="checks-body")

    def on_mount(self) -> None:
        if self.last:
            self._show_results(self.last, stored=True)
        else:
            self._title("Checks · not verified yet · v verifies this step", "")
            rows = [spec_row(s) for s in self.specs]
            self.query_one(".checks-body", Static).update(
                Group(*rows) if rows else Text("(no checks)", "dim")
            )

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results.values() if r.status is Status.FAIL]

    def _title(self, text: str, css: str) -> None:
        title = self.query_one(".checks-title", Static)
        title.update(text)
        self.set_class(css == "fail", "-failed")
        self.set_class(css == "pass", "-passed")

    def start(self, rows: list[tuple[int, str, str]]) -> None:
        """A verify began: ``rows`` are (plan index, kind, node label) of this step."""
        self.state = "running"
        self.order = [index for index, _, _ in rows]
        self.pending = {index: (kind, label) for index, kind, label in rows}
        self.rows = {index: pending_row(kind, label) for index, kind, label in rows}
        self.results = {}
        self.waiting = {}
        self._render_rows()

    def set_waiting(self, index: int, waiting: Waiting) -> None:
        """A check still settling saw this; its row says so, and its time left ticks."""
        if index not in self.pending or index in self.results:
            return
        self.waiting[index] = waiting
        self.rows[index] = pending_row(*self.pending[index], waiting)
        self._render_rows()
        if self._ticker is None:
            self._ticker = self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self.state != "running":
            self._stop_ticker()
            return
        for index, waiting in self.waiting.items():
            if index not in self.results:
                self.rows[index] = pending_row(*self.pending[index], waiting)
        self._render_rows()

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def set_result(self, index: int, result: CheckResult) -> None:
        if index not in self.rows:
            return
        self.rows[index] = result_row(result)
        self.results[index] = result
        self._render_rows()

    def finish(self, results: list[CheckResult]) -> None:
        """The verify's final word on this step (includes a drill step's skip)."""
        self._show_results(results, stored=False)

    def _show_results(self, results: list[CheckResult], *, stored: bool) -> None:
        self._stop_ticker()
        self.state = "stored" if stored else "done"
        self.order = list(range(len(results)))
        self.rows = {i: result_row(r) for i, r in enumerate(results)}
        self.results = dict(enumerate(results))
        self._render_rows(stored=stored)

    def _render_rows(self, *, stored: bool = False) -> None:
        settled = len(self.results)
        total = len(self.order)
        failed = len(self.failed)
        if self.state == "running":
            self._title(f"Checks · verifying… {settled}/{total} settled · Escape stops waiting", "")
        elif failed:
            prefix = "last verify: " if stored else ""
            self._title(
                f"Checks · {prefix}✘ {failed} of {total} failed · "
                "read the hint; s shows the solution",
                "fail",
            )
        elif total:
            prefix = "last verify: " if stored else ""
            self._title(f"Checks · {prefix}✔ passed ({total} checked)", "pass")
        self.query_one(".checks-body", Static).update(Group(*(self.rows[i] for i in self.order)))
