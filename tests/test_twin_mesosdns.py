"""The Mesos-DNS twin (docs/sources/mesos-dns.md): real DNS over UDP and TCP, asked with
``dig``, for a loopback master + agent + Marathon app; the HTTP API on its ``httpport``;
the reload rules (nothing served before the first good reload, the last good records kept
when the master goes away); ZooKeeper detection; the configuration's checks; the record
names; and a wire codec that survives hostile packets.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesoslab_twin.mesosdns import MESOS_DNS_VERSION
from mesoslab_twin.mesosdns import dnswire as w
from mesoslab_twin.mesosdns.config import Config, ConfigError, load
from mesoslab_twin.mesosdns.records import StateError, generate, hash_string, rfc952, rfc1123
from mesoslab_twin.mesosdns.server import Resolver
from tests.support import zkserver
from tests.support.marathon_lab import MarathonLab, start_marathon_lab
from tests.support.mesosdns import (
    DnsDaemon,
    FakeMaster,
    FakeResolver,
    dig,
    dig_available,
    free_dns_port,
    mesos_dns,
    small_state,
    task,
    wait_serving,
)
from tests.support.twin_install import TWIN_DIR, install_env
from tests.support.twin_lab import TwinLab, http, twin_env, wait_until, write

pytestmark = pytest.mark.slow

APP = {
    "id": "/web",
    "cmd": "sleep 1000",
    "cpus": 0.1,
    "mem": 16,
    "instances": 2,
    "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0}],
}
ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"


def zbase32_5(text: str) -> str:
    """The test's own zbase32 of sha1: the first five 5-bit groups of the digest."""
    bits = "".join(f"{b:08b}" for b in hashlib.sha1(text.encode()).digest())
    return "".join(ZBASE32[int(bits[i : i + 5], 2)] for i in range(0, 25, 5))


@dataclass
class Cluster:
    lab: MarathonLab
    dns: DnsDaemon
    resolver: FakeResolver
    tasks: list[dict[str, Any]]

    @property
    def port(self) -> int:
        return self.dns.port

    @property
    def master_port(self) -> int:
        return int(self.lab.lab.ports["mesos_master"])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert dig_available(), "dig (dnsutils) is needed to ask the twin"
    base = tmp_path_factory.mktemp("mesos-dns")
    lab = start_marathon_lab(base)
    resolver = FakeResolver()
    try:
        assert http("POST", lab.url + "/v2/apps", APP).status == 201
        app = lab.deployed("/web", 2)
        master = f"127.0.0.1:{lab.lab.ports['mesos_master']}"
        dns = mesos_dns(
            base,
            {
                "masters": [master],
                "refreshSeconds": 1,
                "resolvers": [f"127.0.0.1:{resolver.port}"],
                "timeout": 2,
            },
        )
        lab.lab.daemons.append(dns.daemon)
        dns.daemon.start()
        wait_serving(dns.daemon)
        yield Cluster(lab, dns, resolver, app["tasks"])
    finally:
        resolver.close()
        lab.lab.stop_all()


def canonical(task_id: str) -> str:
    return f"web-{zbase32_5(task_id)}-s0"


# ------------------------------------------------------------------ DNS: the task records


def test_task_a_records(cluster: Cluster) -> None:
    answer = dig(cluster.port, "web.marathon.mesos")
    assert answer.status == "NOERROR" and "aa" in answer.flags and "ra" in answer.flags
    assert answer.data("A") == ["127.0.0.2"]  # both tasks run on agent1: one address
    assert {ttl for _n, ttl, _t, _d in answer.answer} == {60}
    for item in cluster.tasks:
        name = f"{canonical(item['id'])}.marathon.mesos"
        assert dig(cluster.port, name).data("A") == ["127.0.0.2"], name
        assert dig(cluster.port, name.replace(".mesos", ".slave.mesos")).data("A") == ["127.0.0.2"]
    upper = dig(cluster.port, "WEB.Marathon.MESOS")
    assert upper.data("A") == ["127.0.0.2"]


def _srv(answer_data: list[str]) -> set[tuple[int, str]]:
    found = set()
    for data in answer_data:
        priority, weight, port, target = data.split()
        assert (priority, weight) == ("0", "1")  # priority 0, srvRecordDefaultWeight 1
        found.add((int(port), target))
    return found


