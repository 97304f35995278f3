"""When the garbage collector's full passes run in the TUI: in the learner's pauses, and
over as little as can be.

A full pass walks every object the collector tracks and holds the event loop while it
does. CPython starts one when enough new objects survived, which is while the learner acts:
on a step change (`n`/`p`), on a keystroke. So:

- **What the first screen made is frozen** once painted (``gc.freeze``): it lives as long
  as the app, and no pass walks it again.
- **Passes wait for a pause.** The pacer raises the automatic trigger fivefold and runs the
  pass itself once the app has had no input for ``IDLE_AFTER`` seconds and made few objects
  since the last tick (no young-generation pass in between: not in the middle of building a
  lesson, say), and CPython's own rule says a pass is due: at least ``DUE_AFTER``
  young-generation passes since the last full one, and the old generation grown by a
  quarter. Under non-stop work the raised trigger still collects.
- **An open lesson notebook** (``hold`` .. ``release``) is most of what a pass would walk
  (with the shipped lesson 1 and its steps visited, 100 000 objects) and it is alive: while
  it is open the pacer runs no pass and the automatic trigger is raised tenfold more (a pass
  then frees a few objects of its step changes and walks the whole notebook). Once it
  closed, the next pause collects it: a pass over what is not frozen, the notebook and what
  came since, not the app's 100 000 frozen objects; what is left is frozen. What lived
  before the notebook (the lessons list, say) is frozen as it starts to be built
  (``opening``), so that pass walks the notebook alone: 30 000 objects fewer the first time.
- **Frozen garbage.** A pass never frees what is frozen, and a little of it dies (what a
  screen showed, replaced): some hundred objects per notebook. Once the frozen objects have
  doubled since the last time, a long pause (``DEEP_IDLE_AFTER`` without input) unfreezes
  everything for one pass, the one that walks the whole app.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_AFTER = 1.0  # seconds without a key or mouse event
DUE_AFTER = 10  # CPython's third threshold: young passes between two full ones
GROWTH = 1.25  # CPython runs a full pass once the survivors grew by a quarter
AUTOMATIC_EVERY = 50  # the raised third threshold: a full pass even under non-stop input
HELD_AUTOMATIC_EVERY = 500  # the same while a notebook is open (a pass would walk it all)
DEEP_IDLE_AFTER = 10.0  # seconds without input before a pass over the frozen objects too
DEEP_GROWTH = 2.0  # ... once there are twice as many frozen objects as after the last one


class GcPacer:
    """Freezes what the first screen made, then runs full passes at pauses (``tick``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last_input = clock()
        self.passes = 0  # full passes run at pauses (the benchmark reports them)
        self.deep_passes = 0  # of those, the ones over the frozen objects too
        self._baseline = 0  # old-generation objects after the last full pass
        self._full_passes = 0  # CPython's count of full passes when the baseline was taken
        self._young_passes = -1  # young-generation passes since the last full one, last tick
        self._not_due_at: tuple[int, int] | None = None  # (full, young) passes at the last no
        self._thresholds: tuple[int, int, int] | None = None
        self._held = False  # a notebook is open
        self._release_due = False  # it closed: collect it at the next pause
        self._frozen_after_deep = 0  # frozen objects after the last deep pass (or the start)

    def start(self) -> None:
        """Freeze what is alive now; from here on full passes wait for a pause."""
        gc.freeze()
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
        self._automatic(AUTOMATIC_EVERY)
        self._frozen_after_deep = gc.get_freeze_count()
        self._take_baseline()

    def opening(self) -> None:
        """A notebook is about to be built: what lives now outlasts it (freezing is a
        list splice, not a walk)."""
        if self._thresholds is not None and not self._held:
            gc.freeze()

    def hold(self) -> None:
        """A notebook was just built: it lives until :meth:`release`."""
        if self._thresholds is None:
            return
        self._held = True
        self._release_due = False
        self._automatic(HELD_AUTOMATIC_EVERY)
        self._take_baseline()

    def release(self) -> None:
        """What was held is garbage now: collect it at the next pause."""
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

    def _automatic(self, every: int) -> None:
        assert self._thresholds is not None
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, every)

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
        if self._held:  # alive: its garbage goes with it when it closes
            return False
        grown = len(gc.get_objects(generation=2)) > max(self._baseline, 1000) * GROWTH
        self._not_due_at = None if grown else when
        return grown

    def deep_due(self, idle: float) -> bool:
        """A pass over the frozen objects too: in a long pause, once they doubled."""
        if idle < DEEP_IDLE_AFTER or self._held:
            return False  # before counting: get_freeze_count walks every frozen object
        return gc.get_freeze_count() > max(self._frozen_after_deep, 1000) * DEEP_GROWTH

    def tick(self) -> bool:
        """Run a full pass if the app is idle and one is due; True if it ran."""
        young, self._young_passes = self._young_passes, gc.get_count()[2]
        idle = self._clock() - self.last_input
        if self._thresholds is None or idle < IDLE_AFTER:
            return False
        if young != self._young_passes:  # still busy
            return False
        if self._release_due:
            gc.collect()  # the closed notebook: it is not frozen, most of the rest is
            gc.freeze()  # what is left lives as long as the app, likely
            self._held = self._release_due = False
            self._automatic(AUTOMATIC_EVERY)
        elif self.deep_due(idle):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._frozen_after_deep = gc.get_freeze_count()
            self.deep_passes += 1
        elif self.due():
            gc.collect()
        else:
            return False
        self.passes += 1
        self._take_baseline()
        return True
