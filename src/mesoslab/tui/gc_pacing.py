"""When the garbage collector's full passes run in the TUI: in the learner's pauses.

A full pass walks every object the app keeps, and holds the event loop while it does. What
is alive once the first screen is painted lives as long as the app, so it is frozen out of
the passes (``gc.freeze``). An open lesson notebook is not: with the shipped lesson 1 open
that is 70 000-160 000 objects and 60-150 ms a pass, more just after a lesson closed (its
garbage). CPython starts a pass when enough new objects survived, which is while the
learner acts: on a step change (`n`/`p`), on a keystroke.

The pacer raises the automatic trigger fivefold and runs the pass itself in a pause: the app
has had no input for ``IDLE_AFTER`` seconds and made few objects since the last tick (no
young-generation pass in between: not in the middle of building a lesson, say), and
CPython's own rule says a pass is due: at least ``DUE_AFTER`` young-generation passes since
the last full one, and the old generation grown by a quarter. Passes are as frequent as
before, they only land in pauses; under non-stop work the raised trigger still collects.

An open notebook is long-lived too, for as long as it is open: once built it is frozen
as well (``hold``), so a pass at a pause on a step walks only what was made since (with
lesson 1 that took a pass from 90-125 ms to a few ms). When the notebook closes
(``release``), the next pause unfreezes everything, collects the notebook's garbage and
freezes what is left: one pass as long as the pass after a close always was.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_AFTER = 1.0  # seconds without a key or mouse event
DUE_AFTER = 10  # CPython's third threshold: young passes between two full ones
GROWTH = 1.25  # CPython runs a full pass once the survivors grew by a quarter
AUTOMATIC_EVERY = 50  # the raised third threshold: a full pass even under non-stop input


class GcPacer:
    """Freezes what the first screen made, then runs full passes at pauses (``tick``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last_input = clock()
        self.passes = 0  # full passes run at pauses (the benchmark reports them)
        self._baseline = 0  # old-generation objects after the last full pass
        self._full_passes = 0  # CPython's count of full passes when the baseline was taken
        self._young_passes = -1  # young-generation passes since the last full one, last tick
        self._not_due_at: tuple[int, int] | None = None  # (full, young) passes at the last no
        self._thresholds: tuple[int, int, int] | None = None
        self._held = False  # something beyond the first screen is frozen (an open notebook)
        self._release_due = False  # it was let go: unfreeze and collect at the next pause

    def start(self) -> None:
        """Freeze what is alive now; from here on full passes wait for a pause."""
        gc.freeze()
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, AUTOMATIC_EVERY)
        self._take_baseline()

    def hold(self) -> None:
        """What is alive now (a notebook just built) lives until :meth:`release`: freeze it."""
        if self._thresholds is None:
            return
        gc.freeze()
        self._held = True
        self._release_due = False
        self._take_baseline()

    def release(self) -> None:
        """What :meth:`hold` froze may be garbage now: collect it at the next pause."""
        if self._held:
            self._release_due = True

    def stop(self) -> None:
        """CPython's own thresholds back, and nothing frozen."""
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
            gc.unfreeze()

    def input_seen(self) -> None:
        self.last_input = self._clock()

    def _take_baseline(self) -> None:
        self._baseline = len(gc.get_objects(generation=2))
        self._full_passes = gc.get_stats()[2]["collections"]

    def due(self) -> bool:
        # the old generation grows only by a young-generation pass: no pass, no new answer
        when = (gc.get_stats()[2]["collections"], gc.get_count()[2])
        if when[1] < DUE_AFTER or when == self._not_due_at:
            return False
        if when[0] != self._full_passes:  # CPython ran one itself
            self._take_baseline()
        grown = len(gc.get_objects(generation=2)) > max(self._baseline, 1000) * GROWTH
        self._not_due_at = None if grown else when
        return grown

    def tick(self) -> bool:
        """Run a full pass if the app is idle and one is due; True if it ran."""
        young, self._young_passes = self._young_passes, gc.get_count()[2]
        if self._thresholds is None or self._clock() - self.last_input < IDLE_AFTER:
            return False
        if young != self._young_passes:  # still busy
            return False
        if self._release_due:
            gc.unfreeze()  # the notebook's garbage is among the frozen: free it now
            gc.collect()
            gc.freeze()  # what is left lives as long as the app (or the next notebook)
            self._held = self._release_due = False
        elif self.due():
            gc.collect()
        else:
            return False
        self.passes += 1
        self._take_baseline()
        return True
