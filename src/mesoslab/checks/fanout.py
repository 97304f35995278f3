"""Asking several nodes: all at once (fan-out), or one after another until one answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError

T = TypeVar("T")
X = TypeVar("X")

_MAX_FAN_OUT = 16


def fan_out(items: Sequence[X], fn: Callable[[X], T]) -> list[T | ProbeError]:
    """``fn(item)`` for every item (node, host:port, ...) concurrently; a ProbeError is
    returned in the place of its result.

    Results come back in the order of ``items``. ``fn`` must bound its own I/O (the
    probes in :mod:`mesoslab.remote.http` do, by the attempt's deadline).
    """

    def call(item: X) -> T | ProbeError:
        try:
            return fn(item)
        except ProbeError as exc:
            return exc

    if len(items) <= 1:
        return [call(i) for i in items]
    workers = min(_MAX_FAN_OUT, len(items))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout") as pool:
        return list(pool.map(call, items))


def first_answer(
    nodes: Sequence[Node], fn: Callable[[Node], T], *, what: str = "node"
) -> tuple[Node, T]:
    """``fn`` on each node in turn until one does not raise ProbeError.

    When none answers, raise a ProbeError that says what every node answered (the node's
    own error when there is only one).
    """
    errors: list[tuple[Node, ProbeError]] = []
    for node in nodes:
        try:
            return node, fn(node)
        except ProbeError as exc:
            errors.append((node, exc))
    if not errors:
        raise ProbeError(f"no {what} to ask", "no nodes")
    if len(errors) == 1:
        raise errors[0][1]
    problems = [f"{node.name}: {short_reason(exc)}" for node, exc in errors]
    raise ProbeError(
        f"no {what} answered: " + "; ".join(problems), ", ".join(problems), answered=False
    )


def short_reason(exc: ProbeError) -> str:
    """The observed part of a probe error, without the advice in brackets."""
    text = exc.observed or exc.summary
    return text.split(" (", 1)[0]