def test_srv_records_carry_the_tasks_host_ports(cluster: Cluster) -> None:
    every = {
        (p, f"{canonical(t['id'])}.marathon.mesos.") for t in cluster.tasks for p in t["ports"]
    }
    assert len(every) == 4
    answer = dig(cluster.port, "_web._tcp.marathon.mesos", "SRV")
    assert answer.status == "NOERROR"
    assert _srv(answer.data("SRV")) == every
    assert {(n, d) for n, _t, kind, d in answer.additional if kind == "A"} == {
        (target, "127.0.0.2") for _p, target in every
    }
    slave = dig(cluster.port, "_web._udp.marathon.slave.mesos", "SRV")
    assert _srv(slave.data("SRV")) == {(p, t.replace(".mesos.", ".slave.mesos.")) for p, t in every}
    # the discovery ports are tcp: no _udp record in the framework's own subdomain
    assert dig(cluster.port, "_web._udp.marathon.mesos", "SRV").answer == []


def test_infrastructure_records(cluster: Cluster) -> None:
    for name in ("leader.mesos", "master.mesos", "master0.mesos"):
        assert dig(cluster.port, name).data("A") == ["127.0.0.1"], name
    assert dig(cluster.port, "master1.mesos").status == "NXDOMAIN"
    for name in ("_leader._tcp.mesos", "_leader._udp.mesos"):
        leader = dig(cluster.port, name, "SRV")
        assert leader.data("SRV") == [f"0 1 {cluster.master_port} leader.mesos."], name
    assert dig(cluster.port, "slave.mesos").data("A") == ["127.0.0.2"]
    agent_port = cluster.lab.lab.ports["mesos_agent"]
    assert dig(cluster.port, "_slave._tcp.mesos", "SRV").data() == [
        f"0 1 {agent_port} slave.mesos."
    ]
    # the framework's host "master1" does not resolve here: no marathon.mesos record
    assert dig(cluster.port, "marathon.mesos").status == "NXDOMAIN"


def test_soa_ns_and_names_that_do_not_exist(cluster: Cluster) -> None:
    soa = dig(cluster.port, "mesos", "SOA")
    assert soa.status == "NOERROR" and soa.answer == []  # Mesos-DNS puts it in AUTHORITY
    [(name, ttl, kind, data)] = soa.authority
    fields = data.split()
    assert (name, ttl, kind) == ("mesos.", 60, "SOA")
    assert fields[:2] == ["ns1.mesos.", "root.ns1.mesos."]
    assert fields[3:] == ["60", "600", "86400", "60"]
    ns = dig(cluster.port, "mesos", "NS")
    assert ns.authority == [("mesos.", 60, "NS", "ns1.mesos.")]
    missing = dig(cluster.port, "nope.marathon.mesos")
    assert missing.status == "NXDOMAIN" and "aa" in missing.flags
    assert [(n, t) for n, _ttl, t, _d in missing.authority] == [("nope.marathon.mesos.", "SOA")]
    nodata = dig(cluster.port, "web.marathon.mesos", "AAAA")  # the name exists: NOERROR
    assert nodata.status == "NOERROR" and nodata.answer == [] and len(nodata.authority) == 1
    no_srv = dig(cluster.port, "_nope._tcp.marathon.mesos", "SRV")
    assert no_srv.status == "NOERROR" and no_srv.answer == no_srv.authority == []
    assert dig(cluster.port, "web.marathon.mesos", "TXT").status == "NOERROR"
    assert dig(cluster.port, "nope.mesos", "PTR").status == "NXDOMAIN"


def test_tcp_answers_as_udp_does(cluster: Cluster) -> None:
    udp = dig(cluster.port, "_web._tcp.marathon.mesos", "SRV")
    tcp = dig(cluster.port, "_web._tcp.marathon.mesos", "SRV", tcp=True)
    assert "(TCP)" in tcp.text
    assert tcp.status == "NOERROR" and sorted(tcp.answer) == sorted(udp.answer)


def test_names_outside_the_domain_are_forwarded(cluster: Cluster) -> None:
    answer = dig(cluster.port, "www.example.org")
    assert answer.status == "NOERROR" and answer.data("A") == ["192.0.2.7"]
    assert "aa" not in answer.flags  # the upstream answer, relayed
    assert "www.example.org." in cluster.resolver.asked


def test_garbage_never_stops_the_listeners(cluster: Cluster) -> None:
    rng = random.Random(7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        for size in (0, 1, 11, 12, 13, 40, 300):
            sock.sendto(bytes(rng.randrange(256) for _ in range(size)), ("127.0.0.1", cluster.port))
        # a header with a question whose name points at itself: FORMERR, same id
        sock.sendto(
            struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1",
            ("127.0.0.1", cluster.port),
        )
        while True:
            reply = sock.recv(512)
            if reply[:2] == b"\xbe\xef":
                break
        assert reply[3] & 0x0F == w.RCODE_FORMERR and reply[2] & 0x80
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=5) as conn:
        conn.sendall(b"\xff\xff" + b"\x00" * 10)  # says 65535 octets, sends 10, then closes
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=5) as conn:
        conn.sendall(b"\x00\x05hello")
    assert dig(cluster.port, "web.marathon.mesos").data("A") == ["127.0.0.2"]
    assert dig(cluster.port, "web.marathon.mesos", tcp=True).data("A") == ["127.0.0.2"]


