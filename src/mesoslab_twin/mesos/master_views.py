"""The master's JSON documents, shaped like Mesos 1.4 writes them (api-facts §1).

``/master/state`` (SlaveWriter, FullFrameworkWriter, the task and status writers),
``/master/state-summary``, ``/master/slaves``, ``/master/frameworks``, ``/master/tasks`` and
``/metrics/snapshot``. Resources always carry cpus/gpus/mem/disk; ports are range strings;
flags are strings.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mesoslab_twin.common.values import Amounts, number, resources_by_role
from mesoslab_twin.mesos.master_model import TERMINAL_STATES, Agent, Framework, Offer, Task
from mesoslab_twin.mesos.master_state import Cluster

if TYPE_CHECKING:
    from mesoslab_twin.mesos.master import Master

SUMMARY_STATES = (
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_KILLED",
    "TASK_FAILED",
    "TASK_LOST",
    "TASK_ERROR",
    "TASK_UNREACHABLE",
)


def _attributes(agent: Agent) -> dict[str, Any]:
    return {name: value for name, value in agent.attributes}


def agent_json(cluster: Cluster, agent: Agent) -> dict[str, Any]:
    total = agent.total
    used = cluster.used_on(agent.id)
    roles = resources_by_role(agent.resources)
    data: dict[str, Any] = {
        "id": agent.id,
        "pid": agent.pid,
        "hostname": agent.hostname,
        "port": agent.port,
        "registered_time": round(agent.registered_time, 5),
    }
    if agent.reregistered_time is not None:
        data["reregistered_time"] = round(agent.reregistered_time, 5)
    data.update(
        {
            "resources": total.to_json(),
            "used_resources": used.to_json(),
            "offered_resources": cluster.offered_on(agent.id).to_json(),
            "reserved_resources": {r: a.to_json() for r, a in roles.items() if r != "*"},
            "unreserved_resources": roles.get("*", Amounts()).to_json(),
            "attributes": _attributes(agent),
            "active": agent.active,
            "version": agent.version,
            "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
        }
    )
    return data


def _status_json(entry: dict[str, Any], agent_ip: str, container_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {"state": entry["state"], "timestamp": round(entry["timestamp"], 5)}
    if entry.get("labels"):
        data["labels"] = entry["labels"]
    status = entry.get("container_status")
    if status is None and entry["state"] != "TASK_STAGING" and agent_ip:
        status = {
            "container_id": {"value": container_id},
            "network_infos": [{"ip_addresses": [{"ip_address": agent_ip}]}],
        }
    if status:
        data["container_status"] = status
    if "healthy" in entry:
        data["healthy"] = entry["healthy"]
    return data


def task_json(cluster: Cluster, task: Task) -> dict[str, Any]:
    agent = cluster.agents.get(task.agent_id)
    info = task.info
    data: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "framework_id": task.framework_id,
        "executor_id": "",
        "slave_id": task.agent_id,
        "state": task.state,
        "resources": task.resources.to_json(),
        "role": "*",
        "statuses": [
            _status_json(s, agent.ip if agent else "", str(info.get("container_id", "")))
            for s in task.statuses
        ],
        "labels": list((info.get("labels") or {}).get("labels", []))
        if isinstance(info.get("labels"), dict)
        else list(info.get("labels") or []),
    }
    for key in ("discovery", "container", "health_check"):
        if info.get(key):
            data[key] = info[key]
    return data


def _counts(tasks: list[Task]) -> dict[str, int]:
    counts = dict.fromkeys(SUMMARY_STATES, 0)
    for task in tasks:
        if task.state in counts:
            counts[task.state] += 1
    return counts


def _offered(cluster: Cluster, framework: Framework) -> Amounts:
    offered = Amounts()
    for offer in cluster.offers.values():
        if offer.framework_id == framework.id:
            offered = offered.plus(offer.resources)
    return offered


def offer_json(offer: Offer) -> dict[str, Any]:
    """An outstanding offer as /master/state lists it (OfferWriter in Mesos 1.x)."""
    return {
        "id": offer.id,
        "framework_id": offer.framework_id,
        "slave_id": offer.agent_id,
        "resources": offer.resources.to_json(),
    }


def framework_summary(cluster: Cluster, framework: Framework) -> dict[str, Any]:
    info = framework.info
    used = Amounts()
    for task in framework.tasks.values():
        used = used.plus(task.resources)
    return {
        "id": framework.id,
        "name": framework.name,
        "pid": f"scheduler-{framework.id}@{info.get('hostname', '')}",
        "used_resources": used.to_json(),
        "offered_resources": _offered(cluster, framework).to_json(),
        "capabilities": [
            c.get("type", c) if isinstance(c, dict) else c for c in info.get("capabilities", [])
        ],
        "hostname": str(info.get("hostname", "")),
        "webui_url": str(info.get("webui_url", "")),
        "active": framework.active,
        "connected": framework.connected,
        "recovered": framework.recovered,
    }


def framework_json(cluster: Cluster, framework: Framework) -> dict[str, Any]:
    info = framework.info
    data = framework_summary(cluster, framework)
    data.update(
        {
            "user": str(info.get("user", "root")),
            "failover_timeout": number(framework.failover_timeout),
            "checkpoint": bool(info.get("checkpoint", False)),
            "registered_time": round(framework.registered_time, 5),
            "unregistered_time": round(framework.unregistered_time, 5),
            "principal": str(info.get("principal", "")),
            "resources": data["used_resources"],
            "role": str(info.get("role", "*")),
            "tasks": [task_json(cluster, t) for t in framework.tasks.values()],
            "unreachable_tasks": [],
            "completed_tasks": [task_json(cluster, t) for t in framework.completed],
            "offers": [
                offer_json(o) for o in cluster.offers.values() if o.framework_id == framework.id
            ],
            "executors": [],
        }
    )
    if framework.reregistered_time is not None:
        data["reregistered_time"] = round(framework.reregistered_time, 5)
    if info.get("labels"):
        data["labels"] = info["labels"]
    return data


def role_usage(master: Master) -> list[tuple[str, list[Framework], Amounts]]:
    """Every role with a registered framework, in name order: its frameworks and the
    resources their tasks use."""
    by_role: dict[str, list[Framework]] = {}
    for framework in master.cluster.frameworks.values():
        by_role.setdefault(str(framework.info.get("role", "*")), []).append(framework)
    out = []
    for name in sorted(by_role):
        used = Amounts()
        for framework in by_role[name]:
            for task in framework.tasks.values():
                used = used.plus(task.resources)
        out.append((name, by_role[name], used))
    return out


def roles(master: Master) -> dict[str, Any]:
    """``/master/roles`` as Mesos 1.4 writes it (master/http.cpp ``roles()`` and its
    ``model(name, weight, quota, role)``): with no role whitelist and no weights or quota
    set, every role with a registered framework, in name order, each with its weight (1.0,
    the default), the resources allocated to it and its frameworks' ids."""
    return {
        "roles": [
            {
                "name": name,
                "weight": 1.0,
                "resources": used.to_json(),
                "frameworks": [f.id for f in frameworks],
            }
            for name, frameworks, used in role_usage(master)
        ]
    }


