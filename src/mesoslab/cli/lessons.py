"""Reading and authoring lessons: `mesoslab lessons`, `show`, `lint` and `checks`.

Thin: parse arguments, call :mod:`mesoslab.lessons` and :mod:`mesoslab.checks`, render.
Library imports and rich stay inside the commands so `mesoslab --help` stays light.
"""

from __future__ import annotations

import contextlib
import sys

import click

from mesoslab.cli.options import EXIT_FAILED, EXIT_OK, inventory_option, platform_option


@click.command()
@inventory_option
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
            skipped = len(store.skipped_steps(lesson.id) & lesson.counted_steps)
            progress = f"[green]{done}/{total} ✔[/]" if done == total else f"{done}/{total}"
            if skipped:  # every check of these steps skipped: not done
                progress += f" [yellow]({skipped} skipped)[/]"
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


@click.command()
@click.argument("lesson")
@platform_option("show only the commands for this platform")
def show(lesson: str, platform: str | None) -> None:
    """Read LESSON (lesson-3, 3 or 03) rendered in the terminal."""
    from rich.console import Console
    from rich.markdown import Markdown

    from mesoslab.lessons.catalog import load
    from mesoslab.lessons.display import display_markdown

    loaded = load(lesson)
    console = Console()
    with console.pager(styles=True) if console.is_terminal else contextlib.nullcontext():
        console.print(Markdown(display_markdown(loaded, platform=platform)))


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True))
def lint(path: str | None) -> None:
    """Check lesson files for problems (every problem as file:line: message).

    PATH is a lesson file, a lesson's folder (one holding lesson.md) or a folder of
    lessons (NN-slug/lesson.md; default: the shipped lessons). Exit status 1 when there are
    problems or no lesson file at all; warnings (a lesson without its sources file
    <lessons dir>/../docs/sources/<lesson id>.md) are printed but do not fail.
    """
    from pathlib import Path

    from mesoslab.lessons.catalog import lessons_dir
    from mesoslab.lessons.lint import LAYOUT, lesson_targets, lint_paths

    target = Path(path) if path else lessons_dir()
    files = lesson_targets(target)
    linted = lint_paths(files)
    problems, warnings = linted.problems, linted.warnings
    for problem in problems:
        click.echo(str(problem))
    for warning in warnings:
        click.echo(str(warning))
    if not files:
        click.echo(f"0 lesson files in {target}: give {LAYOUT}", err=True)
    else:
        click.echo(
            f"{len(files)} lesson file(s), {len(problems)} problem(s), {len(warnings)} warning(s)",
            err=True,
        )
    sys.exit(EXIT_FAILED if problems or not files else EXIT_OK)


@click.command()
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
