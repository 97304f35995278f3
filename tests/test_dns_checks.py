"""``dns.resolves`` against the Mesos-DNS twin of a loopback master + agent + Marathon app:
what it asks, what it compares (addresses as node sets, SRV ports, counts), and how each
failure reads (NXDOMAIN, REFUSED, an empty answer, nothing listening)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import Status
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.remote.dns import decode_answer, encode_query, query
from mesoslab.remote.http import ProbeError
from tests.support.fixture_server import closed_port, run_check
from tests.support.marathon_lab import start_marathon_lab
from tests.support.mesosdns import (
    FakeMaster,
    FakeResolver,
    mesos_dns,
    small_state,
    task,
    wait_serving,
)
from tests.support.twin_lab import Daemon, http, wait_until

pytestmark = pytest.mark.slow

APP = {"id": "/web", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "instances": 2,
       "portDefinitions": [{"port": 0}]}  # fmt: skip


@dataclass
class Setup:
    inventory: Inventory
    port: int
    task_ports: set[int]
    master: Daemon
    dns: Daemon


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base = tmp_path_factory.mktemp("dns-checks")
    lab = start_marathon_lab(base)
    resolver = FakeResolver("192.0.2.9")
    try:
        assert http("POST", lab.url + "/v2/apps", APP).status == 201
        app = lab.deployed("/web", 2)
        dns = mesos_dns(
            base,
            {
                "masters": [f"127.0.0.1:{lab.lab.ports['mesos_master']}"],
                "refreshSeconds": 1,
                "resolvers": [f"127.0.0.1:{resolver.port}"],
            },
        )
        lab.lab.daemons.append(dns.daemon)
        dns.daemon.start()
        wait_serving(dns.daemon)
        inventory = Inventory(
            nodes=(
                Node("master1", "127.0.0.1", ("master", "marathon", "mesos-dns")),
                Node("agent1", "127.0.0.2", ("agent",)),
                Node("agent2", "127.0.0.3", ("agent",)),
            ),
            ports={**lab.lab.ports, "mesos_dns": dns.port},
            source="twin lab",
        )
        ports = {p for t in app["tasks"] for p in t["ports"]}
        yield Setup(inventory, dns.port, ports, lab.master, dns.daemon)
    finally:
        resolver.close()
        lab.lab.stop_all()


def check(setup: Setup, params: dict[str, Any], **kwargs: Any) -> Any:
    return run_check(setup.inventory, "dns.resolves", params, **kwargs)


def test_a_record_on_the_expected_nodes(setup: Setup) -> None:
    result = check(setup, {"name": "web.marathon.mesos", "hosts": ["agent1"], "count": 1})
    assert result.status is Status.PASS, result.summary
    assert result.summary == f"web.marathon.mesos A @master1:{setup.port} → 127.0.0.2 (agent1)"
    assert result.node == "mesos-dns"  # the role asked


def test_a_record_on_other_nodes_fails_naming_them(setup: Setup) -> None:
    result = check(setup, {"name": "web.marathon.mesos", "hosts": ["agent1", "agent2"]})
    assert result.status is Status.FAIL
    assert "missing agent2" in result.summary
    wrong = check(setup, {"name": "leader.mesos", "hosts": ["agent1"]})
    assert wrong.status is Status.FAIL
    assert "missing agent1" in wrong.summary and "unexpected 127.0.0.1 (master1)" in wrong.summary
    counted = check(setup, {"name": "web.marathon.mesos", "count": 2})
    assert counted.status is Status.FAIL and "expected exactly 2" in counted.summary
    unknown = check(setup, {"name": "web.marathon.mesos", "hosts": ["agent9"]})
    assert unknown.status is Status.FAIL and "agent9" in unknown.summary


def test_srv_ports_are_the_tasks_host_ports(setup: Setup) -> None:
    params = {"name": "_web._tcp.marathon.mesos", "type": "SRV",
              "ports": sorted(setup.task_ports), "hosts": ["agent1"], "count": 2}  # fmt: skip
    result = check(setup, params)
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith(f"_web._tcp.marathon.mesos SRV @master1:{setup.port} → web-")
    assert all(f":{p} (127.0.0.2 (agent1))" in result.summary for p in setup.task_ports)
    wrong = check(setup, {**params, "ports": [31000]})
    assert wrong.status is Status.FAIL and "expected 31000" in wrong.summary
    over_tcp = check(setup, {**params, "transport": "tcp"})
    assert over_tcp.status is Status.PASS and "(TCP)" in over_tcp.summary
    at_least = check(setup, {"name": "_web._tcp.marathon.mesos", "type": "SRV", "min_count": 3})
    assert at_least.status is Status.FAIL and "at least 3" in at_least.summary


def test_nxdomain_and_empty_answers_fail_with_a_reason(setup: Setup) -> None:
    missing = check(setup, {"name": "nginx.marathon.mesos"})
    assert missing.status is Status.FAIL
    assert missing.summary.startswith(
        f"nginx.marathon.mesos A @master1:{setup.port} → NXDOMAIN: no such name"
    )
    empty = check(setup, {"name": "_nginx._tcp.marathon.mesos", "type": "SRV"})
    assert empty.status is Status.FAIL and "no SRV records (NOERROR, empty answer)" in empty.summary


def test_forwarded_names_and_the_server_parameter(setup: Setup) -> None:
    outside = check(setup, {"name": "www.example.org", "server": "master1"})
    assert outside.status is Status.PASS and "192.0.2.9" in outside.summary
    nobody = check(setup, {"name": "web.marathon.mesos", "server": "nosuchnode"})
    assert nobody.status is Status.FAIL and "nosuchnode" in nobody.summary


def test_nothing_listening_fails_as_unanswered(setup: Setup) -> None:
    result = check(setup, {"name": "web.marathon.mesos", "port": closed_port(), "transport": "tcp"})
    assert result.status is Status.FAIL and "refused" in result.summary
    with pytest.raises(ProbeError) as caught:
        query("127.0.0.1", closed_port(), "web.marathon.mesos", "A", timeout=0.5)
    assert caught.value.answered is False


def test_the_parameters_are_checked() -> None:
    kind = catalogue()["dns.resolves"]
    assert kind.problems({"name": "x.mesos", "type": "MX"})
    assert kind.problems({"name": "x.mesos", "ports": [80]})  # ports with type A
    assert kind.problems({"name": "x.mesos", "type": "SRV", "ports": ["http"]})
    assert kind.problems({"name": "x.mesos", "count": -1})
    assert not kind.problems({"name": "x.mesos", "type": "SRV", "ports": [80], "hosts": ["a"]})


def test_the_client_codec_refuses_what_is_not_the_answer() -> None:
    packet = encode_query("web.marathon.mesos", 1, 0x4242)
    with pytest.raises(Exception, match="not the answer"):
        decode_answer(packet, 0x4242, "udp")  # a query, not an answer
    answer = bytearray(packet)
    answer[2] |= 0x80
    answer[7] = 1
    answer += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01"
    assert decode_answer(bytes(answer), 0x4242, "udp").addresses == ["10.0.0.1"]
    with pytest.raises(Exception, match="past the end"):
        decode_answer(bytes(answer[:-2]), 0x4242, "udp")


def test_the_records_outlive_the_master(setup: Setup) -> None:
    """The master goes away: Mesos-DNS keeps the last good records (its reloads fail), so
    the checks still pass; the master comes back and the reloads succeed again."""
    setup.master.stop()
    try:
        log = setup.dns.output
        wait_until("a failed reload", lambda: "keeping old DNS state" in log())
        stale = setup.dns.get("/v1/axfr").json()["Serial"]  # the last good reload's
        failed = log().count("keeping old DNS state")
        wait_until("another failed reload", lambda: log().count("keeping old DNS state") > failed)
        for params in (
            {"name": "web.marathon.mesos", "hosts": ["agent1"]},
            {"name": "leader.mesos", "hosts": ["master1"]},
            {"name": "_web._tcp.marathon.mesos", "type": "SRV", "ports": sorted(setup.task_ports)},
        ):
            result = check(setup, params)
            assert result.status is Status.PASS, result.summary
        assert setup.dns.get("/v1/axfr").json()["Serial"] == stale
    finally:
        setup.master.start()
        setup.master.wait_http()
    # a successful reload sets the SOA serial to its time; failed ones leave it alone
    wait_until("a good reload", lambda: setup.dns.get("/v1/axfr").json()["Serial"] > stale)
    assert check(setup, {"name": "leader.mesos", "hosts": ["master1"]}).status is Status.PASS


def test_a_truncated_udp_answer_is_asked_again_over_tcp(tmp_path: Path) -> None:
    master = FakeMaster().start()
    state = small_state(master.port)
    state["slaves"] = [
        {"id": f"ab12-S{i}", "pid": f"slave(1)@10.0.9.{i + 1}:5051"} for i in range(40)
    ]
    state["frameworks"][0]["tasks"] = [
        {**task("big", task_id=f"big.{i}"), "slave_id": f"ab12-S{i}"} for i in range(40)
    ]
    master.state = state
    dns = mesos_dns(tmp_path, {"masters": [f"127.0.0.1:{master.port}"], "externalon": False})
    dns.daemon.start()
    try:
        wait_serving(dns.daemon)
        inventory = Inventory(
            nodes=(Node("master1", "127.0.0.1", ("mesos-dns",)),),
            ports={"mesos_dns": dns.port},
        )
        result = run_check(inventory, "dns.resolves", {"name": "big.marathon.mesos", "count": 40})
        assert result.status is Status.PASS, result.summary
        assert result.summary.endswith("(truncated over UDP, asked again over TCP)")
        assert result.summary.count("10.0.9.") == 40
        udp = query("127.0.0.1", dns.port, "big.marathon.mesos", "A", transport="udp")
        assert udp.transport == "tcp" and len(udp.addresses) == 40
    finally:
        dns.daemon.stop()
        master.stop()
