"""dcos.* check kinds against the recorded DC/OS fixtures served by real local HTTP servers
(Admin Router's port and the Mesos master's, as the inventory names them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesoslab.checks.result import Status
from mesoslab.lab.inventory import Inventory, Node
from tests.support.fixture_server import FakeLab, FixtureServer, load_fixture, run_check


@pytest.fixture
def lab() -> Iterator[tuple[FakeLab, FixtureServer, Inventory]]:
    with FakeLab([("master1", ["master", "marathon"])]) as fake:
        node = fake.node("master1")
        with FixtureServer(node.address) as router:
            ports = {**fake.inventory.ports, "dcos_adminrouter": router.port}
            inventory = Inventory(
                nodes=(Node("master1", node.address, node.roles),), ports=ports, source="test"
            )
            yield fake, router, inventory


def test_version_reads_dcos_version_json(lab: tuple[FakeLab, FixtureServer, Inventory]) -> None:
    _, router, inventory = lab
    router.json("/dcos-metadata/dcos-version.json", load_fixture("dcos/dcos-version_2.2.0.json"))
    ok = run_check(inventory, "dcos.version", {"version": "2.2.0"}, on="master1")
    assert ok.status is Status.PASS and "2.2.0" in ok.summary, ok
    wrong = run_check(inventory, "dcos.version", {"version": "1.10.0"}, on="master1")
    assert wrong.status is Status.FAIL and "not 1.10.0" in wrong.summary, wrong


def test_unit_health_fails_on_an_unhealthy_unit(
    lab: tuple[FakeLab, FixtureServer, Inventory],
) -> None:
    _, router, inventory = lab
    units = [
        {"id": "dcos-mesos-master.service", "health": 0},
        {"id": "dcos-marathon.service", "health": 1},
    ]
    router.json("/system/health/v1", {"units": units, "dcos_version": "1.10.0"})
    sick = run_check(inventory, "dcos.unit_health", on="master1")
    assert sick.status is Status.FAIL and "dcos-marathon.service" in sick.summary, sick
    missing = run_check(
        inventory, "dcos.unit_health", {"units": ["dcos-exhibitor.service"]}, on="master1"
    )
    assert missing.status is Status.FAIL and "not among" in missing.summary, missing
    units[1]["health"] = 0
    router.json("/system/health/v1", {"units": units})
    assert run_check(inventory, "dcos.unit_health", on="master1").status is Status.PASS


def test_overlay_agents_holds_the_fixture_state(
    lab: tuple[FakeLab, FixtureServer, Inventory],
) -> None:
    fake, _, inventory = lab
    state = load_fixture("dcos/overlay-master_state.json")
    fake.server("master1", "mesos_master").json("/overlay-master/state", state)
    # the fixture's overlays are dcos-1/dcos-2 in 192.168.0.0/16, five agents, all STATUS_OK
    ok = run_check(
        inventory, "dcos.overlay_agents", {"agents": 3, "subnet": "192.168.0.0/16"}, on="master1"
    )
    assert ok.status is Status.PASS, ok
    outside = run_check(inventory, "dcos.overlay_agents", {"agents": 3}, on="master1")
    assert outside.status is Status.FAIL and "not in 9.0.0.0/8" in outside.summary, outside
    too_few = run_check(
        inventory, "dcos.overlay_agents", {"agents": 6, "subnet": "192.168.0.0/16"}, on="master1"
    )
    assert too_few.status is Status.FAIL and "5 agent(s)" in too_few.summary, too_few
    state["agents"][0]["overlays"][0]["state"] = {"status": "STATUS_FAILED", "error": "docker down"}
    fake.server("master1", "mesos_master").json("/overlay-master/state", state)
    failed = run_check(
        inventory, "dcos.overlay_agents", {"agents": 3, "subnet": "192.168.0.0/16"}, on="master1"
    )
    assert failed.status is Status.FAIL and "STATUS_FAILED docker down" in failed.summary, failed


def test_task_ip_wants_an_address_in_the_cidr(
    lab: tuple[FakeLab, FixtureServer, Inventory],
) -> None:
    fake, _, inventory = lab
    task = {
        "id": "web.1",
        "appId": "/web",
        "host": "10.0.3.21",
        "state": "TASK_RUNNING",
        "ipAddresses": [{"ipAddress": "9.0.2.130", "protocol": "IPv4"}],
    }
    app = {"id": "/web", "instances": 1, "tasks": [task]}
    marathon = fake.server("master1", "marathon")
    marathon.json("/v2/apps/web", {"app": app})
    assert (
        run_check(inventory, "dcos.task_ip", {"app": "/web", "cidr": "9.0.0.0/8"}).status
        is Status.PASS
    )
    task["ipAddresses"] = [{"ipAddress": "10.0.3.21", "protocol": "IPv4"}]
    marathon.json("/v2/apps/web", {"app": app})
    shared = run_check(inventory, "dcos.task_ip", {"app": "/web", "cidr": "9.0.0.0/8"})
    assert shared.status is Status.FAIL and "no address in 9.0.0.0/8" in shared.summary, shared
