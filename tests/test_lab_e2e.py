"""The lab through the CLI on real LXC: init → up → status → verify → provision → lesson 4
(dev check, failover drill included) → destroy.

This is the issue's "done when" on this machine: six nodes come up through `mesoslab up`
with streamed progress, the inventory is right, SSH works, provisioning a second time
changes nothing, and `destroy` leaves no container behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.lab.inventory import load_inventory
from mesoslab.lab.machines import machines_doc
from mesoslab.lab.spec import load_lab
from mesoslab.lab.vagrant import lxc_containers
from tests.support.lxc import mesoslab, new_lab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "six", "3m-3a") as directory:
        yield directory


def test_six_nodes_up_verified_reprovisioned_and_destroyed(lab: Path) -> None:
    spec = load_lab(lab)
    assert [n.name for n in spec.nodes] == [
        "master1",
        "master2",
        "master3",
        "agent1",
        "agent2",
        "agent3",
    ]
    start = time.monotonic()
    out = mesoslab(lab, "up")
    took = time.monotonic() - start
    print(f"mesoslab up of 6 LXC nodes: {took:.0f}s")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # streamed progress: vagrant lines and provisioning steps, prefixed by node
    for node in ("master1", "agent3"):
        assert any(
            line.startswith(f"{node} ") and "│" in line for line in out.stdout.splitlines()
        ), node
    assert "provisioning: 24 step(s) on 6 node(s)" in out.stdout
    assert "a rehearsal lab" in out.stdout

    inventory = load_inventory(lab / ".mesoslab" / "inventory.toml")
    assert [(n.name, n.address) for n in inventory.nodes] == [
        (n.name, n.address) for n in spec.nodes
    ]
    assert all(n.ssh is not None and n.ssh.user == "vagrant" and n.ssh.key for n in inventory.nodes)

    # SSH works: lesson 1 step 1's host checks pass on all six nodes (no firewalld, and
    # every node's name resolves to its lab address thanks to provisioning)
    out = mesoslab(lab, "verify", "lesson-1", "--step", "1", "--format", "json", "--timeout", "30")
    assert out.returncode == 0, out.stdout + out.stderr
    checks = json.loads(out.stdout)["steps"][0]["checks"]
    assert {c["node"] for c in checks} == {n.name for n in spec.nodes}
    assert all(c["status"] == "pass" for c in checks)

    out = mesoslab(lab, "status", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert '"running"' in out.stdout

    # idempotent: a second provisioning changes nothing
    out = mesoslab(lab, "provision")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 changed, 0 failed" in out.stdout

    # lesson 4 end to end on the six nodes, failover drill included: the leading master's
    # mesos-master is stopped, a new leader is elected through the real ZooKeeper ensemble,
    # agents and tasks carry on, and verify sees every step fail before and pass after
    out = mesoslab(lab, "dev", "check", "lesson-4", timeout=1500)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "✔ lesson-4 step 5: Failover drill" in out.stdout

    out = mesoslab(lab, "destroy", "--yes")
    assert out.returncode == 0, out.stderr
    names = {m["vm_name"] for m in machines_doc(spec)["machines"]}
    assert not names & set(lxc_containers())
    assert not (lab / ".mesoslab" / "inventory.toml").exists()
