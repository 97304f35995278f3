"""Verify while the cluster misbehaves: an agent killed mid-verify, a ZooKeeper server
stopped, a master restarted during a check. Verify reports the right failures, recovers
when the cluster does, and never hangs (DESIGN §4, §7).

Real ZooKeeper ensemble (3 servers) and the twin daemons as real processes on loopback.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from mesoslab.checks.result import CheckResult, Status
from mesoslab.checks.runner import plan, run_all
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import Inventory
from mesoslab.remote.session import Session
from tests.support import zkserver
from tests.support.twin_lab import Daemon, TwinLab, wait_until

MASTERS = {"master1": "127.0.0.1", "master2": "127.0.0.2", "master3": "127.0.0.3"}
AGENT = ("agent1", "127.0.0.4")
SESSION = {"zk_session_timeout": "10secs"}  # Mesos' default; see test_twin_behaviour.py


@dataclass
class Lab:
    inventory: Inventory
    masters: dict[str, Daemon]
    agent: Daemon
    zk: list[zkserver.ZkServer]

    def verify(self, *specs: CheckSpec, timeout: float) -> list[CheckResult]:
        with Session(self.inventory) as session:
            return run_all(plan(specs, self.inventory), session, timeout=timeout)

    def leader(self) -> Daemon | None:
        for daemon in self.masters.values():
            if daemon.running:
                try:
                    if daemon.get("/metrics/snapshot", timeout=2).json()["master/elected"]:
                        return daemon
                except OSError:
                    continue
        return None

    def healthy(self) -> bool:
        results = self.verify(REGISTERED, LEADER, ENSEMBLE, timeout=1)
        return all(r.status is Status.PASS for r in results)


REGISTERED = CheckSpec("mesos.agents_registered", {"count": 1}, hint="agent down?")
LEADER = CheckSpec("mesos.leader", {"masters_up": 3}, hint="a master down?")
ENSEMBLE = CheckSpec("zookeeper.ensemble", {}, hint="a ZooKeeper server down?")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    zkserver.require_zookeeper()
    base: Path = tmp_path_factory.mktemp("reliability")
    servers = zkserver.ensemble(base / "zk", addresses=tuple(MASTERS.values()))
    twins = TwinLab(base / "nodes", [*MASTERS.values(), AGENT[1]])
    try:
        for server in servers:
            server.start()
        zkserver.wait_for(servers, zkserver.ensemble_ready, timeout=40)
        hosts = ",".join(f"{a}:{servers[0].client_port}" for a in MASTERS.values())
        zk_url = f"zk://{hosts}/mesos"
        masters = {
            n: twins.master(n, a, zk=zk_url, quorum=2, extra=SESSION) for n, a in MASTERS.items()
        }
        agent = twins.agent(AGENT[0], AGENT[1], master=zk_url)
        for daemon in (*masters.values(), agent):
            daemon.start()
        for daemon in (*masters.values(), agent):
            daemon.wait_http()
        base_inventory = twins.inventory()
        nodes = tuple(
            replace(n, roles=(*n.roles, "zookeeper")) if n.name in MASTERS else n
            for n in base_inventory.nodes
        )
        inventory = replace(
            base_inventory,
            nodes=nodes,
            ports={**base_inventory.ports, "zookeeper": servers[0].client_port},
        )
        found = Lab(inventory, masters, agent, servers)
        wait_until("a leader with the agent registered", found.healthy, 60)
        yield found
    finally:
        twins.stop_all()
        zkserver.stop_all(servers)


def settle_in_background(
    lab: Lab, spec: CheckSpec, timeout: float
) -> tuple[threading.Thread, list[CheckResult]]:
    out: list[CheckResult] = []
    thread = threading.Thread(target=lambda: out.extend(lab.verify(spec, timeout=timeout)))
    thread.start()
    return thread, out


def test_an_agent_killed_mid_verify_is_a_failure_then_recovers(lab: Lab) -> None:
    lab.agent.stop(signal.SIGKILL)
    # The agent's own API is gone at once; the master, like Mesos, only marks it inactive
    # after its ping timeout, so the agent-side check is the one that must fail now.
    down = lab.verify(CheckSpec("mesos.agent_resources", {"cpus": 1}, hint="h"), timeout=3)[0]
    assert down.status is Status.FAIL and down.node == "agent1"
    assert "refused" in down.summary, down
    # verify is running (settling) while the agent comes back: it recovers and passes. The
    # master has to see the agent gone first (2 s without a heartbeat)

    def agent_inactive() -> bool:
        leader = lab.leader()
        if leader is None:
            return False
        return not any(agent["active"] for agent in leader.get("/master/slaves").json()["slaves"])

    wait_until("the master to mark agent1 inactive", agent_inactive)
    thread, out = settle_in_background(lab, REGISTERED, timeout=60)
    time.sleep(1)
    lab.agent.start()
    thread.join(90)
    assert not thread.is_alive()
    assert out[0].status is Status.PASS, out[0]
    assert out[0].attempts > 1 and out[0].elapsed_s < 60


def test_a_zookeeper_server_down_is_named_and_the_cluster_carries_on(lab: Lab) -> None:
    stopped = lab.zk[2]  # master3's server
    stopped.stop()
    try:
        ensemble, leader = lab.verify(ENSEMBLE, CheckSpec("mesos.leader", {}, hint="h"), timeout=3)
        assert ensemble.status is Status.FAIL
        assert "master3" in ensemble.summary, ensemble
        assert leader.status is Status.PASS, leader  # two of three servers keep a quorum
    finally:
        stopped.start()
    recovered = lab.verify(ENSEMBLE, timeout=60)[0]
    assert recovered.status is Status.PASS, recovered


def test_a_master_restarted_during_a_check_settles_without_hanging(lab: Lab) -> None:
    leader = lab.leader()
    assert leader is not None
    leader.stop(signal.SIGTERM)
    thread, out = settle_in_background(lab, LEADER, timeout=60)
    time.sleep(1)
    leader.start()
    start = time.monotonic()
    thread.join(90)
    assert not thread.is_alive() and time.monotonic() - start < 90
    assert out[0].status is Status.PASS, out[0]
    assert out[0].attempts > 1  # it failed while the master was down, then settled
    wait_until("the agent registered again", lab.healthy, 60)
