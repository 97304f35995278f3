"""SIGTERM and SIGHUP stop long work the way Ctrl-C does.

`timeout 420 mesoslab up`, CI, systemd or a closed terminal end a process with SIGTERM or
SIGHUP, not SIGINT. Python's default for those is to die at once, which would leave
`vagrant up` running in its own process group and holding the lab's Vagrant lock. Inside
:func:`stop_signals_interrupt` the first such signal raises KeyboardInterrupt in the main
thread instead, so the code that already handles Ctrl-C stops Vagrant's whole group; later
ones are ignored while that clean-up runs (a second Ctrl-C still works as before).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@dataclass
class StopSignal:
    """Which signal stopped the work, if one did (``None`` for Ctrl-C or none)."""

    signum: int | None = None

    def exit_status(self, default: int = 130) -> int:
        """The shell's convention: 128 + the signal's number (130 for Ctrl-C)."""
        return default if self.signum is None else 128 + self.signum


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[StopSignal]:
    """Within the block, SIGTERM/SIGHUP raise KeyboardInterrupt once (main thread only)."""
    received = StopSignal()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if received.signum is not None:
            return  # already stopping: let the clean-up finish
        received.signum = signum
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def interrupt_sets(event: threading.Event) -> Iterator[None]:
    """Within the block, the first Ctrl-C sets ``event`` instead of raising (the work then
    stops at its next look at the event and reports what it has); a second Ctrl-C raises
    KeyboardInterrupt as usual. Main thread only; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
