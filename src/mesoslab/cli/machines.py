"""The lab's machines: `mesoslab up`, `provision`, `halt`, `destroy` and `ssh`.

Thin: parse arguments, call :mod:`mesoslab.ops.up` and the Vagrant driver, print progress
as node-prefixed lines. Library imports stay inside the commands so `mesoslab --help` stays
light.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import TYPE_CHECKING

import click

from mesoslab.cli.options import (
    EXIT_FAILED,
    EXIT_OK,
    lab_option,
    load_spec,
    nodes_argument,
    yes_option,
)
from mesoslab.cli.stop_signals import stop_signals_interrupt

if TYPE_CHECKING:
    from mesoslab.lab.spec import LabSpec
    from mesoslab.lessons.model import Action
    from mesoslab.ops.up import UpCallbacks, UpReport
    from mesoslab.provision.steps import ProgressEvent, StepOutcome

_MARK = {"ok": "✔", "changed": "✔", "failed": "✘", "skipped": "–"}


class _Printer:
    """Node-prefixed, thread-safe progress lines for long lab operations."""

    def __init__(self, spec: LabSpec) -> None:
        self.width = max([len(n.name) for n in spec.nodes] + [7])
        self.lock = threading.Lock()

    def callbacks(self) -> UpCallbacks:
        from mesoslab.ops.up import UpCallbacks

        return UpCallbacks(
            on_phase=self.phase,
            on_line=self.line,
            on_provision=self.provision,
            on_action=self.action,
        )

    def phase(self, phase: str, message: str) -> None:
        with self.lock:
            click.secho(f"==> {phase}: {message}", fg="cyan", bold=True)

    def line(self, node: str, text: str) -> None:
        with self.lock:
            click.echo(f"{node or 'vagrant':<{self.width}} │ {text}")

    def action(self, action: Action, nodes: list[str]) -> None:
        code = action.code.strip().splitlines()
        more = " …" if len(code) > 1 else ""
        with self.lock:
            click.secho(f"▶ {', '.join(nodes)}: {code[0] if code else ''}{more}", fg="cyan")

    def provision(self, event: ProgressEvent | StepOutcome) -> None:
        from mesoslab.provision.steps import ProgressEvent

        pad = f"{event.node:<{self.width}} │"
        with self.lock:
            if isinstance(event, ProgressEvent):
                click.echo(f"{pad} [{event.index}/{event.total}] {event.title} …")
                return
            color = {"failed": "red", "skipped": "yellow", "changed": "green"}.get(event.status)
            click.secho(
                f"{pad} {_MARK.get(event.status, '?')} {event.title} "
                f"({event.status}, {event.elapsed_s:.1f}s)",
                fg=color,
            )
            if event.status == "failed" and event.message:
                click.secho(f"{'':<{self.width}} │   {event.message}", fg="red")


def _summary(report: UpReport, spec: LabSpec) -> int:
    if report.provision is not None:
        prov = report.provision
        for note in prov.notes:
            click.echo(f"note: {note}")
        changed = len(prov.changed)
        click.echo(
            f"provisioning: {len(prov.outcomes)} step(s) on {len(prov.nodes)} node(s), "
            f"{changed} changed, {len(prov.failed)} failed "
            f"({prov.elapsed_s:.1f}s)"
        )
        for failure in prov.failed:
            click.secho(f"✘ {failure.node}: {failure.title}: {failure.message}", fg="red", err=True)
            if failure.tail:
                click.echo(failure.tail, err=True)
    catch = report.catch_up
    if catch is not None and catch.unsettled is not None:
        from mesoslab.checks.result import Status
        from mesoslab.report import result_lines

        step = catch.unsettled
        click.secho(
            f"✘ catch-up stopped: {catch.unsettled_lesson} step {step.step} "
            f"({step.title}) ran, but its checks did not pass:",
            fg="red",
            err=True,
        )
        for check in step.results:
            if check.status is Status.FAIL:
                click.echo("\n".join(result_lines(check)), err=True)
    if report.catch_up is not None and report.catch_up.failed is not None:
        run = report.catch_up.failed
        click.secho(
            f"✘ catch-up stopped at {run.lesson} step {run.step}: {run.title}", fg="red", err=True
        )
        for action_run in run.actions:
            for result in action_run.results:
                if not result.ok:
                    click.secho(f"  {result.describe()}", fg="red", err=True)
                    if result.output.strip():
                        click.echo(result.tail(), err=True)
    if not report.ok:
        return EXIT_FAILED
    rehearsal = (
        " (a rehearsal lab: Mesos services are emulated)" if spec.platform == "rehearsal" else ""
    )
    click.secho(
        f"✔ lab {spec.name} is up{rehearsal}. Inventory: {report.inventory_path}", fg="green"
    )
    click.echo("Next: `mesoslab status`, then `mesoslab lessons` and `mesoslab show lesson-1`.")
    return EXIT_OK


def _cancel_message() -> None:
    # After SIGHUP the terminal may be gone: the clean-up matters, the message does not.
    with contextlib.suppress(OSError):
        click.secho(
            "stopped. Nothing half-written was kept: `mesoslab up` continues where it "
            "stopped; `mesoslab destroy` removes the machines.",
            fg="yellow",
            err=True,
        )


@click.command()
@nodes_argument
@lab_option
@click.option(
    "--through",
    metavar="LESSON",
    help="also apply the solutions of lessons 1…LESSON (e.g. lesson-3), so a class "
    "can start at the next lesson",
)
@click.option("--no-provision", is_flag=True, help="only start the machines")
def up(nodes: tuple[str, ...], lab: str | None, through: str | None, no_provision: bool) -> None:
    """Start the lab's machines (all, or NODES) and prepare them for lesson 1.

    Builds the rehearsal box first when it is missing, runs `vagrant up` with live output,
    writes .mesoslab/inventory.toml, then provisions every node in parallel. Ctrl-C stops
    cleanly, and so do SIGTERM and SIGHUP (`timeout`, CI, a closed terminal); running
    `mesoslab up` again continues.
    """
    from mesoslab.errors import LabCancelled
    from mesoslab.ops.up import bring_up

    spec = load_spec(lab)
    printer = _Printer(spec)
    cancel = threading.Event()
    with stop_signals_interrupt() as stopped:
        try:
            report = bring_up(
                spec,
                nodes=nodes,
                through=through,
                provision=not no_provision,
                callbacks=printer.callbacks(),
                cancel=cancel,
            )
        except (KeyboardInterrupt, LabCancelled):
            cancel.set()
            _cancel_message()
            sys.exit(stopped.exit_status())
    sys.exit(_summary(report, spec))


@click.command()
@nodes_argument
@lab_option
@click.option(
    "--through",
    metavar="LESSON",
    help="also apply the solutions of lessons 1…LESSON (catch up a lab)",
)
def provision(nodes: tuple[str, ...], lab: str | None, through: str | None) -> None:
    """Provision running machines again (all, or NODES). Idempotent: a second run changes
    nothing. With --through, catch the lab up to the end of a lesson."""
    from mesoslab.ops.up import provision_and_catch_up

    spec = load_spec(lab)
    printer = _Printer(spec)
    cancel = threading.Event()
    with stop_signals_interrupt() as stopped:
        try:
            report = provision_and_catch_up(
                spec, nodes=nodes, through=through, callbacks=printer.callbacks(), cancel=cancel
            )
        except KeyboardInterrupt:
            cancel.set()
            _cancel_message()
            sys.exit(stopped.exit_status())
    sys.exit(_summary(report, spec))


@click.command()
@nodes_argument
@lab_option
def halt(nodes: tuple[str, ...], lab: str | None) -> None:
    """Stop the lab's machines (all, or NODES); `mesoslab up` starts them again."""
    from mesoslab.lab.vagrant import VagrantDriver

    spec = load_spec(lab)
    VagrantDriver(spec.directory).halt(list(nodes))
    click.echo(f"halted {', '.join(nodes) or 'all machines'} of lab {spec.name}")


