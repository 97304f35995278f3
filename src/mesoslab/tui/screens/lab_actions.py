"""What the lab screen's keys do to the machines once asked: halt, destroy, checkpoints and
ssh. Each asks first (a dialog), then runs through the screen's one operation at a time."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from textual.app import SuspendNotSupported

from mesoslab.lab.ssh_argv import openssh_argv
from mesoslab.tui.dialogs.ask_text import AskTextScreen
from mesoslab.tui.dialogs.confirm import ConfirmScreen, when_yes

if TYPE_CHECKING:
    from mesoslab.tui.screens.lab import LabScreen


def halt(screen: LabScreen) -> None:
    spec = screen.mapp.context.spec
    if spec is None or screen.busy:
        return
    screen.app.push_screen(
        ConfirmScreen(
            f"Halt every machine of lab {spec.name}?",
            "The machines shut down; what is on their disks stays. `u` (up) starts them again.",
            yes="Halt",
        ),
        when_yes(lambda: screen.driver_op("halt", lambda d: d.halt(), "machines halted")),
    )


def destroy(screen: LabScreen) -> None:
    spec = screen.mapp.context.spec
    if spec is None or screen.busy:
        return
    screen.app.push_screen(
        ConfirmScreen(
            f"Destroy every machine of lab {spec.name}?",
            "Every machine and everything on it is deleted. lab.toml and your lesson "
            "progress stay; `u` (up) builds fresh machines.",
            yes="Destroy",
            danger=True,
        ),
        when_yes(lambda: screen.driver_op("destroy", lambda d: d.destroy(), "machines destroyed")),
    )


def checkpoint(screen: LabScreen) -> None:
    if screen.mapp.context.spec is None or screen.busy:
        return

    def save(name: str | None) -> None:
        if name:
            screen.driver_op(
                "checkpoint",
                lambda d: d.snapshot_save(name),
                f"checkpoint {name!r} saved on every machine",
            )

    screen.app.push_screen(
        AskTextScreen(
            "Save a checkpoint",
            "Snapshot every machine under this name (letters, digits, . _ -):",
            "checkpoint",
        ),
        save,
    )


def restore(screen: LabScreen) -> None:
    if screen.mapp.context.spec is None or screen.busy:
        return

    def confirm(name: str | None) -> None:
        if not name:
            return
        screen.app.push_screen(
            ConfirmScreen(
                f"Restore checkpoint {name!r}?",
                "Every machine goes back to that snapshot; what changed since is lost.",
                yes="Restore",
                danger=True,
            ),
            when_yes(
                lambda: screen.driver_op(
                    "restore",
                    lambda d: d.snapshot_restore(name),
                    f"checkpoint {name!r} restored",
                )
            ),
        )

    screen.app.push_screen(
        AskTextScreen("Restore a checkpoint", "Name of the checkpoint:", "checkpoint"),
        confirm,
    )


# ------------------------------------------------------------------ ssh


def ssh_command(screen: LabScreen, name: str) -> tuple[list[str], str | None] | str:
    """The command that opens a shell on node ``name`` and its folder, or why there is none."""
    ctx = screen.mapp.context
    if ctx.spec is not None:
        return ["vagrant", "ssh", name], str(ctx.spec.directory)
    node = ctx.inventory.node(name) if ctx.inventory is not None else None
    if node is None or node.ssh is None:
        return f"{name} has no [node.ssh] in the inventory: add one to log in to it"
    return openssh_argv(node.ssh), None


def ssh(screen: LabScreen) -> None:
    name = screen.table.selected_node()
    if name is None:
        screen.notify("select a node first", severity="warning")
        return
    found = ssh_command(screen, name)
    if isinstance(found, str):
        screen.notify(found, title="ssh", severity="warning")
        return
    command, cwd = found
    if shutil.which(command[0]) is None:
        screen.notify(f"`{command[0]}` is not installed", title="ssh", severity="error")
        return
    try:
        with screen.app.suspend():
            print(f"mesoslab: {' '.join(command)}   (exit the shell to come back)")
            code = subprocess.call(command, cwd=cwd)
    except SuspendNotSupported:
        screen.notify(
            f"this terminal cannot hand over to ssh; run it yourself: {' '.join(command)}",
            title="ssh",
            severity="warning",
        )
        return
    except OSError as exc:
        screen.notify(f"cannot run {command[0]}: {exc}", title="ssh", severity="error")
        return
    if code not in (0, 130):
        screen.notify(f"`{' '.join(command)}` ended with status {code}", severity="warning")
    screen.refresh_status(with_vms=False)
