"""The master wakes an agent that has operations waiting (mesoslab_twin.mesos.nudge), so a
launch or a kill does not wait for the agent's next heartbeat."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mesoslab_twin.common.httpd import Request
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos.agent import Agent
from mesoslab_twin.mesos.master_state import Cluster
from mesoslab_twin.mesos.nudge import WAKE_PATH, Nudger

RESOURCES = [{"name": "cpus", "kind": "SCALAR", "scalar": 1.0}]  # the twin's own wire form
ONE_CPU = {"scalars": {"cpus": 1.0}}


def _cluster() -> tuple[Cluster, str, list[str]]:
    cluster = Cluster("M", {})
    pokes: list[str] = []
    cluster.nudge = pokes.append
    info = {"hostname": "agent1", "ip": "10.0.0.2", "port": 5051, "resources": RESOURCES}
    agent_id, _ = cluster.register_agent({"info": info}, time.monotonic())
    return cluster, agent_id, pokes


def test_a_launch_and_a_kill_wake_the_agent_that_runs_them() -> None:
    cluster, agent_id, pokes = _cluster()
    fid, _ = cluster.register_framework({"framework_info": {"name": "f"}}, time.monotonic())
    framework = cluster.frameworks[fid]
    task = {"task_id": "t1", "name": "t1", "resources": ONE_CPU, "command": {"value": "true"}}
    cluster.launch(framework, agent_id, [task], Amounts.from_wire(ONE_CPU))
    assert cluster.agents[agent_id].pending, "the launch waits for the agent"
    assert pokes == ["10.0.0.2:5051"]
    cluster.heartbeat(cluster.agents[agent_id], [], time.monotonic())  # delivered
    cluster.kill(framework, "t1")
    assert pokes == ["10.0.0.2:5051"] * 2


def test_an_invalid_launch_wakes_nobody() -> None:
    cluster, agent_id, pokes = _cluster()
    fid, _ = cluster.register_framework({"framework_info": {"name": "f"}}, time.monotonic())
    too_big = {"scalars": {"cpus": 8.0}}
    task = {"task_id": "t1", "name": "t1", "resources": too_big, "command": {"value": "true"}}
    cluster.launch(cluster.frameworks[fid], agent_id, [task], Amounts.from_wire(ONE_CPU))
    assert not cluster.agents[agent_id].pending and pokes == []


def test_the_nudger_posts_to_the_agents_wake_route() -> None:
    seen: list[tuple[str, str]] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append((self.command, self.path))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        nudger = Nudger()
        nudger.poke("127.0.0.1:1")  # nobody there: given up, and the next one still goes
        nudger.poke(f"127.0.0.1:{server.server_address[1]}")
        assert arrived.wait(10), "the poke never reached the agent"
        assert seen[0] == ("POST", WAKE_PATH)
    finally:
        server.shutdown()
        server.server_close()


def test_the_agent_heartbeats_at_once_when_woken() -> None:
    agent = object.__new__(Agent)
    agent.wake = threading.Event()
    reply = Agent.routes(agent).dispatch(Request("POST", WAKE_PATH, {}, {}, b""))
    assert reply.status == 202
    assert agent.wake.is_set()
