"""The `mesoslab` command: the root group, its error exit and the entry point ``main``.

Each command group lives in the module named for it (:mod:`.lessons`, :mod:`.verify`,
:mod:`.run`, :mod:`.lab`, :mod:`.machines`, :mod:`.checkpoint`, :mod:`.box`, :mod:`.dev`,
:mod:`.classroom`); their shared options are in :mod:`.options`. Imports stay lazy:
`mesoslab --help` must not pay for rich, httpx, paramiko or textual, so those modules
import click and little else at the top.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from mesoslab import __version__
from mesoslab.cli.options import EXIT_USAGE, inventory_option
from mesoslab.errors import MesoslabError


class _Group(click.Group):
    """Turns every MesoslabError into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MesoslabError as exc:
            _fail(exc)


def _fail(exc: MesoslabError) -> NoReturn:
    click.echo(f"mesoslab: {exc.title.lower()}: {exc}", err=True)
    for line in exc.details:  # e.g. the last lines of a failed command's output
        click.echo(f"  | {line}", err=True)
    sys.exit(EXIT_USAGE)


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="mesoslab")
@inventory_option
@click.pass_context
def main(ctx: click.Context, inventory: str | None) -> None:
    """A hands-on lab for learning Apache Mesos.

    Lessons walk you through building and running a Mesos cluster; `mesoslab verify`
    checks each step live against the cluster's APIs, ZooKeeper and the hosts.

    Run `mesoslab` alone for the full-screen app (lab, lessons, run and verify).

    \b
    Start here:
      mesoslab lessons                      list the lessons and your progress
      mesoslab show lesson-1                read a lesson in the terminal
      mesoslab verify lesson-1 -i inv.toml  check your cluster against a lesson
    """
    if ctx.invoked_subcommand is not None:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):  # scripts and pipes get help
        click.echo(ctx.get_help())
        return
    from mesoslab.tui.app import run_app

    run_app(None, inventory)


def _register() -> None:
    """Add every command group's commands (`--help` lists them alphabetically)."""
    from mesoslab.cli import (
        box,
        checkpoint,
        classroom,
        dev,
        lab,
        labs,
        lessons,
        machines,
        run,
        verify,
    )

    for command in (
        lessons.lessons,
        lessons.show,
        lessons.lint,
        lessons.checks,
        verify.verify,
        run.run,
        lab.init,
        lab.doctor,
        lab.status,
        labs.labs,
        machines.up,
        machines.provision,
        machines.halt,
        machines.destroy,
        machines.ssh,
        checkpoint.checkpoint,
        box.box,
        dev.dev,
        classroom.classroom,
    ):
        main.add_command(command)


_register()


if __name__ == "__main__":  # pragma: no cover
    main()
