"""Run a handful of blocking calls at the same moment, one thread each.

``ThreadPoolExecutor`` starts its workers one by one as work is submitted, and each
``Thread.start()`` waits for the new thread to get the GIL, which it has to win from
the probes already running: on two cores the last of six probes started ~7 ms after the
first. Here every thread is started first and parked on one event, then all are let go
together, so a status of N probes costs about its slowest probe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What one call gave: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def run_at_once(
    calls: Sequence[Callable[[], T]], *, name: str = "at-once", max_threads: int = 32
) -> list[Outcome[T]]:
    """Call every ``calls[i]()`` concurrently; outcomes come back in the order of ``calls``.

    The calls must bound their own time (the probes do, by their timeouts). Beyond
    ``max_threads`` the rest run in the threads as they free up.
    """
    outcomes: list[Outcome[T]] = [Outcome() for _ in calls]
    if len(calls) <= 1:
        for outcome, call in zip(outcomes, calls, strict=True):
            _call(outcome, call)
        return outcomes
    go = threading.Event()
    queue = list(enumerate(calls))
    lock = threading.Lock()

    def work() -> None:
        go.wait()
        while True:
            with lock:
                if not queue:
                    return
                index, call = queue.pop(0)
            _call(outcomes[index], call)

    threads = [
        threading.Thread(target=work, name=f"{name}-{i}", daemon=True)
        for i in range(min(max_threads, len(calls)))
    ]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    return outcomes


def _call(outcome: Outcome[T], call: Callable[[], T]) -> None:
    try:
        outcome.value = call()
    except BaseException as exc:  # handed to the caller by Outcome.result()
        outcome.error = exc
