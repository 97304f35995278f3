"""What a leading master knows: agents, frameworks, tasks, and the rules that change them.

No HTTP and no ZooKeeper here: :mod:`.master` feeds requests in under one lock, and
:mod:`.master_views` renders the JSON. Timing rules follow Mesos where the lessons can see
them: an agent whose process is gone is deactivated within seconds and removed after
``agent_ping_timeout`` x ``max_agent_ping_timeouts``; a framework that stops talking is
inactive until its ``failover_timeout`` expires; a new agent registering from the address of
an old one replaces it (its tasks are lost).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from mesoslab_twin.common.values import (
    Amounts,
    duration_seconds,
    resource_from_wire,
    resources_by_role,
)
from mesoslab_twin.mesos.master_model import (
    DISCONNECTED_AFTER,
    TERMINAL_STATES,
    Agent,
    Framework,
    Offer,
    Task,
    status,
)


def missed_updates(
    history: list[dict[str, Any]], task: Task, last: dict[str, Any], agent_id: str
) -> list[dict[str, Any]]:
    """The state changes an agent's report shows in a task's history between the master's
    last update of it and the agent's latest one. A short task can go RUNNING -> FINISHED
    between two reports; its framework must still get TASK_RUNNING first, as the agent's
    status update manager sends every update in order, one stream per task, each retried
    until acknowledged (MESOS@1.4.3 src/slave/status_update_manager.hpp L53-58, L126-129)."""
    since = float((task.last or {}).get("timestamp") or 0.0)
    until = float(last.get("timestamp") or 0.0)
    state = task.state
    out = []
    for entry in history:
        when = float(entry.get("timestamp") or 0.0)
        changed = str(entry.get("state", ""))
        if since < when < until and changed and changed != state:
            update = status(changed, task_id=task.id, agent_id=agent_id, source="SOURCE_EXECUTOR")
            update["timestamp"] = when  # when the agent saw it, not now
            if "container_status" in entry:
                update["container_status"] = entry["container_status"]
            out.append(update)
            state = changed
    return out


class Cluster:
    """The leading master's view. Callers hold the master's lock."""

    def __init__(self, master_id: str, flags: dict[str, str]) -> None:
        self.master_id = master_id
        self.flags = flags
        self.agents: dict[str, Agent] = {}
        self.removed_agents: set[str] = set()
        self.unreachable = 0
        self.frameworks: dict[str, Framework] = {}
        self.completed_frameworks: deque[Framework] = deque(
            maxlen=int(flags.get("max_completed_frameworks", "50") or 50)
        )
        self.seq = 0
        self.offers: dict[str, Offer] = {}  # outstanding, by offer id
        self.rescinded: list[Offer] = []  # to tell their frameworks (RESCIND)
        self.lost_agents: list[str] = []  # to tell every framework (FAILURE)
        self._next_agent = 0
        self._next_framework = 0
        self._next_offer = 0
        self.counters: dict[str, int] = {}
        # told of an agent with operations waiting, to wake it (the master's Nudger)
        self.nudge: Callable[[str], None] = lambda address: None
        # told of a status update queued for a framework, to deliver it now (not at the
        # next tick), as a real master forwards an update as it comes
        self.updated: Callable[[], None] = lambda: None

    # ------------------------------------------------------------------ helpers

    def _queue(self, agent: Agent, operation: dict[str, Any]) -> None:
        """An operation for the agent's next heartbeat, which the agent is woken for."""
        agent.pending.append(operation)
        self.nudge(agent.address)

    def _count(self, key: str) -> None:
        self.counters[key] = self.counters.get(key, 0) + 1

    def all_tasks(self) -> list[Task]:
        return [t for fw in self.frameworks.values() for t in fw.tasks.values()]

    def used_on(self, agent_id: str) -> Amounts:
        used = Amounts()
        for task in self.all_tasks():
            if task.agent_id == agent_id and not task.terminal:
                used = used.plus(task.resources)
        return used

    def offered_on(self, agent_id: str) -> Amounts:
        offered = Amounts()
        for offer in self.offers.values():
            if offer.agent_id == agent_id:
                offered = offered.plus(offer.resources)
        return offered

    def new_offer(self, framework: Framework, agent: Agent, resources: Amounts) -> Offer:
        self._next_offer += 1
        offer = Offer(
            id=f"{self.master_id}-O{self._next_offer}",
            framework_id=framework.id,
            agent_id=agent.id,
            hostname=agent.hostname,
            resources=resources,
        )
        self.offers[offer.id] = offer
        return offer

    def drop_offers(self, *, agent_id: str = "", framework_id: str = "", rescind: bool) -> None:
        """Take back the outstanding offers of an agent or of a framework."""
        for offer in list(self.offers.values()):
            if offer.agent_id == agent_id or offer.framework_id == framework_id:
                del self.offers[offer.id]
                if rescind:
                    self.rescinded.append(offer)

    def update(self, framework: Framework, task: Task, update: dict[str, Any]) -> None:
        """Apply a status update to a task and queue it for the framework."""
        task.state = str(update["state"])
        task.last = update
        entry: dict[str, Any] = {"state": task.state, "timestamp": update["timestamp"]}
        for key in ("labels", "container_status", "healthy"):
            if key in update:
                entry[key] = update[key]
        task.statuses.append(entry)
        if task.state != "TASK_STAGING":  # staging is the initial state, not an update
            self.seq += 1
            framework.events.append((self.seq, {**update, "task_id": task.id}))
            self.updated()
        self._count(task.state)
        if task.terminal and task.id in framework.tasks:
            del framework.tasks[task.id]
            framework.completed.append(task)

    # ------------------------------------------------------------------ agents

    def register_agent(self, body: dict[str, Any], now: float) -> tuple[str, str]:
        """(agent id, "registered"|"reregistered"); raises KeyError for a removed agent."""
        info = body.get("info") or {}
        wanted = str(body.get("agent_id") or "")
        if wanted and wanted in self.removed_agents:
            raise KeyError(wanted)
        resources = [resource_from_wire(r) for r in info.get("resources", [])]
        attributes = [(str(k), v) for k, v in info.get("attributes", [])]
        ip, port = str(info.get("ip", "")), int(info.get("port", 5051))
        if wanted and wanted in self.agents:
            agent = self.agents[wanted]
            agent.resources, agent.attributes = resources, attributes
            agent.reregistered_time = time.time()
            kind = "reregistered"
        else:
            if not wanted:
                self._replace_same_address(ip, port, now)
                wanted = f"{self.master_id}-S{self._next_agent}"
                self._next_agent += 1
                kind = "registered"
            else:
                kind = "reregistered"
            agent = Agent(
                id=wanted,
                hostname=str(info.get("hostname", ip)),
                ip=ip,
                port=port,
                resources=resources,
                attributes=attributes,
                version=str(info.get("version", "")),
                registered_time=time.time(),
                reregistered_time=time.time() if kind == "reregistered" else None,
            )
            self.agents[wanted] = agent
        agent.hostname = str(info.get("hostname", agent.hostname))
        agent.work_dir = str(info.get("work_dir", ""))
        agent.last_seen = now
        agent.active = True
        self._recover_frameworks(body.get("frameworks") or [], now)
        self.reconcile_agent(agent, body.get("tasks") or [], final=False)
        return agent.id, kind

    def _replace_same_address(self, ip: str, port: int, now: float) -> None:
        for old in list(self.agents.values()):
            if old.ip == ip and old.port == port:
                self.remove_agent(
                    old,
                    "a new agent registered at the same address",
                    reason="REASON_SLAVE_REMOVED",
                )

    def _recover_frameworks(self, infos: list[dict[str, Any]], now: float) -> None:
        """Frameworks an agent runs tasks for, unknown to this master (after a failover)."""
        for info in infos:
            fid = str(info.get("id", ""))
            if fid and fid not in self.frameworks:
                framework = Framework(
                    id=fid, info=dict(info), registered_time=time.time(), recovered=True
                )
                framework.active = framework.connected = False
                framework.last_seen = now
                self.frameworks[fid] = framework

    def remove_agent(self, agent: Agent, why: str, *, reason: str) -> None:
        self.agents.pop(agent.id, None)
        self.drop_offers(agent_id=agent.id, rescind=True)
        self.lost_agents.append(agent.id)
        self.removed_agents.add(agent.id)
        self.unreachable += 1
        for framework in list(self.frameworks.values()):
            for task in list(framework.tasks.values()):
                if task.agent_id == agent.id:
                    self.update(
                        framework,
                        task,
                        status(
                            "TASK_LOST",
                            task_id=task.id,
                            agent_id=agent.id,
                            message=f"Agent {agent.hostname} removed: {why}",
                            reason=reason,
                        ),
                    )

    def heartbeat(self, agent: Agent, tasks: list[dict[str, Any]], now: float) -> dict[str, Any]:
        agent.last_seen = now
        agent.active = True
        self.reconcile_agent(agent, tasks, final=True)
        agent.heartbeats += 1
        ops, agent.pending = agent.pending, []
        for op in ops:
            launched = op.get("launch")
            if launched:
                framework = self.frameworks.get(launched["framework"]["id"])
                task = framework.tasks.get(launched["task"]["task_id"]) if framework else None
                if task is not None:
                    task.delivered_at = agent.heartbeats
        return {"operations": ops}

    def reconcile_agent(self, agent: Agent, reported: list[dict[str, Any]], *, final: bool) -> None:
        """Take the agent's word for its tasks; a launched task it does not know is lost."""
        seen: set[tuple[str, str]] = set()
        for item in reported:
            fid, tid = str(item.get("framework_id", "")), str(item.get("task_id", ""))
            last = item.get("status") or {}
            seen.add((fid, tid))
            framework = self.frameworks.get(fid)
            if framework is None:
                continue
            task = framework.tasks.get(tid)
            if task is None:
                if any(t.id == tid and t.agent_id == agent.id for t in framework.completed):
                    continue
                if str(last.get("state", "")) in TERMINAL_STATES:
                    continue
                info = item.get("task") or {"task_id": tid, "name": tid}
                task = Task(
                    id=tid,
                    name=str(info.get("name", tid)),
                    framework_id=fid,
                    agent_id=agent.id,
                    resources=Amounts.from_wire(item.get("resources")),
                    info=info,
                    state=str(last.get("state", "TASK_RUNNING")),
                    statuses=list(item.get("statuses") or []),
                    last=dict(last),
                )
                task.delivered_at = 0
                framework.tasks[tid] = task
                continue
            if last and last.get("state") != task.state:
                for missed in missed_updates(item.get("statuses") or [], task, last, agent.id):
                    self.update(framework, task, missed)
                self.update(framework, task, dict(last))
        if not final:
            return
        for framework in self.frameworks.values():
            for task in list(framework.tasks.values()):
                if (
                    task.agent_id == agent.id
                    and task.delivered_at is not None
                    and task.delivered_at < agent.heartbeats
                    and (framework.id, task.id) not in seen
                ):
                    # the agent's answer to the master's reconciliation: it does not know
                    # the task (e.g. it restarted and its framework did not checkpoint)
                    # (MESOS@1.4.3 src/slave/slave.cpp L1340-1385, on re-registration)
                    self.update(
                        framework,
                        task,
                        status(
                            "TASK_DROPPED" if framework.partition_aware else "TASK_LOST",
                            task_id=task.id,
                            agent_id=agent.id,
                            message="Reconciliation: task unknown to the agent",
                            reason="REASON_RECONCILIATION",
                            source="SOURCE_SLAVE",
                        ),
                    )

    # ------------------------------------------------------------------ frameworks

    def register_framework(self, body: dict[str, Any], now: float) -> tuple[str, bool]:
        info = dict(body.get("framework_info") or {})
        fid = str(body.get("framework_id") or info.get("id") or "")
        if fid and fid in self.frameworks:
            framework = self.frameworks[fid]
            framework.info.update(info)
            framework.info["id"] = fid
            framework.reregistered_time = time.time()
            framework.active = framework.connected = True
            framework.recovered = False
            framework.last_seen = now
            return fid, True
        if fid and any(f.id == fid for f in self.completed_frameworks):
            raise KeyError(fid)  # torn down: it must register anew
        fresh = not fid
        if fresh:
            fid = f"{self.master_id}-{self._next_framework:04d}"
            self._next_framework += 1
        info["id"] = fid
        framework = Framework(id=fid, info=info, registered_time=time.time())
        if not fresh:
            framework.reregistered_time = framework.registered_time
        framework.last_seen = now
        self.frameworks[fid] = framework
        return fid, not fresh

    def launch(
        self,
        framework: Framework,
        agent_id: str,
        infos: list[dict[str, Any]],
        offered: Amounts,
        *,
        invalid: str = "",
    ) -> Amounts:
        """Launch tasks (twin TaskInfos) on the resources of accepted offers; returns what
        is left of them. ``invalid`` is why the offers were not valid (every task is then
        lost, or dropped for a partition-aware framework, as in Mesos's Master::accept)."""
        agent = self.agents.get(agent_id)
        for info in infos:
            tid = str(info.get("task_id", ""))
            resources = Amounts.from_wire(info.get("resources"))
            task = Task(
                id=tid,
                name=str(info.get("name", tid)),
                framework_id=framework.id,
                agent_id=agent_id,
                resources=resources,
                info=info,
            )
            problem: tuple[str, str, str] | None = None
            if invalid or agent is None or not agent.active:
                problem = (
                    "TASK_DROPPED" if framework.partition_aware else "TASK_LOST",
                    "Task launched with invalid offers: "
                    + (invalid or f"Agent {agent_id} is not available"),
                    "REASON_INVALID_OFFERS",
                )
            elif not tid or tid in framework.tasks:
                problem = ("TASK_ERROR", f"Task has duplicate ID: {tid}", "REASON_TASK_INVALID")
            elif not offered.contains(resources):
                problem = (
                    "TASK_ERROR",
                    f"Total resources {resources.to_text()} required by task and its executor "
                    f"is more than available {offered.to_text()}",
                    "REASON_TASK_INVALID",
                )
            if problem is not None:
                state, message, reason = problem
                self.update(
                    framework,
                    task,
                    status(state, task_id=tid, agent_id=agent_id, message=message, reason=reason),
                )
                if task.terminal:
                    framework.completed.append(task)
                continue
            assert agent is not None
            offered = offered.minus(resources)
            framework.tasks[tid] = task
            self.update(framework, task, status("TASK_STAGING", task_id=tid, agent_id=agent_id))
            self._queue(agent, {"launch": {"framework": dict(framework.info), "task": info}})
        return offered

    def kill(self, framework: Framework, task_id: str) -> None:
        task = framework.tasks.get(task_id)
        if task is None:
            return
        agent = self.agents.get(task.agent_id)
        undelivered = agent is not None and any(
            (op.get("launch") or {}).get("task", {}).get("task_id") == task_id
            and (op.get("launch") or {}).get("framework", {}).get("id") == framework.id
            for op in agent.pending
        )
        if agent is None or undelivered:
            if agent is not None:
                agent.pending = [
                    op
                    for op in agent.pending
                    if (op.get("launch") or {}).get("task", {}).get("task_id") != task_id
                ]
            self.update(
                framework,
                task,
                status("TASK_KILLED", task_id=task_id, agent_id=task.agent_id),
            )
            return
        self._queue(agent, {"kill": {"framework_id": framework.id, "task_id": task_id}})

    def teardown(self, framework: Framework) -> None:
        """The framework is done (or gone for good): its tasks are killed, it is completed."""
        for task in list(framework.tasks.values()):
            agent = self.agents.get(task.agent_id)
            if agent is not None:
                self._queue(agent, {"kill": {"framework_id": framework.id, "task_id": task.id}})
            self.update(
                framework,
                task,
                status(
                    "TASK_KILLED",
                    task_id=task.id,
                    agent_id=task.agent_id,
                    message="Framework removed",
                ),
            )
        self.frameworks.pop(framework.id, None)
        self.drop_offers(framework_id=framework.id, rescind=False)
        framework.active = framework.connected = False
        framework.unregistered_time = time.time()
        self.completed_frameworks.append(framework)

    # ------------------------------------------------------------------ time passes

    def expire(self, now: float) -> None:
        removal = _seconds(self.flags.get("agent_ping_timeout", "15secs")) * int(
            self.flags.get("max_agent_ping_timeouts", "5") or 5
        )
        for agent in list(self.agents.values()):
            quiet = now - agent.last_seen
            if quiet > DISCONNECTED_AFTER and agent.active:
                agent.active = False
                self.drop_offers(agent_id=agent.id, rescind=True)
            if quiet > removal:
                self.remove_agent(agent, "health check timed out", reason="REASON_SLAVE_REMOVED")
        for framework in list(self.frameworks.values()):
            quiet = now - framework.last_seen
            if quiet > DISCONNECTED_AFTER and framework.connected:
                framework.active = framework.connected = False
            if not framework.connected and quiet > framework.failover_timeout + DISCONNECTED_AFTER:
                self.teardown(framework)

    def reserved(self, agent: Agent) -> dict[str, Amounts]:
        return {r: a for r, a in resources_by_role(agent.resources).items() if r != "*"}


def _seconds(text: str) -> float:
    try:
        return duration_seconds(text)
    except ValueError:
        return 15.0