# ------------------------------------------------------------------ HTTP API (:8123)


def _get(cluster: Cluster, path: str) -> Any:
    answer = cluster.dns.daemon.get(path)
    assert answer.status == 200, (path, answer.status, answer.body)
    assert answer.headers.get("X-Mesoslab-Twin") == "emulation"
    assert answer.headers.get("Content-Type") == "application/json"
    assert answer.body.startswith(b'{\n  "') or answer.body.startswith(b"[\n  {")  # Go indent
    return answer.json()


CONFIG_KEYS = {
    "RefreshSeconds": int, "Port": int, "Timeout": int, "StateTimeoutSeconds": int,
    "ZkDetectionTimeout": int, "HttpPort": int, "TTL": int, "SRVRecordDefaultWeight": int,
    "SOASerial": int, "SOARefresh": int, "SOARetry": int, "SOAExpire": int, "SOAMinttl": int,
    "SOAMname": str, "SOARname": str, "Masters": list, "ZoneResolvers": dict,
    "Resolvers": list, "IPSources": list, "Zk": str, "Domain": str, "File": str,
    "Listener": str, "HTTPListener": str, "RecurseOn": bool, "DnsOn": bool, "HttpOn": bool,
    "ExternalOn": bool, "EnforceRFC952": bool, "SetTruncateBit": bool, "EnumerationOn": bool,
    "MesosHTTPSOn": bool, "CACertFile": str, "CertFile": str, "KeyFile": str,
    "MesosCredentials": dict, "IAMConfigFile": str, "MesosAuthentication": str,
}  # fmt: skip


def test_http_version_and_config(cluster: Cluster) -> None:
    assert _get(cluster, "/v1/version") == {
        "Service": "Mesos-DNS",
        "URL": "https://github.com/mesosphere/mesos-dns",
        "Version": MESOS_DNS_VERSION,
    }
    config = _get(cluster, "/v1/config")
    assert list(config) == list(CONFIG_KEYS)
    for key, kind in CONFIG_KEYS.items():
        assert isinstance(config[key], kind), key
    assert config["SOAMname"] == "ns1.mesos." and config["SOARname"] == "root.ns1.mesos."
    assert config["RefreshSeconds"] == 1 and config["Port"] == cluster.port
    assert config["File"].endswith("/etc/mesos-dns/config.json")
    assert config["MesosCredentials"] == {"Principal": "", "Secret": ""}


def test_http_hosts_and_services(cluster: Cluster) -> None:
    assert _get(cluster, "/v1/hosts/web.marathon.mesos") == [
        {"host": "web.marathon.mesos.", "ip": "127.0.0.2"}
    ]
    assert _get(cluster, "/v1/hosts/nope.mesos") == [{"host": "", "ip": ""}]
    services = _get(cluster, "/v1/services/_web._tcp.marathon.mesos")
    assert all(set(s) == {"service", "host", "ip", "port"} for s in services)
    assert {s["service"] for s in services} == {"_web._tcp.marathon.mesos"}  # as asked
    assert {(int(s["port"]), s["host"]) for s in services} == {
        (p, f"{canonical(t['id'])}.marathon.mesos.") for t in cluster.tasks for p in t["ports"]
    }
    assert all(isinstance(s["port"], str) and s["ip"] == "127.0.0.2" for s in services)
    assert _get(cluster, "/v1/services/_nope._tcp.marathon.mesos") == [
        {"service": "", "host": "", "ip": "", "port": ""}
    ]
    ports = cluster.dns.daemon.get("/v1/hosts/web.marathon.mesos/ports")
    assert (ports.status, ports.body) == (501, b"To be implemented...")


