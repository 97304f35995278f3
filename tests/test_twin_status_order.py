"""The twin master hands a framework every state a task went through, in order, even when
the agent's report comes after the task has already ended (a short task: RUNNING and
FINISHED between two reports), as Mesos's status update manager sends each update."""

from __future__ import annotations

import time
from typing import Any

from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos.master_model import Framework
from mesoslab_twin.mesos.master_state import Cluster

RESOURCES = [{"name": "cpus", "kind": "SCALAR", "scalar": 1.0}]  # the twin's own wire form
ONE_CPU = {"scalars": {"cpus": 1.0}}


def _launched() -> tuple[Cluster, str, Framework]:
    cluster = Cluster("M", {})
    cluster.nudge = lambda address: None
    info = {"hostname": "agent1", "ip": "10.0.0.2", "port": 5051, "resources": RESOURCES}
    agent_id, _ = cluster.register_agent({"info": info}, time.monotonic())
    fid, _ = cluster.register_framework({"framework_info": {"name": "f"}}, time.monotonic())
    framework = cluster.frameworks[fid]
    task = {"task_id": "t1", "name": "t1", "resources": ONE_CPU, "command": {"value": "true"}}
    cluster.launch(framework, agent_id, [task], Amounts.from_wire(ONE_CPU))
    cluster.heartbeat(cluster.agents[agent_id], [], time.monotonic())  # the agent gets it
    return cluster, agent_id, framework


def _report(framework: Framework, *states: str, last: str = "") -> dict[str, Any]:
    """The agent's word on t1: its history (one entry per update) and its latest update."""
    start = time.time()
    history = [
        {
            "state": state,
            "timestamp": start + i,
            "container_status": {"container_id": {"value": "c"}},
        }
        for i, state in enumerate(states)
    ]
    latest = history[-1] if not last else next(h for h in history if h["state"] == last)
    return {
        "framework_id": framework.id,
        "task_id": "t1",
        "status": {**latest, "task_id": "t1", "source": "SOURCE_EXECUTOR", "message": "done"},
        "statuses": history,
    }


def _states(framework: Framework) -> list[str]:
    return [str(update["state"]) for _, update in framework.events if "state" in update]


def test_a_task_that_ended_between_two_reports_still_reports_running_first() -> None:
    cluster, agent_id, framework = _launched()
    report = _report(framework, "TASK_RUNNING", "TASK_FINISHED")
    cluster.heartbeat(cluster.agents[agent_id], [report], time.monotonic())
    assert _states(framework) == ["TASK_RUNNING", "TASK_FINISHED"]
    running, finished = [update for _, update in framework.events]
    assert running["agent_id"] == agent_id and running["source"] == "SOURCE_EXECUTOR"
    assert running["container_status"] == {"container_id": {"value": "c"}}
    assert finished["message"] == "done"  # the latest update is passed on whole
    assert running["timestamp"] < finished["timestamp"]


def test_no_update_is_sent_twice_and_health_changes_are_not_new_states() -> None:
    cluster, agent_id, framework = _launched()
    agent = cluster.agents[agent_id]
    cluster.heartbeat(agent, [_report(framework, "TASK_RUNNING")], time.monotonic())
    # later: a health change (RUNNING again), then the end
    report = _report(framework, "TASK_RUNNING", "TASK_RUNNING", "TASK_FAILED")
    report["statuses"][0]["timestamp"] -= 100  # the RUNNING the master already has
    cluster.heartbeat(agent, [report], time.monotonic())
    cluster.heartbeat(agent, [report], time.monotonic())  # the same report again
    assert _states(framework) == ["TASK_RUNNING", "TASK_FAILED"]
