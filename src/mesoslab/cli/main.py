"""The `mesoslab` command: parse arguments, call the library, render results.

Imports stay lazy: `mesoslab --help` must not pay for rich, httpx, paramiko or textual.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from mesoslab import __version__
from mesoslab.errors import MesoslabError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "junit")


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
@click.option(
    "--inventory",
    "-i",
    metavar="FILE",
    help="open the app on this cluster instead of the lab around you",
)
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


INVENTORY_HELP = (
    "TOML inventory of the cluster (default: $MESOSLAB_INVENTORY or "
    ".mesoslab/inventory.toml of the lab directory you are in)"
)


@main.command()
@click.option("--inventory", "-i", metavar="FILE", help=INVENTORY_HELP)
def lessons(inventory: str | None) -> None:
    """List the lessons with their steps and your progress on this lab."""
    from rich.console import Console
    from rich.table import Table

    from mesoslab.lab.current import find_inventory_path
    from mesoslab.lessons.catalog import lesson_files
    from mesoslab.lessons.loader import load_lesson
    from mesoslab.progress import ProgressStore, progress_path_for_inventory

    console = Console()
    path = find_inventory_path(inventory)
    store = ProgressStore(progress_path_for_inventory(path)) if path else None
    if store and store.warning:
        console.print(f"[yellow]warning:[/] {store.warning}")
    table = Table(title="mesoslab lessons", title_justify="left")
    for column in ("id", "title", "preset", "steps", "progress"):
        table.add_column(column)
    for entry in lesson_files():
        result = load_lesson(entry.path)
        lesson = result.lesson
        if lesson is None:
            table.add_row(
                entry.id, f"[red]cannot load: {result.problems[0].message}[/]", "", "", ""
            )
            continue
        total = len(lesson.counted_steps)  # a drill step does not count towards done
        if store is None:
            progress = "[dim]no lab[/]"
        else:
            done = len(store.passed_steps(lesson.id) & lesson.counted_steps)
            progress = f"[green]{done}/{total} ✔[/]" if done == total else f"{done}/{total}"
        problems = (
            f" [red]({len(result.problems)} problems: mesoslab lint)[/]" if result.problems else ""
        )
        steps = str(len(lesson.steps))
        if lesson.drill_steps:
            steps += f" (drill: {', '.join(map(str, lesson.drill_steps))})"
        table.add_row(lesson.id, lesson.title + problems, lesson.preset, steps, progress)
    console.print(table)
    if store is None:
        console.print("[dim]Progress is shown for a lab: pass --inventory FILE.[/]")


@main.command()
@click.argument("lesson")
@click.option(
    "--platform",
    type=click.Choice(["centos7", "rehearsal"]),
    default=None,
    help="show only the commands for this platform",
)
def show(lesson: str, platform: str | None) -> None:
    """Read LESSON (lesson-3, 3 or 03) rendered in the terminal."""
    from rich.console import Console
    from rich.markdown import Markdown

    from mesoslab.lessons.catalog import load
    from mesoslab.lessons.display import display_markdown

    loaded = load(lesson)
    console = Console()
    with console.pager(styles=True) if console.is_terminal else _nullcontext():
        console.print(Markdown(display_markdown(loaded, platform=platform)))


@main.command()
@click.argument("path", required=False, type=click.Path(exists=True))
def lint(path: str | None) -> None:
    """Check lesson files for problems (every problem as file:line: message).

    PATH is a lesson file or a folder of lessons (default: the shipped lessons).
    Exit status 1 when there are problems.
    """
    from pathlib import Path

    from mesoslab.lessons.catalog import lesson_files, lessons_dir
    from mesoslab.lessons.lint import lint_paths

    target = Path(path) if path else lessons_dir()
    files = [target] if target.is_file() else [e.path for e in lesson_files(target)]
    if target.is_dir():
        stray = sorted(p for p in target.glob("*/*.md") if p not in files and p.name == "lesson.md")
        files.extend(stray)
    problems = lint_paths(files)
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(files)} lesson file(s), {len(problems)} problem(s)", err=True)
    sys.exit(EXIT_FAILED if problems or not files else EXIT_OK)


@main.command()
def checks() -> None:
    """List the check kinds lessons can use, with their parameters."""
    from mesoslab.checks.registry import catalogue

    for name, kind in sorted(catalogue().items()):
        target = f"default on: {kind.role}" if kind.role else "needs on:"
        scope = "one result per node" if kind.scope == "node" else "one result for the group"
        click.echo(f"{name}  ({target}; {scope}{'; over SSH' if kind.needs_ssh else ''})")
        if kind.doc:
            click.echo(f"    {kind.doc.splitlines()[0]}")
        for pname, param in kind.params.items():
            flag = (
                "required"
                if param.required
                else (f"default {param.default!r}" if param.default is not None else "optional")
            )
            click.echo(
                f"    {pname}: {param.describe()} ({flag})"
                + (f" — {param.help}" if param.help else "")
            )


@main.command()
@click.argument("lesson")
@click.option("--step", "-s", type=click.IntRange(min=1), help="check only this step")
@click.option("--inventory", "-i", metavar="FILE", help=INVENTORY_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, json or junit for scripts and CI",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="bound each check's settling time (default: the lesson's, else 20 s)",
)
@click.option(
    "--watch", is_flag=True, help="keep checking until every check passes (Ctrl-C to stop)"
)
def verify(
    lesson: str,
    step: int | None,
    inventory: str | None,
    fmt: str,
    timeout: float | None,
    watch: bool,
) -> None:
    """Check a running cluster against LESSON (lesson-3, 3 or 03).

    Every check of every step runs at once; each retries until it passes or its timeout
    expires. Exit status: 0 all passed (skips allowed), 1 a check failed, 2 usage,
    inventory or lesson error.
    """
    from mesoslab.cli.verify import run_verify

    sys.exit(
        run_verify(lesson, step=step, inventory=inventory, fmt=fmt, timeout=timeout, watch=watch)
    )


@main.command()
@click.argument("lesson")
@click.option(
    "--step", "-s", type=click.IntRange(min=1), required=True, help="the step whose commands to run"
)
@click.option("--inventory", "-i", metavar="FILE", help=INVENTORY_HELP)
@click.option(
    "--platform",
    type=click.Choice(["centos7", "rehearsal"]),
    default=None,
    help="which platform variant of the commands to run (default: the lab's, else centos7)",
)
@click.option("--yes", "-y", is_flag=True, help="do not ask before running")
def run(lesson: str, step: int, inventory: str | None, platform: str | None, yes: bool) -> None:
    """Run the commands of one step of LESSON on their nodes.

    Each command block runs on all of its nodes in parallel, with live output prefixed by
    the node name; blocks run in order and the run stops at the first failure.
    """
    from mesoslab.cli.run import run_step_cmd

    sys.exit(run_step_cmd(lesson, step=step, inventory=inventory, platform=platform, yes=yes))


from mesoslab.cli.lab import doctor, init, status  # noqa: E402  (click + lab.spec only)
from mesoslab.cli.machines import (  # noqa: E402  (click only)
    box,
    checkpoint,
    destroy,
    halt,
    provision,
    ssh,
    up,
)

main.add_command(init)
main.add_command(doctor)
main.add_command(status)
from mesoslab.cli.dev import dev  # noqa: E402  (click only)

for _command in (up, provision, halt, destroy, ssh, checkpoint, box, dev):
    main.add_command(_command)


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":  # pragma: no cover
    main()