def test_http_enumerate_and_axfr(cluster: Cluster) -> None:
    data = _get(cluster, "/v1/enumerate")
    [framework] = data["frameworks"]
    assert list(framework) == ["tasks", "name"] and framework["name"] == "marathon"
    assert {t["id"] for t in framework["tasks"]} == {t["id"] for t in cluster.tasks}
    for item in framework["tasks"]:
        assert list(item) == ["name", "id", "records"] and item["name"] == "web"
        kinds = {r["rtype"] for r in item["records"]}
        assert kinds == {"A", "SRV"}
        assert all(list(r) == ["name", "host", "rtype"] for r in item["records"])
    axfr = _get(cluster, "/v1/axfr")
    assert list(axfr) == ["TTL", "Serial", "RefreshSeconds", "Mname", "Rname", "Domain", "Records"]
    assert axfr["Domain"] == "mesos" and axfr["Mname"] == "ns1.mesos."
    assert axfr["Records"]["As"]["leader.mesos."] == ["127.0.0.1"]
    assert axfr["Records"]["SRVs"]["_leader._tcp.mesos."] == [
        f"leader.mesos.:{cluster.master_port}"
    ]
    assert cluster.dns.daemon.get("/v1/nothing").status == 404


# ------------------------------------------------------------------ reloads (a fake master)


def _dns_for(base: Path, master: FakeMaster, name: str, **config: Any) -> DnsDaemon:
    dns = mesos_dns(
        base,
        {
            "masters": [f"127.0.0.1:{master.port}"],
            "refreshSeconds": 1,
            "externalon": False,
            **config,
        },
        name=name,
    )
    dns.daemon.start()
    return dns


def test_nothing_is_served_before_the_first_reload_then_the_last_good_records_stay(
    tmp_path: Path,
) -> None:
    master = FakeMaster(broken=True).start()
    dns = _dns_for(tmp_path, master, "reload")
    try:
        wait_until("two failed reloads", lambda: master.requests >= 2)
        log = dns.daemon.output()
        assert "waiting for a reload before serving DNS" in log
        assert "reload occurred" not in log
        assert "keeping old DNS state" in log
        assert dig(dns.port, "leader.mesos", timeout=1).status == "NONE"  # nothing listens
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", dns.daemon.port), timeout=2).close()
        assert master.agents[0] == "Mesos-DNS"
        master.state = small_state(master.port, [task("web", "[31000-31001]")])
        master.broken = False
        wait_serving(dns.daemon)
        assert "reload occurred, serving DNS" in dns.daemon.output()
        assert dig(dns.port, "web.marathon.mesos").data("A") == ["127.0.0.2"]
        # the master breaks, then goes away: the records of the last good reload stay
        master.broken = True
        seen = master.requests
        wait_until("a failed reload", lambda: master.requests >= seen + 2)
        assert dig(dns.port, "web.marathon.mesos").data("A") == ["127.0.0.2"]
        master.stop()
        wait_until("a refused reload", lambda: dns.daemon.output().count("keeping old DNS") >= 4)
        assert dns.daemon.running
        assert dig(dns.port, "web.marathon.mesos").data("A") == ["127.0.0.2"]
        srv = dig(dns.port, "_web._tcp.marathon.mesos", "SRV")
        assert sorted(int(d.split()[2]) for d in srv.data("SRV")) == [31000, 31001]
        assert dig(dns.port, "example.org").status == "REFUSED"  # externalon false
    finally:
        dns.daemon.stop()
        master.stop()


def test_a_reload_picks_up_new_tasks_and_drops_gone_ones(tmp_path: Path) -> None:
    master = FakeMaster().start()
    master.state = small_state(master.port, [task("one")])
    dns = _dns_for(tmp_path, master, "pickup")
    try:
        wait_serving(dns.daemon)
        assert dig(dns.port, "one.marathon.mesos").status == "NOERROR"
        master.state = small_state(master.port, [task("two.group")])
        wait_until("the new task", lambda: dig(dns.port, "two-group.marathon.mesos").answer)
        assert dig(dns.port, "one.marathon.mesos").status == "NXDOMAIN"
    finally:
        dns.daemon.stop()
        master.stop()


