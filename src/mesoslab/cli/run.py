"""`mesoslab run`: show the step's commands, ask once, run them with node-prefixed output.

Library imports stay inside the functions so `mesoslab run --help` stays light.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import click

from mesoslab.cli.options import (
    EXIT_FAILED,
    EXIT_OK,
    inventory_option,
    platform_option,
    step_option,
    yes_option,
)

if TYPE_CHECKING:
    from mesoslab.lab.inventory import Node
    from mesoslab.lessons.model import Action


@click.command()
@click.argument("lesson")
@step_option("the step whose commands to run", required=True)
@inventory_option
@platform_option("which platform variant of the commands to run (default: the lab's, else centos7)")
@yes_option("do not ask before running")
def run(lesson: str, step: int, inventory: str | None, platform: str | None, yes: bool) -> None:
    """Run the commands of one step of LESSON on their nodes.

    Each command block runs on all of its nodes in parallel, with live output prefixed by
    the node name; blocks run in order and the run stops at the first failure.
    """
    sys.exit(run_step_cmd(lesson, step=step, inventory=inventory, platform=platform, yes=yes))


def run_step_cmd(
    lesson_text: str, *, step: int, inventory: str | None, platform: str | None, yes: bool
) -> int:
    """Returns the exit status (0 every command succeeded, 1 not run or failed)."""
    from datetime import UTC, datetime

    from mesoslab.lab.current import DEFAULT_PLATFORM, resolve_lab
    from mesoslab.lessons.catalog import load
    from mesoslab.lessons.run import get_step, run_step
    from mesoslab.ops.classroom.emit import emit_step_run
    from mesoslab.ops.verify import record_step_start
    from mesoslab.progress import progress_path_for_inventory
    from mesoslab.remote.session import Session

    lesson = load(lesson_text)
    lab = resolve_lab(inventory)
    platform = platform or lab.platform or DEFAULT_PLATFORM
    chosen = get_step(lesson, step)
    actions = chosen.actions_for(platform)
    if not actions:
        click.echo(f"{lesson.id} step {step} has no commands for {platform}: nothing to run.")
        return EXIT_OK
    click.echo(f"{lesson.id} step {step}: {chosen.title}")
    for action in actions:
        click.secho(f"  on {action.on}{' (sudo)' if action.sudo else ''}:", bold=True)
        for line in action.code.rstrip().splitlines():
            click.echo(f"    {line}")
    if not yes and sys.stdin.isatty() and not click.confirm("Run these commands?", default=True):
        return EXIT_FAILED
    width = max((len(n.name) for n in lab.inventory.nodes), default=6)
    lock = threading.Lock()

    def on_action(action: Action, nodes: list[Node]) -> None:
        click.secho(
            f"▶ {', '.join(n.name for n in nodes)}: "
            f"{action.code.strip().splitlines()[0]}"
            f"{' …' if len(action.code.strip().splitlines()) > 1 else ''}",
            fg="cyan",
        )

    def on_output(node: Node, line: str) -> None:
        with lock:
            click.echo(f"{node.name:<{width}} │ {line}")

    # what the step's `step start` checks compare with when it is verified
    start_warning = record_step_start(
        lesson.id, step, datetime.now(UTC), progress_path_for_inventory(lab.inventory_path)
    )
    if start_warning:
        click.secho(f"mesoslab: warning: {start_warning}", fg="yellow", err=True)
    with Session(lab.inventory) as session:
        result = run_step(
            lesson,
            step,
            lab.inventory,
            platform=platform,
            session=session,
            on_action=on_action,
            on_output=on_output,
        )
    class_warning = emit_step_run(result, inventory=lab.inventory)
    if class_warning:
        click.secho(f"mesoslab: warning: {class_warning}", fg="yellow", err=True)
    for action_run in result.actions:
        for r in action_run.results:
            if not r.ok:
                click.secho(f"✘ {r.describe()}", fg="red", err=True)
                if r.output.strip():
                    click.echo(r.tail(), err=True)
    if result.ok:
        click.secho(
            f"✔ step {step} ran on every node. Next: mesoslab verify {lesson.id} --step {step}",
            fg="green",
        )
        return EXIT_OK
    if result.skipped:
        click.secho(f"stopped: {result.skipped} later command block(s) not run", fg="red", err=True)
    return EXIT_FAILED
