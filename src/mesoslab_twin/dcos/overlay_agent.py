"""The agent's overlay module (``com_mesosphere_mesos_OverlayAgentManager``), emulated.

Loaded when ``--modules_dir`` names it (DC/OS: ``/opt/mesosphere/etc/mesos-slave-modules/
overlay_slave_modules.json``, parameter ``agent_config`` -> ``overlay/config/agent.json``;
the master loads it too, with ``agent-master.json``: no bridges). It registers with the
leading master's overlay module, and for every overlay it was given:

* writes the CNI configuration ``<cni_dir>/<name>.conf`` the Mesos containerizer uses
  (``mesos_bridge``: the bridge ``m-<name>`` on the first half of the agent's subnet);
* creates the Docker network ``<name>`` on the bridge ``d-<name>`` over the second half
  (``docker_bridge``), with the real ``docker network create`` the module runs;
* then reports ``STATUS_OK`` (or ``STATUS_FAILED`` with the error) to the master, and serves
  ``GET /overlay-agent/overlay``.

The vxlan device and the routes between agents are not the module's work: dcos-navstar
(:mod:`.navstar`) reads ``/overlay-agent/overlay`` and programs them.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply, text_reply
from mesoslab_twin.common.wire import WireError, post
from mesoslab_twin.dcos import overlay_network as net
from mesoslab_twin.dcos.overlay_master import AGENT_MODULE, module_parameters, read_config

log = logging.getLogger("overlay")

RETRY = 2.0  # seconds between registrations while configuring
REFRESH = 10.0  # seconds between registrations once configured
DOCKER_TIMEOUT = 60.0


def cni_conf(name: str, bridge: str, subnet: str, mtu: int) -> dict[str, Any]:
    """``<name>.conf`` as the DC/OS >= 1.10 module writes it (port mapper over bridge)."""
    return {
        "name": name,
        "type": "mesos-cni-port-mapper",
        "excludeDevices": [bridge],
        "chain": "M-" + name.upper(),
        "delegate": {
            "type": "bridge",
            "bridge": bridge,
            "isGateway": True,
            "ipMasq": False,
            "hairpinMode": True,
            "mtu": mtu,
            "ipam": {"type": "host-local", "subnet": subnet, "routes": [{"dst": "0.0.0.0/0"}]},
        },
    }


def docker_create_argv(
    docker: list[str], name: str, bridge: str, subnet: str, mtu: int
) -> list[str]:
    """The module's ``docker network create`` (overlay/agent.cpp)."""
    return [
        *docker,
        "network",
        "create",
        "--driver=bridge",
        f"--opt=com.docker.network.bridge.name={bridge}",
        "--opt=com.docker.network.bridge.enable_ip_masquerade=false",
        f"--opt=com.docker.network.driver.mtu={mtu}",
        f"--subnet={subnet}",
        name,
    ]


def accepts_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    if not accept:
        return True
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    wanted = ("application/json", "application/x-protobuf", "application/*", "*/*")
    return any(kind in wanted for kind in kinds)


