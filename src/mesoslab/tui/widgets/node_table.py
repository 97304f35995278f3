"""One row per node: name, address, machine state, and each role with its live health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

if TYPE_CHECKING:
    from mesoslab.lab.inventory import Inventory
    from mesoslab.ops.status import NodeStatus

# Health of a service -> (symbol, style); the same marks as `mesoslab status`.
HEALTH = {"ok": ("✔", "green"), "warn": ("!", "yellow"), "down": ("✘", "red"), "off": ("–", "dim")}
VM_STYLE = {"running": "green", "unknown": "yellow"}
# Short names of the roles' services.
SHORT = {"zookeeper": "zk"}


class NodeTable(DataTable[Text]):
    """Rows keyed by node name; refreshing keeps the cursor on the same node."""

    def __init__(self, *, with_vm: bool, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.with_vm = with_vm

    def on_mount(self) -> None:
        self.add_column("node", key="node")
        self.add_column("address", key="address")
        if self.with_vm:
            self.add_column("vm", key="vm")
        self.add_column("roles", key="roles")
        self.add_column("health", key="health")

    def selected_node(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def show_inventory(self, inventory: Inventory, note: str = "checking…") -> None:
        """The nodes before their first status arrives."""
        rows = []
        for node in inventory.nodes:
            roles = node.roles or ("(no roles)",)
            rows.append(
                (
                    node.name,
                    node.address,
                    Text("…", style="dim"),
                    "\n".join(roles),
                    Text("\n".join(note for _ in roles), style="dim"),
                )
            )
        self._replace(rows)

    def show_status(self, rows: list[NodeStatus]) -> None:
        table_rows = []
        for row in rows:
            by_service = {s.service: s for s in row.services}
            roles = row.roles or ("(no roles)",)
            health = Text()
            for index, role in enumerate(roles):
                if index:
                    health.append("\n")
                svc = by_service.get(role)
                if svc is None:
                    health.append("–", style="dim")
                    continue
                symbol, style = HEALTH.get(svc.health, ("?", "yellow"))
                health.append(f"{symbol} ", style=style)
                health.append(svc.state)
                if svc.detail and svc.health == "ok":
                    health.append(f" ({svc.detail})", style="dim")
            vm = Text(row.vm_state, style=VM_STYLE.get(row.vm_state, "red"))
            table_rows.append((row.name, row.address, vm, "\n".join(roles), health))
        self._replace(table_rows)

    def _replace(self, rows: list[tuple[str, str, Text, str, Text]]) -> None:
        keep = self.selected_node()
        self.clear()
        for name, address, vm, roles, health in rows:
            cells: list[Text | str] = [Text(name, style="bold"), address]
            if self.with_vm:
                cells.append(vm)
            cells += [roles, health]
            self.add_row(*cells, key=name, height=None)  # type: ignore[arg-type]
        names = [r[0] for r in rows]
        if keep in names:
            self.move_cursor(row=names.index(keep))
