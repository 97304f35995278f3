"""The hooks the rest of mesoslab calls: a verify, a step's command run, a hint shown, a move
to another step. Each becomes an event in the outbox (scrubbed by :mod:`.redact`), then the
sender is nudged.

Cheap and harmless when the learner has not joined (one missing file), and never in the
way when they have: queuing is a local SQLite insert, the network is the sender's business
(the TUI's background thread, or a detached ``mesoslab class send``), and nothing here
raises — a problem comes back as a warning to show.

Why a detached sender for the CLI rather than a flush before exiting: a flush costs its
timeout on every command while the network is down, which is exactly when it cannot help;
a detached process retries with backoff for as long as it takes, outlives the command and
the terminal, and is restarted by the next event if it was killed.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesoslab.ops.classroom.events import (
    Event,
    check_json,
    hint_event,
    progress_event,
    step_run_event,
    verify_event,
)
from mesoslab.ops.classroom.membership import load_membership
from mesoslab.ops.classroom.outbox import Outbox
from mesoslab.ops.classroom.redact import redactor_for

if TYPE_CHECKING:
    from mesoslab.lessons.run import StepRun
    from mesoslab.lessons.verify import VerifyReport

_kicker: Callable[[], None] | None = None  # the TUI's sender thread, when it runs
_position: dict[str, tuple[str, int]] = {}
_lock = threading.Lock()


def set_kicker(kick: Callable[[], None] | None) -> None:
    """Route nudges to an in-process sender (the TUI's thread) instead of a detached one."""
    global _kicker
    _kicker = kick


def kick() -> None:
    if _kicker is not None:
        _kicker()
        return
    from mesoslab.ops.classroom.sender import spawn_detached_sender  # httpx: only when joined

    spawn_detached_sender()


def emit(event: Event, *, inventory: Any = None) -> str | None:
    """Queue ``event`` for the class (if this learner joined one); a warning, or None."""
    member = load_membership()
    if member is None:
        return None
    try:
        redactor = redactor_for(inventory, token=member.token)
        event = dataclasses.replace(event, data=redactor.value(event.data))
        with Outbox() as box:
            box.put(event)
    except (OSError, sqlite3.Error) as exc:
        return f"cannot queue this result for the class: {exc}"
    kick()
    return None


STEP_STATUS = {"passed": "pass", "failed": "fail", "skipped": "skip"}


def emit_verify(
    report: VerifyReport, *, source: str = "verify", inventory: Any = None
) -> str | None:
    """A verify's outcome, step by step (a drill step not checked this time is left out)."""
    from mesoslab.ops.verify import report_state

    steps = [
        (
            s.step,
            STEP_STATUS[report_state(s)],
            [
                check_json(
                    r.kind, r.node, r.status.value, r.summary, r.expected, r.observed, r.hint
                )
                for r in s.results
            ],
        )
        for s in report.steps
        if s.results and not all(r.kind == "drill" for r in s.results)
    ]
    if not steps:
        return None
    return emit(verify_event(report.lesson, steps, source), inventory=inventory)


def emit_command(
    lesson: str,
    step: int,
    command: str,
    outcomes: list[tuple[str, int, str]],
    *,
    inventory: Any = None,
) -> str | None:
    """One command block run on its nodes: (node, exit status, output) each. The output is
    sent only when the learner joined with ``--share-output``."""
    member = load_membership()
    if member is None:
        return None
    worst = next((status for _, status, _ in outcomes if status != 0), 0)
    output = None
    if member.share_output:
        output = "\n".join(f"[{node}]\n{text}" for node, _, text in outcomes)
    nodes = [node for node, _, _ in outcomes]
    return emit(step_run_event(lesson, step, command, worst, nodes, output), inventory=inventory)


def emit_step_run(run: StepRun, *, inventory: Any = None) -> str | None:
    """Every command block of a step run (`mesoslab run`, dev check)."""
    warning = None
    for action_run in run.actions:
        outcomes = [(r.node, r.exit_status, r.output) for r in action_run.results]
        warning = (
            emit_command(
                run.lesson, run.step, action_run.action.code, outcomes, inventory=inventory
            )
            or warning
        )
    return warning


def emit_hint(lesson: str, step: int, what: str) -> str | None:
    """The learner was shown a hint or a step's solution."""
    return emit(hint_event(lesson, step, what))


def emit_hints_shown(report: VerifyReport) -> None:
    """A verify's failed checks were shown with their hints: one hint event per step."""
    for step in report.steps:
        if any(r.status.value == "fail" and r.hint for r in step.results):
            emit_hint(report.lesson, step.step, "hints of the failed checks")


def emit_progress(lesson: str, step: int) -> str | None:
    """The learner moved to ``step`` of ``lesson`` (sent once per move)."""
    with _lock:
        if _position.get("at") == (lesson, step):
            return None
        _position["at"] = (lesson, step)
    return emit(progress_event(lesson, step))
