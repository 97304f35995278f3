"""Run a lesson step's commands on their nodes: blocks in order, nodes of a block in parallel,
stop at the first failure (or when the caller cancels)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mesoslab.errors import RemoteError, UsageError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lessons.model import LEADING_MASTER, Action, Lesson, Step
from mesoslab.remote.fanout import run_on_nodes
from mesoslab.remote.http import ProbeError, get, split_location
from mesoslab.remote.result import CommandResult
from mesoslab.remote.session import CheckContext, Session

COMMAND_TIMEOUT = 600.0  # a package install can take minutes


@dataclass
class ActionRun:
    action: Action
    nodes: list[str]
    results: list[CommandResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)


@dataclass
class StepRun:
    lesson: str
    step: int
    title: str
    actions: list[ActionRun]
    skipped: int = 0  # blocks not run because an earlier one failed (or it was cancelled)
    cancelled: bool = False  # the caller stopped it: a block was cut short or not started

    @property
    def ok(self) -> bool:
        return not self.cancelled and self.skipped == 0 and all(a.ok for a in self.actions)


def get_step(lesson: Lesson, number: int) -> Step:
    step = lesson.step(number)
    if step is None:
        raise UsageError(f"{lesson.id} has no step {number}: it has steps 1–{len(lesson.steps)}")
    return step


def resolve_targets(action: Action, inventory: Inventory, session: Session) -> list[Node]:
    if action.on == LEADING_MASTER:
        return [find_leading_master(inventory, session)]
    nodes = inventory.resolve(action.on)
    if not nodes:
        raise UsageError(
            f"no node in the inventory is named or has the role {action.on!r} "
            f"(line {action.line} of the lesson)"
        )
    return nodes


def find_leading_master(inventory: Inventory, session: Session, timeout: float = 10.0) -> Node:
    """Ask the masters who leads (``/master/redirect`` answers 307 to the leader)."""
    ctx = CheckContext(session=session, deadline=time.monotonic() + timeout)
    said: list[str] = []
    for master in inventory.with_role("master"):
        try:
            response = get(ctx, master, "mesos_master", "/master/redirect")
        except ProbeError as exc:
            said.append(f"{master.name}: {exc.summary}")
            continue
        location = response.headers.get("location", "")
        if response.status_code == 307 and location:
            host, _ = split_location(location)
            node = inventory.find_host(host)
            if node is not None:
                return node
            said.append(f"{master.name}: leader {host} is not in the inventory")
        else:
            said.append(f"{master.name}: HTTP {response.status_code}")
    raise RemoteError("cannot tell which master leads: " + "; ".join(said or ["no masters"]))


def run_step(
    lesson: Lesson,
    number: int,
    inventory: Inventory,
    *,
    platform: str,
    session: Session,
    on_action: Callable[[Action, list[Node]], None] | None = None,
    on_output: Callable[[Node, str], None] | None = None,
    timeout: float = COMMAND_TIMEOUT,
    cancel: threading.Event | None = None,
) -> StepRun:
    """Run the step's blocks in order. Setting ``cancel`` stops the block running now (see
    :func:`run_on_nodes`) and runs no further block; the StepRun says ``cancelled``."""
    step = get_step(lesson, number)
    actions = step.actions_for(platform)
    run = StepRun(lesson.id, step.number, step.title, [])
    for index, action in enumerate(actions):
        if cancel is not None and cancel.is_set():
            run.cancelled = True
            run.skipped = len(actions) - index
            break
        nodes = resolve_targets(action, inventory, session)
        if on_action is not None:
            on_action(action, nodes)
        results = run_on_nodes(
            session.ssh,
            nodes,
            action.code,
            sudo=action.sudo,
            timeout=timeout,
            on_output=on_output,
            cancel=cancel,
        )
        done = ActionRun(action, [n.name for n in nodes], results)
        run.actions.append(done)
        if any(r.cancelled for r in results):
            run.cancelled = True
        if not done.ok:
            run.skipped = len(actions) - index - 1
            break
    return run
