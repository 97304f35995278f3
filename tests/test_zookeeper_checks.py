"""ZooKeeper check kinds against real ZooKeeper servers (Debian's zookeeper 3.8 jars).

Five JVMs start at once for the module: a standalone server with the default 4lw whitelist
(3.5+: only srvr), a three-server ensemble on 127.0.0.1-3 with ``4lw.commands.whitelist=*``
and an "orphan" server whose ensemble partners never come up (it never serves).
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mesoslab.checks.kinds.zookeeper import masters
from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import CheckResult, Status
from mesoslab.checks.runner import plan, settle
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import DEFAULT_PORTS, Inventory, Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext, Session
from mesoslab.remote.zk4lw import (
    FourLetterRefused,
    NotServing,
    UnexpectedAnswer,
    parse_mntr,
    parse_srvr,
    refused_word,
    send_4lw,
)
from tests.support import zkserver
from tests.support.fixture_server import attempt_checks
from tests.support.paths import FIXTURES
from tests.support.zkserver import ZkServer

# --------------------------------------------------------------------------- servers


@dataclass
class Servers:
    standalone: ZkServer
    ensemble: list[ZkServer]
    orphan: ZkServer


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    zkserver.require_zookeeper()
    root = tmp_path_factory.mktemp("zk")
    found = Servers(
        standalone=zkserver.standalone(root),
        ensemble=zkserver.ensemble(root, **{"4lw.commands.whitelist": "*"}),
        orphan=zkserver.orphan(root),
    )
    everything = [found.standalone, *found.ensemble, found.orphan]
    try:
        for server in everything:
            server.start()
        zkserver.wait_for([found.standalone, found.orphan], zkserver.all_answer)
        zkserver.wait_for(found.ensemble, zkserver.ensemble_ready)
        yield found
    finally:
        zkserver.stop_all(everything)


def inventory_for(servers: list[ZkServer], names: list[str] | None = None) -> Inventory:
    """Nodes master1..N at the servers' addresses (they share one client port)."""
    ports = {s.client_port for s in servers}
    assert len(ports) == 1, "one inventory needs one ZooKeeper port"
    names = names or [f"master{i}" for i in range(1, len(servers) + 1)]
    nodes = tuple(
        Node(name=n, address=s.address, roles=("master", "zookeeper"))
        for n, s in zip(names, servers, strict=True)
    )
    return Inventory(nodes=nodes, ports={**DEFAULT_PORTS, "zookeeper": ports.pop()})


@pytest.fixture(scope="module")
def single(servers: Servers) -> Inventory:
    return inventory_for([servers.standalone], ["master1"])


@pytest.fixture(scope="module")
def trio(servers: Servers) -> Inventory:
    return inventory_for(servers.ensemble)


@pytest.fixture(scope="module")
def lonely(servers: Servers) -> Inventory:
    return inventory_for([servers.orphan], ["master1"])


def run(
    inventory: Inventory,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    timeout: float = 5.0,
    once: bool = False,
) -> list[CheckResult]:
    """Settle the check on its default role (or make one attempt when ``once``)."""
    params = params or {}
    assert catalogue()[kind].problems(params) == []
    spec = CheckSpec(kind, params, timeout=timeout)
    if once:
        return attempt_checks(inventory, [spec], wait=timeout)
    with Session(inventory) as session:
        return [settle(pc, session, timeout) for pc in plan([spec], inventory)]


def run_one(
    inventory: Inventory, kind: str, params: dict[str, Any] | None = None, **kw: Any
) -> CheckResult:
    results = run(inventory, kind, params, **kw)
    assert len(results) == 1, results
    return results[0]


# --------------------------------------------------------------------------- parsers

SRVR_34_LEADER = """Zookeeper version: 3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT
Latency min/avg/max: 0/1/29
Received: 18835
Sent: 19012
Connections: 16
Outstanding: 0
Zxid: 0x100000a3c
Mode: leader
Node count: 489
Proposal sizes last/min/max: 32/32/540
"""  # noqa: E501