class OverlayAgent:
    def __init__(
        self,
        config: dict[str, Any],
        ip: str,
        leader: Callable[[], str | None],
        root: Root,
        docker: list[str],
        run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    ) -> None:
        network_config = config.get("network_config") or {}
        self.cni_dir = root.path(str(config.get("cni_dir", "/opt/mesosphere/etc/dcos/network/cni")))
        self.mesos_bridge = bool(network_config.get("mesos_bridge", False))
        self.docker_bridge = bool(network_config.get("docker_bridge", False))
        self.mtu = int(network_config.get("overlay_mtu", 1420))
        self.ip = ip
        self.leader = leader
        self.docker = docker
        self.run = run
        self.lock = threading.Lock()
        self.info: dict[str, Any] = {"ip": ip, "overlays": []}
        self.stopping = threading.Event()

    @classmethod
    def from_modules(
        cls,
        root: Root,
        modules_dir: str | None,
        ip: str,
        leader: Callable[[], str | None],
        docker: list[str],
    ) -> OverlayAgent | None:
        params = module_parameters(root, modules_dir, AGENT_MODULE)
        if params is None:
            return None
        config = read_config(root, params.get("agent_config", ""))
        return cls(config, ip, leader, root, docker)

    # ------------------------------------------------------------------ configuring

    def configure(self, overlays: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
        """Set up every overlay; its status, by overlay name."""
        statuses: dict[str, dict[str, str]] = {}
        for overlay in overlays:
            name = str(overlay["info"]["name"])
            try:
                if "mesos_bridge" in overlay:
                    self._write_cni(name, overlay["mesos_bridge"])
                if "docker_bridge" in overlay:
                    self._docker_network(name, overlay["docker_bridge"])
                statuses[name] = {"status": "STATUS_OK"}
            except (OSError, net.OverlayError) as exc:
                log.error("Failed to configure overlay %s: %s", name, exc)
                statuses[name] = {"status": "STATUS_FAILED", "error": str(exc)}
        return statuses

    def _write_cni(self, name: str, bridge: dict[str, Any]) -> None:
        text = json.dumps(
            cni_conf(name, str(bridge["name"]), str(bridge["ip"]), self.mtu), indent=2
        )
        path = self.cni_dir / f"{name}.conf"
        if path.exists() and path.read_text(encoding="utf-8") == text + "\n":
            return
        self.cni_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        log.info("Wrote CNI configuration %s", path)

    def _docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            [*self.docker, *args],
            capture_output=True,
            text=True,
            timeout=DOCKER_TIMEOUT,
            check=False,
        )

    def _docker_network(self, name: str, bridge: dict[str, Any]) -> None:
        subnet = str(bridge["ip"])
        found = self._docker("network", "inspect", name)
        if found.returncode == 0:
            try:
                doc = json.loads(found.stdout)[0]
                have = [c.get("Subnet") for c in (doc.get("IPAM") or {}).get("Config") or []]
            except (ValueError, IndexError, AttributeError):
                have = []
            if subnet in have:
                return
            log.warning(
                "Docker network %s has subnet %s, not %s: re-creating it", name, have, subnet
            )
            self._docker("network", "rm", name)
        argv = docker_create_argv([], name, str(bridge["name"]), subnet, self.mtu)
        made = self._docker(*argv)
        if made.returncode != 0:
            raise net.OverlayError(
                f"docker network create {name} failed: {(made.stderr or made.stdout).strip()}"
            )
        log.info("Created the Docker network %s (bridge %s, %s)", name, bridge["name"], subnet)

    # ------------------------------------------------------------------ registration

    def _register(self, statuses: dict[str, dict[str, str]]) -> dict[str, Any] | None:
        leader = self.leader()
        if not leader:
            return None
        body = {
            "ip": self.ip,
            "mesos_bridge": self.mesos_bridge,
            "docker_bridge": self.docker_bridge,
            "status": statuses,
        }
        try:
            answer = post(leader, "/overlay-master/twin/register", body)
        except WireError as exc:
            log.debug("overlay master %s: %s", leader, exc)
            return None
        data = answer.json() if answer.status == 200 else None
        return data if isinstance(data, dict) else None

    def loop(self) -> None:
        statuses: dict[str, dict[str, str]] = {}
        while not self.stopping.is_set():
            given = self._register(statuses)
            if given is None:
                self.stopping.wait(RETRY)
                continue
            overlays = list(given.get("overlays") or [])
            statuses = self.configure(overlays)
            for overlay in overlays:
                overlay["state"] = statuses.get(overlay["info"]["name"], overlay.get("state"))
            with self.lock:
                self.info = {"ip": self.ip, "overlays": overlays}
            confirmed = all(
                o.get("state", {}).get("status") == "STATUS_OK" for o in given.get("overlays") or []
            )
            ok = all(s["status"] == "STATUS_OK" for s in statuses.values())
            self.stopping.wait(REFRESH if ok and confirmed else RETRY)

    def start(self) -> None:
        threading.Thread(target=self.loop, name="overlay-agent", daemon=True).start()

    def overlay(self) -> dict[str, Any]:
        with self.lock:
            copy: dict[str, Any] = json.loads(json.dumps(self.info))
            return copy

    def add_routes(self, router: Router) -> None:
        def overlay(request: Request, _m: Any) -> Reply:
            if not accepts_json(request):
                return text_reply("Client needs to support either JSON or protobuf\n", 415)
            return json_reply(self.overlay())

        router.add("GET", r"/overlay-agent/overlay", overlay)
