"""dcos-navstar's overlay work, emulated with the real ``ip`` and ``bridge`` commands.

DC/OS 1.10's dcos-navstar (1.11 merged it into dcos-net) polls the local Mesos daemon's
``/overlay-agent/overlay``, creates the VTEP ``vtep1024`` (vxlan id 1024, UDP port 64000),
sets its MAC and address, and for every other agent adds a permanent neighbour entry, a
bridge fdb entry (the other agent's MAC -> its address) and the route
``9.0.M.0/24 via 44.128.0.M dev vtep1024``. The real one learns the other agents through its
gossip (lashup); this emulation reads the leading master's ``/overlay-master/state``. Every
command is idempotent (``replace``), so a pass that finds everything in place changes nothing.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.process import setup_logging, wait_for_signal
from mesoslab_twin.common.wire import WireError, request
from mesoslab_twin.dcos import overlay_network as net

log = logging.getLogger("navstar")
POLL = 3.0
MASTER_LIST = "/opt/mesosphere/etc/master_list"
ROLES_DIR = "/etc/mesosphere/roles"

Runner = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Peer:
    agent_ip: str
    vtep_ip: str  # no prefix
    vtep_mac: str
    subnets: tuple[str, ...]


def own_vtep(info: dict[str, Any]) -> tuple[str, str] | None:
    """(vtep address with prefix, MAC) from an AgentInfo, once the master gave one."""
    for overlay in info.get("overlays") or []:
        vxlan = (overlay.get("backend") or {}).get("vxlan") or {}
        if vxlan.get("vtep_ip") and vxlan.get("vtep_mac"):
            return str(vxlan["vtep_ip"]), str(vxlan["vtep_mac"])
    return None


def peers(state: dict[str, Any], own_ip: str) -> list[Peer]:
    found = []
    for agent in state.get("agents") or []:
        if agent.get("ip") == own_ip:
            continue
        overlays = agent.get("overlays") or []
        vtep = own_vtep(agent)
        if vtep is None:
            continue
        subnets = tuple(str(o["subnet"]) for o in overlays if o.get("subnet"))
        found.append(Peer(str(agent["ip"]), vtep[0].split("/")[0], vtep[1], subnets))
    return found


def commands(own_ip: str, dev: str, vtep: tuple[str, str], others: list[Peer]) -> list[list[str]]:
    """What to run, in order, for the VTEP and every peer (all of it idempotent)."""
    name = net.VTEP_NAME
    argv = [
        ["ip", "link", "set", name, "address", vtep[1]],
        ["ip", "addr", "replace", vtep[0], "dev", name],
        ["ip", "link", "set", name, "up"],
    ]
    for peer in others:
        argv.append(
            [
                "ip",
                "neigh",
                "replace",
                peer.vtep_ip,
                "lladdr",
                peer.vtep_mac,
                "dev",
                name,
                "nud",
                "permanent",
            ]
        )
        argv.append(["bridge", "fdb", "replace", peer.vtep_mac, "dev", name, "dst", peer.agent_ip])
        for subnet in peer.subnets:
            argv.append(["ip", "route", "replace", subnet, "via", peer.vtep_ip, "dev", name])
    return argv


def create_argv(own_ip: str, dev: str) -> list[list[str]]:
    add = [
        "ip",
        "link",
        "add",
        net.VTEP_NAME,
        "type",
        "vxlan",
        "id",
        str(net.VNI),
        "dstport",
        str(net.VXLAN_PORT),
        "local",
        own_ip,
    ]
    if dev:
        add += ["dev", dev]
    return [add]


class Navstar:
    def __init__(
        self, root: Root, own_ip: str, port: int, masters: list[str], run: Runner = subprocess.run
    ) -> None:
        self.root = root
        self.own_ip = own_ip
        self.port = port
        self.masters = masters
        self.run = run
        self.stopping = threading.Event()
        self.done: list[list[str]] = []

    def _get(self, address: str, path: str) -> Any:
        try:
            answer = request(address, "GET", path, headers={"Accept": "application/json"})
        except WireError as exc:
            log.debug("%s%s: %s", address, path, exc)
            return None
        if answer.status == 307:
            location = answer.headers.get("location", "")
            if location.startswith("//"):
                return self._get(location[2:].split("/", 1)[0], path)
        return answer.json() if answer.status == 200 else None

    def _sh(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return self.run(argv, capture_output=True, text=True, check=False)

    def device_of(self, ip: str) -> str:
        shown = self._sh(["ip", "-o", "-4", "addr", "show"])
        for line in (shown.stdout or "").splitlines():
            words = line.split()
            if len(words) > 3 and words[3].split("/")[0] == ip:
                return words[1]
        return ""

    def once(self) -> bool:
        """One pass; True when the VTEP and every peer are programmed."""
        info = self._get(f"{self.own_ip}:{self.port}", "/overlay-agent/overlay")
        vtep = own_vtep(info or {})
        if vtep is None:
            return False
        state = None
        for master in self.masters:
            state = self._get(f"{master}:5050", "/overlay-master/state")
            if state:
                break
        others = peers(state or {}, self.own_ip)
        exists = self._sh(["ip", "-o", "link", "show", net.VTEP_NAME]).returncode == 0
        todo = [] if exists else create_argv(self.own_ip, self.device_of(self.own_ip))
        ok = True
        for argv in todo + commands(self.own_ip, "", vtep, others):
            done = self._sh(argv)
            if done.returncode != 0:
                ok = False
                log.error("%s: %s", " ".join(argv), (done.stderr or done.stdout).strip())
            elif argv[:3] == ["ip", "link", "add"]:
                log.info(
                    "Created %s (vxlan id %d, port %d)", net.VTEP_NAME, net.VNI, net.VXLAN_PORT
                )
        self.done = todo + commands(self.own_ip, "", vtep, others)
        return ok

    def loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.once()
            except OSError as exc:
                log.error("overlay pass failed: %s", exc)
            self.stopping.wait(POLL)


def local_port(root: Root) -> int:
    """5050 on a master, 5051 on an agent (DC/OS's role files say which)."""
    return 5050 if root.path(f"{ROLES_DIR}/master").exists() else 5051


def run(root: Root, args: list[str]) -> int:
    setup_logging("navstar")
    ip = ""
    for arg in args:
        if arg.startswith("--ip="):
            ip = arg.split("=", 1)[1]
    if not ip:
        print(
            "navstar: --ip=<this node's address> is required (ip-detect prints it)", file=sys.stderr
        )
        return 2
    try:
        masters = [str(m) for m in json.loads(root.read(MASTER_LIST) or "[]")]
    except ValueError:
        masters = []
    if not masters:
        print(f"navstar: no masters in {MASTER_LIST}", file=sys.stderr)
        return 1
    navstar = Navstar(root, ip, local_port(root), masters)
    log.info("dcos-navstar (mesoslab twin: emulation) programs %s on %s", net.VTEP_NAME, ip)
    threading.Thread(target=navstar.loop, name="overlay", daemon=True).start()
    wait_for_signal()
    navstar.stopping.set()
    return 0
