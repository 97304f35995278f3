"""The inventory: the lab as the checks see it (DESIGN §3, a contract).

Read from a TOML file (``--inventory FILE``) for a cluster mesoslab did not build, or built
by the lab driver from ``lab.toml`` + ``vagrant ssh-config``. Validation errors name the node,
the key and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesoslab.errors import InventoryError

ROLES = (
    "master",
    "agent",
    "zookeeper",
    "marathon",
    "chronos",
    "marathon-lb",
    "mesos-dns",
    "dcos-bootstrap",
)

DEFAULT_PORTS = {
    "mesos_master": 5050,
    "mesos_agent": 5051,
    "marathon": 8080,
    "chronos": 4400,
    "zookeeper": 2181,
    "docker_registry": 5000,  # the lab registry (Debian docker-registry's http.addr)
    "prometheus": 9090,  # lesson 8 runs Prometheus on the master (marathon-lb has :9090)
    "mesos_exporter": 9105,
    "dcos_adminrouter": 80,  # lesson 10: Admin Router on a DC/OS master
}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")


@dataclass(frozen=True)
class SshTarget:
    """How to reach a node over SSH."""

    host: str
    user: str = "vagrant"
    port: int = 22
    key: str | None = None  # path to a private key; None = default keys of the user
    extra_keys: tuple[str, ...] = ()  # vagrant ssh-config may list several IdentityFiles


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    roles: tuple[str, ...]
    ssh: SshTarget | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Inventory:
    nodes: tuple[Node, ...]
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    source: str = "<memory>"  # the file it came from, or a description of the lab

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def with_role(self, role: str) -> list[Node]:
        return [n for n in self.nodes if role in n.roles]

    def resolve(self, target: str) -> list[Node]:
        """Nodes named by ``target``: a node name, or a role (every node that has it)."""
        node = self.node(target)
        if node is not None:
            return [node]
        return self.with_role(target)

    def find_host(self, host: str) -> Node | None:
        """The node a hostname or address seen in an API response refers to.

        Mesos reports hostnames (``--hostname`` or reverse DNS) that may not resolve from
        where the checks run; match them against node names, addresses and SSH hosts.
        """
        host = host.strip().lower().rstrip(".")
        for node in self.nodes:
            candidates = {node.name.lower(), node.address.lower()}
            if node.ssh is not None:
                candidates.add(node.ssh.host.lower())
            if host in candidates or host.split(".")[0] == node.name.lower():
                return node
        return None


def load_inventory(path: str | Path) -> Inventory:
    path = Path(path).expanduser()
    if not path.exists():
        raise InventoryError(
            f"inventory file {path} does not exist",
            hint="pass --inventory with the path of a TOML inventory (see README), "
            "or run inside a lab directory",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"cannot read inventory {path}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}") from exc
    return parse_inventory(data, source=str(path))


def parse_inventory(data: dict[str, Any], *, source: str = "<memory>") -> Inventory:
    unknown = set(data) - {"node", "ports"}
    if unknown:
        raise InventoryError(
            f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            "allowed: [[node]], [ports]"
        )
    raw_nodes = data.get("node")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise InventoryError(f"{source}: no [[node]] entries; an inventory lists at least one node")
    nodes: list[Node] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_nodes, start=1):
        node = _parse_node(raw, index, source)
        if node.name in seen:
            raise InventoryError(f"{source}: duplicate node name {node.name!r}")
        seen.add(node.name)
        nodes.append(node)
    ports = dict(DEFAULT_PORTS)
    raw_ports = data.get("ports", {})
    if not isinstance(raw_ports, dict):
        raise InventoryError(f"{source}: [ports] must be a table")
    for key, value in raw_ports.items():
        if key not in DEFAULT_PORTS:
            raise InventoryError(
                f"{source}: unknown port {key!r} in [ports]; allowed: {', '.join(DEFAULT_PORTS)}"
            )
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
            raise InventoryError(f"{source}: [ports] {key} must be a port number, got {value!r}")
        ports[key] = value
    return Inventory(nodes=tuple(nodes), ports=ports, source=source)


def _parse_node(raw: Any, index: int, source: str) -> Node:
    where = f"{source}: node #{index}"
    if not isinstance(raw, dict):
        raise InventoryError(f"{where} must be a table")
    unknown = set(raw) - {"name", "address", "roles", "ssh"}
    if unknown:
        raise InventoryError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            "allowed: name, address, roles, ssh"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InventoryError(f"{where}: 'name' must be a simple name like master1, got {name!r}")
    where = f"{source}: node {name!r}"
    address = raw.get("address")
    if not isinstance(address, str) or not _valid_host(address):
        raise InventoryError(
            f"{where}: 'address' must be an IP address or hostname, got {address!r}"
        )
    roles = raw.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InventoryError(f"{where}: 'roles' must be a list of strings")
    for role in roles:
        if role not in ROLES:
            raise InventoryError(f"{where}: unknown role {role!r}; allowed: {', '.join(ROLES)}")
    ssh = None
    if "ssh" in raw:
        ssh = _parse_ssh(raw["ssh"], address, where)
    return Node(name=name, address=address, roles=tuple(roles), ssh=ssh)


def _parse_ssh(raw: Any, address: str, where: str) -> SshTarget:
    if not isinstance(raw, dict):
        raise InventoryError(f"{where}: [node.ssh] must be a table")
    unknown = set(raw) - {"user", "port", "host", "key"}
    if unknown:
        raise InventoryError(
            f"{where}: unknown key(s) in [node.ssh]: {', '.join(sorted(unknown))}; "
            "allowed: user, port, host, key"
        )
    user = raw.get("user", "vagrant")
    port = raw.get("port", 22)
    host = raw.get("host", address)
    key = raw.get("key")
    if not isinstance(user, str) or not user:
        raise InventoryError(f"{where}: ssh.user must be a user name")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise InventoryError(f"{where}: ssh.port must be a port number, got {port!r}")
    if not isinstance(host, str) or not _valid_host(host):
        raise InventoryError(f"{where}: ssh.host must be an IP address or hostname, got {host!r}")
    if key is not None and not isinstance(key, str):
        raise InventoryError(f"{where}: ssh.key must be a path")
    return SshTarget(host=host, user=user, port=port, key=key)


def _valid_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", value):
        return False  # looks like a broken IPv4 address, e.g. 192.168.56.300
    return bool(_HOSTNAME_RE.match(value)) and len(value) <= 253
