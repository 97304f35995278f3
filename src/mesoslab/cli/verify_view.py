"""Live terminal view of a running `mesoslab verify`: every check pending → pass/fail as it
settles (rich). Imported only when a text verify runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesoslab.checks.result import CheckResult, Status
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
        self._lock = threading.Lock()
        self._live: Any = None

    def on_result(self, index: int, result: CheckResult) -> None:
        with self._lock:
            self.results[index] = result
            if self._live is not None:
                self._live.update(self._render())
            else:
                step = self.planned[index].step
                for line in result_lines(result):
                    self.console.print(f"[step {step}]{line}", markup=False, highlight=False)

    def run(self, work: Callable[[Callable[[int, CheckResult], None]], Any]) -> Any:
        if not self.console.is_terminal:
            self.console.print(self.header, markup=False)
            return work(self.on_result)
        from rich.live import Live

        with Live(
            self._render(), console=self.console, refresh_per_second=8, transient=True
        ) as live:
            with self._lock:
                self._live = live
            try:
                return work(self.on_result)
            finally:
                with self._lock:
                    self._live = None

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
                lines.append(Text(f"  … {pc.kind.name} [{pc.label}] checking", style="dim"))
                continue
            style = _STYLES[result.status]
            lines.append(
                Text(
                    f"  {MARKS[result.status]} {result.kind} [{result.node}] {result.summary}",
                    style=style,
                )
            )
        done = len(self.results)
        lines.append(Text(f"{done}/{len(self.planned)} checks settled", style="dim"))
        return Group(*lines)
