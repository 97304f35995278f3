"""The TUI's garbage-collector pacing (tui/gc_pacing.py), on the real collector."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.tui.gc_pacing import (
    AUTOMATIC_EVERY,
    DEEP_GROWTH,
    DEEP_IDLE_AFTER,
    HELD_AUTOMATIC_EVERY,
    IDLE_AFTER,
    GcPacer,
)
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster
from tests.support.tui import cluster, make_test_app, wait_for

__all__ = ["cluster"]  # a fixture used by name


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cycle:
    """Garbage only a full pass can free (a reference cycle)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def pacer() -> Iterator[tuple[GcPacer, Clock]]:
    clock = Clock()
    pacer = GcPacer(clock)
    before = gc.get_threshold()
    pacer.start()
    try:
        yield pacer, clock
    finally:
        pacer.stop()
        assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def survivors(count: int) -> list[list[int]]:
    """``count`` objects that outlive young passes, into the old generation."""
    kept = [[i] for i in range(count)]
    gc.collect(1)  # the survivors move on to the old generation
    return kept


def full_passes() -> int:
    return gc.get_stats()[2]["collections"]


def make_due() -> list[list[int]]:
    """Enough young passes and old-generation growth for a full pass to be due."""
    kept = survivors(2 * max(len(gc.get_objects(generation=2)), 1000))
    for _ in range(12):
        gc.collect(0)
        gc.collect(1)
    return kept


def test_start_freezes_and_raises_the_automatic_trigger(pacer: tuple[GcPacer, Clock]) -> None:
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[2] == AUTOMATIC_EVERY


def test_no_full_pass_while_input_keeps_coming(pacer: tuple[GcPacer, Clock]) -> None:
    p, clock = pacer
    kept = make_due()
    assert p.due()
    p.input_seen()
    clock.now += IDLE_AFTER / 2
    passes = full_passes()
    assert not p.tick()
    assert full_passes() == passes and p.passes == 0
    del kept


def test_a_pause_runs_the_due_pass_and_frees_cycles(pacer: tuple[GcPacer, Clock]) -> None:
    p, clock = pacer
    kept = make_due()
    garbage = Cycle()
    gc.collect(1)  # the cycle is old now: only a full pass frees it
    del garbage
    clock.now += IDLE_AFTER + 0.1
    passes = full_passes()
    assert not p.tick()  # young passes since the last tick: the app may still be busy
    assert full_passes() == passes
    assert p.tick()  # a quiet tick later
    assert full_passes() == passes + 1 and p.passes == 1
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())
    # just collected: nothing due at the next pause
    assert not p.tick() and p.passes == 1
    del kept


def test_no_full_pass_when_the_old_generation_barely_grew(pacer: tuple[GcPacer, Clock]) -> None:
    p, clock = pacer
    gc.collect()  # the baseline becomes what this full pass left
    for _ in range(12):  # young passes enough, but hardly any survivors
        gc.collect(0)
        gc.collect(1)
    clock.now += IDLE_AFTER + 0.1
    assert gc.get_count()[2] >= 10
    assert not p.due() and not p.tick() and not p.tick()


def test_no_full_pass_while_the_app_keeps_allocating(pacer: tuple[GcPacer, Clock]) -> None:
    p, clock = pacer
    kept = make_due()
    clock.now += IDLE_AFTER + 0.1  # no input, but objects keep coming (a lesson being built)
    passes = full_passes()
    for _ in range(5):
        gc.collect(1)  # a young-generation pass between every two ticks
        assert not p.tick()
    assert full_passes() == passes and p.passes == 0
    assert p.tick()  # it went quiet
    del kept


def test_an_open_notebook_gets_no_pass_and_a_raised_trigger(pacer: tuple[GcPacer, Clock]) -> None:
    p, clock = pacer
    p.hold()  # a notebook was just built: alive until it closes
    assert gc.get_threshold()[2] == HELD_AUTOMATIC_EVERY
    kept = make_due()
    clock.now += IDLE_AFTER + 0.1
    assert not p.due() and not any(p.tick() for _ in range(3)) and p.passes == 0
    del kept


