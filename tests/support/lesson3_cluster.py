"""A lesson-3 cluster answering from real loopback HTTP servers, and its inventory file.

master1 (Mesos master, Marathon, Chronos when the lab gives it those roles) and agents
agent1/agent2 whose ports are whatever ``serve`` is given: the custom range once lesson 3
is done, ``[31000-32000]`` before. Shared by the CLI and the TUI tests.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.support.fixture_server import FakeLab, Reply, load_fixture, redirect

CUSTOM = "[21000-24000, 30000-64000]"
DEFAULT = "[31000-32000]"
AGENTS = ("agent1", "agent2")


class Lesson3Cluster:
    """``web_port``: a port the /web-21001 Marathon app's task on agent1 really listens on
    (the caller holds the socket); None serves no app."""

    def __init__(self, lab: FakeLab, web_port: int | None = None) -> None:
        self.lab = lab
        self.web_port = web_port
        self.serve(CUSTOM)

    def serve(self, ports: str, *, registered: tuple[str, ...] = AGENTS) -> None:
        lab = self.lab
        mport = lab.ports["mesos_master"]
        state = load_fixture("mesos/master_state_dcos_mesos-1.2.0.json")
        template = state["slaves"][0]
        slaves = []
        for index, name in enumerate(AGENTS, start=1):
            if name not in registered:
                continue
            slave = copy.deepcopy(template)
            slave.update(
                hostname=name,
                active=True,
                pid=f"slave(1)@127.0.0.{1 + index}:5051",
                id=f"{template['id'][:-2]}S{index}",
            )
            slave["resources"]["ports"] = ports
            slaves.append(slave)
        state["slaves"] = slaves
        master = lab.server("master1", "mesos_master")
        master.route("/health", Reply(200))
        master.json("/metrics/snapshot", {"master/elected": 1.0})
        master.route("/master/redirect", redirect(f"//master1:{mport}"))
        master.json("/master/state", state)
        master.json("/master/slaves", {"slaves": slaves})
        for name in AGENTS:
            agent = load_fixture("mesos/agent_state_dcos_mesos-0.27.0.json")
            agent["resources"]["ports"] = ports
            server = lab.server(name, "mesos_agent")
            server.json("/state", agent)
            server.json("/metrics/snapshot", {"slave/registered": 1.0 if name in registered else 0})
            server.route("/health", Reply(200))
        roles = lab.node("master1").roles
        if "marathon" in roles:
            marathon = lab.server("master1", "marathon")
            marathon.route("/ping", Reply(200, "pong"))
            if self.web_port is not None:
                marathon.json("/v2/apps/web-21001", {"app": self._web_app()})
        if "chronos" in roles:
            lab.server("master1", "chronos").json("/scheduler/jobs", [])

    def _web_app(self) -> dict:
        apps = load_fixture("marathon/v2_apps_embed-tasks_marathon-1.5.json")["apps"]
        app = copy.deepcopy(apps[0])
        task = dict(
            app["tasks"][0],
            host="agent1",
            ports=[self.web_port],
            state="TASK_RUNNING",
            appId="/web-21001",
        )
        app.update(
            id="/web-21001",
            instances=1,
            tasksRunning=1,
            tasksStaged=0,
            tasksHealthy=0,
            tasksUnhealthy=0,
            healthChecks=[],
            deployments=[],
            tasks=[task],
        )
        return app


def write_inventory(
    lab: FakeLab, path: Path, ssh: dict[str, tuple[str, int, str, str]] | None = None
) -> Path:
    """The inventory file of ``lab``; ``ssh`` maps node -> (host, port, user, key)."""
    lines: list[str] = []
    for node in lab.inventory.nodes:
        lines += [
            "[[node]]",
            f'name = "{node.name}"',
            f'address = "{node.address}"',
            f"roles = {json.dumps(list(node.roles))}",
        ]
        if ssh and node.name in ssh:
            host, port, user, key = ssh[node.name]
            lines += [
                "[node.ssh]",
                f'host = "{host}"',
                f"port = {port}",
                f'user = "{user}"',
                f'key = "{key}"',
            ]
        lines.append("")
    lines += ["[ports]"] + [f"{k} = {v}" for k, v in lab.ports.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
