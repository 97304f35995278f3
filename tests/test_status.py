"""`mesoslab status` against real loopback HTTP servers, a real ZooKeeper and closed ports."""

from __future__ import annotations

import ast
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from mesoslab.cli.lab import status as status_cmd
from mesoslab.cli.main import _Group
from mesoslab.cli.status_view import render
from mesoslab.errors import UsageError
from mesoslab.lab.init import write_lab
from mesoslab.lab.inventory import DEFAULT_PORTS, Inventory, Node
from mesoslab.ops.status import (
    REHEARSAL_BANNER,
    LabStatus,
    NodeStatus,
    ServiceStatus,
    StatusTarget,
    lab_status,
    resolve_target,
    status_rows,
)
from mesoslab.remote.session import Session
from tests.support import zkserver
from tests.support.fixture_server import FakeLab, Reply, closed_port, redirect

HA = [
    ("master1", ["master", "zookeeper", "marathon", "chronos"]),
    ("master2", ["master", "zookeeper"]),
    ("master3", ["master", "zookeeper"]),
    ("agent1", ["agent"]),
    ("agent2", ["agent"]),
    ("agent3", ["agent"]),
]


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab(HA) as fake:
        yield fake


def rows_of(inventory: Inventory, **kwargs: object) -> dict[str, NodeStatus]:
    with Session(inventory) as session:
        rows = status_rows(inventory, session, **kwargs)  # type: ignore[arg-type]
    assert [r.name for r in rows] == [n.name for n in inventory.nodes]
    return {r.name: r for r in rows}


def service(row: NodeStatus, name: str) -> ServiceStatus:
    found = [s for s in row.services if s.service == name]
    assert len(found) == 1, row
    return found[0]


def text_of(status: LabStatus) -> str:
    out = io.StringIO()
    render(status, Console(file=out, width=140, color_system=None))
    return out.getvalue()


# ----------------------------------------------------------------------------- masters


def test_leader_standby_and_down(lab: FakeLab) -> None:
    port = lab.ports["mesos_master"]
    for name in ("master1", "master2"):
        lab.server(name, "mesos_master").route("/master/redirect", redirect(f"//master2:{port}"))
    lab.server("master3", "mesos_master").stop()
    rows = rows_of(lab.inventory)
    m1, m2, m3 = (service(rows[n], "master") for n in ("master1", "master2", "master3"))
    assert (m1.state, m1.health, m1.detail) == ("standby", "ok", "leader is master2")
    assert (m2.state, m2.health) == ("leader", "ok")
    assert (m3.state, m3.health) == ("down", "down")
    assert "connection refused" in m3.detail and "127.0.0.3" in m3.detail
    text = text_of(LabStatus(list(rows.values()), "fixture lab"))
    assert "master leader" in text and "master standby" in text and "master down" in text
    assert "master3 master: cannot connect" in text  # the reason is shown under the table


def test_leader_named_by_address_and_by_fqdn(lab: FakeLab) -> None:
    port = lab.ports["mesos_master"]
    leader = lab.node("master3").address
    lab.server("master1", "mesos_master").route("/master/redirect", redirect(f"//{leader}:{port}"))
    lab.server("master2", "mesos_master").route(
        "/master/redirect", redirect(f"//master3.lab.example:{port}")
    )
    lab.server("master3", "mesos_master").route("/master/redirect", redirect(f"//{leader}:{port}"))
    rows = rows_of(lab.inventory)
    assert service(rows["master1"], "master").detail == "leader is master3"
    assert service(rows["master2"], "master").detail == "leader is master3"
    assert service(rows["master3"], "master").state == "leader"


def test_no_leader_elected(lab: FakeLab) -> None:
    for _, server in lab.servers("mesos_master"):
        server.route("/master/redirect", Reply(503, "No leader elected"))
    rows = rows_of(lab.inventory)
    got = service(rows["master1"], "master")
    assert (got.state, got.health) == ("no leader", "warn")


