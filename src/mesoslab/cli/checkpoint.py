"""`mesoslab checkpoint save|restore NAME`: a snapshot of every machine of the lab
(VirtualBox, libvirt; vagrant-lxc has none). Library imports stay inside the commands."""

from __future__ import annotations

import click

from mesoslab.cli.options import lab_option, load_spec


@click.group()
def checkpoint() -> None:
    """Save or restore a snapshot of every machine (VirtualBox, libvirt; not LXC)."""


@checkpoint.command("save")
@click.argument("name")
@lab_option
def checkpoint_save(name: str, lab: str | None) -> None:
    """Snapshot every machine as NAME (e.g. after-lesson-2)."""
    from mesoslab.lab.vagrant import VagrantDriver

    spec = load_spec(lab)
    VagrantDriver(spec.directory).snapshot_save(name)
    click.echo(f"saved checkpoint {name} of lab {spec.name}")


@checkpoint.command("restore")
@click.argument("name")
@lab_option
def checkpoint_restore(name: str, lab: str | None) -> None:
    """Put every machine back to checkpoint NAME."""
    from mesoslab.lab.vagrant import VagrantDriver

    spec = load_spec(lab)
    VagrantDriver(spec.directory).snapshot_restore(name)
    click.echo(f"restored checkpoint {name} of lab {spec.name}")