def test_udp_answers_over_512_octets_are_truncated(tmp_path: Path) -> None:
    master = FakeMaster().start()
    state = small_state(master.port)
    state["slaves"] = [
        {"id": f"ab12-S{i}", "pid": f"slave(1)@10.0.{i // 200}.{i % 200 + 1}:5051"}
        for i in range(40)
    ]
    state["frameworks"][0]["tasks"] = [
        {**task("big", task_id=f"big.{i}"), "slave_id": f"ab12-S{i}"} for i in range(40)
    ]
    master.state = state
    on = _dns_for(tmp_path, master, "trunc-on")
    off = _dns_for(tmp_path, master, "trunc-off", SetTruncateBit=False)
    try:
        wait_serving(on.daemon)
        wait_serving(off.daemon)
        udp = dig(on.port, "big.marathon.mesos", options=("+ignore", "+noedns"))
        assert "tc" in udp.flags and 0 < len(udp.answer) < 40
        assert len(udp.text) > 0 and "MSG SIZE  rcvd:" in udp.text
        size = int(udp.text.split("MSG SIZE  rcvd: ")[1].split()[0])
        assert size < 512
        tcp = dig(on.port, "big.marathon.mesos", tcp=True)
        assert "tc" not in tcp.flags and len(tcp.answer) == 40
        quiet = dig(off.port, "big.marathon.mesos", options=("+ignore", "+noedns"))
        assert "tc" not in quiet.flags and 0 < len(quiet.answer) < 40
        followed = dig(on.port, "big.marathon.mesos")  # dig retries over TCP on TC
        assert len(followed.answer) == 40
    finally:
        on.daemon.stop()
        off.daemon.stop()
        master.stop()


# ------------------------------------------------------------------ ZooKeeper


def test_zookeeper_detection_and_its_timeout(tmp_path: Path) -> None:
    zkserver.require_zookeeper()
    server = zkserver.standalone(tmp_path / "zk")
    server.start()
    lab = TwinLab(tmp_path / "lab", ["127.0.0.1", "127.0.0.2"])
    try:
        zkserver.wait_for([server], lambda modes: modes == ["standalone"])
        zk = f"zk://127.0.0.1:{server.client_port}/mesos"
        master = lab.master("master1", "127.0.0.1", zk=zk)
        master.start()
        master.wait_http()
        dns = mesos_dns(
            tmp_path, {"zk": zk, "refreshSeconds": 5, "externalon": False, "zkDetectionTimeout": 4}
        )
        lab.daemons.append(dns.daemon)
        dns.daemon.start()
        wait_serving(dns.daemon)
        port = lab.ports["mesos_master"]
        assert dig(dns.port, "leader.mesos").data("A") == ["127.0.0.1"]
        assert dig(dns.port, "_leader._tcp.mesos", "SRV").data() == [f"0 1 {port} leader.mesos."]
        assert "new masters detected: [127.0.0.1:" in dns.daemon.output()
        # the only master leaves ZooKeeper: the last records are served until the
        # detection timeout, counted from the leader's departure, ends the process
        master.stop()
        wait_until("no leader", lambda: "new masters detected: []" in dns.daemon.output())
        assert dns.daemon.running
        assert dig(dns.port, "leader.mesos").data("A") == ["127.0.0.1"]
        assert dns.daemon.wait_exit(timeout=30) == 1
        assert "master detection timed out after 4s" in dns.daemon.output()
        lonely = mesos_dns(
            tmp_path,
            {"zk": f"zk://127.0.0.1:{server.client_port}/nobody", "zkDetectionTimeout": 2},
            name="lonely",
        )
        lab.daemons.append(lonely.daemon)
        lonely.daemon.start()
        assert lonely.daemon.wait_exit(timeout=30) == 1
        assert "ERROR: " in lonely.daemon.output()
        assert "master detection timed out after 2s" in lonely.daemon.output()
    finally:
        lab.stop_all()
        server.stop()


# ------------------------------------------------------------------ the command line


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesoslab_twin", "mesos-dns", *args],
        env=twin_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_command_line_version_and_configuration_errors(tmp_path: Path) -> None:
    assert _run("-version").stdout.strip() == MESOS_DNS_VERSION
    missing = _run(f"-config={tmp_path}/none.json")
    assert missing.returncode == 1
    assert f'missing configuration file: "{tmp_path}/none.json"' in missing.stderr
    default = _run(cwd=tmp_path)  # -config defaults to config.json in the working folder
    assert f'"{tmp_path}/config.json"' in default.stderr
    write(tmp_path, "/c.json", json.dumps({"port": 8053}))
    empty = _run("-config", str(tmp_path / "c.json"))
    assert empty.returncode == 1
    assert "specify Mesos masters or Zookeeper in config.json" in empty.stderr
    assert empty.stderr.startswith("ERROR: ")
    wrong = _run("-nonsense")
    assert wrong.returncode == 2 and "flag provided but not defined: -nonsense" in wrong.stderr
    # the port is taken: the listener's bind fails after the first reload, the process ends
    master = FakeMaster().start()
    master.state = small_state(master.port)
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = free_dns_port()
    taken.bind(("127.0.0.1", port))
    try:
        dns = _dns_for(tmp_path, master, "taken", port=port)
        assert dns.daemon.wait_exit(timeout=30) == 1
        assert 'failed to setup "udp" server' in dns.daemon.output()
    finally:
        taken.close()
        master.stop()