def test_a_closed_notebook_is_collected_at_the_next_pause_without_the_frozen(
    pacer: tuple[GcPacer, Clock],
) -> None:
    p, clock = pacer
    stale = Cycle()  # frozen with the first screen, garbage later (what a screen showed)
    stale_ref = weakref.ref(stale)
    gc.freeze()
    del stale
    notebook = Cycle()
    notebook_ref = weakref.ref(notebook)
    gc.collect(1)  # the notebook is old now: only a full pass frees it
    p.hold()
    del notebook  # closed
    p.release()
    clock.now += IDLE_AFTER + 0.1
    passes = full_passes()
    assert any(p.tick() for _ in range(3))  # at the pause (a tick that saw no young pass)
    assert full_passes() == passes + 1 and p.passes == 1 and p.deep_passes == 0
    assert notebook_ref() is None  # the notebook is gone
    assert stale_ref() is not None  # the pass did not walk what is frozen
    assert gc.get_threshold()[2] == AUTOMATIC_EVERY
    clock.now += DEEP_IDLE_AFTER
    assert not any(p.tick() for _ in range(3))  # a little frozen garbage waits


def test_what_lived_before_a_notebook_is_frozen_as_it_opens(
    pacer: tuple[GcPacer, Clock],
) -> None:
    p, _ = pacer
    lessons_list = Cycle()  # made after the first screen was frozen, alive for long
    gc.collect(1)
    frozen = gc.get_freeze_count()
    p.opening()
    assert gc.get_freeze_count() > frozen  # the pass after the notebook will not walk it
    p.hold()
    frozen = gc.get_freeze_count()
    p.opening()  # another notebook while one is open (never in the app) freezes nothing
    assert gc.get_freeze_count() == frozen
    del lessons_list


def test_frozen_garbage_gets_a_pass_in_a_long_pause_once_the_frozen_doubled(
    pacer: tuple[GcPacer, Clock],
) -> None:
    p, clock = pacer
    heap = [Cycle() for _ in range(int(gc.get_freeze_count() * DEEP_GROWTH) + 1000)]
    heap_ref = weakref.ref(heap[0])
    gc.freeze()
    del heap
    clock.now += IDLE_AFTER + 0.1  # a short pause: the learner may type again any moment
    assert not any(p.tick() for _ in range(3)) and heap_ref() is not None
    clock.now += DEEP_IDLE_AFTER  # a long one
    assert any(p.tick() for _ in range(3)) and p.deep_passes == 1
    assert heap_ref() is None
    assert gc.get_freeze_count() > 0  # what is left is frozen again


def test_short_pauses_do_not_count_the_frozen_objects(
    pacer: tuple[GcPacer, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting them walks all of them (some 100 000 in the app): a tick every 0.5 s of a
    short pause must not pay that, only a long pause may ask whether a deep pass is due."""
    p, clock = pacer
    counted: list[int] = []
    count = gc.get_freeze_count

    def counting() -> int:
        counted.append(1)
        return count()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    clock.now += IDLE_AFTER + 0.1
    for _ in range(4):
        p.tick()
    assert counted == []
    clock.now += DEEP_IDLE_AFTER
    p.tick()
    assert counted == [1]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_app_paces_the_collector_and_gives_it_back(
    cluster: tuple[Cluster, Path], anyio_backend: str
) -> None:
    before = gc.get_threshold()
    _, inventory = cluster
    app = make_test_app(inventory, pace_gc=True)
    async with app.run_test(size=(100, 36)) as pilot:
        pacer = app.gc_pacer
        assert pacer is not None
        # first paint: what the lab screen made is frozen
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0)
        assert gc.get_threshold()[2] == AUTOMATIC_EVERY
        seen = pacer.last_input
        await pilot.press("question_mark")  # a key: the pacer waits for a pause again
        assert pacer.last_input > seen
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
