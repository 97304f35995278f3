"""The Mesos containerizer's ``network/cni`` isolator for one container, done for real.

For a task whose ContainerInfo names a network (``network_infos[].name``), Mesos finds the
CNI configuration with that ``name`` in ``--network_cni_config_dir`` and runs its plugin in
a new network namespace. DC/OS's ``dcos.conf`` is ``mesos-cni-port-mapper`` delegating to
the ``bridge`` plugin with ``host-local`` IPAM; this module does what those plugins do,
with ``ip``:

* the bridge (``m-dcos``) is created on first use, with the gateway (the subnet's first
  address, ``isGateway``) and the MTU of the configuration;
* a named namespace ``/var/run/netns/<container id>``, a veth pair whose host end joins the
  bridge (hairpin on, as ``hairpinMode``) and whose other end is the container's ``eth0``;
* the next free address of the subnet, recorded the host-local way: a file named by the
  address under ``/var/lib/cni/networks/<network>/`` holding the container id, and
  ``last_reserved_ip.0``; routes from the IPAM ``routes`` (``0.0.0.0/0`` -> default via
  the gateway);
* teardown when the task ends: the namespace goes (and the veth with it), the address
  file is removed.

The task's command then runs inside the namespace (``ip netns exec <container id>``).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = "/var/lib/cni/networks"  # host-local's default dataDir


class CniError(Exception):
    """The container cannot join the network (the message says why)."""


@dataclass(frozen=True)
class BridgeNetwork:
    name: str  # the CNI network name ("dcos")
    bridge: str  # "m-dcos"
    subnet: ipaddress.IPv4Network
    mtu: int
    hairpin: bool
    default_route: bool

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.subnet.network_address + 1


@dataclass(frozen=True)
class Attachment:
    """A container on a CNI network: what the task's status reports."""

    network: str
    container_id: str
    netns: str  # the namespace's name under /var/run/netns
    ip: str  # the container's address (no prefix)
    prefix: int
    gateway: str
    host_veth: str


Runner = Callable[..., subprocess.CompletedProcess[str]]


def find_network(conf_dir: Path, name: str) -> BridgeNetwork:
    """The bridge network ``name`` from the ``*.conf`` / ``*.conflist`` files of ``conf_dir``."""
    if not conf_dir.is_dir():
        raise CniError(f"The CNI configuration directory '{conf_dir}' does not exist")
    for path in sorted([*conf_dir.glob("*.conf"), *conf_dir.glob("*.json")]):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or doc.get("name") != name:
            continue
        plugin = doc.get("delegate") if doc.get("type") == "mesos-cni-port-mapper" else doc
        if not isinstance(plugin, dict) or plugin.get("type") != "bridge":
            raise CniError(f"{path}: only the bridge plugin is emulated, not {plugin!r}")
        ipam = plugin.get("ipam") or {}
        if ipam.get("type") != "host-local" or "subnet" not in ipam:
            raise CniError(f"{path}: expected host-local IPAM with a subnet")
        try:
            subnet = ipaddress.IPv4Network(str(ipam["subnet"]))
        except ValueError as exc:
            raise CniError(f"{path}: {exc}") from None
        routes = ipam.get("routes") or []
        return BridgeNetwork(
            name=name,
            bridge=str(plugin.get("bridge", "cni0")),
            subnet=subnet,
            mtu=int(plugin.get("mtu", 1500)),
            hairpin=bool(plugin.get("hairpinMode", False)),
            default_route=any(r.get("dst") == "0.0.0.0/0" for r in routes),
        )
    raise CniError(f"Unknown CNI network '{name}': no configuration in '{conf_dir}'")


def allocate(data_dir: Path, network: BridgeNetwork, container_id: str) -> ipaddress.IPv4Address:
    """The next free address after the last one reserved (host-local's round robin)."""
    folder = data_dir / network.name
    folder.mkdir(parents=True, exist_ok=True)
    hosts = [h for h in network.subnet.hosts() if h != network.gateway]
    last_file = folder / "last_reserved_ip.0"
    try:
        last = ipaddress.IPv4Address(last_file.read_text().strip())
        start = hosts.index(last) + 1
    except (OSError, ValueError):
        start = 0
    for offset in range(len(hosts)):
        candidate = hosts[(start + offset) % len(hosts)]
        try:
            with (folder / str(candidate)).open("x") as handle:
                handle.write(container_id)
        except FileExistsError:
            continue
        last_file.write_text(str(candidate))
        return candidate
    raise CniError(f"no IP addresses available in range set: {network.subnet}")


def release(data_dir: Path, network: str, container_id: str) -> None:
    folder = data_dir / network
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith("last_reserved_ip"):
            continue
        try:
            if path.read_text().strip() == container_id:
                path.unlink()
        except OSError:
            pass


def _ip(run: Runner, *args: str, ok_if: str = "") -> None:
    done = run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0 and not (ok_if and ok_if in (done.stderr or "")):
        raise CniError(f"ip {' '.join(args)}: {(done.stderr or done.stdout).strip()}")


def _bridge(run: Runner, network: BridgeNetwork) -> None:
    found = run(
        ["ip", "-o", "addr", "show", "dev", network.bridge],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        _ip(run, "link", "add", "name", network.bridge, "type", "bridge", ok_if="File exists")
    gateway = f"{network.gateway}/{network.subnet.prefixlen}"
    if gateway not in (found.stdout or ""):
        _ip(run, "addr", "add", gateway, "dev", network.bridge, ok_if="File exists")
    _ip(run, "link", "set", network.bridge, "mtu", str(network.mtu), "up")


def attach(
    conf_dir: Path,
    name: str,
    container_id: str,
    *,
    data_dir: Path = Path(DATA_DIR),
    run: Runner = subprocess.run,
) -> Attachment:
    network = find_network(conf_dir, name)
    address = allocate(data_dir, network, container_id)
    host_veth = "veth" + container_id.replace("-", "")[:8]
    try:
        _bridge(run, network)
        _ip(run, "netns", "add", container_id)
        _ip(
            run,
            "link",
            "add",
            host_veth,
            "mtu",
            str(network.mtu),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            container_id,
        )
        _ip(run, "link", "set", host_veth, "master", network.bridge, "up")
        if network.hairpin:
            _ip(run, "link", "set", host_veth, "type", "bridge_slave", "hairpin", "on")
        inside = ("-n", container_id)
        _ip(run, *inside, "link", "set", "lo", "up")
        _ip(run, *inside, "addr", "add", f"{address}/{network.subnet.prefixlen}", "dev", "eth0")
        _ip(run, *inside, "link", "set", "eth0", "up")
        if network.default_route:
            _ip(run, *inside, "route", "add", "default", "via", str(network.gateway))
    except CniError:
        detach(name, container_id, data_dir=data_dir, run=run)
        raise
    return Attachment(
        name,
        container_id,
        container_id,
        str(address),
        network.subnet.prefixlen,
        str(network.gateway),
        host_veth,
    )


def detach(
    name: str, container_id: str, *, data_dir: Path = Path(DATA_DIR), run: Runner = subprocess.run
) -> None:
    """Remove the namespace (its veth goes with it) and free the address."""
    run(["ip", "netns", "del", container_id], capture_output=True, text=True, check=False)
    release(data_dir, name, container_id)


def network_names(info: dict[str, Any]) -> list[str]:
    """The named networks a TaskInfo asks for (CNI networks for a MESOS-type task, Docker
    user networks for a DOCKER-type one)."""
    container = info.get("container") or {}
    return [str(n["name"]) for n in container.get("network_infos") or [] if n.get("name")]
