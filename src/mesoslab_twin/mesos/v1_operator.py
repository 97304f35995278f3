"""The v1 operator HTTP API, ``POST /api/v1`` on masters and agents (docs/operator-http-api.md).

Answers are the JSON forms of ``mesos.v1.master.Response`` and ``mesos.v1.agent.Response``
(include/mesos/v1/master/master.proto, agent/agent.proto) as stout's writer prints them:
empty repeated fields are left out, ids are ``{"value": ...}``, resources are ``Resource``
messages, enums their names. A master that does not lead answers every call with 307 to the
leader (MESOS@HEAD src/master/http.cpp ``Master::Http::api``), or 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesoslab_twin.common.httpd import Reply, Request, json_reply, text_reply
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos import master_views, v1_http
from mesoslab_twin.mesos import v1_json as v1
from mesoslab_twin.mesos.master_model import Agent as AgentRecord
from mesoslab_twin.mesos.master_model import Framework, Offer, Task

if TYPE_CHECKING:
    from mesoslab_twin.mesos.agent import Agent
    from mesoslab_twin.mesos.master import Master
    from mesoslab_twin.mesos.tasks import RunningTask

SHARED = frozenset({"UNKNOWN", "GET_HEALTH", "GET_FLAGS", "GET_VERSION", "GET_METRICS"})
MASTER_CALLS = SHARED | {
    "GET_STATE",
    "GET_AGENTS",
    "GET_FRAMEWORKS",
    "GET_EXECUTORS",
    "GET_TASKS",
    "GET_MASTER",
    "GET_ROLES",
    "GET_OPERATIONS",
    "GET_LOGGING_LEVEL",
    "LIST_FILES",
    "READ_FILE",
    "SUBSCRIBE",
    "TEARDOWN",
}
AGENT_CALLS = SHARED | {
    "GET_STATE",
    "GET_CONTAINERS",
    "GET_FRAMEWORKS",
    "GET_EXECUTORS",
    "GET_TASKS",
    "GET_AGENT",
    "GET_LOGGING_LEVEL",
    "LIST_FILES",
    "READ_FILE",
}


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty repeated fields, as stout's protobuf writer does."""
    return {k: v for k, v in data.items() if v != []}


def answer(kind: str, part: dict[str, Any]) -> Reply:
    return json_reply({"type": kind, kind.lower(): part})


def flags(values: dict[str, str]) -> dict[str, Any]:
    return {"flags": [{"name": k, "value": str(v)} for k, v in sorted(values.items())]}


def _parse(request: Request, calls: frozenset[str], who: str) -> v1_http.Call | Reply:
    call = v1_http.parse(request, calls, {})
    if isinstance(call, Reply):
        return call
    if call.type is None:
        return text_reply(f"Failed to validate {who}::Call: Expecting 'type' to be present", 400)
    refused = v1_http.refuses_json(request)
    if refused is not None:
        return refused
    if call.type == "UNKNOWN":
        return text_reply("", 501)
    return call


Part = Callable[[], dict[str, Any]]


def _daemon_parts(version: Callable[[], dict[str, Any]], values: dict[str, str]) -> dict[str, Part]:
    """The calls masters and agents answer alike."""
    return {
        "GET_HEALTH": lambda: {"healthy": True},
        "GET_VERSION": lambda: {"version_info": version()},
        "GET_FLAGS": lambda: flags(values),
    }


def _dispatch(kind: str, parts: dict[str, Part]) -> Reply:
    make = parts.get(kind)
    if make is None:
        return text_reply(f"The mesoslab twin does not serve the {kind} call of the v1 API", 501)
    return answer(kind, make())


# ------------------------------------------------------------------ master