def test_unknown_leader_host_falls_back_to_metrics(lab: FakeLab) -> None:
    for name, elected in (("master1", 1.0), ("master2", 0.0)):
        server = lab.server(name, "mesos_master")
        server.route("/master/redirect", redirect("//ip-10-0-0-9.internal:5050"))
        server.json("/metrics/snapshot", {"master/elected": elected, "master/uptime_secs": 9.5})
    rows = rows_of(lab.inventory)
    assert service(rows["master1"], "master").state == "leader"
    assert service(rows["master2"], "master").state == "standby"
    # master3 has neither: it answers, but says nothing a status can use
    third = service(rows["master3"], "master")
    assert third.health == "warn" and "404" in third.detail


# ------------------------------------------------------------------------------ agents


def test_agents_registered_not_registered_and_down(lab: FakeLab) -> None:
    lab.server("agent1", "mesos_agent").json("/metrics/snapshot", {"slave/registered": 1.0})
    lab.server("agent2", "mesos_agent").json("/metrics/snapshot", {"slave/registered": 0.0})
    lab.server("agent3", "mesos_agent").stop()
    rows = rows_of(lab.inventory)
    assert service(rows["agent1"], "agent").state == "registered"
    second = service(rows["agent2"], "agent")
    assert (second.state, second.health) == ("not registered", "warn")
    third = service(rows["agent3"], "agent")
    assert (third.state, third.health) == ("down", "down")


def test_agent_without_metrics_falls_back_to_health(lab: FakeLab) -> None:
    lab.server("agent1", "mesos_agent").route("/health", Reply(200, b""))
    rows = rows_of(lab.inventory)
    got = service(rows["agent1"], "agent")
    assert (got.state, got.health) == ("up", "warn") and "registration unknown" in got.detail


# ---------------------------------------------------------------------- marathon, chronos


@pytest.mark.parametrize(
    ("reply", "state"),
    [
        (Reply(200, "pong\n"), "up"),  # Marathon <= 1.4
        (Reply(200, '"pong"', {"Content-Type": "application/json"}), "up"),  # 1.5+ JSON
        (Reply(503, "leadership inconsistent"), "down"),
        (Reply(200, "<html>login</html>"), "unexpected"),
    ],
)
def test_marathon_ping(lab: FakeLab, reply: Reply, state: str) -> None:
    lab.server("master1", "marathon").route("/ping", reply)
    got = service(rows_of(lab.inventory)["master1"], "marathon")
    assert got.state == state, got


def test_chronos_2_and_3(lab: FakeLab) -> None:
    server = lab.server("master1", "chronos")
    server.json("/scheduler/jobs", [])
    assert service(rows_of(lab.inventory)["master1"], "chronos").state == "up"
    server.routes.clear()
    server.json("/v1/scheduler/jobs", [])  # Chronos 3.x moved the API under /v1
    assert service(rows_of(lab.inventory)["master1"], "chronos").state == "up"
    server.routes.clear()
    got = service(rows_of(lab.inventory)["master1"], "chronos")
    assert got.health == "warn" and "404" in got.detail


# --------------------------------------------------------------------------- zookeeper


@pytest.fixture(scope="module")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zkserver.ZkServer]:
    zkserver.require_zookeeper()
    server = zkserver.standalone(tmp_path_factory.mktemp("zk-status"))
    server.start()
    try:
        zkserver.wait_for([server], lambda modes: modes == ["standalone"])
        yield server
    finally:
        server.stop()