def test_a_host_name_among_the_masters_crashes_the_reload(tmp_path: Path) -> None:
    """v0.7 indexes ``masters`` as IPs (rrsKindForIPStr panics on a name): a learner's
    ``"masters": ["master1:5050"]`` ends the process at the first reload."""
    master = FakeMaster().start()
    master.state = small_state(master.port)
    try:
        dns = mesos_dns(tmp_path, {"masters": [f"localhost:{master.port}"], "externalon": False})
        dns.daemon.start()
        assert dns.daemon.wait_exit(timeout=30) == 1
        assert 'Recovered from panic: "unable to parse ip: localhost"' in dns.daemon.output()
        assert master.requests >= 1  # it did read the state (from the leader it names)
    finally:
        master.stop()


# ------------------------------------------------------------------ configuration (in process)


def _config(tmp_path: Path, data: Any) -> Config:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return load(str(path))


def test_config_keys_match_in_any_case_and_defaults_hold(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {
            "ZK": "zk://a:2181/mesos",
            "REFRESHSECONDS": 5,
            "ttl": 7,
            "httpPort": 9123,
            "email": "ignored",
            "Domain": "Lab",
        },
    )
    assert (config.Zk, config.RefreshSeconds, config.TTL, config.HTTPPort) == (
        "zk://a:2181/mesos",
        5,
        7,
        9123,
    )
    assert config.Domain == "lab" and config.Port == 53 and config.Masters is None
    assert config.IPSources == ["netinfo", "mesos", "host"] and config.Resolvers == ["8.8.8.8"]
    assert (config.SOAMname, config.SOARname) == ("ns1.mesos.", "root.ns1.mesos.")
    assert config.ZkDetectionTimeout == 30 and config.StateTimeoutSeconds == 300
    assert config.SetTruncateBit and config.EnumerationOn and config.ExternalOn


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"masters": ["a:5050"], "dnson": False, "httpon": False},
            "service validation failed: either DNS or HTTP server should be on",
        ),
        (
            {"masters": ["10.0.0.1:5050", "10.0.0.1:5050"]},
            "error validating masters: duplicate found: 10.0.0.1:5050",
        ),
        ({"masters": ["10.0.0.1"]}, "error validating masters: illegal host:port specified"),
        (
            {"zk": "zk://a/mesos", "resolvers": ["dns.example"]},
            "error validating resolvers: illegal ip specified: dns.example",
        ),
        (
            {"zk": "zk://a/mesos", "IPSources": ["mesos", "bogus"]},
            'IPSources validation failed: invalid ip source "bogus"',
        ),
        ({"zk": "zk://a/mesos", "IPSources": []}, "IPSources validation failed: empty ip sources"),
        ({"zk": "zk://a/mesos", "stateTimeoutSeconds": 0}, "Invalid HTTP Timeout: 0"),
        ({"zk": "zk://a/mesos", "domain": "my_lab"}, "my_lab is not a valid domain name"),
        (
            {"zk": "zk://a/mesos", "refreshSeconds": "60"},
            "cannot unmarshal string into Go struct field Config.RefreshSeconds of type int",
        ),
        (
            {"zk": "zk://a/mesos", "zoneResolvers": {"mesos": ["1.1.1.1"]}},
            "can't specify ZoneResolver for Mesos domain (mesos)",
        ),
    ],
)
def test_config_is_refused_with_the_real_messages(
    tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, data)
    assert message in str(caught.value)


# ------------------------------------------------------------------ record names (in process)


def test_labels_and_hashes() -> None:
    assert rfc1123("apiserver.myservice") == "apiserver-myservice"
    assert rfc1123("ChronosTask:job_1") == "chronostaskjob-1"
    assert rfc1123("-lead-and-trail-") == "lead-and-trail"
    assert rfc1123("x" * 70) == "x" * 63
    assert rfc952("1st-service-with-a-long-name") == "st-service-with-a-long-n"
    assert hash_string("test") == "iffe9" == zbase32_5("test")


def _records(masters: list[str], leader: str, **state: Any) -> dict[str, list[str]]:
    config = Config(Domain="foo.com", Listener="4.5.6.7", SOAMname="ns1.foo.com.")
    records = generate({"leader": leader, **state}, config, masters)
    return {**records.As.to_json(), **records.SRVs.to_json()}