@click.command()
@nodes_argument
@lab_option
@yes_option("do not ask")
@click.option(
    "--orphans",
    is_flag=True,
    help="instead: remove every mesoslab machine on this host whose lab folder is gone "
    "(see `mesoslab labs`)",
)
def destroy(nodes: tuple[str, ...], lab: str | None, yes: bool, orphans: bool) -> None:
    """Delete the lab's machines (all, or NODES) and everything on them."""
    if orphans:
        _destroy_orphans(yes)
        return
    from mesoslab.lab.vagrant import VagrantDriver

    spec = load_spec(lab)
    count = len(spec.nodes)
    what = ", ".join(nodes) or (f"all {count} machines" if count > 1 else "the machine")
    if (
        not yes
        and sys.stdin.isatty()
        and not click.confirm(f"Destroy {what} of lab {spec.name}?", default=False)
    ):
        sys.exit(EXIT_FAILED)
    VagrantDriver(spec.directory).destroy(list(nodes))
    if not nodes:
        (spec.state_dir / "inventory.toml").unlink(missing_ok=True)
    click.echo(f"destroyed {what} of lab {spec.name}")


def _destroy_orphans(yes: bool) -> None:
    from mesoslab.lab.host_labs import forget_in_vagrant, host_machines, remove_machine

    orphans = [m for m in host_machines() if m.orphaned]
    if not orphans:
        click.echo("no orphaned mesoslab machines on this host")
        return
    for machine in orphans:
        click.echo(f"  {machine.name}  {machine.state}  lab {machine.lab!r}, {machine.where()}")
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("not a terminal, so nothing was asked: add --yes to remove them")
        if not click.confirm(f"Remove these {len(orphans)} machine(s)?", default=False):
            sys.exit(EXIT_FAILED)
    problems = [p for p in (remove_machine(m) for m in orphans) if p]
    forget_in_vagrant()
    for problem in problems:
        click.secho(problem, fg="red", err=True)
    click.echo(f"removed {len(orphans) - len(problems)} of {len(orphans)} orphaned machine(s)")
    sys.exit(EXIT_FAILED if problems else EXIT_OK)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("node")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND…]")
