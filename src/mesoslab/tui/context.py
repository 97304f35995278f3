"""Which lab the app shows: a lab mesoslab builds (lab.toml), a cluster given by an inventory
file, or nothing yet (the first-run screen). Plain Python: no Textual, no heavy imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mesoslab.lab.current import DEFAULT_PLATFORM, find_inventory_path, lab_platform
from mesoslab.lab.inventory import Inventory, load_inventory
from mesoslab.lab.lab_inventory import inventory_path, lab_inventory
from mesoslab.lab.spec import LAB_FILE, LabSpec, find_lab_dir, load_lab


@dataclass
class LabContext:
    """What the app works on. ``spec`` is set for a lab mesoslab builds (VM actions);
    ``inventory`` is None when there is no lab at all yet."""

    spec: LabSpec | None = None
    inventory: Inventory | None = None
    inventory_path: Path | None = None  # names the lab's progress file
    folder: Path | None = None  # with no lab yet: where the first-run screen offers to make one
    inventory_platform: str | None = None  # a lab's own inventory file: that lab's platform

    @property
    def has_lab(self) -> bool:
        return self.inventory is not None

    @property
    def has_vms(self) -> bool:
        return self.spec is not None

    @property
    def rehearsal(self) -> bool:
        return self.platform == "rehearsal"

    @property
    def platform(self) -> str:
        """Which command variants the lessons show: the lab's; for an inventory file, the lab's
        that wrote it, else centos7 (an inventory does not say what its nodes run)."""
        if self.spec is not None:
            return self.spec.platform
        return self.inventory_platform or DEFAULT_PLATFORM

    @property
    def label(self) -> str:
        """One short line naming the lab (no temporary paths: the file name only)."""
        if self.spec is not None:
            kind = "rehearsal lab" if self.rehearsal else "lab"
            return f"{kind} {self.spec.name} · {self.spec.provider}"
        if self.inventory_path is not None:
            return f"inventory {self.inventory_path.name}"
        return "no lab yet"

    def progress_path(self) -> Path | None:
        if self.inventory_path is None:
            return None
        from mesoslab.progress import progress_path_for_inventory

        return progress_path_for_inventory(self.inventory_path)

    def reload_inventory(self) -> None:
        """Pick up ``.mesoslab/inventory.toml`` once `up` has written it (SSH details)."""
        if self.spec is None:
            return
        built = inventory_path(self.spec)
        if built.is_file():
            self.inventory = load_inventory(built)


def for_spec(spec: LabSpec) -> LabContext:
    """The context of a lab.toml lab: its built inventory when `up` wrote one, else its nodes."""
    built = inventory_path(spec)
    inventory = load_inventory(built) if built.is_file() else lab_inventory(spec)
    return LabContext(spec=spec, inventory=inventory, inventory_path=built)


def resolve_context(lab_dir: Path | None = None, inventory: str | None = None) -> LabContext:
    """The lab to show, as `mesoslab status` finds it.

    ``inventory`` (``--inventory FILE``) names a cluster: shown without VM actions. Else
    ``lab_dir`` (no lab.toml in it: the first-run screen for it) or the lab.toml around the
    current folder; else ``$MESOSLAB_INVENTORY`` or a
    ``.mesoslab/inventory.toml`` around it; else no lab (the first-run screen).
    Raises MesoslabError when a named file cannot be read.
    """
    if inventory:
        return _inventory_context(Path(inventory).expanduser())
    if lab_dir is not None:
        folder = Path(lab_dir).expanduser().resolve()
        if (folder / LAB_FILE).is_file():
            return for_spec(load_lab(folder))
        return LabContext(folder=folder)
    found = find_lab_dir()
    if found is not None:
        return for_spec(load_lab(found))
    path = find_inventory_path(None)
    if path is not None:
        return _inventory_context(path)
    return LabContext(folder=Path.cwd())


def _inventory_context(path: Path) -> LabContext:
    return LabContext(
        inventory=load_inventory(path), inventory_path=path, inventory_platform=lab_platform(path)
    )
