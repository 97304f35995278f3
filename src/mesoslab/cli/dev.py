"""Commands for lesson authors and CI: `mesoslab dev check LESSON...`.

Thin: find the lab, call :mod:`mesoslab.ops.devcheck`, render its report. Library imports
stay inside the commands so `mesoslab --help` stays light.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING

import click

from mesoslab.cli.options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, lab_option, load_spec

if TYPE_CHECKING:
    from mesoslab.checks.result import CheckResult
    from mesoslab.lab.inventory import Node
    from mesoslab.lessons.model import Action
    from mesoslab.ops.devcheck import DevCheckReport, StepCheck


@click.group()
def dev() -> None:
    """Tools for lesson authors and CI, run on a lab (here, or the lab in -C DIR)."""


@dev.command()
@click.argument("lessons", nargs=-1, required=True)
@click.option(
    "--from-scratch",
    is_flag=True,
    help="apply the earlier lessons first even when their checks already pass",
)
@click.option(
    "--before-timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="how long a step's checks may settle before its commands run (failure expected)",
)
@click.option("--quiet", "-q", is_flag=True, help="do not show the commands' output")
@lab_option
def check(
    lessons: tuple[str, ...],
    from_scratch: bool,
    before_timeout: float,
    quiet: bool,
    lab: str | None,
) -> None:
    """Prove on this lab that each step of LESSONS works: its checks fail before its
    commands run, the commands succeed, and the checks pass after.

    A lesson that builds on earlier ones catches up through the previous lesson first when
    that lesson's checks do not pass on the lab (or with --from-scratch). Exit status 0
    only if every step's commands succeeded and its checks passed after; 1 otherwise.
    """
    from mesoslab.ops.devcheck import DevCheckCallbacks, dev_check
    from mesoslab.ops.up import refresh_inventory
    from mesoslab.remote.session import Session

    spec = load_spec(lab)
    inventory, _ = refresh_inventory(spec)
    missing = [n.name for n in inventory.nodes if n.ssh is None]
    if missing:
        click.secho(
            f"mesoslab: not running: {', '.join(missing)} (start the lab with `mesoslab up`)",
            fg="red",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    out = _Out(max([len(n.name) for n in inventory.nodes] + [7]), quiet)
    click.secho(
        f"==> dev check {' '.join(lessons)} on lab {spec.name} ({spec.platform})",
        fg="cyan",
        bold=True,
    )
    callbacks = DevCheckCallbacks(
        on_note=out.note,
        on_phase=out.phase,
        on_step=out.step,
        on_action=out.action,
        on_output=out.output,
    )
    with Session(inventory) as session:
        report = dev_check(
            lessons,
            inventory,
            platform=spec.platform,
            from_scratch=from_scratch,
            before_timeout=before_timeout,
            callbacks=callbacks,
            session=session,
        )
    _summary(report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


class _Out:
    """Thread-safe live lines: phases, command blocks, node-prefixed output, step results."""

    def __init__(self, width: int, quiet: bool) -> None:
        self.width = width
        self.quiet = quiet
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        with self.lock:
            click.secho(f"==> {text}", fg="yellow")

    def phase(self, lesson: str, step: int, phase: str) -> None:
        label = {
            "before": "checking (failure expected)",
            "run": "running the commands",
            "after": "checking",
        }[phase]
        with self.lock:
            click.secho(f"--> {lesson} step {step}: {label}", fg="cyan")

    def action(self, action: Action, nodes: list[Node]) -> None:
        code = action.code.strip().splitlines()
        more = " …" if len(code) > 1 else ""
        names = ", ".join(n.name for n in nodes)
        with self.lock:
            click.secho(f"▶ {names}: {code[0] if code else ''}{more}", fg="cyan")

    def output(self, node: Node, line: str) -> None:
        if self.quiet:
            return
        with self.lock:
            click.echo(f"{node.name:<{self.width}} │ {line}")

    def step(self, check: StepCheck) -> None:
        with self.lock:
            _print_step(check)


def _print_step(check: StepCheck) -> None:
    from mesoslab.ops.devcheck import failed_before

    mark, color = ("✔", "green") if check.ok else ("✘", "red")
    click.secho(f"{mark} {check.lesson} step {check.step}: {check.title}", fg=color, bold=True)
    before = {
        "failed": f"FAIL as expected ({len(failed_before(check))} check(s) failed)",
        "passed": "PASS — finding: " + check.finding,
        "drill": "not checked (a drill step)",
        "no-checks": "no checks",
    }[check.before]
    click.echo(f"    before  {before}")
    run = check.run
    if run is not None:
        blocks = len(run.actions)
        if run.ok:
            click.echo(f"    run     {blocks} command block(s) ok ({check.run_s:.1f}s)")
        else:
            click.secho(f"    run     FAILED ({check.run_s:.1f}s)", fg="red")
            for action in run.actions:
                for command in action.results:
                    if command.ok:
                        continue
                    click.secho(f"      {command.describe()}", fg="red")
                    for line in command.tail(8).splitlines():
                        click.echo(f"        | {line}")
            if run.skipped:
                click.echo(f"      {run.skipped} later block(s) not run")
    if check.after is not None:
        total = len(check.after.results)
        if check.passed:
            click.echo(f"    after   PASS {total} check(s) ({check.after_s:.1f}s)")
        else:
            failed = check.failed_checks()
            click.secho(
                f"    after   FAIL {len(failed)} of {total} check(s) ({check.after_s:.1f}s)",
                fg="red",
            )
            for result in failed:
                _print_failed(result)


def _print_failed(result: CheckResult) -> None:
    click.secho(f"      ✘ {result.kind} on {result.node}: {result.summary}", fg="red")
    if result.expected:
        click.echo(f"          expected: {result.expected}")
    if result.observed:
        click.echo(f"          observed: {result.observed}")


def _summary(report: DevCheckReport) -> None:
    click.echo("")
    for lesson in report.lessons:
        steps_ok = sum(1 for s in lesson.steps if s.ok)
        findings = [s.finding for s in lesson.steps if s.finding]
        if lesson.error:
            click.secho(f"✘ {lesson.lesson}: {lesson.error}", fg="red", bold=True)
            failed = lesson.catch_up.failed if lesson.catch_up else None
            if failed is not None:
                for action in failed.actions:
                    for result in action.results:
                        if not result.ok:
                            click.secho(f"    {result.describe()}", fg="red")
                            for line in result.tail(8).splitlines():
                                click.echo(f"      | {line}")
            continue
        mark, color = ("✔", "green") if lesson.ok else ("✘", "red")
        caught = " (after catching up)" if lesson.catch_up is not None else ""
        click.secho(
            f"{mark} {lesson.lesson}: {steps_ok}/{lesson.total} step(s) ok{caught}",
            fg=color,
            bold=True,
        )
        for finding in findings:
            click.secho(f"    finding: {finding}", fg="yellow")
    verdict = "passed" if report.ok else "FAILED"
    click.secho(
        f"dev check {verdict} in {report.elapsed_s:.0f}s",
        fg="green" if report.ok else "red",
        bold=True,
    )
