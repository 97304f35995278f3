"""The lab as a whole: `mesoslab init` (create one), `doctor` (can this machine run it?)
and `status` (what its nodes and services are doing).

Thin: parse arguments, call :mod:`mesoslab.lab` and :mod:`mesoslab.ops`, render (the rich
views are :mod:`.doctor_view` and :mod:`.status_view`). Library imports and rich stay inside
the commands so that `mesoslab --help` stays light.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mesoslab.cli.options import format_option, inventory_option, lab_option
from mesoslab.lab.presets import PRESETS
from mesoslab.lab.spec import PLATFORMS, PROVIDERS


def _packages(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``mesosphere``, ``aventer``, ``prebaked`` or ``local:PATH``, checked as given."""
    from mesoslab.errors import InitError
    from mesoslab.lab.init import validate_packages

    if value is None:
        return None
    try:
        return validate_packages(value)
    except InitError:
        raise click.BadParameter(
            f"{value!r} is not a package channel; use mesosphere, aventer, prebaked or "
            "local:PATH (a folder of RPMs)"
        ) from None


@click.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False))
@click.option(
    "--preset",
    type=click.Choice(tuple(PRESETS)),
    default="1m-2a",
    show_default=True,
    help=(
        "node layout: 1m-2a (1 master + 2 agents), 3m-3a (3 HA masters + 3 agents) or dcos"
        " (bootstrap + 1 master + 2 private agents + 1 public agent, lesson 10)"
    ),
)
@click.option(
    "--provider",
    type=click.Choice(PROVIDERS),
    default=None,
    help="how the machines run (default: virtualbox; lxc with --platform rehearsal)",
)
@click.option(
    "--platform",
    type=click.Choice(PLATFORMS),
    default="centos7",
    show_default=True,
    help="centos7 (real packages, x86_64 VMs) or rehearsal (LXC, emulated Mesos)",
)
@click.option(
    "--packages",
    metavar="[mesosphere|aventer|local:PATH|prebaked]",
    callback=_packages,
    default=None,
    help="package channel (default: mesosphere for centos7, prebaked for rehearsal)",
)
@click.option("--name", help="the lab's name (default: the folder's name)")
@click.option(
    "--force", is_flag=True, help="replace an existing lab.toml (and a Vagrantfile that differs)"
)
def init(
    directory: str,
    preset: str,
    provider: str | None,
    platform: str,
    packages: str | None,
    name: str | None,
    force: bool,
) -> None:
    """Create a lab in DIRECTORY (default: here): a commented lab.toml and the Vagrantfile.

    lab.toml explains every key and its allowed values; edit it before `mesoslab up`.
    An existing lab.toml is never overwritten without --force.
    """
    from mesoslab.lab.init import write_lab

    result = write_lab(
        directory,
        name=name,
        preset=preset,
        provider=provider,
        platform=platform,
        packages=packages,
        force=force,
    )
    spec = result.spec
    click.echo(f"wrote {result.lab_file}")
    click.echo(
        f"  lab {spec.name!r}: provider {spec.provider}, platform {spec.platform}, "
        f"box {spec.box}, packages {spec.packages.channel}"
        + (f":{spec.packages.local_path}" if spec.packages.local_path else "")
    )
    nodes = ", ".join(f"{n.name} {n.address}" for n in spec.nodes)
    click.echo(f"  preset {spec.preset}: {nodes}")
    if result.taken:
        click.echo("  the preset's own addresses are taken, so these are free ones instead:")
        for clash in result.taken:
            click.echo(f"    {clash.line()}")
    local = spec.packages.local_path
    if local and not (spec.directory / Path(local).expanduser()).is_dir():
        click.echo(f"warning: packages folder {local} does not exist (yet)", err=True)
    if result.vagrantfile_ok:
        click.echo(result.vagrantfile)
    else:
        click.echo(f"warning: {result.vagrantfile}", err=True)
    click.echo("\nNext:")
    here = Path.cwd().resolve()
    if spec.directory != here:
        try:
            shown = spec.directory.relative_to(here)
        except ValueError:
            shown = spec.directory
        click.echo(f"  cd {shown}")
    click.echo("  mesoslab doctor    check that this machine can run the lab")
    click.echo("  mesoslab up        build it")


@click.command()
@lab_option
@format_option("text", "json")
def doctor(lab: str | None, fmt: str) -> None:
    """Check that this machine can run the lab here (or the lab in -C DIR).

    Vagrant, the providers (VirtualBox, libvirt, LXC), hardware virtualization, the CPU
    architecture, the network range, the box, memory and disk: each with what to do.
    Without a lab.toml it checks the machine alone. Exit status 1 when something blocks.
    """
    import json
    from dataclasses import asdict

    from mesoslab.lab.doctor import doctor_for_dir, exit_status

    findings = doctor_for_dir(lab)
    if fmt == "json":
        click.echo(json.dumps({"findings": [asdict(f) for f in findings]}, indent=2))
    else:
        from rich.console import Console

        from mesoslab.cli.doctor_view import render

        render(findings, Console())
    sys.exit(exit_status(findings))


@click.command()
@lab_option
@inventory_option
@format_option("text", "json")
def status(lab: str | None, inventory: str | None, fmt: str) -> None:
    """Show every node of the lab: roles, address, machine state and live service health.

    Masters (leader/standby), agents (registered), ZooKeeper (mode), Marathon and Chronos
    are probed all at once with short timeouts, so a dead lab answers quickly. A lab not
    yet brought up shows the nodes of its lab.toml.
    """
    from mesoslab.ops.status import lab_status, resolve_target

    result = lab_status(resolve_target(lab, inventory))
    if fmt == "json":
        import json

        click.echo(json.dumps(result.to_json(), indent=2))
        return
    from rich.console import Console

    from mesoslab.cli.status_view import render

    render(result, Console())
