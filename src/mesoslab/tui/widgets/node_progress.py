"""A progress bar per node while the lab is brought up or provisioned."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar


class NodeProgressRow(Horizontal):
    def __init__(self, node: str) -> None:
        super().__init__(classes="progress-row")
        self.node = node
        self.failed = False

    def compose(self) -> ComposeResult:
        yield Label(self.node, classes="progress-node")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False)
        yield Label("waiting", classes="progress-step")

    def set_step(self, index: int, total: int, title: str) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=max(0, index - 1))
        self.query_one(".progress-step", Label).update(f"{index}/{total} {title}")

    def step_done(self, ok: bool, title: str, message: str = "") -> None:
        bar = self.query_one(ProgressBar)
        bar.advance(1)
        if not ok:
            self.failed = True
            self.add_class("-failed")
            self.query_one(".progress-step", Label).update(f"✘ {title}: {message}"[:200])

    def set_text(self, text: str) -> None:
        self.query_one(".progress-step", Label).update(text)

    def finish(self, ok: bool) -> None:
        bar = self.query_one(ProgressBar)
        if bar.total is None:
            bar.update(total=1, progress=1 if ok else 0)
        elif ok:
            bar.update(progress=bar.total)
        if not self.failed:
            self.set_text("✔ done" if ok else "stopped")


class NodeProgress(Vertical):
    """Rows appear when a long operation starts; :meth:`finish` leaves the result shown."""

    def rows(self) -> dict[str, NodeProgressRow]:
        return {row.node: row for row in self.query(NodeProgressRow)}

    def start(self, nodes: list[str]) -> None:
        self.remove_children()
        self.mount_all([NodeProgressRow(n) for n in nodes])
        self.display = True

    def phase(self, text: str) -> None:
        for row in self.rows().values():
            if not row.failed:
                row.set_text(text)

    def step_started(self, node: str, index: int, total: int, title: str) -> None:
        row = self.rows().get(node)
        if row is not None:
            row.set_step(index, total, title)

    def step_done(self, node: str, ok: bool, title: str, message: str = "") -> None:
        row = self.rows().get(node)
        if row is not None:
            row.step_done(ok, title, message)

    def finish(self, ok: bool) -> None:
        for row in self.rows().values():
            row.finish(ok)
