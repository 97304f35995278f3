"""`mesoslab class …`: the classroom (issue 17). The instructor runs `serve` (and watches
the dashboard, `mesoslab class` or `class report`); each learner runs `join` once, after
which every verify, step run and hint is reported in the background.

Thin: the work is in :mod:`mesoslab.ops.classroom`; library imports stay inside the commands
so `mesoslab --help` stays light.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mesoslab.cli.options import EXIT_OK, format_option

if TYPE_CHECKING:
    from mesoslab.ops.classroom.store import ClassStore

STUCK_HELP = "a learner is stuck when the same check failed this many times in a row"


@click.group("class", invoke_without_command=True)
@click.option(
    "--refresh",
    type=click.FloatRange(min=0.2),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="how often the screen looks for news in the class database",
)
@click.pass_context
def classroom(ctx: click.Context, refresh: float) -> None:
    """The classroom: an instructor sees every learner's lab live.

    Alone, `mesoslab class` opens the instructor's screen (learners × lesson steps, who is
    stuck) on the class database beside `mesoslab class serve`.

    \b
    Instructor:  mesoslab class serve          (prints the join line and the dashboard)
    Learner:     mesoslab class join http://ADDR:8765 --code CODE --name NAME
    """
    if ctx.invoked_subcommand is not None:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        click.echo(ctx.get_help())
        return
    from mesoslab.ops.classroom.paths import class_db_path
    from mesoslab.ops.classroom.store import ClassStore
    from mesoslab.tui.classroom_app import run_class_app

    ClassStore(class_db_path()).info()  # a clear error when no class was served here yet
    run_class_app(class_db_path(), refresh=refresh)


# ------------------------------------------------------------------ instructor


@classroom.command()
@click.option(
    "--bind",
    metavar="ADDR",
    help="address to listen on (default: this machine's address on the classroom network, "
    "the default route's interface; 0.0.0.0 only if you say so)",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8765,
    show_default=True,
    help="TCP port to listen on",
)
@click.option("--name", "class_name", metavar="NAME", help="the class's name (kept for next time)")
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="serve HTTPS with this certificate (PEM; with --tls-key)",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="the private key of --tls-cert (PEM)",
)
@click.option(
    "--stuck-fails", type=click.IntRange(min=1), default=3, show_default=True, help=STUCK_HELP
)
@click.option(
    "--stuck-minutes",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="…or kept failing for this many minutes",
)
@click.option(
    "--qr/--no-qr", default=True, show_default=True, help="draw the join line as a QR code"
)
def serve(
    bind: str | None,
    port: int,
    class_name: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    stuck_fails: int,
    stuck_minutes: float,
    qr: bool,
) -> None:
    """Run the class: the service learners report to, and the live dashboard.

    Everything is kept in one SQLite file under $XDG_DATA_HOME/mesoslab, so stopping and
    starting `serve` again continues the same class with the same code and token. Show the
    join line (or its QR code) to the room; open the dashboard address yourself (it carries
    the instructor token: do not show it).
    """
    from mesoslab.ops.classroom.paths import class_db_path
    from mesoslab.ops.classroom.serve import (
        announce,
        bind_socket,
        check_tls,
        classroom_address,
        qr_text,
        run_server,
    )
    from mesoslab.ops.classroom.store import ClassStore
    from mesoslab.ops.classroom.view import StuckRule

    check_tls(tls_cert, tls_key)
    host = bind or classroom_address()
    sock = bind_socket(host, port)
    store = ClassStore(class_db_path())
    info = store.ensure_class(class_name)
    said = announce(info, host, port, tls_cert is not None)
    click.secho(f"mesoslab class {info.name!r} on {said.base_url}", bold=True)
    if host == "127.0.0.1" and bind is None:
        click.secho("  (no network found: only this machine can join; see --bind)", fg="yellow")
    click.echo("\nLearners type:\n")
    click.secho(f"  {said.join_line}\n", fg="cyan", bold=True)
    if qr:
        click.echo(qr_text(said.join_line))
    if not info.code_open:
        click.secho("Joining is closed: `mesoslab class code open` opens it.", fg="yellow")
    click.echo(f"Dashboard (instructor only): {said.dashboard_url}")
    click.echo(f"Instructor token: {said.instructor_token}")
    click.echo(f"Class database: {store.path}")
    click.echo("Ctrl-C stops serving; nothing is lost, learners keep their results queued.")
    sys.stdout.flush()
    run_server(store, sock, rule=StuckRule(stuck_fails, stuck_minutes), cert=tls_cert, key=tls_key)


@classroom.group()
def code() -> None:
    """The class code learners join with: rotate it, close or open joining."""


def _store() -> ClassStore:
    from mesoslab.ops.classroom.paths import class_db_path
    from mesoslab.ops.classroom.store import ClassStore

    store = ClassStore(class_db_path())
    store.info()  # a clear error when there is no class yet
    return store


@code.command()
def rotate() -> None:
    """Draw a new class code (the old one stops working; joined learners stay joined)."""
    store = _store()
    new = store.rotate_code()
    click.echo(f"new class code: {new}")


@code.command()
def close() -> None:
    """Stop new learners joining (joined learners keep reporting)."""
    _store().set_code_open(False)
    click.echo("joining is closed (`mesoslab class code open` opens it again)")


@code.command("open")
def open_() -> None:
    """Let learners join again with the current code."""
    store = _store()
    store.set_code_open(True)
    click.echo(f"joining is open with code {store.info().code}")


@classroom.command()
@format_option("json", "csv", "junit", help="json (the contract), csv or junit", default="json")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the report to this file (default: standard output)",
)
def report(fmt: str, output: Path | None) -> None:
    """Every learner's latest outcome per lesson step, for grading (run beside `serve`)."""
    from mesoslab.ops.classroom.report import RENDERERS
    from mesoslab.ops.classroom.view import build_view

    text = RENDERERS[fmt](build_view(_store()))
    if output is None:
        click.echo(text.rstrip("\n"))
    else:
        output.write_text(text if text.endswith("\n") else text + "\n")
        click.echo(f"wrote {output}")


