"""The things a leading master keeps: tasks, agents and frameworks as records, the task
states that end a task, and TaskStatus as the twins pass it around. The rules that change
them are :class:`.master_state.Cluster`'s."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from mesoslab_twin.common.values import Amounts, Resource

DISCONNECTED_AFTER = 2.0  # seconds without a heartbeat: the agent/framework process is gone
TERMINAL_STATES = frozenset(
    {
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_LOST",
        "TASK_ERROR",
        "TASK_DROPPED",
        "TASK_GONE",
        "TASK_GONE_BY_OPERATOR",
    }
)
MAX_EVENTS = 5000


def status(
    state: str,
    *,
    task_id: str,
    agent_id: str = "",
    message: str = "",
    reason: str = "",
    source: str = "SOURCE_MASTER",
) -> dict[str, Any]:
    """A TaskStatus as the twins pass it around (v1 JSON field names)."""
    data: dict[str, Any] = {
        "task_id": task_id,
        "state": state,
        "timestamp": time.time(),
        "source": source,
    }
    if agent_id:
        data["agent_id"] = agent_id
    if message:
        data["message"] = message
    if reason:
        data["reason"] = reason
    return data


@dataclass
class Task:
    id: str
    name: str
    framework_id: str
    agent_id: str
    resources: Amounts
    info: dict[str, Any]  # the TaskInfo as the framework sent it
    state: str = "TASK_STAGING"
    statuses: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # latest full status
    delivered_at: int | None = None  # agent heartbeat number that carried the launch

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass
class Agent:
    id: str
    hostname: str
    ip: str
    port: int
    resources: list[Resource]
    attributes: list[tuple[str, Any]]
    version: str
    registered_time: float
    reregistered_time: float | None = None
    last_seen: float = field(default_factory=time.monotonic)
    active: bool = True
    heartbeats: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    work_dir: str = ""  # the agent's own word, for the console's sandbox links

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def pid(self) -> str:
        return f"slave(1)@{self.address}"

    @property
    def total(self) -> Amounts:
        return Amounts.of(self.resources)


@dataclass
class Offer:
    """Resources of one agent offered to one framework until it answers (or they are
    rescinded)."""

    id: str
    framework_id: str
    agent_id: str
    hostname: str
    resources: Amounts
    created: float = field(default_factory=time.time)


@dataclass
class Refusal:
    """A framework's filter on an agent: these resources (or fewer) are not offered to it
    again before ``until`` (Filters.refuse_seconds of a DECLINE or ACCEPT)."""

    resources: Amounts
    until: float


@dataclass
class Unacked:
    """A status update from an agent the framework has not acknowledged yet: sent again
    with the same uuid until it is (as the agent's status update manager does)."""

    uuid: str
    task_id: str
    update: dict[str, Any]
    due: float
    interval: float


@dataclass
class Framework:
    id: str
    info: dict[str, Any]  # name, user, hostname, webui_url, failover_timeout, role, ...
    registered_time: float
    reregistered_time: float | None = None
    unregistered_time: float = 0.0
    last_seen: float = field(default_factory=time.monotonic)
    active: bool = True
    connected: bool = True
    recovered: bool = False
    tasks: dict[str, Task] = field(default_factory=dict)
    completed: deque[Task] = field(default_factory=lambda: deque(maxlen=1000))
    events: deque[tuple[int, dict[str, Any]]] = field(
        default_factory=lambda: deque(maxlen=MAX_EVENTS)
    )
    delivered: int = 0  # the last event sequence number sent to the framework
    unacked: dict[str, Unacked] = field(default_factory=dict)  # by uuid
    refused: dict[str, Refusal] = field(default_factory=dict)  # by agent id
    suppressed: bool = False

    @property
    def partition_aware(self) -> bool:
        return any(
            (c.get("type") if isinstance(c, dict) else c) == "PARTITION_AWARE"
            for c in self.info.get("capabilities", [])
        )

    @property
    def name(self) -> str:
        return str(self.info.get("name", ""))

    @property
    def failover_timeout(self) -> float:
        try:
            return float(self.info.get("failover_timeout", 0) or 0)
        except (TypeError, ValueError):
            return 0.0
