"""Which lab a command talks to: an explicit inventory file, or the lab around us."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mesoslab.errors import InventoryError
from mesoslab.lab.inventory import Inventory, load_inventory

# Written by the lab builder inside a lab directory; a hand-written one works too.
LAB_INVENTORY = Path(".mesoslab") / "inventory.toml"


@dataclass(frozen=True)
class LabTarget:
    inventory: Inventory
    inventory_path: Path


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
