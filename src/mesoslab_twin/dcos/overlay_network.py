"""The overlay network's arithmetic, as the DC/OS overlay module does it (no I/O here).

Master side (dcos-mesos-modules overlay/master.cpp): every agent gets the next ``prefix``
slice of each overlay's subnet (``9.0.N.0/24`` of ``9.0.0.0/8``) and the next VTEP address
of ``vtep_subnet`` (``44.128.0.N/20``); the VTEP MAC is the OUI ``70:b3:d5`` followed by the
low three bytes of the VTEP address. The agent's slice is split in two halves: the Mesos
bridge ``m-<name>`` takes the first (``9.0.N.0/25``), the Docker bridge ``d-<name>`` the
second (``9.0.N.128/25``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

VNI = 1024
VTEP_NAME = "vtep1024"
VXLAN_PORT = 64000  # dcos-net / navstar's vxlan UDP port, not Linux's 4789
MESOS_BRIDGE_PREFIX = "m-"
DOCKER_BRIDGE_PREFIX = "d-"

DEFAULT_NETWORK: dict[str, Any] = {
    "vtep_subnet": "44.128.0.0/20",
    "vtep_mac_oui": "70:B3:D5:00:00:00",
    "overlays": [{"name": "dcos", "subnet": "9.0.0.0/8", "prefix": 24}],
}


class OverlayError(ValueError):
    """The network configuration cannot be used (the message says why)."""


@dataclass(frozen=True)
class Overlay:
    name: str
    subnet: ipaddress.IPv4Network
    prefix: int

    def slice(self, index: int) -> ipaddress.IPv4Network:
        """The ``index``-th agent subnet (0-based)."""
        size = 2 ** (self.prefix - self.subnet.prefixlen)
        if not 0 <= index < size:
            raise OverlayError(f"overlay {self.name}: no free /{self.prefix} left in {self.subnet}")
        step = 2 ** (32 - self.prefix)
        return ipaddress.IPv4Network((int(self.subnet.network_address) + index * step, self.prefix))

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "subnet": str(self.subnet), "prefix": self.prefix}


def overlays(network: dict[str, Any]) -> list[Overlay]:
    found = []
    for raw in network.get("overlays") or []:
        try:
            subnet = ipaddress.IPv4Network(str(raw["subnet"]))
            prefix = int(raw["prefix"])
            name = str(raw["name"])
        except (KeyError, TypeError, ValueError) as exc:
            raise OverlayError(f"bad overlay {raw!r}: {exc}") from None
        if not subnet.prefixlen < prefix <= 30:
            raise OverlayError(f"overlay {name}: prefix {prefix} does not fit in {subnet}")
        found.append(Overlay(name, subnet, prefix))
    return found


def vtep_address(network: dict[str, Any], index: int) -> ipaddress.IPv4Interface:
    """The ``index``-th VTEP address (0-based: the first agent is ``.1``)."""
    subnet = ipaddress.IPv4Network(str(network.get("vtep_subnet", "44.128.0.0/20")))
    if index + 1 >= subnet.num_addresses - 1:
        raise OverlayError(f"no free VTEP address left in {subnet}")
    return ipaddress.IPv4Interface(f"{subnet.network_address + index + 1}/{subnet.prefixlen}")


def vtep_mac(network: dict[str, Any], vtep: ipaddress.IPv4Interface) -> str:
    """OUI (first three bytes of ``vtep_mac_oui``) + the low three bytes of the VTEP IP."""
    oui = str(network.get("vtep_mac_oui", "70:B3:D5:00:00:00")).lower().split(":")[:3]
    low = vtep.ip.packed[1:]
    return ":".join([*oui, *(f"{b:02x}" for b in low)])


def halves(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    first, second = subnet.subnets(prefixlen_diff=1)
    return first, second


def agent_overlays(
    network: dict[str, Any], index: int, *, mesos_bridge: bool, docker_bridge: bool
) -> list[dict[str, Any]]:
    """AgentOverlayInfo list for the ``index``-th agent (state left to the caller)."""
    vtep = vtep_address(network, index)
    backend = {
        "vxlan": {
            "vni": VNI,
            "vtep_ip": str(vtep),
            "vtep_mac": vtep_mac(network, vtep),
            "vtep_name": VTEP_NAME,
        }
    }
    result = []
    for overlay in overlays(network):
        subnet = overlay.slice(index)
        mesos_half, docker_half = halves(subnet)
        entry: dict[str, Any] = {"info": overlay.info(), "subnet": str(subnet), "backend": backend}
        if mesos_bridge:
            entry["mesos_bridge"] = {
                "name": MESOS_BRIDGE_PREFIX + overlay.name,
                "ip": str(mesos_half),
            }
        if docker_bridge:
            entry["docker_bridge"] = {
                "name": DOCKER_BRIDGE_PREFIX + overlay.name,
                "ip": str(docker_half),
            }
        result.append(entry)
    return result


def network_info(network: dict[str, Any]) -> dict[str, Any]:
    """NetworkConfig as the master's state prints it (``enabled`` is a protobuf default)."""
    return {
        "vtep_subnet": str(network.get("vtep_subnet", "44.128.0.0/20")),
        "vtep_mac_oui": str(network.get("vtep_mac_oui", "70:B3:D5:00:00:00")),
        "overlays": [{**o.info(), "enabled": True} for o in overlays(network)],
    }
