"""`mesoslab labs`: every mesoslab lab on this host, from the machines themselves."""

from __future__ import annotations

import json
import sys

import click

from mesoslab.cli.options import EXIT_OK, format_option


@click.command()
@format_option("text", "json")
def labs(fmt: str) -> None:
    """List every mesoslab lab on this host: folder, provider, machines, state, addresses.

    It asks LXC and VirtualBox for the machines (named mesoslab-<lab>-<hash>-<node>) and
    Vagrant's machine index for their folders, so it also shows labs whose folder was
    deleted; `mesoslab destroy --orphans` removes those.
    """
    from mesoslab.lab.host_labs import host_labs, host_machines

    found = host_labs(host_machines())
    if fmt == "json":
        click.echo(json.dumps({"labs": [lab.to_json() for lab in found]}, indent=2))
        sys.exit(EXIT_OK)
    if not found:
        click.echo("no mesoslab machines on this host")
        sys.exit(EXIT_OK)
    for lab in found:
        where = lab.machines[0].where()
        click.secho(f"{lab.lab}  {where}  ({lab.provider})", bold=True)
        width = max(len(m.node) for m in lab.machines)
        for m in lab.machines:
            addresses = ", ".join(m.addresses) or "-"
            click.echo(f"  {m.node:<{width}}  {m.state:<8}  {addresses}")
    orphans = sum(lab.orphaned for lab in found)
    if orphans:
        click.echo(f"{orphans} lab(s) without a folder: `mesoslab destroy --orphans` removes them")
    sys.exit(EXIT_OK)
