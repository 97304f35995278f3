"""What the commands share: their common options, exit statuses and the lab they act on.

Each option is defined here once, so the same thing is spelled and explained the same way
in every command. The lab folder is ``-C DIR`` / ``--lab DIR`` everywhere (as ``git -C``
and ``make -C``); without it a command acts on the lab around the current folder. Only
``mesoslab init DIR`` takes its folder as an argument: it creates it.

Imports stay light (click only): `mesoslab --help` loads this module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from mesoslab.lab.spec import LabSpec

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
LESSON_PLATFORMS = ("centos7", "rehearsal")  # the platform variants of a lesson's commands

F = TypeVar("F", bound=Callable[..., Any])

INVENTORY_HELP = (
    "TOML inventory of the cluster (default: $MESOSLAB_INVENTORY, else the "
    ".mesoslab/inventory.toml of the lab around the current folder)"
)


def inventory_option(f: F) -> F:
    """``--inventory FILE`` / ``-i FILE``: the cluster to talk to, given as a file."""
    return click.option("--inventory", "-i", metavar="FILE", help=INVENTORY_HELP)(f)


def lab_option(f: F) -> F:
    """``-C DIR`` / ``--lab DIR``: the lab folder, passed on as ``lab``."""
    return click.option(
        "-C",
        "--lab",
        "lab",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="the lab's folder (default: the lab around the current folder)",
    )(f)


def format_option(
    *choices: str, help: str = "text for people, json for scripts", default: str = "text"
) -> Callable[[F], F]:
    """``--format``, passed on as ``fmt`` (default: text)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help=help,
    )


def platform_option(help: str) -> Callable[[F], F]:
    """``--platform`` for a lesson's command variants (centos7 or rehearsal)."""
    return click.option("--platform", type=click.Choice(LESSON_PLATFORMS), default=None, help=help)


def step_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """``--step N`` / ``-s N`` of a lesson."""
    return click.option("--step", "-s", type=click.IntRange(min=1), required=required, help=help)


def yes_option(help: str) -> Callable[[F], F]:
    """``--yes`` / ``-y``: do not ask for confirmation."""
    return click.option("--yes", "-y", is_flag=True, help=help)


nodes_argument = click.argument("nodes", nargs=-1)


def load_spec(lab: str | None) -> LabSpec:
    """The lab given by ``--lab`` (else the one around the current folder, else here)."""
    from mesoslab.lab.spec import find_lab_dir, load_lab

    folder = Path(lab) if lab else find_lab_dir()
    return load_lab(folder or Path.cwd())