def test_master_records_index_the_listed_masters() -> None:
    alone = _records([], "5@0.0.0.6:7")
    assert alone["leader.foo.com."] == alone["master0.foo.com."] == ["0.0.0.6"]
    assert alone["_leader._udp.foo.com."] == ["leader.foo.com.:7"]
    assert alone["ns1.foo.com."] == ["4.5.6.7"]
    other = _records(["0.0.0.8:9"], "5@0.0.0.6:7")
    assert other["master.foo.com."] == ["0.0.0.6", "0.0.0.8"]
    assert other["master0.foo.com."] == ["0.0.0.8"] and other["master1.foo.com."] == ["0.0.0.6"]
    with pytest.raises(StateError, match="empty master"):
        generate({"leader": ""}, Config(), [])


def test_framework_names_keep_their_dots_and_tasks_need_a_known_agent() -> None:
    running = task("Search.API")
    lost = {**task("lost"), "slave_id": "nobody"}
    staging = {**task("staging"), "state": "TASK_STAGING"}
    state = small_state(5050, [running, lost, staging])
    state["frameworks"][0]["name"] = "marathon.prod"
    state["frameworks"][0]["pid"] = "scheduler-1@127.0.0.1:4041"
    records = generate(state, Config(), [])
    assert records.As["search-api.marathon.prod.mesos."] == {"127.0.0.2": None}
    assert "lost.marathon.prod.mesos." not in records.As
    assert "staging.marathon.prod.mesos." not in records.As
    assert list(records.SRVs["_framework._tcp.marathon.prod.mesos."]) == [
        "marathon.prod.mesos.:4041"
    ]


def test_discovery_info_names_the_srv_records() -> None:
    item = task("web-0", "[31000-31001]", task_id="web.1")
    item["discovery"] = {
        "visibility": "FRAMEWORK",
        "name": "Web",
        "ports": {"ports": [{"number": 31000, "protocol": "tcp", "name": "http"},
                            {"number": 31001, "protocol": "udp"}]},
    }  # fmt: skip
    records = generate(small_state(5050, [item]), Config(), [])
    target = f"web-{zbase32_5('web.1')}-s0"
    srvs = records.SRVs.to_json()
    assert srvs["_web._tcp.marathon.mesos."] == [f"{target}.marathon.mesos.:31000"]
    assert srvs["_http._web._tcp.marathon.mesos."] == [f"{target}.marathon.mesos.:31000"]
    assert srvs["_web._udp.marathon.mesos."] == [f"{target}.marathon.mesos.:31001"]
    assert srvs["_web._tcp.marathon.slave.mesos."] == [
        f"{target}.marathon.slave.mesos.:31000",
        f"{target}.marathon.slave.mesos.:31001",
    ]
    assert "web-0.marathon.mesos." not in records.As  # the DiscoveryInfo name wins
    assert list(records.As["web.marathon.mesos."]) == ["127.0.0.2"]


def test_ip_sources_take_the_first_that_has_an_address() -> None:
    item = task("web")
    item["statuses"] = [{
        "state": "TASK_RUNNING", "timestamp": 2.0,
        "labels": [{"key": "Docker.NetworkSettings.IPAddress", "value": "172.17.0.5"}],
        "container_status": {"network_infos": [{"ip_addresses": [{"ip_address": "10.9.0.3"}]}]},
    }]  # fmt: skip
    state = small_state(5050, [item])
    for sources, expected in (
        (["netinfo", "mesos", "host"], "10.9.0.3"),
        (["docker", "netinfo"], "172.17.0.5"),
        (["mesos", "host"], "127.0.0.2"),
    ):
        records = generate(state, Config(IPSources=sources), [])
        assert list(records.As["web.marathon.mesos."]) == [expected], sources


# ------------------------------------------------------------------ the wire (hostile input)


def _query(name: str = "web.marathon.mesos.", qtype: int = w.TYPE_A) -> bytes:
    return w.encode(w.Message(id=0x1234, rd=True, questions=[w.Question(name, qtype)]))


def test_wire_round_trip_and_compression() -> None:
    message = w.Message(id=7, qr=True, aa=True, questions=[w.Question("a.mesos.", w.TYPE_SRV)])
    message.answers = [w.Record("a.mesos.", w.TYPE_SRV, 60, (0, 1, 31000, "t.a.mesos."))]
    message.authority = [
        w.Record("mesos.", w.TYPE_SOA, 60, ("ns1.mesos.", "root.ns1.mesos.", 1, 2, 3, 4, 5))
    ]
    message.additional = [w.Record("t.a.mesos.", w.TYPE_A, 60, "10.0.0.1")]
    packet = w.encode(message)
    back = w.decode(packet)
    assert back == message
    assert len(packet) < len(w.encode(message, compress=False))