def test_zookeeper_mode_and_down(zookeeper: zkserver.ZkServer) -> None:
    up = Inventory(
        nodes=(Node("master1", zookeeper.address, ("zookeeper",)),),
        ports={**DEFAULT_PORTS, "zookeeper": zookeeper.client_port},
    )
    got = service(rows_of(up)["master1"], "zookeeper")
    assert (got.state, got.health) == ("standalone", "ok")
    assert got.detail.startswith("ZooKeeper 3.")
    down = Inventory(
        nodes=(Node("master1", "127.0.0.1", ("zookeeper",)),),
        ports={**DEFAULT_PORTS, "zookeeper": closed_port()},
    )
    gone = service(rows_of(down)["master1"], "zookeeper")
    assert (gone.state, gone.health) == ("down", "down") and "refused" in gone.detail


# ------------------------------------------------------------------ bounded, VM states


def test_a_hung_service_is_bounded_by_the_probe_timeout(lab: FakeLab) -> None:
    lab.server("master1", "marathon").route("/ping", Reply(200, "pong", delay=30))
    start = time.monotonic()
    rows = rows_of(lab.inventory, timeout=0.5)
    elapsed = time.monotonic() - start
    got = service(rows["master1"], "marathon")
    assert got.state == "down" and "did not answer within" in got.detail
    assert elapsed < 12, f"status waited {elapsed:.1f}s for a service that never answers"


def test_vm_states_from_the_callable(lab: FakeLab) -> None:
    rows = rows_of(lab.inventory, vm_states=lambda: {"master1": "running", "agent1": "stopped"})
    assert rows["master1"].vm_state == "running"
    assert rows["agent1"].vm_state == "stopped"
    assert rows["agent2"].vm_state == "unknown" and "does not know" in rows["agent2"].vm_detail
    assert rows_of(lab.inventory)["master1"].vm_state == "-"  # no lab: no VM column


def test_services_of_a_machine_that_is_not_running_say_so(lab: FakeLab) -> None:
    """Before `up` (or after `halt`), a node's services are off, not failing: no errors about
    connections refused, just the machine's state."""
    lab.server("agent1", "mesos_agent").stop()
    lab.server("agent2", "mesos_agent").stop()
    rows = rows_of(
        lab.inventory,
        vm_states=lambda: {"master1": "running", "agent1": "not_created", "agent2": "poweroff"},
    )
    assert service(rows["agent1"], "agent") == ServiceStatus("agent", "machine not created", "off")
    assert service(rows["agent2"], "agent").state == "machine poweroff"
    assert service(rows["master1"], "master").health != "off"  # running: probed as ever
    status = LabStatus(list(rows.values()), "x", "demo")
    text = text_of(status)
    assert "– agent machine not created" in text
    assert "agent1 agent:" not in text and "agent2 agent:" not in text  # no error notes
    # a machine that runs but whose agent is down still says why
    rows = rows_of(lab.inventory, vm_states=lambda: {"agent1": "running"})
    assert service(rows["agent1"], "agent").health == "down"
    assert service(rows["agent1"], "agent").detail


def test_vm_states_failing_or_hanging_show_unknown_with_the_reason(lab: FakeLab) -> None:
    def broken() -> dict[str, str]:
        raise RuntimeError("vagrant: command not found")

    rows = rows_of(lab.inventory, vm_states=broken)
    assert rows["master2"].vm_state == "unknown"
    assert "vagrant: command not found" in rows["master2"].vm_detail
    release = threading.Event()
    rows = rows_of(lab.inventory, vm_states=lambda: release.wait(30) and {}, vm_timeout=0.3)
    release.set()
    assert rows["agent3"].vm_state == "unknown" and "within" in rows["agent3"].vm_detail


def test_rehearsal_banner_only_for_a_rehearsal_lab(lab: FakeLab) -> None:
    rows = list(rows_of(lab.inventory).values())
    assert REHEARSAL_BANNER in text_of(LabStatus(rows, "x", "demo", rehearsal=True))
    assert "Rehearsal" not in text_of(LabStatus(rows, "x", "demo", rehearsal=False))


# ----------------------------------------------------------------- which lab; the CLI


