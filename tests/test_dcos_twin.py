"""The DC/OS twin (lesson 10) on loopback: the overlay modules of master and agents, the
installer's validation and layout, Admin Router, Exhibitor, the CNI and vxlan commands.

Shapes are held to the fixtures in ``../shared/fixtures/dcos`` (the overlay master state,
dcos-version.json); messages to DC/OS's ``gen/calc.py`` and ``dcos_install.sh``."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.httpd import serve
from mesoslab_twin.dcos import adminrouter, exhibitor, genconf, install, miniyaml, navstar, units
from mesoslab_twin.dcos import overlay_network as net
from mesoslab_twin.mesos import cni
from tests.support.ports import free_port
from tests.support.twin_lab import TwinLab, http, wait_until, write
from tests.test_twin_contract import fixture, shape_problems

OPT = "/opt/mesosphere"


def _overlay_files(root: Path, *, master: bool, bridges: bool) -> None:
    cni_dir = f"{OPT}/etc/dcos/network/cni"
    agent = {
        "cni_dir": cni_dir,
        "network_config": {
            "allocate_subnet": True,
            "mesos_bridge": bridges,
            "docker_bridge": bridges,
            "overlay_mtu": 1420,
        },
        "max_configuration_attempts": 4,
    }
    mods = [("com_mesosphere_mesos_OverlayAgentManager", "agent_config", "agent.json")]
    if master:
        write(
            root,
            f"{OPT}/etc/overlay/config/master.json",
            json.dumps(
                {
                    "replicated_log_dir": "/var/lib/dcos/mesos/master/",
                    "network": net.DEFAULT_NETWORK,
                }
            ),
        )
        mods.insert(
            0, ("com_mesosphere_mesos_OverlayMasterManager", "master_config", "master.json")
        )
    write(root, f"{OPT}/etc/overlay/config/agent.json", json.dumps(agent))
    doc = {
        "libraries": [
            {
                "file": "libmesos_network_overlay.so",
                "modules": [
                    {
                        "name": n,
                        "parameters": [{"key": k, "value": f"{OPT}/etc/overlay/config/{f}"}],
                    }
                    for n, k, f in mods
                ],
            }
        ]
    }
    write(root, f"{OPT}/etc/modules/overlay.json", json.dumps(doc))


@pytest.fixture
def overlay_lab(tmp_path: Path) -> Iterator[tuple[TwinLab, Any, list[Any]]]:
    lab = TwinLab(tmp_path, ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    _overlay_files(lab.root("master1"), master=True, bridges=False)
    master = lab.master("master1", "127.0.0.1", extra={"modules_dir": f"{OPT}/etc/modules"})
    agents = []
    docker = tmp_path / "fake-docker"  # records its calls; `network inspect` finds nothing
    docker.write_text(
        f'#!/bin/sh\necho "$@" >> {tmp_path}/docker.log\n'
        'if [ "$3 $4" = "network inspect" ]; then exit 1; fi\nexit 0\n'
    )
    docker.chmod(0o755)
    for name, address in (("agent1", "127.0.0.2"), ("agent2", "127.0.0.3")):
        _overlay_files(lab.root(name), master=False, bridges=True)
        agents.append(
            lab.agent(
                name,
                address,
                master=f"127.0.0.1:{lab.ports['mesos_master']}",
                extra={"modules_dir": f"{OPT}/etc/modules", "docker": str(docker)},
            )
        )
    try:
        master.start()
        master.wait_http()
        for agent in agents:
            agent.start()
            agent.wait_http()
        yield lab, master, agents
    finally:
        lab.stop_all()


def test_the_overlay_master_gives_each_agent_a_slice_and_a_vtep(overlay_lab: Any) -> None:
    lab, master, agents = overlay_lab

    def settled() -> Any:
        state = master.get("/overlay-master/state").json()
        ok = [
            a
            for a in state["agents"]
            if all(o["state"]["status"] == "STATUS_OK" for o in a["overlays"])
        ]
        return state if len(ok) == 3 else None

    state = wait_until("three overlay agents with STATUS_OK", settled, timeout=30)
    reference = fixture("dcos/overlay-master_state.json")
    reference.pop("frameworks", None)  # added by the UI test, not part of the endpoint
    # the master's own overlay agent has no bridges (agent-master.json), so no docker_bridge
    agents_only = {**state, "agents": [a for a in state["agents"] if a["ip"] != "127.0.0.1"]}
    assert shape_problems(agents_only, [reference]) == []
    assert state["network"] == {
        "vtep_subnet": "44.128.0.0/20",
        "vtep_mac_oui": "70:B3:D5:00:00:00",
        "overlays": [{"name": "dcos", "subnet": "9.0.0.0/8", "prefix": 24, "enabled": True}],
    }
    by_ip = {a["ip"]: a["overlays"][0] for a in state["agents"]}
    assert set(by_ip) == {"127.0.0.1", "127.0.0.2", "127.0.0.3"}
    subnets = sorted(o["subnet"] for o in by_ip.values())
    assert subnets == ["9.0.0.0/24", "9.0.1.0/24", "9.0.2.0/24"]
    vteps = {o["backend"]["vxlan"]["vtep_ip"] for o in by_ip.values()}
    assert vteps == {"44.128.0.1/20", "44.128.0.2/20", "44.128.0.3/20"}
    for overlay in by_ip.values():
        vxlan = overlay["backend"]["vxlan"]
        assert vxlan["vni"] == 1024 and vxlan["vtep_name"] == "vtep1024"
        assert vxlan["vtep_mac"] == "70:b3:d5:80:00:0" + vxlan["vtep_ip"].split(".")[3][0]
    assert "mesos_bridge" not in by_ip["127.0.0.1"]  # the master's agent: no bridges
    agent_overlay = by_ip["127.0.0.2"]
    n = agent_overlay["subnet"].split(".")[2]
    assert agent_overlay["mesos_bridge"] == {"name": "m-dcos", "ip": f"9.0.{n}.0/25"}

    # the agent's own view, and the CNI file the containerizer reads
    own = agents[0].get("/overlay-agent/overlay").json()
    assert own["ip"] == "127.0.0.2" and own["overlays"][0]["subnet"] == agent_overlay["subnet"]
    assert agents[0].get("/overlay-agent/overlay", accept="text/html").status == 415
    conf = json.loads(
        (lab.root("agent1") / "opt/mesosphere/etc/dcos/network/cni/dcos.conf").read_text()
    )
    assert conf["type"] == "mesos-cni-port-mapper" and conf["excludeDevices"] == ["m-dcos"]
    assert conf["delegate"]["bridge"] == "m-dcos"
    assert conf["delegate"]["ipam"]["subnet"] == f"9.0.{n}.0/25"
    # the Docker network dcos on d-dcos, over the second half of the agent's subnet
    calls = (lab.base / "docker.log").read_text()
    assert (
        "network create --driver=bridge --opt=com.docker.network.bridge.name=d-dcos"
        " --opt=com.docker.network.bridge.enable_ip_masquerade=false"
        f" --opt=com.docker.network.driver.mtu=1420 --subnet=9.0.{n}.128/25 dcos"
    ) in calls
    assert agent_overlay["docker_bridge"] == {"name": "d-dcos", "ip": f"9.0.{n}.128/25"}
    # the allocation survives a master restart (the module keeps it in its replicated log)
    bad = http("POST", master.url + "/overlay-master/twin/register", {"no": "ip"})
    assert bad.status == 400
    master.stop()
    master.start()
    master.wait_http()
    again = wait_until(
        "the state after a restart", lambda: master.get("/overlay-master/state").json()["agents"]
    )
    assert {a["ip"]: a["overlays"][0]["subnet"] for a in again} == {
        ip: o["subnet"] for ip, o in by_ip.items()
    }


def test_a_broken_overlay_configuration_stops_the_master(tmp_path: Path) -> None:
    lab = TwinLab(tmp_path, ["127.0.0.1"])
    root = lab.root("master1")
    _overlay_files(root, master=True, bridges=False)
    write(root, f"{OPT}/etc/overlay/config/master.json", "{not json")
    master = lab.master("master1", "127.0.0.1", extra={"modules_dir": f"{OPT}/etc/modules"})
    try:
        master.start()
        assert master.wait_exit(timeout=20) == 1
        assert "Error loading modules" in master.output()
        assert "Traceback" not in master.output()
    finally:
        lab.stop_all()


# ------------------------------------------------------------------ the installer


def _config(**changes: Any) -> dict[str, Any]:
    base = {
        "bootstrap_url": "http://bootstrap:80",
        "cluster_name": "lab",
        "master_discovery": "static",
        "master_list": ["10.0.3.11"],
        "resolvers": ["10.0.3.1"],
        "oauth_enabled": "false",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"bootstrap_url": "http://bootstrap/"}, "bootstrap_url", "Must not end in a '/'"),
        (
            {"master_list": ["10.0.3.11", "10.0.3.12"]},
            "num_masters",
            "Must have 1, 3, 5, 7, or 9 masters. Found 2",
        ),
        ({"master_list": None}, "master_list", "Must set master_list, no way to calculate value"),
        ({"master_list": ["master1"]}, "master_list", "Only IPv4 values are allowed"),
        (
            {"master_discovery": "master_http_loadbalancer"},
            "exhibitor_storage_backend",
            "When master_discovery is not static",
        ),
        ({"dns_search": "a.com,b.com"}, "dns_search", "Commas are not allowed"),
        ({"oauth_enabled": "no way"}, "oauth_enabled", "Must be one of ['false', 'true']"),
        ({"cluster_name": None}, "cluster_name", "Must set cluster_name"),
    ],
)
def test_genconf_validates_with_dcos_messages(
    changes: dict[str, Any], key: str, message: str
) -> None:
    _, errors = genconf.validate(_config(**changes))
    assert key in errors and message in errors[key], errors


def test_a_good_config_validates_and_gets_its_quorum() -> None:
    args, errors = genconf.validate(_config(master_list=["10.0.3.11", "10.0.3.12", "10.0.3.13"]))
    assert errors == {}
    assert args["master_quorum"] == 2 and args["num_masters"] == 3
    assert args["dcos_overlay_network"]["overlays"][0]["subnet"] == "9.0.0.0/8"


def test_miniyaml_reads_what_config_yaml_uses() -> None:
    text = (
        "---\ncluster_name: 'DC/OS'  # a comment\nmaster_list:\n- 10.0.3.11\n"
        "resolvers: [8.8.8.8, 8.8.4.4]\noauth_enabled: 'false'\nprocess_timeout: 10000\n"
    )
    assert miniyaml.loads(text) == {
        "cluster_name": "DC/OS",
        "master_list": ["10.0.3.11"],
        "resolvers": ["8.8.8.8", "8.8.4.4"],
        "oauth_enabled": "false",
        "process_timeout": 10000,
    }
    with pytest.raises(miniyaml.YamlError, match="line 2"):
        miniyaml.loads("a: 1\n  b: 2\n")


def _genconf_folder(
    tmp_path: Path, config: str, ip_detect: str | None = "echo 127.0.0.9\n"
) -> Path:
    folder = tmp_path / "bootstrap"
    write(folder, "/genconf/config.yaml", config)
    if ip_detect is not None:
        write(folder, "/genconf/ip-detect", ip_detect)
    return folder


CONFIG = """---
bootstrap_url: {url}
cluster_name: 'mesoslab'
exhibitor_storage_backend: static
master_discovery: static
master_list:
- 127.0.0.9
resolvers:
- 127.0.0.53
oauth_enabled: 'false'
"""


def test_genconf_refuses_a_missing_ip_detect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _genconf_folder(tmp_path, CONFIG.format(url="http://bootstrap"), ip_detect=None)
    assert genconf.run([], folder) == 1
    out = capsys.readouterr().out
    assert "Ip-detect script: genconf/ip-detect. Does not exist." in out
    assert not (folder / "genconf/serve").exists()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """genconf/serve/ of a generated config, served over HTTP on loopback."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    folder = _genconf_folder(tmp_path, CONFIG.format(url=url))
    assert genconf.run(["--genconf"], folder) == 0
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder / "genconf/serve"))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield folder, url
    finally:
        server.shutdown()


