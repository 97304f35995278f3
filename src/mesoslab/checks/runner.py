"""Plan checks onto inventory nodes and settle them concurrently.

A check *settles*: it is attempted again and again (with a growing pause) until it passes or
its timeout expires, because a cluster converges slowly. All planned checks run at once in a
bounded thread pool, so a verify takes about as long as its slowest check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from mesoslab.checks.registry import CheckKind, catalogue
from mesoslab.checks.result import CheckResult, Observation, Status, Waiting
from mesoslab.checks.spec import CheckSpec
from mesoslab.errors import MesoslabError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext, Session

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
MAX_WORKERS = 32
_FIRST_PAUSE = 0.5
_MAX_PAUSE = 3.0
# No attempt starts with less time than this left (a quarter of a short timeout): one squeezed
# into the last instant gets a 0.2 s budget, times out, and its "did not finish" hid what the
# earlier attempts saw.
_MIN_ATTEMPT = 1.0


@dataclass(frozen=True)
class PlannedCheck:
    """A check spec bound to the node(s) it runs against."""

    spec: CheckSpec
    kind: CheckKind
    label: str  # the node name, or the target when the check covers a group
    nodes: tuple[Node, ...]
    step: int = 0


def plan(specs: Iterable[CheckSpec], inventory: Inventory, *, step: int = 0) -> list[PlannedCheck]:
    kinds = catalogue()
    planned: list[PlannedCheck] = []
    for spec in specs:
        kind = kinds[spec.kind]
        target = spec.on or kind.role
        nodes = inventory.resolve(target)
        if kind.scope == "node" and nodes:
            planned.extend(PlannedCheck(spec, kind, n.name, (n,), step) for n in nodes)
        else:
            planned.append(PlannedCheck(spec, kind, target, tuple(nodes), step))
    return planned


def effective_timeout(
    spec: CheckSpec, cli_timeout: float | None, patience: float | None = None
) -> float:
    """The lesson's timeout for the check, raised to ``patience`` when given (a step that
    automation has just applied is waited for longer), bounded by ``--timeout`` when given."""
    own = spec.timeout if spec.timeout is not None else DEFAULT_TIMEOUT
    if patience is not None:
        own = max(own, patience)
    return min(own, cli_timeout) if cli_timeout is not None else own


OnWaiting = Callable[[Waiting], None]


def settle(
    pc: PlannedCheck,
    session: Session,
    timeout: float,
    on_waiting: OnWaiting | None = None,
    *,
    started: datetime | None = None,
) -> CheckResult:
    """Attempt ``pc`` until it passes or ``timeout`` seconds have gone by. ``started``: when
    the commands of the check's step began (what its ``step start`` times mean).

    ``on_waiting`` hears after every failed attempt that will be tried again what it saw
    and the deadline, so a front end can show why the check is still waiting. Cancelling
    the session stops the waiting: the result is then what the attempts saw so far.

    A failed check reports its last attempt, unless that one got no answer (timed out,
    unreachable) after an earlier attempt did: then what the check last saw is the better
    reason (on a busy machine, a slow last read hid the wrong value the learner must fix)."""
    start = time.monotonic()
    deadline = start + timeout
    attempts = 0
    pause = _FIRST_PAUSE
    judged: Observation | None = None  # the last failed attempt that had an answer to judge
    least = min(_MIN_ATTEMPT, timeout / 4)
    while True:
        attempts += 1
        obs = attempt(pc, session, deadline, started=started)
        if obs.status is Status.FAIL and obs.answered:
            judged = obs
        now = time.monotonic()
        if (
            obs.status is not Status.FAIL
            or now + pause + least > deadline
            or session.cancelled.is_set()
        ):
            break
        if on_waiting is not None:
            on_waiting(Waiting(judged or obs, deadline))
        if session.cancelled.wait(pause):
            break
        pause = min(_MAX_PAUSE, pause * 1.5)
    if obs.status is Status.FAIL and not obs.answered and judged is not None:
        obs = judged
    return concluded(pc, obs, attempts=attempts, elapsed_s=time.monotonic() - start)


def concluded(
    pc: PlannedCheck, obs: Observation, *, attempts: int, elapsed_s: float
) -> CheckResult:
    """The settled result of ``pc`` whose attempts ended with ``obs``."""
    return CheckResult(
        kind=pc.kind.name,
        node=pc.label,
        status=obs.status,
        summary=obs.summary,
        expected=obs.expected,
        observed=obs.observed,
        hint=pc.spec.hint if obs.status is Status.FAIL else "",
        attempts=attempts,
        elapsed_s=elapsed_s,
    )


def attempt(
    pc: PlannedCheck, session: Session, deadline: float, *, started: datetime | None = None
) -> Observation:
    """One attempt; never raises. ``started``: see :func:`settle`."""
    if not pc.nodes:
        target = pc.spec.on or pc.kind.role
        return Observation.fail(
            f"no node in the inventory is named or has the role {target!r}",
            expected=f"at least one node with role {target}",
            observed=f"nodes: {', '.join(n.name for n in session.inventory.nodes)}",
        )
    if pc.kind.needs_ssh:
        missing = [n.name for n in pc.nodes if n.ssh is None]
        if missing:
            return Observation.skip(
                f"no [node.ssh] for {', '.join(missing)} in the inventory: host checks skipped"
            )
    ctx = CheckContext(session=session, deadline=deadline)
    try:
        params = pc.kind.resolved(pc.spec.params, started)
        if pc.kind.service is not None:
            ctx = ctx.at_port(pc.kind.service, params.get("port"))
        on: Node | list[Node] = pc.nodes[0] if pc.kind.scope == "node" else list(pc.nodes)
        observation: Observation = pc.kind.fn(ctx, on, params)
        return observation
    except ProbeError as exc:
        return Observation.fail(exc.summary, observed=exc.observed, answered=exc.answered)
    except MesoslabError as exc:
        # the remote layer's errors: the node could not be reached or did not answer in time
        return Observation.fail(str(exc), observed=exc.message, answered=False)
    except Exception as exc:  # a check must never crash a verify
        log.exception("check %s crashed", pc.kind.name)
        return Observation.fail(
            f"check {pc.kind.name} could not evaluate the answer: {exc.__class__.__name__}: {exc}",
            observed=f"{exc.__class__.__name__}: {exc}",
        )


def run_all(
    planned: list[PlannedCheck],
    session: Session,
    *,
    timeout: float | None = None,
    on_result: Callable[[int, CheckResult], None] | None = None,
    max_workers: int = MAX_WORKERS,
    patience: float | None = None,
    on_waiting: Callable[[int, Waiting], None] | None = None,
    started: Mapping[int, datetime] | None = None,
) -> list[CheckResult]:
    """Settle every planned check concurrently; results come back in plan order.

    ``on_result(index, result)`` is called from worker threads as each check settles, and
    ``on_waiting(index, waiting)`` after each attempt of a check that is still waiting.
    ``started`` maps a step number to the time its commands began (``step start``); a step
    not in it has no recorded start.
    """
    if not planned:
        return []
    results: list[CheckResult | None] = [None] * len(planned)

    def work(index: int) -> None:
        pc = planned[index]
        heard = None if on_waiting is None else partial(on_waiting, index)
        result = settle(
            pc,
            session,
            effective_timeout(pc.spec, timeout, patience),
            heard,
            started=(started or {}).get(pc.step),
        )
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    pool = ThreadPoolExecutor(
        max_workers=min(max_workers, len(planned)), thread_name_prefix="check"
    )
    try:
        futures = [pool.submit(work, i) for i in range(len(planned))]
        for future in futures:
            future.result()
    except BaseException:
        session.cancelled.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [r for r in results if r is not None]