def state(master: Master) -> dict[str, Any]:
    cluster = master.cluster
    data: dict[str, Any] = master.version_json()
    data.update(
        {
            "start_time": round(master.start_time, 5),
            "id": master.id,
            "pid": master.pid,
            "hostname": master.hostname,
            "capabilities": [],
            "activated_slaves": sum(1 for a in cluster.agents.values() if a.active),
            "deactivated_slaves": sum(1 for a in cluster.agents.values() if not a.active),
            "unreachable_slaves": cluster.unreachable,
        }
    )
    if master.elected_time is not None:
        data["elected_time"] = round(master.elected_time, 5)
    leader = master.leader_info()
    if leader is not None:
        data["leader"] = leader["pid"]
        data["leader_info"] = {k: leader[k] for k in ("id", "pid", "port", "hostname")}
    if "cluster" in master.flags:
        data["cluster"] = master.flags["cluster"]
    if "log_dir" in master.flags:
        data["log_dir"] = master.flags["log_dir"]
    data.update(
        {
            "flags": dict(master.flags),
            "slaves": [agent_json(cluster, a) for a in cluster.agents.values()],
            "recovered_slaves": [],
            "frameworks": [framework_json(cluster, f) for f in cluster.frameworks.values()],
            "completed_frameworks": [
                framework_json(cluster, f) for f in cluster.completed_frameworks
            ],
            "orphan_tasks": [],
            "unregistered_frameworks": [],
        }
    )
    return data


