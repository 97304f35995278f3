"""The inventory of a lab mesoslab built: nodes from lab.toml, SSH from `vagrant ssh-config`.

Written to ``.mesoslab/inventory.toml`` (the contract format of DESIGN §3), so `verify`,
`run` and `status` inside the lab directory find it without ``--inventory``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from mesoslab.files import write_atomic
from mesoslab.lab.inventory import DEFAULT_PORTS, Inventory, Node, SshTarget
from mesoslab.lab.spec import LabSpec

INVENTORY_FILE = "inventory.toml"


def lab_inventory(spec: LabSpec, ssh: dict[str, SshTarget] | None = None) -> Inventory:
    """Nodes of the lab; ``ssh`` (from ssh-config) adds how to log in to each."""
    ssh = ssh or {}
    nodes = tuple(
        Node(name=n.name, address=n.address, roles=n.roles, ssh=ssh.get(n.name)) for n in spec.nodes
    )
    return Inventory(nodes=nodes, ports=dict(DEFAULT_PORTS), source=f"lab {spec.name}")


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    for node in inventory.nodes:
        entry: dict[str, Any] = {
            "name": node.name,
            "address": node.address,
            "roles": list(node.roles),
        }
        if node.ssh is not None:
            ssh: dict[str, Any] = {
                "user": node.ssh.user,
                "port": node.ssh.port,
                "host": node.ssh.host,
            }
            if node.ssh.key:
                ssh["key"] = node.ssh.key
            entry["ssh"] = ssh
        nodes.append(entry)
    return {"node": nodes, "ports": dict(inventory.ports)}


def write_inventory(inventory: Inventory, path: Path) -> Path:
    """Write the inventory atomically (a reader never sees half a file)."""
    text = (
        "# Written by mesoslab from lab.toml and `vagrant ssh-config`; "
        "rewritten by `mesoslab up`.\n" + tomli_w.dumps(inventory_document(inventory))
    )
    return write_atomic(path, text)


def inventory_path(spec: LabSpec) -> Path:
    return spec.state_dir / INVENTORY_FILE
