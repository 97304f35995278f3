"""`mesoslab run`: show the step's commands, ask once, run them with node-prefixed output."""

from __future__ import annotations

import sys
import threading

import click

from mesoslab.lab.current import DEFAULT_PLATFORM, resolve_lab
from mesoslab.lab.inventory import Node
from mesoslab.lessons.catalog import load
from mesoslab.lessons.model import Action
from mesoslab.lessons.run import get_step, run_step
from mesoslab.remote.session import Session


def run_step_cmd(
    lesson_text: str, *, step: int, inventory: str | None, platform: str | None, yes: bool
) -> int:
    lesson = load(lesson_text)
    lab = resolve_lab(inventory)
    platform = platform or lab.platform or DEFAULT_PLATFORM
    chosen = get_step(lesson, step)
    actions = chosen.actions_for(platform)
    if not actions:
        click.echo(f"{lesson.id} step {step} has no commands for {platform}: nothing to run.")
        return 0
    click.echo(f"{lesson.id} step {step}: {chosen.title}")
    for action in actions:
        click.secho(f"  on {action.on}{' (sudo)' if action.sudo else ''}:", bold=True)
        for line in action.code.rstrip().splitlines():
            click.echo(f"    {line}")
    if not yes and sys.stdin.isatty() and not click.confirm("Run these commands?", default=True):
        return 1
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
        return 0
    if result.skipped:
        click.secho(f"stopped: {result.skipped} later command block(s) not run", fg="red", err=True)
    return 1