class MasterOperatorApi:
    def __init__(self, master: Master) -> None:
        self.master = master

    def handle(self, request: Request, _match: Any) -> Reply:
        redirect = self.master._not_leading(request)
        if redirect is not None:
            return redirect
        call = _parse(request, MASTER_CALLS, "master")
        if isinstance(call, Reply):
            return call
        master = self.master
        parts = {
            **_daemon_parts(master.version_json, master.flags),
            "GET_MASTER": self.get_master,
            "GET_AGENTS": self.get_agents,
            "GET_FRAMEWORKS": self.get_frameworks,
            "GET_TASKS": self.get_tasks,
            "GET_EXECUTORS": lambda: {},  # command tasks have no ExecutorInfo on the master
            "GET_STATE": self.get_state,
            "GET_METRICS": self.get_metrics,
            "GET_ROLES": self.get_roles,
        }
        with master.lock:
            return _dispatch(str(call.type), parts)

    def get_master(self) -> dict[str, Any]:
        master = self.master
        data: dict[str, Any] = {"master_info": master.info(), "start_time": master.start_time}
        if master.elected_time is not None:
            data["elected_time"] = master.elected_time
        return data

    def get_metrics(self) -> dict[str, Any]:
        values = master_views.metrics(self.master)
        return {"metrics": [{"name": k, "value": v} for k, v in sorted(values.items())]}

    def get_roles(self) -> dict[str, Any]:
        """``Role`` messages (mesos.proto): name, weight, framework ids, allocated resources."""
        return _compact(
            {
                "roles": [
                    _compact(
                        {
                            "name": name,
                            "weight": 1.0,
                            "frameworks": [v1.value(f.id) for f in frameworks],
                            "resources": v1.resources(used),
                        }
                    )
                    for name, frameworks, used in master_views.role_usage(self.master)
                ]
            }
        )

    def get_state(self) -> dict[str, Any]:
        return {
            "get_tasks": self.get_tasks(),
            "get_executors": {},
            "get_frameworks": self.get_frameworks(),
            "get_agents": self.get_agents(),
        }

    def get_agents(self) -> dict[str, Any]:
        cluster = self.master.cluster
        return _compact({"agents": [self._agent(a) for a in cluster.agents.values()]})

    def _agent(self, agent: AgentRecord) -> dict[str, Any]:
        cluster = self.master.cluster
        data: dict[str, Any] = {
            "agent_info": {
                "hostname": agent.hostname,
                "port": agent.port,
                "resources": [v1.resource(r) for r in agent.resources],
                "attributes": v1.attributes(agent.attributes),
                "id": v1.value(agent.id),
            },
            "active": agent.active,
            "deactivated": False,
            "version": agent.version,
            "pid": agent.pid,
            "registered_time": v1.time_info(agent.registered_time),
        }
        if agent.reregistered_time is not None:
            data["reregistered_time"] = v1.time_info(agent.reregistered_time)
        data["total_resources"] = [v1.resource(r) for r in agent.resources]
        data["allocated_resources"] = v1.resources(cluster.used_on(agent.id))
        data["offered_resources"] = v1.resources(cluster.offered_on(agent.id))
        data["capabilities"] = [
            {"type": t} for t in ("MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT")
        ]
        data["agent_info"] = _compact(data["agent_info"])
        return _compact(data)

    def get_frameworks(self) -> dict[str, Any]:
        cluster = self.master.cluster
        return _compact(
            {
                "frameworks": [self._framework(f) for f in cluster.frameworks.values()],
                "completed_frameworks": [self._framework(f) for f in cluster.completed_frameworks],
            }
        )

    def _framework(self, framework: Framework) -> dict[str, Any]:
        cluster = self.master.cluster
        offers = [o for o in cluster.offers.values() if o.framework_id == framework.id]
        used = Amounts()
        for task in framework.tasks.values():
            used = used.plus(task.resources)
        offered = Amounts()
        for offer in offers:
            offered = offered.plus(offer.resources)
        data: dict[str, Any] = {
            "framework_info": v1.framework_info(framework.info),
            "active": framework.active,
            "connected": framework.connected,
            "recovered": framework.recovered,
            "registered_time": v1.time_info(framework.registered_time),
        }
        if framework.reregistered_time is not None:
            data["reregistered_time"] = v1.time_info(framework.reregistered_time)
        if framework.unregistered_time:
            data["unregistered_time"] = v1.time_info(framework.unregistered_time)
        data["offers"] = [self._offer(o) for o in offers]
        data["allocated_resources"] = v1.resources(used)
        data["offered_resources"] = v1.resources(offered)
        return _compact(data)

    def _offer(self, offer: Offer) -> dict[str, Any]:
        return {
            "id": v1.value(offer.id),
            "framework_id": v1.value(offer.framework_id),
            "agent_id": v1.value(offer.agent_id),
            "hostname": offer.hostname,
            "resources": v1.resources(offer.resources),
        }

    def get_tasks(self) -> dict[str, Any]:
        cluster = self.master.cluster
        every = list(cluster.frameworks.values()) + list(cluster.completed_frameworks)
        return _compact(
            {
                "tasks": [master_task(t) for f in every for t in f.tasks.values()],
                "completed_tasks": [master_task(t) for f in every for t in f.completed],
            }
        )


