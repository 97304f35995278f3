"""The table of `mesoslab status` (rich): one row per node, its services with a symbol each,
then a note for everything that is not plainly fine."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mesoslab.ops.status import DOWN, OFF, OK, REHEARSAL_BANNER, WARN, LabStatus

HEALTH_STYLE = {OK: ("✔", "green"), WARN: ("!", "yellow"), DOWN: ("✘", "red"), OFF: ("–", "dim")}
VM_STYLE = {"running": "green", "unknown": "yellow", "-": "dim"}


def render(status: LabStatus, console: Console) -> None:
    """The rehearsal banner (when it is one), the table, then the notes."""
    if status.rehearsal:
        console.print(f"[bold magenta]{REHEARSAL_BANNER}[/]")
    title = f"lab {status.lab_name}" if status.lab_name else escape(status.source)
    table = Table(title=title, title_justify="left")
    for column in ("node", "roles", "address", "vm", "services"):
        table.add_column(column)
    notes: list[str] = []
    vm_details = {row.vm_detail for row in status.nodes}
    shared_vm = len(status.nodes) > 1 and len(vm_details) == 1
    if shared_vm and (detail := vm_details.pop()):
        notes.append(f"vm: {detail}")
    for row in status.nodes:
        lines = []
        for svc in row.services:
            symbol, colour = HEALTH_STYLE[svc.health]
            extra = ""
            if svc.detail and svc.health == OK:
                extra = f" [dim]({escape(svc.detail)})[/]"
            lines.append(f"[{colour}]{symbol}[/] {svc.service} {escape(svc.state)}{extra}")
            if svc.health != OK and svc.detail:
                notes.append(f"{row.name} {svc.service}: {svc.detail}")
        vm_colour = VM_STYLE.get(row.vm_state, "red")
        if row.vm_detail and not shared_vm:
            notes.append(f"{row.name} vm: {row.vm_detail}")
        table.add_row(
            row.name,
            ", ".join(row.roles),
            row.address,
            f"[{vm_colour}]{escape(row.vm_state)}[/]",
            "\n".join(lines) or "[dim](nothing to probe)[/]",
        )
    console.print(table, highlight=False)
    for note in dict.fromkeys(notes):
        console.print(f"  [dim]{escape(note)}[/]", highlight=False)
