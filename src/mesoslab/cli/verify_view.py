"""Live terminal view of a running `mesoslab verify`: every check pending → pass/fail as it
settles (rich), and while it waits, what it saw last and how long it may still wait.
Imported only when a text verify runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesoslab.checks.result import CheckResult, Status, Waiting
from mesoslab.checks.runner import PlannedCheck
from mesoslab.report import MARKS, result_lines

if TYPE_CHECKING:
    from rich.console import Console

_STYLES = {Status.PASS: "green", Status.FAIL: "red", Status.SKIP: "yellow"}


class LiveVerifyView:
    """Collects results from worker threads and draws them (rich Live on a terminal;
    one plain line per settled check otherwise)."""

    def __init__(
        self, console: Console, planned: list[PlannedCheck], titles: dict[int, str], header: str
    ) -> None:
        self.console = console
        self.planned = planned
        self.titles = titles
        self.header = header
        self.results: dict[int, CheckResult] = {}
        self.waiting: dict[int, Waiting] = {}
        self._printed: dict[int, str] = {}  # without a terminal: the last observation shown
        self._lock = threading.Lock()
        self._live: Any = None

    def on_result(self, index: int, result: CheckResult) -> None:
        with self._lock:
            self.results[index] = result
            if self._live is None:
                step = self.planned[index].step
                for line in result_lines(result):
                    self.console.print(f"[step {step}]{line}", markup=False, highlight=False)

    def on_waiting(self, index: int, waiting: Waiting) -> None:
        """A check that has not settled yet saw this (from its worker thread)."""
        with self._lock:
            self.waiting[index] = waiting
            if self._live is not None or index in self.results:
                return  # the live view redraws itself (the time left ticks)
            seen = waiting.observation.observed or waiting.observation.summary
            if self._printed.get(index) == seen:
                return  # a log gets a line when what the check sees changes, not per attempt
            self._printed[index] = seen
            pc = self.planned[index]
            self.console.print(
                f"[step {pc.step}]  … {pc.kind.name} [{pc.label}] {waiting.line()}",
                markup=False,
                highlight=False,
                soft_wrap=True,  # one line per observation, however narrow the log
            )

    def run(self, work: Callable[[Callable[[int, CheckResult], None]], Any]) -> Any:
        if not self.console.is_terminal:
            self.console.print(self.header, markup=False)
            return work(self.on_result)
        from rich.live import Live

        with Live(
            console=self.console,
            refresh_per_second=4,
            transient=True,
            get_renderable=self._locked_render,  # redrawn on every refresh: time left ticks
        ) as live:
            with self._lock:
                self._live = live
            try:
                return work(self.on_result)
            finally:
                with self._lock:
                    self._live = None

    def _locked_render(self) -> Any:
        with self._lock:
            return self._render()

    def _render(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        lines: list[Any] = [Text(self.header, style="bold")]
        current = None
        for index, pc in enumerate(self.planned):
            if pc.step != current:
                current = pc.step
                lines.append(
                    Text(f"Step {pc.step}: {self.titles.get(pc.step, '')}", style="bold cyan")
                )
            result = self.results.get(index)
            if result is None:
                waiting = self.waiting.get(index)
                doing = waiting.line() if waiting is not None else "checking"
                lines.append(Text(f"  … {pc.kind.name} [{pc.label}] {doing}", style="dim"))
                continue
            style = _STYLES[result.status]
            lines.append(
                Text(
                    f"  {MARKS[result.status]} {result.kind} [{result.node}] {result.summary}",
                    style=style,
                )
            )
        done = len(self.results)
        lines.append(
            Text(
                f"{done}/{len(self.planned)} checks settled · Ctrl-C stops waiting and shows "
                "what each check saw last",
                style="dim",
            )
        )
        return Group(*lines)