# ------------------------------------------------------------------ learner


@classroom.command()
@click.argument("url")
@click.option("--code", required=True, help="the class code from the join line")
@click.option("--name", required=True, help="your name as the instructor will see it")
@click.option(
    "--share-output",
    is_flag=True,
    help="also send your commands' output (by default only their text and exit status)",
)
def join(url: str, code: str, name: str, share_output: bool) -> None:
    """Join the class at URL: from now on your verifies, step runs and hints are reported.

    Results are queued on disk first and sent in the background, so a dropped network or a
    restarted server loses nothing. Never sent: SSH keys, inventory secrets, your
    environment, and your commands' output unless you pass --share-output.
    """
    from mesoslab.ops.classroom.join import join_class

    member = join_class(url, code, name, share_output=share_output)
    click.secho(f"joined {member.class_name!r} at {member.url} as {member.name}", fg="green")
    click.echo("`mesoslab class status` shows what is queued; `mesoslab class leave` stops.")


@classroom.command()
def leave() -> None:
    """Leave the class: send what is still queued, then forget the class and its token."""
    from mesoslab.ops.classroom.join import leave_class

    left = leave_class()
    click.echo(f"left {left.member.class_name!r} ({left.flushed.sent} queued result(s) sent)")
    if left.unsent:
        click.secho(f"{left.unsent} result(s) could not be sent and were dropped", fg="yellow")
    if not left.told_server:
        click.secho("the class server could not be told; it will show you as idle", fg="yellow")


@classroom.command()
@format_option("text", "json")
def status(fmt: str) -> None:
    """The class you joined and your results: queued, sent, refused, the last error."""
    from mesoslab.ops.classroom.join import class_status

    st = class_status()
    box = st.outbox
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "class": st.member.class_name,
                    "url": st.member.url,
                    "name": st.member.name,
                    "share_output": st.member.share_output,
                    "queued": box.queued,
                    "sent": box.sent,
                    "rejected": box.rejected,
                    "last_error": box.last_error,
                    "last_sent_at": box.last_sent_at,
                    "sender_pid": st.sender_pid,
                },
                indent=2,
            )
        )
        sys.exit(EXIT_OK)
    click.echo(f"class {st.member.class_name!r} at {st.member.url}, you are {st.member.name}")
    click.echo(f"queued {box.queued}, sent {box.sent}, refused {box.rejected}")
    click.echo(f"last sent: {box.last_sent_at or 'never'}")
    if box.last_error:
        click.secho(f"last error: {box.last_error}", fg="yellow")
    click.echo(f"sender: {f'running (pid {st.sender_pid})' if st.sender_pid else 'idle'}")
    if box.queued and not st.sender_pid:
        click.echo("`mesoslab class send` sends the queue now.")


@classroom.command()
@click.option(
    "--background",
    is_flag=True,
    help="quiet; keep retrying for up to an hour (what verify starts on its own)",
)
@click.option(
    "--max-backoff",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="longest pause between two tries",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="give up after this long (without --background)",
)
def send(background: bool, max_backoff: float, timeout: float) -> None:
    """Send the queued results now (retrying with backoff), then exit.

    mesoslab starts this in the background by itself after each result; run it by hand
    to see why results stay queued.
    """
    from mesoslab.ops.classroom.membership import load_membership, require_membership
    from mesoslab.ops.classroom.outbox import Outbox
    from mesoslab.ops.classroom.sender import DETACHED_LIFETIME, LINGER, Sender, sender_lock

    member = load_membership() if background else require_membership()
    if member is None:
        return
    deadline = time.monotonic() + (DETACHED_LIFETIME if background else timeout)
    while True:
        with sender_lock() as mine:
            if not mine:
                if not background:
                    click.echo("another sender is running; `mesoslab class status` shows it")
                return
            with Outbox() as box:
                sender = Sender(member, box, max_backoff=max_backoff)
                try:
                    done = sender.drain(deadline=deadline, linger=LINGER if background else 0.0)
                finally:
                    sender.close()
        # Counted once the lock is free: an event queued while this sender was letting go
        # saw the lock still held, so no sender was started for it, and this one goes on.
        with Outbox() as box:
            left = box.stats().queued
        if not background:
            break
        if not left or done.fatal or time.monotonic() >= deadline:
            return
    click.echo(f"sent {done.sent}, refused {done.rejected}, still queued {left}")
    if done.error:
        click.secho(f"last error: {done.error}", fg="yellow")