def state_summary(master: Master) -> dict[str, Any]:
    cluster = master.cluster
    slaves = []
    for agent in cluster.agents.values():
        entry = agent_json(cluster, agent)
        tasks = [t for t in cluster.all_tasks() if t.agent_id == agent.id]
        tasks += [
            t for f in cluster.frameworks.values() for t in f.completed if t.agent_id == agent.id
        ]
        entry.update(_counts(tasks))
        entry["framework_ids"] = sorted({t.framework_id for t in tasks})
        slaves.append(entry)
    frameworks = []
    for framework in cluster.frameworks.values():
        entry = framework_summary(cluster, framework)
        tasks = list(framework.tasks.values()) + list(framework.completed)
        entry.update(_counts(tasks))
        entry["slave_ids"] = sorted({t.agent_id for t in framework.tasks.values()})
        frameworks.append(entry)
    data: dict[str, Any] = {"hostname": master.hostname}
    if "cluster" in master.flags:
        data["cluster"] = master.flags["cluster"]
    data["slaves"] = slaves
    data["frameworks"] = frameworks
    return data


def slaves(master: Master, agent_id: str | None = None) -> dict[str, Any]:
    cluster = master.cluster
    return {
        "slaves": [
            agent_json(cluster, a)
            for a in cluster.agents.values()
            if agent_id is None or a.id == agent_id
        ],
        "recovered_slaves": [],
    }


def frameworks(master: Master, framework_id: str | None = None) -> dict[str, Any]:
    cluster = master.cluster

    def wanted(f: Framework) -> bool:
        return framework_id is None or f.id == framework_id

    return {
        "frameworks": [
            framework_json(cluster, f) for f in cluster.frameworks.values() if wanted(f)
        ],
        "completed_frameworks": [
            framework_json(cluster, f) for f in cluster.completed_frameworks if wanted(f)
        ],
        "unregistered_frameworks": [],
    }


def tasks(master: Master, limit: int, offset: int, ascending: bool) -> dict[str, Any]:
    cluster = master.cluster
    every: list[Task] = []
    for framework in list(cluster.frameworks.values()) + list(cluster.completed_frameworks):
        every.extend(framework.tasks.values())
        every.extend(framework.completed)
    every.sort(key=lambda t: t.statuses[0]["timestamp"] if t.statuses else 0.0)
    if not ascending:
        every.reverse()
    return {"tasks": [task_json(cluster, t) for t in every[offset : offset + limit]]}


def metrics(master: Master) -> dict[str, float]:
    cluster = master.cluster
    agents = list(cluster.agents.values())
    frameworks_ = list(cluster.frameworks.values())
    live = cluster.all_tasks()
    total = Amounts()
    used = Amounts()
    for agent in agents:
        total = total.plus(agent.total)
        used = used.plus(cluster.used_on(agent.id))
    data: dict[str, float] = {
        "master/elected": 1.0 if master.elected else 0.0,
        "master/uptime_secs": round(time.time() - master.start_time, 3),
        "master/slaves_active": float(sum(1 for a in agents if a.active)),
        "master/slaves_inactive": float(sum(1 for a in agents if not a.active)),
        "master/slaves_connected": float(sum(1 for a in agents if a.active)),
        "master/slaves_disconnected": float(sum(1 for a in agents if not a.active)),
        "master/slaves_unreachable": float(cluster.unreachable),
        "master/frameworks_active": float(sum(1 for f in frameworks_ if f.active)),
        "master/frameworks_inactive": float(sum(1 for f in frameworks_ if not f.active)),
        "master/frameworks_connected": float(sum(1 for f in frameworks_ if f.connected)),
        "master/frameworks_disconnected": float(sum(1 for f in frameworks_ if not f.connected)),
        "master/outstanding_offers": float(len(cluster.offers)),
        "master/messages_decline_offers": float(cluster.counters.get("messages_decline_offers", 0)),
        "master/messages_launch_tasks": float(cluster.counters.get("messages_launch_tasks", 0)),
        "master/cpus_total": total.scalars.get("cpus", 0.0),
        "master/cpus_used": used.scalars.get("cpus", 0.0),
        "master/mem_total": total.scalars.get("mem", 0.0),
        "master/mem_used": used.scalars.get("mem", 0.0),
        "master/disk_total": total.scalars.get("disk", 0.0),
        "master/disk_used": used.scalars.get("disk", 0.0),
        "master/gpus_total": 0.0,
        "master/gpus_used": 0.0,
        "registrar/log/recovered": 1.0 if master.elected else 0.0,
    }
    for state_name in ("STAGING", "STARTING", "RUNNING", "KILLING"):
        data[f"master/tasks_{state_name.lower()}"] = float(
            sum(1 for t in live if t.state == f"TASK_{state_name}")
        )
    for state_name in TERMINAL_STATES:
        data[f"master/tasks_{state_name[5:].lower()}"] = float(cluster.counters.get(state_name, 0))
    return data