@lab_option
def ssh(node: str, command: tuple[str, ...], lab: str | None) -> None:
    """Open a shell on NODE (`vagrant ssh NODE`), or run one COMMAND there.

    With a command (`mesoslab ssh agent1 -- systemctl status mesos-slave`) it behaves like
    `ssh host cmd`: the output streams, the exit status is the command's (255 when the node
    cannot be reached), and there is a terminal only when you run it interactively. It goes
    straight to the node over SSH with the lab's inventory, so it starts in milliseconds
    (`vagrant ssh -c` when the lab has no inventory yet).
    """
    from mesoslab.errors import UsageError
    from mesoslab.lab.inventory import load_inventory
    from mesoslab.lab.ssh_argv import openssh_argv
    from mesoslab.lab.vagrant import vagrant_env, vagrant_executable

    spec = load_spec(lab)
    if spec.node(node) is None:
        raise UsageError(
            f"no node {node!r} in lab {spec.name}; nodes: {', '.join(n.name for n in spec.nodes)}"
        )
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    inventory_file = spec.state_dir / "inventory.toml"
    if command and inventory_file.is_file():
        found = load_inventory(inventory_file).node(node)
        if found is not None and found.ssh is not None:
            argv = openssh_argv(found.ssh, command, tty=interactive)
            try:
                os.execvp(argv[0], argv)
            except FileNotFoundError:
                raise UsageError(
                    "OpenSSH's `ssh` is not installed: install openssh-client"
                ) from None
    os.chdir(spec.directory)
    executable = vagrant_executable()
    argv = [executable, "ssh", node]
    if command:
        argv += ["-c", " ".join(command), "--tty" if interactive else "--no-tty"]
    os.execvpe(executable, argv, vagrant_env(dict(os.environ)))
