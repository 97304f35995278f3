"""Which lab a command talks to: an explicit inventory file, or the lab around us."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mesoslab.errors import InventoryError, MesoslabError
from mesoslab.lab.inventory import Inventory, load_inventory

# Written by the lab builder inside a lab directory; a hand-written one works too.
LAB_INVENTORY = Path(".mesoslab") / "inventory.toml"
# The lessons' command variants for a cluster that does not say what it runs.
DEFAULT_PLATFORM = "centos7"


@dataclass(frozen=True)
class LabTarget:
    inventory: Inventory
    inventory_path: Path

    @property
    def platform(self) -> str | None:
        return lab_platform(self.inventory_path)


def lab_platform(inventory_path: Path) -> str | None:
    """The platform (centos7, rehearsal) of the lab that wrote ``inventory_path``, when it is
    a lab's own ``.mesoslab/inventory.toml`` beside a readable lab.toml; else None (an
    inventory file does not say what its nodes run)."""
    from mesoslab.lab.spec import LAB_FILE, load_lab

    path = inventory_path.expanduser().resolve()
    folder = path.parent.parent
    if path.parent.name != LAB_INVENTORY.parent.name or not (folder / LAB_FILE).is_file():
        return None
    try:
        return load_lab(folder).platform
    except MesoslabError:
        return None


def find_inventory_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MESOSLAB_INVENTORY")
    if env:
        return Path(env).expanduser()
    for folder in (Path.cwd(), *Path.cwd().parents):
        candidate = folder / LAB_INVENTORY
        if candidate.is_file():
            return candidate
    return None


def resolve_lab(explicit: str | None) -> LabTarget:
    path = find_inventory_path(explicit)
    if path is None:
        raise InventoryError(
            "no lab here: pass --inventory FILE (a TOML inventory, see README), set "
            "MESOSLAB_INVENTORY, or run inside a lab directory with .mesoslab/inventory.toml"
        )
    return LabTarget(inventory=load_inventory(path), inventory_path=path)