def test_parse_srvr_finds_fields_by_name_not_position() -> None:
    info = parse_srvr(SRVR_34_LEADER)
    assert (info.mode, info.zxid, info.node_count) == ("leader", 0x100000A3C, 489)
    assert info.short_version == "3.4.14"
    assert (info.received, info.sent, info.connections, info.outstanding) == (18835, 19012, 16, 0)
    assert info.latency == "0/1/29"
    assert info.serving
    # shuffled lines, extra lines (stat's Clients block), CRLF: same result
    shuffled = "Clients:\n /127.0.0.1:5000[0](queued=0)\r\n\r\n" + "\r\n".join(
        reversed(SRVR_34_LEADER.splitlines())
    )
    again = parse_srvr(shuffled)
    assert (again.mode, again.zxid, again.node_count) == ("leader", 0x100000A3C, 489)


def test_parse_srvr_recognises_refusal_not_serving_and_garbage() -> None:
    with pytest.raises(FourLetterRefused) as refused:
        parse_srvr("srvr is not executed because it is not in the whitelist.\n")
    assert refused.value.word == "srvr"
    assert "4lw.commands.whitelist" in refused.value.summary
    with pytest.raises(NotServing) as not_serving:
        parse_srvr("This ZooKeeper instance is not currently serving requests\n")
    assert "quorum" in not_serving.value.summary
    with pytest.raises(UnexpectedAnswer) as garbage:
        parse_srvr("HTTP/1.1 400 Bad Request\r\n\r\n")
    assert "HTTP/1.1 400" in garbage.value.summary
    assert refused_word("ruok is not executed because it is not in the whitelist.") == "ruok"
    assert refused_word("imok") is None


def test_parse_mntr_reads_recorded_fixture() -> None:
    text = (FIXTURES / "zookeeper" / "mntr_3.5.3_leader.txt").read_text()
    values = parse_mntr(text)
    assert values["zk_server_state"] == "leader"
    assert values["zk_version"].startswith("3.5.3-beta")
    assert int(values["zk_znode_count"]) == 489
    assert int(values["zk_synced_followers"]) == 1
    with pytest.raises(FourLetterRefused):
        parse_mntr("mntr is not executed because it is not in the whitelist.\n")
    with pytest.raises(UnexpectedAnswer):
        parse_mntr("imok")


def test_parse_real_answers(servers: Servers) -> None:
    srvr = send_4lw("127.0.0.1", servers.standalone.client_port, "srvr", 2.0)
    info = parse_srvr(srvr)
    assert info.mode == "standalone" and info.short_version == "3.8.0"
    assert info.node_count is not None and info.node_count >= 1
    leader = next(s for s in servers.ensemble if s.mode() == "leader")
    mntr = parse_mntr(send_4lw(leader.address, leader.client_port, "mntr", 2.0))
    assert mntr["zk_server_state"] == "leader"
    assert mntr["zk_synced_followers"] == "2"
    # 3.8 default whitelist: only srvr
    with pytest.raises(FourLetterRefused):
        parse_mntr(send_4lw("127.0.0.1", servers.standalone.client_port, "mntr", 2.0))


# --------------------------------------------------------------------------- send_4lw


