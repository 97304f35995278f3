"""remote.at_once: every call runs at the same time, outcomes keep the calls' order."""

from __future__ import annotations

import threading

import pytest

from mesoslab.remote.at_once import run_at_once


def test_all_calls_run_together_and_come_back_in_order() -> None:
    count = 7
    # Each call waits until all are inside: it breaks (BrokenBarrierError) unless every
    # call runs at the same moment.
    barrier = threading.Barrier(count, timeout=5)

    def call(index: int) -> int:
        barrier.wait()
        return index * index

    outcomes = run_at_once([lambda i=i: call(i) for i in range(count)])
    assert [o.result() for o in outcomes] == [i * i for i in range(count)]


def test_an_exception_is_handed_back_in_its_place() -> None:
    def boom() -> int:
        raise ValueError("probe exploded")

    outcomes = run_at_once([lambda: 1, boom, lambda: 3])
    assert outcomes[0].result() == 1 and outcomes[2].result() == 3
    with pytest.raises(ValueError, match="probe exploded"):
        outcomes[1].result()


def test_more_calls_than_threads_all_run() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def call(index: int) -> int:
        with lock:
            seen.append(index)
        return index

    outcomes = run_at_once([lambda i=i: call(i) for i in range(10)], max_threads=3)
    assert [o.result() for o in outcomes] == list(range(10))
    assert sorted(seen) == list(range(10))
