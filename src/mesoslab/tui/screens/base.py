"""What every screen of the app shares: worker errors become messages, never tracebacks."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from mesoslab.tui.app import MesoslabApp


class BaseScreen(Screen[None]):
    @property
    def mapp(self) -> MesoslabApp:
        return cast("MesoslabApp", self.app)

    def on_unmount(self) -> None:
        self.mapp.call_later(self.mapp.screen_closed)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that raised (a bug, or an error its code did not expect) is reported."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.mapp.show_error(event.worker.error)

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) entries this screen adds to the command palette."""
        return []

    def log_error(self, title: str, message: str) -> bool:
        """Show an error's full text in the screen's log panel; False when it has none."""
        return False