def test_send_4lw_refused_port_is_precise() -> None:
    port = zkserver.free_port()
    start = time.monotonic()
    with pytest.raises(ProbeError) as err:
        send_4lw("127.0.0.1", port, "srvr", 20.0)
    assert time.monotonic() - start < 8  # waited for the timeout instead: 20 s
    assert err.value.summary.startswith(f"cannot connect to ZooKeeper at 127.0.0.1:{port}")
    assert "connection refused" in err.value.summary
    assert err.value.observed == "connection refused"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose kernel completes the handshake but nobody ever reads or answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_send_4lw_silent_server_times_out(silent_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(ProbeError) as err:
        send_4lw("127.0.0.1", silent_port, "ruok", 0.5)
    assert time.monotonic() - start < 8  # unbounded: never
    assert "accepted the connection but did not finish answering 'ruok'" in err.value.summary
    assert err.value.observed == "read timeout"


def test_send_4lw_closed_without_answer() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up() -> None:
        conn, _ = listener.accept()
        conn.recv(4)
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with pytest.raises(ProbeError) as err:
            send_4lw("127.0.0.1", listener.getsockname()[1], "srvr", 2.0)
    finally:
        thread.join(2)
        listener.close()
    assert "closed the connection without answering 'srvr'" in err.value.summary


# --------------------------------------------------------------------------- ruok


def test_ruok_not_whitelisted_falls_back_to_srvr(servers: Servers, single: Inventory) -> None:
    raw = zkserver.four_letter("127.0.0.1", servers.standalone.client_port, "ruok")
    assert raw is not None and "not in the whitelist" in raw  # the 3.8 default
    result = run_one(single, "zookeeper.ruok")
    assert result.status is Status.PASS, result
    assert "ruok is not in 4lw.commands.whitelist, so srvr was used" in result.summary
    assert "standalone" in result.summary
    assert result.observed == "ruok not in whitelist; srvr Mode: standalone"


def test_ruok_answers_imok_when_whitelisted(trio: Inventory) -> None:
    results = run(trio, "zookeeper.ruok")
    assert [r.node for r in results] == ["master1", "master2", "master3"]
    for result in results:
        assert result.status is Status.PASS, result
        assert result.observed == "imok"
        assert "answers ruok with imok" in result.summary


def test_ruok_fails_when_not_serving(lonely: Inventory) -> None:
    result = run_one(lonely, "zookeeper.ruok", once=True)
    assert result.status is Status.FAIL
    assert "not serving requests" in result.summary and "quorum" in result.summary
    assert result.observed == "ruok not whitelisted; srvr: not currently serving requests"


# --------------------------------------------------------------------------- mode


def test_mode_standalone(single: Inventory) -> None:
    result = run_one(single, "zookeeper.mode", {"mode": "standalone"})
    assert result.status is Status.PASS, result
    assert result.observed == "standalone"
    default = run_one(single, "zookeeper.mode")
    assert default.status is Status.PASS and default.observed == "standalone"


def test_mode_mismatch_says_what_it_saw(single: Inventory) -> None:
    result = run_one(single, "zookeeper.mode", {"mode": "leader"}, once=True)
    assert result.status is Status.FAIL
    assert (result.expected, result.observed) == ("leader", "standalone")
    assert "is standalone, expected leader" in result.summary


def test_mode_not_serving(lonely: Inventory) -> None:
    result = run_one(lonely, "zookeeper.mode", once=True)
    assert result.status is Status.FAIL
    assert result.observed == "not serving"
    assert "not serving requests" in result.summary


def test_mode_on_ensemble_matches_the_servers(servers: Servers, trio: Inventory) -> None:
    truth = {f"master{i}": s.mode() for i, s in enumerate(servers.ensemble, start=1)}
    results = {r.node: r for r in run(trio, "zookeeper.mode")}
    assert {n: r.observed for n, r in results.items()} == truth
    assert all(r.status is Status.PASS for r in results.values())
    leader = next(n for n, m in truth.items() if m == "leader")
    leaders = [
        r.node
        for r in run(trio, "zookeeper.mode", {"mode": "leader"}, once=True)
        if r.status is Status.PASS
    ]
    assert leaders == [leader]


# --------------------------------------------------------------------------- ensemble


def test_ensemble_has_exactly_one_leader(servers: Servers, trio: Inventory) -> None:
    result = run_one(trio, "zookeeper.ensemble", {"size": 3})
    assert result.status is Status.PASS, result
    truth = {f"master{i}": s.mode() for i, s in enumerate(servers.ensemble, start=1)}
    leader = next(n for n, m in truth.items() if m == "leader")
    followers = sorted(n for n, m in truth.items() if m == "follower")
    assert result.summary == f"{leader} leads; {', '.join(followers)} follow"
    assert result.expected == "1 leader + 2 followers"
    assert result.observed == ", ".join(f"{n}: {m}" for n, m in truth.items())


def test_ensemble_of_one_is_standalone(single: Inventory) -> None:
    result = run_one(single, "zookeeper.ensemble")
    assert result.status is Status.PASS, result
    assert result.expected == "standalone"


def test_ensemble_size_mismatch(single: Inventory) -> None:
    result = run_one(single, "zookeeper.ensemble", {"size": 3}, once=True)
    assert result.status is Status.FAIL
    assert "should have 3 server(s) but the inventory has 1" in result.summary


def test_ensemble_reports_unreachable_and_unserving_nodes(servers: Servers) -> None:
    # master1 = a serving ensemble member, master2 = nothing listens on 127.0.0.9
    port = servers.ensemble[0].client_port
    inventory = Inventory(
        nodes=(
            Node("master1", "127.0.0.1", ("zookeeper",)),
            Node("master2", "127.0.0.9", ("zookeeper",)),
        ),
        ports={**DEFAULT_PORTS, "zookeeper": port},
    )
    result = run_one(inventory, "zookeeper.ensemble", once=True)
    assert result.status is Status.FAIL
    assert result.summary.startswith("1 of 2 ZooKeeper server(s) not serving (master2)")
    assert "connection refused" in result.summary
    assert "master2: error: connection refused" in result.observed


# --------------------------------------------------------------------------- mesos masters


def master_info(hostname: str, ip: str, port: int = 5050, version: str = "1.4.0") -> bytes:
    """MasterInfo as Mesos writes it (reference/mesos-api-facts.md §2)."""
    ip_uint32 = int.from_bytes(socket.inet_aton(ip), "little")  # network byte order
    return json.dumps(
        {
            "address": {"hostname": hostname, "ip": ip, "port": port},
            "hostname": hostname,
            "id": f"{hostname}-id",
            "ip": ip_uint32,
            "pid": f"master@{ip}:{port}",
            "port": port,
            "version": version,
        }
    ).encode()


@pytest.fixture
def zk_writer(servers: Servers) -> Iterator[Any]:
    """A kazoo session of the test itself (the masters' stand-in); its ephemerals vanish
    when it closes."""
    from kazoo.client import KazooClient

    hosts = ",".join(f"{s.address}:{s.client_port}" for s in servers.ensemble)
    client = KazooClient(hosts=hosts, timeout=5)
    client.start(timeout=10)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def register_masters(client: Any, path: str) -> None:
    """What three Mesos masters and their replicated logs leave in ZooKeeper; master2
    contends first, so it leads."""
    client.ensure_path(path)
    # a legacy (Mesos < 0.24) binary info_ node, created first: lowest sequence of all
    client.create(f"{path}/info_", b"\x08\x01binary", ephemeral=True, sequence=True)
    client.create(
        f"{path}/json.info_", master_info("127.0.0.2", "127.0.0.2"), ephemeral=True, sequence=True
    )
    client.create(
        f"{path}/json.info_",
        master_info("master3.lab.example", "127.0.0.3"),
        ephemeral=True,
        sequence=True,
    )
    client.create(
        f"{path}/json.info_",
        master_info("somewhere-else", "10.9.9.9"),
        ephemeral=True,
        sequence=True,
    )
    for i in (1, 2, 3):
        client.create(
            f"{path}/log_replicas/",
            f"log-replica({i})@127.0.0.{i}:5050".encode(),
            ephemeral=True,
            sequence=True,
            makepath=True,
        )


def test_mesos_masters_leader_is_lowest_sequence(zk_writer: Any, trio: Inventory) -> None:
    register_masters(zk_writer, "/mesos")
    children = zk_writer.get_children("/mesos")
    assert "log_replicas" in children and any(c.startswith("info_") for c in children)
    result = run_one(trio, "zookeeper.mesos_masters", {"count": 3})
    assert result.status is Status.PASS, result
    assert result.summary == (
        "3 master(s) registered under /mesos; leader master2 (127.0.0.2:5050, Mesos 1.4.0)"
    )
    assert result.observed == "3 master(s): master2 (leader), master3, somewhere-else"
    assert result.expected == "3 master(s) under /mesos"


def test_mesos_masters_counts(zk_writer: Any, trio: Inventory) -> None:
    register_masters(zk_writer, "/mesos-count")
    wrong = run_one(
        trio, "zookeeper.mesos_masters", {"path": "/mesos-count", "count": 2}, once=True
    )
    assert wrong.status is Status.FAIL
    assert wrong.summary.startswith("3 master(s) registered under /mesos-count, expected 2")
    assert "leader master2" in wrong.summary
    enough = run_one(trio, "zookeeper.mesos_masters", {"path": "/mesos-count", "min_count": 2})
    assert enough.status is Status.PASS, enough
    short = run_one(
        trio, "zookeeper.mesos_masters", {"path": "/mesos-count", "min_count": 4}, once=True
    )
    assert short.status is Status.FAIL
    assert short.summary.startswith("only 3 master(s) registered under /mesos-count")
    assert short.expected == "at least 4 master(s) under /mesos-count"


def test_mesos_masters_leader_moves_when_it_leaves(servers: Servers, trio: Inventory) -> None:
    from kazoo.client import KazooClient

    hosts = ",".join(f"{s.address}:{s.client_port}" for s in servers.ensemble)
    first, second = KazooClient(hosts=hosts, timeout=5), KazooClient(hosts=hosts, timeout=5)
    first.start(timeout=10)
    second.start(timeout=10)
    try:
        first.create(
            "/mesos-move/json.info_",
            master_info("master1", "127.0.0.1"),
            ephemeral=True,
            sequence=True,
            makepath=True,
        )
        second.create(
            "/mesos-move/json.info_",
            master_info("master3", "127.0.0.3"),
            ephemeral=True,
            sequence=True,
        )
        before = run_one(trio, "zookeeper.mesos_masters", {"path": "/mesos-move"})
        assert "leader master1" in before.summary, before
        first.stop()  # master1 dies: its ephemeral znode goes with its session
        after = run_one(trio, "zookeeper.mesos_masters", {"path": "/mesos-move", "count": 1})
        assert after.status is Status.PASS, after
        assert "leader master3" in after.summary
    finally:
        for client in (first, second):
            client.stop()
            client.close()


def test_mesos_masters_missing_path(single: Inventory) -> None:
    result = run_one(single, "zookeeper.mesos_masters", {"path": "/no-such-mesos"}, once=True)
    assert result.status is Status.FAIL
    assert result.summary == (
        "no /no-such-mesos znode: no master has registered with ZooKeeper "
        "(check /etc/mesos/zk on the masters)"
    )


def test_mesos_masters_only_log_replicas(zk_writer: Any, trio: Inventory) -> None:
    zk_writer.create(
        "/mesos-logonly/log_replicas/",
        b"log-replica(1)@127.0.0.1:5050",
        ephemeral=True,
        sequence=True,
        makepath=True,
    )
    result = run_one(trio, "zookeeper.mesos_masters", {"path": "/mesos-logonly"}, once=True)
    assert result.status is Status.FAIL
    assert "no json.info_ znodes (children: log_replicas)" in result.summary


def test_mesos_masters_skips_a_dead_server(zk_writer: Any, servers: Servers) -> None:
    register_masters(zk_writer, "/mesos-partial")
    port = servers.ensemble[0].client_port
    inventory = Inventory(
        nodes=(
            Node("master1", "127.0.0.9", ("zookeeper",)),  # nothing listens there
            Node("master2", "127.0.0.2", ("zookeeper",)),
        ),
        ports={**DEFAULT_PORTS, "zookeeper": port},
    )
    result = run_one(inventory, "zookeeper.mesos_masters", {"path": "/mesos-partial"})
    assert result.status is Status.PASS, result
    assert "leader master2" in result.summary


def test_dead_port_fails_fast_with_precise_summary() -> None:
    port = zkserver.free_port()
    inventory = Inventory(
        nodes=(Node("master1", "127.0.0.1", ("master", "zookeeper")),),
        ports={**DEFAULT_PORTS, "zookeeper": port},
    )
    timeout = 1.0
    for kind in ("zookeeper.ruok", "zookeeper.mesos_masters", "zookeeper.ensemble"):
        start = time.monotonic()
        result = run_one(inventory, kind, timeout=timeout)
        elapsed = time.monotonic() - start
        assert elapsed < timeout + 5.0, (kind, elapsed)
        assert result.status is Status.FAIL, result
        assert f"127.0.0.1:{port}" in result.summary and "connection refused" in result.summary
        assert result.attempts >= 2  # it settled: retried until the timeout


def test_kazoo_session_to_a_silent_server_is_bounded(
    silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The kazoo path alone (the srvr pre-check would already catch this server); kazoo's
    connection warnings stay out of the user's terminal."""
    caplog.set_level(logging.DEBUG)
    inventory = Inventory(nodes=(Node("master1", "127.0.0.1", ("zookeeper",)),))
    before = set(threading.enumerate())
    with Session(inventory) as session:
        ctx = CheckContext(session=session, deadline=time.monotonic() + 1.0)
        start = time.monotonic()
        with pytest.raises(ProbeError) as err:
            masters._read_masters(ctx, f"127.0.0.1:{silent_port}", "/mesos")
        elapsed = time.monotonic() - start
    assert elapsed < 8, elapsed
    assert "could not open a ZooKeeper session" in err.value.summary
    time.sleep(0.2)
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == [], leftover  # kazoo's threads were stopped
    noisy = [r for r in caplog.records if "kazoo" in r.name and r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]


def test_importing_checks_does_not_import_kazoo() -> None:
    code = (
        "import sys, mesoslab.checks.kinds.zookeeper.masters, mesoslab.checks.registry as r; "
        "r.catalogue(); "
        "print('kazoo' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- failover


def test_stopping_the_leader_fails_the_check_and_a_new_leader_is_elected(
    servers: Servers, trio: Inventory
) -> None:
    names = {s.name: f"master{i}" for i, s in enumerate(servers.ensemble, start=1)}
    leader = next(s for s in servers.ensemble if s.mode() == "leader")
    rest = [s for s in servers.ensemble if s is not leader]
    leader.stop()
    gone = names[leader.name]
    try:
        result = run_one(trio, "zookeeper.ensemble", once=True)
        assert result.status is Status.FAIL
        assert f"{gone}: error: connection refused" in result.observed
        # the two that remain are a majority of three: they elect a leader among themselves
        zkserver.wait_for(rest, lambda m: sorted(m) == ["follower", "leader"], timeout=15)
        new_leader = names[next(s for s in rest if s.mode() == "leader").name]
        result = run_one(trio, "zookeeper.ensemble", once=True)
        assert result.status is Status.FAIL
        assert result.summary.startswith(f"1 of 3 ZooKeeper server(s) not serving ({gone}): ")
        assert f"{new_leader}: leader" in result.observed
        two = inventory_for(rest, [names[s.name] for s in rest])
        again = run_one(two, "zookeeper.ensemble", {"size": 2})
        assert again.status is Status.PASS, again
        assert again.summary.startswith(f"{new_leader} leads")
    finally:
        leader.start()
        zkserver.wait_for(servers.ensemble, zkserver.ensemble_ready, timeout=20)
    assert leader.mode() == "follower"  # it came back into the ensemble as a follower


def test_parameters_are_validated() -> None:
    kinds = catalogue()
    assert kinds["zookeeper.mode"].problems({"mode": "boss"}) == [
        "zookeeper.mode: parameter 'mode' must be one of serving, leader, follower, "
        "standalone, observer, got 'boss'"
    ]
    assert kinds["zookeeper.mesos_masters"].problems({"path": "mesos"}) == [
        "zookeeper.mesos_masters: path must be an absolute znode path like /mesos, got 'mesos'"
    ]
    assert kinds["zookeeper.mesos_masters"].problems({"min_count": -1}) != []
    assert kinds["zookeeper.ensemble"].problems({"size": 0}) == [
        "zookeeper.ensemble: size must be at least 1, got 0"
    ]
    assert kinds["zookeeper.ensemble"].scope == "group"
    assert kinds["zookeeper.ruok"].role == "zookeeper"
