"""The instructor's app: `mesoslab class` alone opens :class:`ClassScreen` on the class
database (a separate small app: the instructor needs no lab of their own)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from mesoslab.tui.screens.classroom import ClassScreen


class ClassApp(App[None]):
    TITLE = "mesoslab class"

    def __init__(self, db: Path, *, refresh: float = 1.0) -> None:
        super().__init__()
        self.db = db
        self.refresh_every = refresh

    def on_mount(self) -> None:
        self.push_screen(ClassScreen(self.db, refresh=self.refresh_every))


def run_class_app(db: Path, *, refresh: float = 1.0) -> None:
    ClassApp(db, refresh=refresh).run()