def test_genconf_writes_serve_and_install_lays_out_a_master(
    served: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, url = served
    serve_dir = folder / "genconf/serve"
    bid = (serve_dir / "bootstrap.latest").read_text().strip()
    assert len(bid) == 40
    script = (serve_dir / "dcos_install.sh").read_text()
    assert f"BOOTSTRAP_ID={bid}" in script and json.dumps(url) in script
    with tarfile.open(serve_dir / "bootstrap" / f"{bid}.bootstrap.tar.xz") as tar:
        names = tar.getnames()
    assert "active/dcos-metadata/etc/dcos-version.json" in names
    node = Root(tmp_path / "master1")
    capsys.readouterr()
    code = install.run(
        node, [f"--bootstrap-url={url}", f"--bootstrap-id={bid}", "--disable-preflight", "master"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Creating role file for master" in out and "127.0.0.9" in out
    assert node.path("/etc/mesosphere/roles/master").exists()
    assert node.read("/etc/mesosphere/setup-flags/repository-url") == url + "\n"
    version = json.loads(node.read(f"{OPT}/active/dcos-metadata/etc/dcos-version.json") or "")
    assert shape_problems(version, [fixture("dcos/dcos-version_2.2.0.json")]) == []
    assert version["version"] == "1.10.0" and version["bootstrap-id"] == bid
    for name in units.MASTER_UNITS:
        assert node.path(f"/etc/systemd/system/{name}.service").is_file(), name
    env = node.read(f"{OPT}/etc/mesos-master") or ""
    assert "MESOS_ZK=zk://127.0.0.9:2181/mesos" in env and "MESOS_QUORUM=1" in env
    assert "MESOS_MODULES_DIR=/opt/mesosphere/etc/mesos-master-modules" in env
    # a second run finds the installation and stops in the preflight
    again = install.run(node, [f"--bootstrap-url={url}", f"--bootstrap-id={bid}", "master"])
    out = capsys.readouterr().out
    assert again == 1
    assert (
        "Checking if DC/OS is already installed: FAIL (Found an existing DC/OS installation" in out
    )


def test_install_lays_out_a_public_agent(served: tuple[Path, str], tmp_path: Path) -> None:
    folder, url = served
    bid = (folder / "genconf/serve/bootstrap.latest").read_text().strip()
    node = Root(tmp_path / "public1")
    assert (
        install.run(
            node,
            [
                f"--bootstrap-url={url}",
                f"--bootstrap-id={bid}",
                "--disable-preflight",
                "slave_public",
            ],
        )
        == 0
    )
    assert node.path("/etc/systemd/system/dcos-mesos-slave-public.service").is_file()
    assert not node.path("/etc/systemd/system/dcos-mesos-slave.service").exists()
    assert "MESOS_ATTRIBUTES=public_ip:true" in (node.read(f"{OPT}/etc/mesos-slave-public") or "")
    common = node.read(f"{OPT}/etc/mesos-slave-common") or ""
    assert (
        "network/cni" in common
        and "MESOS_NETWORK_CNI_CONFIG_DIR=/opt/mesosphere/etc/dcos/network/cni" in common
    )


def test_agents_pull_images_from_the_lab_registry_docker_knows(
    served: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Docker Hub is out of reach: on a rehearsal node (its daemon.json names the lab
    registry as Docker's mirror) the agents' Mesos containerizer pulls from it too."""
    folder, url = served
    bid = (folder / "genconf/serve/bootstrap.latest").read_text().strip()
    node = Root(tmp_path / "agent1")
    daemon = node.path("/etc/docker/daemon.json")
    daemon.parent.mkdir(parents=True)
    daemon.write_text('{"registry-mirrors": ["http://10.0.3.81:5000"]}')
    argv = [f"--bootstrap-url={url}", f"--bootstrap-id={bid}", "--disable-preflight", "slave"]
    assert install.run(node, argv) == 0
    common = node.read(f"{OPT}/etc/mesos-slave-common") or ""
    assert "MESOS_DOCKER_REGISTRY=http://10.0.3.81:5000" in common
    assert "pulls images from the lab registry http://10.0.3.81:5000" in capsys.readouterr().out
    bare = Root(tmp_path / "agent2")  # no Docker configuration: Mesos's default stays
    assert install.run(bare, argv) == 0
    assert "MESOS_DOCKER_REGISTRY" not in (bare.read(f"{OPT}/etc/mesos-slave-common") or "")


def test_install_refuses_a_bad_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        install.run(Root(tmp_path), ["--bootstrap-url=http://x", "--bootstrap-id=y", "agent"]) == 1
    )
    assert (
        "FAIL Invalid role agent. Role must be one of {master,slave,slave_public}"
        in capsys.readouterr().out
    )


def test_preflight_prints_a_pass_or_fail_line_per_check(tmp_path: Path) -> None:
    out = io.StringIO()
    failed = install.Preflight(Root(tmp_path), ["slave"], out).run()
    lines = out.getvalue().splitlines()
    assert lines[0] == "Running preflight checks"
    checks = lines[1:]
    assert all(": PASS" in line or ": FAIL" in line for line in checks), checks
    assert any(line.startswith("Checking if port 5051 is in use: ") for line in checks)
    assert failed == sum(1 for line in checks if ": FAIL" in line and "not fatal" not in line)


# ------------------------------------------------------------------ Admin Router, Exhibitor


def test_admin_router_serves_the_version_and_proxies_mesos(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    folder, url = served
    bid = (folder / "genconf/serve/bootstrap.latest").read_text().strip()
    node = Root(tmp_path / "master1")
    assert (
        install.run(
            node,
            [f"--bootstrap-url={url}", f"--bootstrap-id={bid}", "--disable-preflight", "master"],
        )
        == 0
    )
    # an upstream standing in for Mesos on 127.0.0.9
    upstream = free_port(["127.0.0.9"])
    from mesoslab_twin.common.httpd import Router, json_reply

    mesos = Router()
    mesos.add(
        "GET",
        r"/overlay-master/state",
        lambda r, m: json_reply({"agents": [], "asked": r.raw_path}),
    )
    mesos_server = serve("127.0.0.9", upstream, mesos, "fake-mesos")
    port = free_port()
    router = adminrouter.AdminRouter(node, ports={"mesos": upstream})
    server = serve("127.0.0.1", port, router.routes(), "adminrouter")
    try:
        base = f"http://127.0.0.1:{port}"
        version = http("GET", base + "/dcos-metadata/dcos-version.json").json()
        assert shape_problems(version, [fixture("dcos/dcos-version_2.2.0.json")]) == []
        state = http("GET", base + "/mesos/overlay-master/state?x=1")
        assert state.status == 200 and state.json()["asked"] == "/overlay-master/state?x=1"
        health = http("GET", base + "/system/health/v1").json()
        assert health["dcos_version"] == "1.10.0" and health["node_role"] == "master"
        assert {u["id"] for u in health["units"]} == {f"{n}.service" for n in units.MASTER_UNITS}
        assert all(isinstance(u["health"], int) for u in health["units"])
        # Marathon is not running here: a clear 502, not a hang
        assert http("GET", base + "/marathon/v2/apps").status == 502
        # with oauth on, only the version file is open
        config = json.loads(node.read(f"{OPT}/etc/dcos-config.json") or "{}")
        config["oauth_enabled"] = "true"
        write(node.base, f"{OPT}/etc/dcos-config.json", json.dumps(config))
        locked = adminrouter.AdminRouter(node, ports={"mesos": upstream})
        answer = locked.routes()
        assert answer is not None
        port2 = free_port()
        server2 = serve("127.0.0.1", port2, locked.routes(), "adminrouter2")
        try:
            assert http("GET", f"http://127.0.0.1:{port2}/mesos/overlay-master/state").status == 401
            assert (
                http(
                    "GET", f"http://127.0.0.1:{port2}/exhibitor/exhibitor/v1/cluster/status"
                ).status
                == 401
            )
            assert (
                http("GET", f"http://127.0.0.1:{port2}/dcos-metadata/dcos-version.json").status
                == 200
            )
        finally:
            server2.shutdown()
    finally:
        server.shutdown()
        mesos_server.shutdown()


def test_admin_router_passes_marathon_on(tmp_path: Path) -> None:
    from mesoslab_twin.common.httpd import Router, json_reply

    upstream = free_port()
    marathon = Router()
    marathon.add(
        "GET,POST", r"/v2/.*", lambda r, m: json_reply({"path": r.path, "method": r.method})
    )
    upstream_server = serve("127.0.0.1", upstream, marathon, "fake-marathon")
    write(tmp_path, f"{OPT}/etc/mesos-master", "MESOS_IP=127.0.0.1\n")
    write(tmp_path, f"{OPT}/etc/dcos-config.json", json.dumps({"oauth_enabled": "false"}))
    router = adminrouter.AdminRouter(Root(tmp_path), ports={"marathon": upstream})
    port = free_port()
    server = serve("127.0.0.1", port, router.routes(), "adminrouter")
    try:
        base = f"http://127.0.0.1:{port}"
        assert http("GET", base + "/service/marathon/v2/info").json()["path"] == "/v2/info"
        posted = http("POST", base + "/marathon/v2/apps", {"id": "x"}).json()
        assert posted == {"path": "/v2/apps", "method": "POST"}
        assert "emulation" in http("GET", base + "/").body.decode()
        assert http("GET", base + "/dcos-metadata/dcos-version.json").status == 404  # not installed
    finally:
        server.shutdown()
        upstream_server.shutdown()


def test_exhibitor_reports_zookeeper_modes() -> None:
    serving = exhibitor.member("10.0.3.11", "Zookeeper version: 3.8.0\nMode: standalone\n")
    assert serving == {
        "code": 3,
        "description": "serving",
        "hostname": "10.0.3.11",
        "isLeader": True,
    }
    assert exhibitor.member("10.0.3.12", "Mode: follower\n")["isLeader"] is False
    assert exhibitor.member("10.0.3.13", "")["description"] == "down"
    port = free_port()
    server = serve("127.0.0.1", port, exhibitor.routes(["127.0.0.1"]), "exhibitor")
    try:
        answer = http("GET", f"http://127.0.0.1:{port}/exhibitor/v1/cluster/status").json()
        assert answer[0]["hostname"] == "127.0.0.1" and answer[0]["code"] in (1, 3)
        assert "status only" in http("GET", f"http://127.0.0.1:{port}" + "/").body.decode()
    finally:
        server.shutdown()


# ------------------------------------------------------------------ CNI and the vxlan


class FakeIp:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        missing = argv[:4] == ["ip", "-o", "addr", "show"]
        return subprocess.CompletedProcess(argv, 1 if missing else 0, "", "")


def test_cni_attach_runs_the_bridge_plugin_steps_and_allocates_host_local(tmp_path: Path) -> None:
    conf_dir = tmp_path / "cni"
    conf_dir.mkdir()
    from mesoslab_twin.dcos.overlay_agent import cni_conf

    (conf_dir / "dcos.conf").write_text(json.dumps(cni_conf("dcos", "m-dcos", "9.0.3.0/25", 1420)))
    fake = FakeIp()
    first = cni.attach(conf_dir, "dcos", "c1", data_dir=tmp_path / "ipam", run=fake)
    second = cni.attach(conf_dir, "dcos", "c2", data_dir=tmp_path / "ipam", run=fake)
    assert (first.ip, second.ip, first.gateway, first.prefix) == (
        "9.0.3.2",
        "9.0.3.3",
        "9.0.3.1",
        25,
    )
    assert ["ip", "link", "add", "name", "m-dcos", "type", "bridge"] in fake.calls
    assert ["ip", "addr", "add", "9.0.3.1/25", "dev", "m-dcos"] in fake.calls
    assert ["ip", "netns", "add", "c1"] in fake.calls
    assert ["ip", "-n", "c1", "route", "add", "default", "via", "9.0.3.1"] in fake.calls
    assert (tmp_path / "ipam/dcos/9.0.3.2").read_text() == "c1"
    cni.detach("dcos", "c1", data_dir=tmp_path / "ipam", run=fake)
    assert ["ip", "netns", "del", "c1"] in fake.calls
    assert not (tmp_path / "ipam/dcos/9.0.3.2").exists()
    # round robin: the next container gets .4, not the freed .2
    assert cni.attach(conf_dir, "dcos", "c3", data_dir=tmp_path / "ipam", run=fake).ip == "9.0.3.4"
    with pytest.raises(cni.CniError, match="Unknown CNI network 'other'"):
        cni.find_network(conf_dir, "other")


def test_navstar_programs_the_vtep_and_a_route_per_peer() -> None:
    network = net.DEFAULT_NETWORK
    state = {
        "agents": [
            {
                "ip": "10.0.3.21",
                "overlays": net.agent_overlays(network, 0, mesos_bridge=True, docker_bridge=True),
            },
            {
                "ip": "10.0.3.22",
                "overlays": net.agent_overlays(network, 1, mesos_bridge=True, docker_bridge=True),
            },
        ]
    }
    own = navstar.own_vtep(state["agents"][0])
    assert own == ("44.128.0.1/20", "70:b3:d5:80:00:01")
    peers = navstar.peers(state, "10.0.3.21")
    argv = navstar.commands("10.0.3.21", "", own, peers)
    assert ["ip", "route", "replace", "9.0.1.0/24", "via", "44.128.0.2", "dev", "vtep1024"] in argv
    assert [
        "bridge",
        "fdb",
        "replace",
        "70:b3:d5:80:00:02",
        "dev",
        "vtep1024",
        "dst",
        "10.0.3.22",
    ] in argv
    assert [
        "ip",
        "neigh",
        "replace",
        "44.128.0.2",
        "lladdr",
        "70:b3:d5:80:00:02",
        "dev",
        "vtep1024",
        "nud",
        "permanent",
    ] in argv
    create = navstar.create_argv("10.0.3.21", "eth0")[0]
    assert create[:6] == ["ip", "link", "add", "vtep1024", "type", "vxlan"]
    assert "1024" in create and "64000" in create


def test_the_vtep_mac_follows_the_fixture() -> None:
    # fixture: vtep 198.15.0.1 -> 70:b3:d5:0f:00:01
    vtep = net.ipaddress.IPv4Interface("198.15.0.1/20")
    assert net.vtep_mac({"vtep_mac_oui": "70:B3:D5:00:00:00"}, vtep) == "70:b3:d5:0f:00:01"
