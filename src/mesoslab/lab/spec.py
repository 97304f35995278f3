"""lab.toml: the lab a person wants (written by `mesoslab init`, edited by people).

Parsing validates every key and says which key is wrong and what is allowed.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesoslab.errors import LabSpecError
from mesoslab.lab.inventory import ROLES
from mesoslab.lab.presets import PRESETS

LAB_FILE = "lab.toml"
STATE_DIR = ".mesoslab"  # beside lab.toml: machines.json, inventory.toml, progress
PROVIDERS = ("virtualbox", "libvirt", "lxc")
PLATFORMS = ("centos7", "rehearsal")
CHANNELS = ("mesosphere", "aventer", "local", "prebaked")

DEFAULT_BOX = {"centos7": "centos/7", "rehearsal": "mesoslab/rehearsal-debian12"}
# VirtualBox only allows host-only networks in 192.168.56.0/21 by default; LXC uses the
# lxc-net bridge (lxcbr0, 10.0.3.0/24 on Debian).
DEFAULT_SUBNET = {
    "virtualbox": "192.168.56.0/24",
    "libvirt": "192.168.56.0/24",
    "lxc": "10.0.3.0/24",
}
MESOSPHERE_REPO_RPM = (
    "http://repos.mesosphere.io/el/7/noarch/RPMS/mesosphere-el-repo-7-3.noarch.rpm"
)
VAULT_URL = "http://vault.centos.org/7.9.2009"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    roles: tuple[str, ...]
    address: str
    cpus: int
    memory: int  # MiB


@dataclass(frozen=True)
class PackageSpec:
    channel: str = "mesosphere"  # mesosphere | aventer | local | prebaked
    local_path: str | None = None  # folder of RPMs for channel "local"
    mesosphere_repo_rpm: str = MESOSPHERE_REPO_RPM
    aventer_repo_url: str | None = None
    vault_url: str = VAULT_URL  # where CentOS 7 base repos point (EOL: vault or a mirror)


@dataclass(frozen=True)
class LabSpec:
    name: str
    provider: str
    platform: str
    box: str
    preset: str | None
    nodes: tuple[NodeSpec, ...]
    packages: PackageSpec
    subnet: str
    gateway: str | None  # LXC: the bridge address the containers route through
    directory: Path = field(default=Path("."))

    @property
    def state_dir(self) -> Path:
        return self.directory / STATE_DIR

    def node(self, name: str) -> NodeSpec | None:
        return next((n for n in self.nodes if n.name == name), None)


def load_lab(directory: str | Path = ".") -> LabSpec:
    directory = Path(directory).resolve()
    path = directory / LAB_FILE
    if not path.is_file():
        raise LabSpecError(
            f"no {LAB_FILE} in {directory}",
            hint="create one with `mesoslab init` (or cd into your lab directory)",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LabSpecError(f"{path}: {exc}") from exc
    return parse_lab(data, directory=directory, source=str(path))


def find_lab_dir(start: Path | None = None) -> Path | None:
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / LAB_FILE).is_file():
            return folder
    return None


def _choice(
    data: dict[str, Any],
    key: str,
    allowed: tuple[str, ...],
    default: str,
    source: str,
    prefix: str = "",
) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise LabSpecError(
            f"{source}: {prefix}{key} = {value!r} is not allowed; use one of {', '.join(allowed)}"
        )
    return str(value)


def parse_lab(
    data: dict[str, Any], *, directory: Path = Path("."), source: str = LAB_FILE
) -> LabSpec:
    known = {
        "name",
        "preset",
        "provider",
        "platform",
        "box",
        "packages",
        "mirrors",
        "network",
        "resources",
        "node",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise LabSpecError(
            f"{source}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
        )
    name = data.get("name", directory.name or "mesoslab")
    if not isinstance(name, str) or not name.strip():
        raise LabSpecError(f"{source}: name must be a non-empty text")
    provider = _choice(data, "provider", PROVIDERS, "virtualbox", source)
    platform = _choice(data, "platform", PLATFORMS, "centos7", source)
    box = data.get("box", DEFAULT_BOX[platform])
    if not isinstance(box, str) or not box:
        raise LabSpecError(f"{source}: box must be a Vagrant box name")
    packages = _parse_packages(data.get("packages"), data.get("mirrors", {}), platform, source)
    network = data.get("network", {})
    if not isinstance(network, dict):
        raise LabSpecError(f"{source}: [network] must be a table")
    subnet_text = network.get("subnet", DEFAULT_SUBNET[provider])
    try:
        subnet = ipaddress.ip_network(str(subnet_text), strict=False)
    except ValueError:
        raise LabSpecError(
            f"{source}: network.subnet = {subnet_text!r} is not a network like 192.168.56.0/24"
        ) from None
    gateway = network.get("gateway")
    if gateway is None and provider == "lxc":
        gateway = str(next(subnet.hosts()))
    resources = data.get("resources", {})
    if not isinstance(resources, dict):
        raise LabSpecError(f"{source}: [resources] must be a table")
    cpus = _positive_int(resources.get("cpus", 1), "resources.cpus", source)
    memory = _positive_int(resources.get("memory", 1024), "resources.memory", source)
    preset = data.get("preset")
    raw_nodes = data.get("node")
    if raw_nodes is not None:
        nodes = _explicit_nodes(raw_nodes, subnet, cpus, memory, source)
        preset = None if preset is None else str(preset)
    else:
        preset = preset or "1m-2a"
        if preset not in PRESETS:
            raise LabSpecError(
                f"{source}: preset = {preset!r} is not allowed; use one of {', '.join(PRESETS)}"
            )
        nodes = _preset_nodes(preset, subnet, cpus, memory)
    return LabSpec(
        name=name.strip(),
        provider=provider,
        platform=platform,
        box=box,
        preset=preset,
        nodes=nodes,
        packages=packages,
        subnet=str(subnet),
        gateway=str(gateway) if gateway else None,
        directory=directory,
    )


def _parse_packages(channel_text: Any, mirrors: Any, platform: str, source: str) -> PackageSpec:
    if channel_text is None:
        channel_text = "mesosphere" if platform == "centos7" else "prebaked"
    if not isinstance(channel_text, str):
        raise LabSpecError(f'{source}: packages must be a text like "mesosphere"')
    channel, _, local_path = channel_text.partition(":")
    if channel not in CHANNELS:
        raise LabSpecError(
            f"{source}: packages = {channel_text!r} is not allowed; use mesosphere, "
            "aventer, local:PATH (a folder of RPMs) or prebaked"
        )
    if channel == "local" and not local_path:
        raise LabSpecError(f"{source}: packages = 'local' needs a folder: local:PATH")
    if not isinstance(mirrors, dict):
        raise LabSpecError(f"{source}: [mirrors] must be a table")
    unknown = sorted(set(mirrors) - {"vault_url", "mesosphere_repo_rpm", "aventer_repo_url"})
    if unknown:
        raise LabSpecError(
            f"{source}: unknown key(s) in [mirrors]: {', '.join(unknown)}; "
            "allowed: vault_url, mesosphere_repo_rpm, aventer_repo_url"
        )
    return PackageSpec(
        channel=channel,
        local_path=local_path or None,
        mesosphere_repo_rpm=str(mirrors.get("mesosphere_repo_rpm", MESOSPHERE_REPO_RPM)),
        aventer_repo_url=mirrors.get("aventer_repo_url"),
        vault_url=str(mirrors.get("vault_url", VAULT_URL)).rstrip("/"),
    )


def _positive_int(value: Any, key: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise LabSpecError(f"{source}: {key} must be a positive whole number, got {value!r}")
    return value


def _preset_nodes(
    preset: str, subnet: ipaddress.IPv4Network | ipaddress.IPv6Network, cpus: int, memory: int
) -> tuple[NodeSpec, ...]:
    nodes = []
    masters = agents = 0
    for pnode in PRESETS[preset]:
        if "dcos-bootstrap" in pnode.roles:
            host = 10  # .10: before the masters, as the DC/OS docs draw the bootstrap node
        elif "master" in pnode.roles:
            masters += 1
            host = 10 + masters  # .11, .12, .13
        else:
            agents += 1
            host = 20 + agents  # .21, .22, .23
        address = str(subnet.network_address + host)
        nodes.append(NodeSpec(pnode.name, pnode.roles, address, cpus, memory))
    return tuple(nodes)


def _explicit_nodes(
    raw: Any,
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network,
    cpus: int,
    memory: int,
    source: str,
) -> tuple[NodeSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise LabSpecError(f"{source}: [[node]] must list at least one node")
    nodes: list[NodeSpec] = []
    for index, item in enumerate(raw, start=1):
        where = f"{source}: node #{index}"
        if not isinstance(item, dict):
            raise LabSpecError(f"{where} must be a table")
        unknown = sorted(set(item) - {"name", "roles", "address", "cpus", "memory"})
        if unknown:
            raise LabSpecError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: name, "
                "roles, address, cpus, memory"
            )
        name = item.get("name")
        if not isinstance(name, str) or not name.replace("-", "").isalnum():
            raise LabSpecError(f"{where}: name must be letters, digits and dashes, got {name!r}")
        roles = item.get("roles", [])
        if not isinstance(roles, list) or any(r not in ROLES for r in roles):
            raise LabSpecError(f"{where} ({name}): roles must be a list of {', '.join(ROLES)}")
        address = item.get("address", str(subnet.network_address + 10 + index))
        try:
            if ipaddress.ip_address(address) not in subnet:
                raise LabSpecError(
                    f"{where} ({name}): address {address} is outside network.subnet {subnet}"
                )
        except ValueError:
            raise LabSpecError(
                f"{where} ({name}): address {address!r} is not an IP address"
            ) from None
        if any(n.name == name for n in nodes):
            raise LabSpecError(f"{source}: duplicate node name {name!r}")
        nodes.append(
            NodeSpec(
                name,
                tuple(roles),
                str(address),
                _positive_int(item.get("cpus", cpus), f"node {name} cpus", source),
                _positive_int(item.get("memory", memory), f"node {name} memory", source),
            )
        )
    return tuple(nodes)