def _inventory_file(lab: FakeLab, path: Path) -> Path:
    lines = []
    for node in lab.inventory.nodes:
        roles = ", ".join(f'"{r}"' for r in node.roles)
        lines += ["[[node]]", f'name = "{node.name}"', f'address = "{node.address}"']
        lines += [f"roles = [{roles}]", ""]
    lines += ["[ports]", *(f"{k} = {v}" for k, v in lab.ports.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_target_from_lab_toml_then_built_inventory(
    tmp_path: Path, lab: FakeLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the preset's own addresses, whatever labs run on this host
    write_lab(tmp_path, preset="3m-3a", provider="lxc", platform="rehearsal", check_addresses=False)
    target = resolve_target(str(tmp_path), None)
    assert target.spec is not None and target.vm_states is not None
    assert [n.address for n in target.inventory.nodes][:2] == ["10.0.3.11", "10.0.3.12"]
    assert all(n.ssh is None for n in target.inventory.nodes)
    built = _inventory_file(lab, tmp_path / ".mesoslab" / "inventory.toml")
    target = resolve_target(str(tmp_path), None)
    assert target.inventory.source == str(built)
    monkeypatch.chdir(tmp_path / ".mesoslab")  # inside the lab: found without DIR
    assert resolve_target(None, None).inventory.source == str(built)


def test_explicit_inventory_and_no_lab(
    tmp_path: Path, lab: FakeLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no lab here"):
        resolve_target(None, None)
    path = _inventory_file(lab, tmp_path / "cluster.toml")
    target = resolve_target(None, str(path))
    assert target.spec is None and target.vm_states is None
    with pytest.raises(UsageError, match=r"no lab\.toml"):
        resolve_target(str(tmp_path / "nowhere"), None)


def test_lab_status_of_a_rehearsal_lab(tmp_path: Path, lab: FakeLab) -> None:
    write_lab(tmp_path, provider="lxc", platform="rehearsal")
    _inventory_file(lab, tmp_path / ".mesoslab" / "inventory.toml")
    port = lab.ports["mesos_master"]
    lab.server("master1", "mesos_master").route("/master/redirect", redirect(f"//master1:{port}"))
    target = resolve_target(str(tmp_path), None)
    # the real Vagrant driver: this lab was never brought up, so it has no machines file
    result = lab_status(StatusTarget(target.inventory, target.spec, target.vm_states))
    assert result.rehearsal and result.lab_name == tmp_path.name
    assert {r.vm_state for r in result.nodes} == {"unknown"}
    assert result.nodes[0].vm_detail
    text = text_of(result)
    assert text.startswith(REHEARSAL_BANNER)
    assert "master leader" in text


def test_cli_status_json(tmp_path: Path, lab: FakeLab) -> None:
    lab.server("agent1", "mesos_agent").json("/metrics/snapshot", {"slave/registered": 1.0})
    lab.server("master2", "mesos_master").stop()
    path = _inventory_file(lab, tmp_path / "cluster.toml")
    group = _Group(name="mesoslab", commands={"status": status_cmd})
    result = CliRunner().invoke(group, ["status", "--inventory", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["rehearsal"] is False and doc["lab"] is None
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["agent1"]["services"] == [
        {"service": "agent", "state": "registered", "health": "ok", "detail": ""}
    ]
    assert nodes["master2"]["services"][0]["health"] == "down"
    assert nodes["master1"]["vm"]["state"] == "-"
    text = CliRunner().invoke(group, ["status", "-i", str(path)])
    assert text.exit_code == 0 and "agent registered" in text.output


def test_status_probes_without_rich() -> None:
    """ops/ renders nothing: the table of `mesoslab status` is drawn by cli/status_view.
    (At run time rich may still be loaded: httpx imports its own command line.)"""
    source = Path(__file__).resolve().parents[1] / "src" / "mesoslab" / "ops" / "status.py"
    tree = ast.parse(source.read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("rich", "click", "textual")}
