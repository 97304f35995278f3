"""The mesoslab app: the lab, the lessons as notebooks, help and the command palette.

``run_app`` is what ``mesoslab`` (no arguments) calls; ``make_app`` is the factory the CLI,
the tests and the benchmark share.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from mesoslab.tui.context import LabContext, resolve_context
from mesoslab.tui.dialogs.confirm import ConfirmScreen
from mesoslab.tui.errors import error_parts, short_message
from mesoslab.tui.gc_pacing import GcPacer
from mesoslab.tui.release import release_closed
from mesoslab.tui.screens.base import BaseScreen

if TYPE_CHECKING:
    from mesoslab.lab.doctor import Host
    from mesoslab.ops.classroom.sender import BackgroundSender
    from mesoslab.tui.cells import CellStore
    from mesoslab.tui.screens.lab import LabScreen

DARK, LIGHT = "textual-dark", "textual-light"
_T = TypeVar("_T")


class FreshContextExecutor(ThreadPoolExecutor):
    """The event loop's default executor, running each job in a new, empty context.

    Textual (8.x) runs a thread worker by setting its ``active_worker`` context variable in
    the pool thread's own context, and never resets it. So a finished worker, with the screen
    that started it and every widget on that screen, stayed alive until the same pool thread
    ran another thread worker: a closed lesson (~50 000 objects) outlived its screen, and the
    collector went through it on every full pass while the next lesson was open.
    """

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        return super().submit(contextvars.Context().run, fn, *args, **kwargs)


class MesoslabApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "mesoslab"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("t", "toggle_theme", "Light/dark", show=False),
    ]

    def __init__(
        self,
        context: LabContext,
        *,
        refresh_every: float = 5.0,
        probe_timeout: float = 2.0,
        verify_timeout: float | None = None,
        doctor_host: Host | None = None,
        pace_gc: bool = True,
    ) -> None:
        super().__init__()
        self.context = context
        self.refresh_every = refresh_every  # seconds between health refreshes (0: never)
        self.probe_timeout = probe_timeout  # one service probe of the lab screen
        self.verify_timeout = verify_timeout  # bounds each check's settling (None: lesson's)
        self.doctor_host = doctor_host  # where the first-run doctor looks (tests)
        # off in tests: many apps share one process, and the collector with them
        self.gc_pacer = GcPacer() if pace_gc else None
        self._cells: CellStore | None = None
        self._cells_lock = threading.Lock()
        self._class_sender: BackgroundSender | None = None

    # ------------------------------------------------------------------ screens

    def on_mount(self) -> None:
        self.theme = DARK
        asyncio.get_running_loop().set_default_executor(
            FreshContextExecutor(thread_name_prefix="mesoslab-worker")
        )
        if self.gc_pacer is not None:
            # the collector's full passes wait for the learner's pauses (tui/gc_pacing.py)
            self.call_after_refresh(self.gc_pacer.start)
            self.set_interval(0.5, self.gc_pacer.tick)
        self._start_class_sender()
        if self.context.has_lab:
            from mesoslab.tui.screens.lab import LabScreen

            self.push_screen(LabScreen())
        else:
            from mesoslab.tui.screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen())

    def on_unmount(self) -> None:
        if self.gc_pacer is not None:
            self.gc_pacer.stop()
        if self._class_sender is not None:
            from mesoslab.ops.classroom.emit import set_kicker

            set_kicker(None)
            self._class_sender.stop()

    def _start_class_sender(self) -> None:
        """A learner in a class: results go to the instructor from a background thread."""
        from mesoslab.ops.classroom.membership import load_membership

        if load_membership() is None:
            return
        from mesoslab.ops.classroom.emit import set_kicker
        from mesoslab.ops.classroom.sender import BackgroundSender

        self._class_sender = BackgroundSender()
        set_kicker(self._class_sender.kick)
        self._class_sender.start()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent) and self.gc_pacer is not None:
            self.gc_pacer.input_seen()  # a key or the mouse: no full pass for a while
        await super().on_event(event)

    def lab_screen(self) -> LabScreen | None:
        from mesoslab.tui.screens.lab import LabScreen

        return next((s for s in self.screen_stack if isinstance(s, LabScreen)), None)

    def show_lab(self, *, start_up: bool = False) -> None:
        """Replace the first-run screen by the lab screen (after `init`)."""
        from mesoslab.tui.screens.lab import LabScreen

        self.switch_screen(LabScreen(start_up=start_up))

    def open_lessons(self) -> None:
        from mesoslab.tui.screens.lessons import LessonsScreen

        for screen in self.screen_stack:
            if isinstance(screen, LessonsScreen):
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(LessonsScreen())

    def open_lesson(self, lesson_id: str) -> None:
        from mesoslab.tui.screens.lesson import LessonScreen

        if self.gc_pacer is not None:
            self.gc_pacer.opening()  # what lives now outlasts the notebook (tui/gc_pacing.py)
        self.push_screen(LessonScreen(lesson_id))

    def action_help(self) -> None:
        from mesoslab.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    def screen_closed(self) -> None:
        """A screen was taken apart: let go of what Textual keeps of it (tui/release.py)."""
        release_closed(self)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    # ------------------------------------------------------------------ storage

    def cell_store(self) -> CellStore:
        """The notebook outputs of this lab (in memory when there is no lab)."""
        with self._cells_lock:
            if self._cells is None:
                from mesoslab.tui.cells import CellStore, cells_path_for

                progress = self.context.progress_path()
                self._cells = CellStore(cells_path_for(progress) if progress else None)
            return self._cells

    # ------------------------------------------------------------------ errors

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry messages from the library and Vagrant: never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def show_error(self, exc: BaseException) -> None:
        """A notification with the title and what to do; the full text in a log panel."""
        title, message = error_parts(exc)
        logged = False
        for screen in reversed(self.screen_stack):
            if isinstance(screen, BaseScreen):
                logged = screen.log_error(title, message)
                break
        self.notify(
            short_message(message) if logged else message,
            title=title,
            severity="error",
            timeout=12,
        )

    # ------------------------------------------------------------------ palette

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Every key of this screen", self.action_help)
        yield SystemCommand("Light/dark theme", "Switch the theme", self.action_toggle_theme)
        if self.context.has_lab:
            yield SystemCommand("Lessons", "The lessons and your progress", self.open_lessons)
        if isinstance(screen, BaseScreen):
            for title, help_text, action in screen.palette_commands():
                yield SystemCommand(title, help_text, partial(self.run_action, action, screen))

    # ------------------------------------------------------------------ quitting

    async def action_quit(self) -> None:
        lab = self.lab_screen()
        if lab is None or not lab.busy:
            self.exit()
            return
        if lab.cancellable:
            self.push_screen(
                ConfirmScreen(
                    f"`{lab.op_name}` is running. Stop it and quit?",
                    "mesoslab stops Vagrant and everything it started, waits for it to end, "
                    "then quits. Machines already up stay up; `up` carries on later.",
                    yes="Stop and quit",
                    no="Keep running",
                    danger=True,
                ),
                self._stop_and_quit,
            )
        else:
            self.push_screen(
                ConfirmScreen(
                    f"`{lab.op_name}` is running. Quit when it ends?",
                    "Vagrant cannot be interrupted safely in the middle of it; mesoslab "
                    "quits as soon as it is over.",
                    yes="Quit when done",
                    no="Keep running",
                ),
                self._stop_and_quit,
            )

    def _stop_and_quit(self, yes: bool | None) -> None:
        lab = self.lab_screen()
        if not yes or lab is None:
            return
        lab.cancel_op()
        self.notify(f"stopping `{lab.op_name}`… mesoslab quits when it has ended", timeout=30)
        self.run_worker(self._exit_after(lab), group="quit", exclusive=True)

    async def _exit_after(self, lab: LabScreen) -> None:
        # cancelled, failed or too slow: quit anyway
        with contextlib.suppress(Exception):
            await asyncio.wait_for(lab.op_over(), timeout=120)
        self.exit()


def make_app(
    lab_dir: Path | None = None,
    inventory: str | None = None,
    *,
    context: LabContext | None = None,
    **options: Any,
) -> MesoslabApp:
    """The app for the lab in ``lab_dir`` (or around here) or the cluster of ``inventory``;
    or, given ``context``, for that lab as it is (already resolved: nothing is looked up).
    ``options`` are MesoslabApp's (refresh_every, probe_timeout, verify_timeout, …).

    Raises MesoslabError when the inventory or lab.toml named cannot be read.
    """
    if context is None:
        context = resolve_context(lab_dir, inventory)
    elif lab_dir is not None or inventory is not None:
        raise TypeError("make_app takes a context or a lab_dir/inventory to find one, not both")
    return MesoslabApp(context, **options)


def run_app(
    lab_dir: Path | None = None,
    inventory: str | None = None,
    *,
    verify_timeout: float | None = None,
) -> None:
    """``mesoslab`` with no command: run the app until the learner quits.

    ``lab_dir``: a lab folder (without a lab.toml: the first-run screen offers to make one
    there); ``inventory``: a cluster's inventory file (shown without machine actions);
    neither: the lab or inventory around the current folder, as `mesoslab status` finds it.
    ``verify_timeout`` bounds each check's settling (default: the lesson's own timeouts).
    Raises MesoslabError, before the screen is taken over, when a named or found inventory
    or lab.toml cannot be read.
    """
    make_app(lab_dir, inventory, verify_timeout=verify_timeout).run()
