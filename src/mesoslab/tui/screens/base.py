"""What every screen of the app shares: worker errors become messages, never tracebacks; a
closing screen lets go of its rendered lines at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from mesoslab.tui.release import drop_rendered_lines

if TYPE_CHECKING:
    from mesoslab.tui.app import MesoslabApp


class BaseScreen(Screen[None]):
    _widgets: tuple[DOMNode, ...] = ()  # the screen's widgets when it was last suspended

    @property
    def mapp(self) -> MesoslabApp:
        return cast("MesoslabApp", self.app)

    def on_screen_suspend(self) -> None:
        # Textual suspends a screen before it takes it apart (and when one is pushed over
        # it): by its unmount the widgets below are detached and can no longer be walked.
        self._widgets = tuple(self.walk_children(with_self=True))

    def on_unmount(self) -> None:
        drop_rendered_lines(self._widgets)  # freed now, not in a later pass (tui/release.py)
        self._widgets = ()
        self.mapp.call_later(self.mapp.screen_closed)

    def on_screen_resume(self) -> None:
        self._widgets = ()

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
