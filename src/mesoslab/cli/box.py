"""`mesoslab box build`: pre-baked boxes for offline classrooms (DESIGN §5: the rehearsal
box is built locally, never downloaded). Library imports stay inside the command."""

from __future__ import annotations

import click


@click.group()
def box() -> None:
    """Build pre-baked boxes for offline classrooms."""


@box.command("build")
@click.option(
    "--platform",
    type=click.Choice(["rehearsal", "centos7"]),
    default="rehearsal",
    show_default=True,
    help="the lab platform the box is for (a centos7 box is pre-baked: see boxes/README.md)",
)
@click.option(
    "--provider",
    type=click.Choice(["lxc", "virtualbox", "libvirt"]),
    default="lxc",
    show_default=True,
    help="the provider the box is for (the rehearsal box is for lxc)",
)
@click.option(
    "--add/--no-add",
    default=True,
    show_default=True,
    help="also `vagrant box add` it (with a catalog file, so its version is known)",
)
def box_build(platform: str, provider: str, add: bool) -> None:
    """Build a box (rehearsal: a Debian 12 LXC rootfs by debootstrap; cached)."""
    from mesoslab.lab.boxes import RECIPES, add_box, build_box

    def on_line(_: str, text: str) -> None:
        click.echo(f"box │ {text}")

    path = build_box(platform, provider, on_line=on_line)
    click.echo(f"built {path}")
    recipe = RECIPES[(platform, provider)]  # build_box explains when there is no recipe
    if add:
        version = add_box(path, recipe.box_name, provider, on_line)
        click.secho(f"✔ box {recipe.box_name} {version} ({provider}) is ready", fg="green")