def master_task(task: Task) -> dict[str, Any]:
    """``mesos.v1.Task`` of a task the master knows."""
    data: dict[str, Any] = {
        "name": task.name,
        "task_id": v1.value(task.id),
        "framework_id": v1.value(task.framework_id),
        "agent_id": v1.value(task.agent_id),
        "state": task.state,
        "resources": v1.resources(task.resources),
        "statuses": [
            v1.status({"task_id": task.id, "agent_id": task.agent_id, **s}) for s in task.statuses
        ],
    }
    return _task_extras(data, task.info)


def _task_extras(data: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    if task_state := data.get("statuses"):
        data["status_update_state"] = task_state[-1]["state"]
    for key in ("labels", "discovery", "container", "health_check"):
        if info.get(key):
            data[key] = info[key]
    return _compact(data)


# ------------------------------------------------------------------ agent


class AgentOperatorApi:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def handle(self, request: Request, _match: Any) -> Reply:
        call = _parse(request, AGENT_CALLS, "agent")
        if isinstance(call, Reply):
            return call
        parts = {
            **_daemon_parts(self.agent.version_json, self.agent.flags),
            "GET_STATE": self.get_state,
            "GET_CONTAINERS": self.get_containers,
            "GET_FRAMEWORKS": self.get_frameworks,
            "GET_EXECUTORS": self.get_executors,
            "GET_TASKS": self.get_tasks,
        }
        return _dispatch(str(call.type), parts)

    def _tasks(self) -> tuple[list[RunningTask], list[RunningTask], dict[str, dict[str, Any]]]:
        tasks = self.agent.tasks
        with tasks.lock:
            return list(tasks.live.values()), list(tasks.done), dict(tasks.frameworks)

    def get_state(self) -> dict[str, Any]:
        return {
            "get_tasks": self.get_tasks(),
            "get_executors": self.get_executors(),
            "get_frameworks": self.get_frameworks(),
        }

    def get_frameworks(self) -> dict[str, Any]:
        live, done, infos = self._tasks()
        running = {t.framework_id for t in live}
        known = {t.framework_id: infos.get(t.framework_id, t.framework) for t in live + done}
        return _compact(
            {
                "frameworks": [
                    {"framework_info": v1.framework_info(i)}
                    for f, i in known.items()
                    if f in running
                ],
                "completed_frameworks": [
                    {"framework_info": v1.framework_info(i)}
                    for f, i in known.items()
                    if f not in running
                ],
            }
        )

    def _executor(self, task: RunningTask) -> dict[str, Any]:
        return {
            "executor_info": {
                "executor_id": v1.value(task.id),
                "framework_id": v1.value(task.framework_id),
                "name": f"Command Executor (Task: {task.id})",
                "source": task.id,
                "resources": v1.resources(task.resources),
            }
        }

    def get_executors(self) -> dict[str, Any]:
        live, done, _ = self._tasks()
        return _compact(
            {
                "executors": [self._executor(t) for t in live],
                "completed_executors": [self._executor(t) for t in done],
            }
        )

    def _task(self, task: RunningTask) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": str(task.info.get("name", task.id)),
            "task_id": v1.value(task.id),
            "framework_id": v1.value(task.framework_id),
            "executor_id": v1.value(task.id),
            "agent_id": v1.value(self.agent.agent_id),
            "state": task.state,
            "resources": v1.resources(task.resources),
            "statuses": [
                v1.status({"task_id": task.id, "agent_id": self.agent.agent_id, **s})
                for s in task.statuses
            ],
        }
        return _task_extras(data, task.info)

    def get_tasks(self) -> dict[str, Any]:
        live, done, _ = self._tasks()
        return _compact(
            {
                "launched_tasks": [self._task(t) for t in live],
                "completed_tasks": [self._task(t) for t in done],
            }
        )

    def get_containers(self) -> dict[str, Any]:
        live, _, _ = self._tasks()
        containers = []
        for task in live:
            containers.append(
                {
                    "framework_id": v1.value(task.framework_id),
                    "executor_id": v1.value(task.id),
                    "executor_name": f"Command Executor (Task: {task.id})",
                    "container_id": v1.value(task.container_id),
                    "container_status": {
                        "container_id": v1.value(task.container_id),
                        "executor_pid": task.pid,
                        "network_infos": [{"ip_addresses": [{"ip_address": self.agent.ip}]}],
                    },
                }
            )
        return _compact({"containers": containers})