def test_wire_decode_refuses_every_truncation_and_every_loop() -> None:
    packet = _query()
    for size in range(len(packet)):
        with pytest.raises(w.WireError):
            w.decode(packet[:size])
    header = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0)
    for name in (
        b"\xc0\x0c",  # points at itself
        b"\x01a\xc0\x0c",  # points back at its own start
        b"\xc0\x20",  # points forwards
        b"\x40abc",  # reserved label type
        b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\0",
    ):
        with pytest.raises(w.WireError):
            w.decode(header + name + b"\0\1\0\1")
    answer = bytearray(_query())
    answer[7] = 1  # one answer record, whose name points forwards into itself
    answer += b"\xc0" + bytes([len(answer)]) + struct.pack("!HHIH", 1, 1, 60, 4) + b"\1\2\3\4"
    with pytest.raises(w.WireError):
        w.decode(bytes(answer))


def test_the_resolver_answers_any_garbage_without_raising() -> None:
    config = Config(ExternalOn=False)
    config.SOAMname, config.SOARname = "ns1.mesos.", "root.ns1.mesos."
    records = generate(small_state(5050, [task("web", "[31000-31000]")]), config, [])
    resolver = Resolver(config, lambda: records)
    rng = random.Random(15)
    valid = _query()
    for _ in range(3000):
        size = rng.randrange(0, 80)
        if rng.random() < 0.5:  # a valid query with some octets changed
            packet = bytearray(valid)
            for _ in range(rng.randrange(1, 4)):
                packet[rng.randrange(len(packet))] = rng.randrange(256)
            data = bytes(packet[: rng.randrange(len(packet) + 1)])
        else:
            data = bytes(rng.randrange(256) for _ in range(size))
        reply = resolver.answer(data, rng.choice(["udp", "tcp"]))
        assert reply is None or len(reply) >= 12
    answer = w.decode(resolver.answer(valid, "udp") or b"")
    assert [r.data for r in answer.answers] == ["127.0.0.2"]
    no_question = struct.pack("!HHHHHH", 9, 0x0100, 0, 0, 0, 0)
    assert w.decode(resolver.answer(no_question, "udp") or b"").rcode == w.RCODE_SERVFAIL
    response = bytearray(valid)
    response[2] |= 0x80  # a response, not a query: dropped
    assert resolver.answer(bytes(response), "udp") is None
    assert resolver.answer(b"\0" * 11, "udp") is None
    refused = w.decode(resolver.answer(_query("example.org."), "udp") or b"")
    assert refused.rcode == w.RCODE_REFUSED and not refused.aa


def test_fit_drops_additional_records_then_answers() -> None:
    message = w.Message(id=1, qr=True, questions=[w.Question("big.mesos.", w.TYPE_A)])
    message.answers = [w.Record("big.mesos.", w.TYPE_A, 60, f"10.0.0.{i}") for i in range(60)]
    message.additional = [w.Record("x.mesos.", w.TYPE_A, 60, "10.1.1.1")]
    packet = w.fit(message, 512)
    back = w.decode(packet)
    assert len(packet) < 512 and back.tc and back.additional == []
    assert 20 < len(back.answers) < 60
    small = w.Message(id=1, qr=True, questions=[w.Question("a.mesos.", w.TYPE_A)])
    assert not w.decode(w.fit(small, 512)).tc


# ------------------------------------------------------------------ the installer


def test_installer_lays_out_the_program_unit_and_sample(tmp_path: Path) -> None:
    prefix, dest = tmp_path / "opt", tmp_path / "node"
    shutil.copytree(TWIN_DIR, prefix / "mesoslab_twin")
    for _ in range(2):  # idempotent
        done = subprocess.run(
            ["sh", str(prefix / "mesoslab_twin/install-mesos-dns.sh"), str(prefix)],
            env=install_env(dest),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    unit = (dest / "usr/lib/systemd/system/mesos-dns.service").read_text()
    assert "ExecStart=/usr/bin/mesos-dns -config=/etc/mesos-dns/config.json" in unit
    assert f"PYTHONPATH={prefix}" in unit and "@PREFIX@" not in unit
    assert not (dest / "etc/mesos-dns/config.json").exists()  # the learner writes it
    sample = dest / "usr/share/doc/mesos-dns/config.json.sample"
    loaded = _config(tmp_path, json.loads(sample.read_text()))  # the project's sample values
    assert (loaded.Port, loaded.IPSources) == (8053, ["mesos", "host"])
    version = subprocess.run(
        [str(dest / "usr/bin/mesos-dns"), "-version"],
        env=install_env(dest),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert version.stdout.strip() == MESOS_DNS_VERSION, version.stderr
