"""Stopping a running command, a lesson cell and a catch up, against a real sshd
(tests/support/sshd.py); and catch up recording the steps that passed in the learner's progress."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Button, Static, TextArea

from mesoslab.errors import RemoteError
from mesoslab.lab.inventory import Inventory, Node, SshTarget
from mesoslab.ops.catchup import catch_up
from mesoslab.progress import ProgressStore
from mesoslab.remote import run_on_nodes
from mesoslab.remote.pool import SshPool
from mesoslab.remote.session import Session
from mesoslab.tui.dialogs.catch_up import CatchUpScreen
from mesoslab.tui.dialogs.confirm import ConfirmScreen
from mesoslab.tui.screens.lessons import lesson_rows
from mesoslab.tui.widgets.command_cell import CommandCell
from mesoslab.tui.widgets.log_panel import LogPanel
from mesoslab.tui.widgets.scratch_cell import ScratchCell
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster
from tests.support.sshd import SshServer, ssh_node, ssh_pool, sshd_server
from tests.support.tui import (
    SIZE,
    cluster,
    log_text,
    make_test_app,
    open_lesson,
    ssh_inventory,
    static_text,
    test_lessons,
    wait_for,
)

__all__ = [  # fixtures used by name
    "cluster",
    "ssh_inventory",
    "ssh_node",
    "ssh_pool",
    "sshd_server",
    "test_lessons",
]


@pytest.fixture
def tag() -> Iterator[str]:
    """A word put in the remote commands of one test; they are ended when it is over (a
    stopped command runs on in sshd until it next writes output, see STOPPED)."""
    word = f"mesoslab-cancel-{uuid.uuid4().hex[:10]}"
    yield word
    own = os.getpgid(0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if word.encode() not in (entry / "cmdline").read_bytes():
                continue
            group = os.getpgid(int(entry.name))
        except (OSError, ProcessLookupError):
            continue
        if group != own:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)


def set_later(event: threading.Event, after: float) -> threading.Timer:
    timer = threading.Timer(after, event.set)
    timer.daemon = True
    timer.start()
    return timer


class CancelWhenStarted:
    """An on_output sink that sets ``cancel`` ``after`` seconds once ``count`` lines saying
    "started" arrived (so a slow connect on a busy machine never cancels too early)."""

    def __init__(self, cancel: threading.Event, *, count: int = 1, after: float = 0.5) -> None:
        self.cancel = cancel
        self.count = count
        self.after = after
        self.lines: list[str] = []
        self.set_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, *args: object) -> None:
        line = str(args[-1])
        with self._lock:
            self.lines.append(line)
            if line == "started" and self.lines.count("started") == self.count:
                self.set_at = time.monotonic() + self.after
                set_later(self.cancel, self.after)

    def waited(self) -> float:
        """Seconds from the cancel to now."""
        assert self.set_at, "the command never said it started"
        return time.monotonic() - self.set_at


# --------------------------------------------------------------------------- the SSH pool


def test_a_cancelled_command_returns_at_once_with_its_output_so_far(
    ssh_pool: SshPool, ssh_node: Node, tag: str
) -> None:
    cancel = threading.Event()
    sink = CancelWhenStarted(cancel, after=0.5)
    result = ssh_pool.run(
        ssh_node,
        f"echo started; sleep 30; echo never # {tag}",
        timeout=60,
        on_output=sink,
        cancel=cancel,
    )
    assert sink.waited() < 5.0, f"took {sink.waited():.1f}s to stop"  # not stopped: 30 s
    assert result.cancelled and not result.timed_out and not result.ok
    assert result.exit_status == -1 and not result.error
    assert result.output == "started\n" and sink.lines == ["started"]
    assert "stopped by you" in result.describe()
    assert "may still be running" in result.describe()
    # the connection is still good for the next command
    assert ssh_pool.run(ssh_node, "echo next", cancel=threading.Event()).output == "next\n"


def test_a_command_cancelled_before_it_starts_does_not_run(
    ssh_pool: SshPool, ssh_node: Node, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    cancel = threading.Event()
    cancel.set()
    result = ssh_pool.run(ssh_node, f"touch {marker}", cancel=cancel)
    assert result.cancelled and not result.ok and result.output == ""
    time.sleep(0.2)
    assert not marker.exists()


@pytest.mark.parametrize("phase", ["tcp", "handshake"])
def test_cancel_stops_a_connect_that_hangs(ssh_pool: SshPool, phase: str) -> None:
    # tcp: the listener's backlog is full, so Linux drops the SYN and the connect hangs;
    # handshake: TCP connects, but nothing ever speaks SSH
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0 if phase == "tcp" else 8)
        port = listener.getsockname()[1]
        if phase == "tcp":
            for _ in range(3):  # fill the backlog (never accepted)
                filler = stack.enter_context(socket.socket())
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                time.sleep(0.05)
        node = Node("stuck", "127.0.0.1", ("agent",), ssh=SshTarget("127.0.0.1", "root", port))
        cancel = threading.Event()
        set_later(cancel, 0.5)
        start = time.monotonic()
        result = ssh_pool.run(node, "true", timeout=20, cancel=cancel)
        waited = time.monotonic() - start - 0.5
        assert result.cancelled and not result.timed_out and not result.ok, result
        assert waited < 5.0, f"took {waited:.1f}s to stop connecting"  # not stopped: 15 s
        # a cancelled connect is no failure: without a cancel, the same node is tried anew
        # and its error says what happened
        with pytest.raises(RemoteError, match=f"stuck.*127.0.0.1:{port}"):
            ssh_pool.run(node, "true", timeout=1)


def test_stop_does_not_wait_for_the_masters_to_say_who_leads() -> None:
    from mesoslab.lab.inventory import parse_inventory
    from mesoslab.tui.cells import CellStore
    from mesoslab.tui.runtime import NotebookRuntime, run_cell

    with socket.socket() as silent:  # accepts HTTP connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        master = {"name": "master1", "address": "127.0.0.1", "roles": ["master"]}
        inventory = parse_inventory({"node": [master], "ports": {"mesos_master": port}})
        runtime = NotebookRuntime("lesson-1", "rehearsal", inventory, CellStore(None))
        cancel = threading.Event()
        set_later(cancel, 0.5)
        start = time.monotonic()
        record = run_cell(runtime, "leading-master", "hostname", sudo=False, cancel=cancel)
        waited = time.monotonic() - start - 0.5
    assert waited < 5.0, f"took {waited:.1f}s to stop"  # not stopped: 10 s
    assert not record.ok and not record.outputs
    assert "stopped by you" in record.error and "nothing ran" in record.error


def test_cancel_stops_a_command_that_never_stops_writing(
    ssh_pool: SshPool, ssh_node: Node, tag: str
) -> None:
    cancel = threading.Event()
    seen: list[float] = []

    def on_output(line: str) -> None:
        if not seen:
            seen.append(time.monotonic())
            cancel.set()

    result = ssh_pool.run(
        ssh_node, f"while :; do echo {tag}; done", timeout=60, on_output=on_output, cancel=cancel
    )
    assert time.monotonic() - seen[0] < 1.0
    assert result.cancelled and result.output.startswith(f"{tag}\n")


def test_cancel_stops_every_node_of_a_fan_out_and_starts_no_more(
    ssh_pool: SshPool, sshd_server: SshServer, tmp_path: Path, tag: str
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    nodes = [sshd_server.node(f"agent{i}") for i in range(1, 4)]
    cancel = threading.Event()
    sink = CancelWhenStarted(cancel, count=2)
    command = f"mktemp {runs}/run.XXXX >/dev/null; echo started; sleep 30; echo never # {tag}"
    both = run_on_nodes(ssh_pool, nodes[:2], command, timeout=60, cancel=cancel, on_output=sink)
    assert sink.waited() < 1.0
    assert [r.node for r in both] == ["agent1", "agent2"]
    for result in both:
        assert result.cancelled and not result.ok and result.output == "started\n"
        assert "stopped by you" in result.describe()
    # one at a time: the nodes still waiting for their turn never start
    cancel = threading.Event()
    sink = CancelWhenStarted(cancel)
    queued = run_on_nodes(
        ssh_pool, nodes, command, timeout=60, cancel=cancel, max_parallel=1, on_output=sink
    )
    assert sink.waited() < 1.0
    assert all(r.cancelled for r in queued)
    assert [r.output for r in queued] == ["started\n", "", ""]
    assert len(list(runs.iterdir())) == 3  # two from the first fan-out, one from this


# --------------------------------------------------------------------------- catch up

QUICK = """
## Step 1: Quick

```sh on=agent
echo "quick on $(hostname)"
```

```check
- kind: host.file_exists
  on: agent
  path: /etc/hostname
  timeout: 5
  hint: Each agent has an /etc/hostname.
```
"""

SLOW = """
## Step 2: Slow

```sh on=agent
echo started; sleep {sleep}; echo done {tag}
```

```sh on=agent
touch {marker}
```

```check
- kind: host.file_exists
  on: agent
  path: {marker}
  timeout: 5
  hint: The second block makes it.
```
"""

FRONT = """---
id: lesson-{n}
title: Lesson {n}
summary: Something to catch up on.
preset: 1m-2a
builds_on: []
platforms: [centos7, rehearsal]
---
"""


def write_stoppable_lessons(root: Path, marker: Path, tag: str, sleep: str = "30") -> None:
    """lesson-1: a quick step, then a slow one whose second block writes ``marker``;
    lesson-2: a quick step (so that lesson-2's notebook can catch up through lesson-1)."""
    for n, folder, body in (
        (1, "01-first-cluster", QUICK + SLOW.format(sleep=sleep, tag=tag, marker=marker)),
        (2, "02-second", QUICK),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "lesson.md").write_text(FRONT.format(n=n) + body, encoding="utf-8")


def ssh_lab(sshd_server: SshServer) -> Inventory:
    def node(name: str, roles: tuple[str, ...]) -> Node:
        return replace(sshd_server.node(name), roles=roles)

    return Inventory(
        nodes=(node("master1", ("master",)), node("agent1", ("agent",)), node("agent2", ("agent",)))
    )


def test_catch_up_stops_midway_and_keeps_the_steps_that_passed(
    sshd_server: SshServer, test_lessons: Path, tmp_path: Path, tag: str
) -> None:
    marker = tmp_path / "second-block-ran"
    write_stoppable_lessons(test_lessons, marker, tag)
    inventory = ssh_lab(sshd_server)
    started: list[tuple[str, int]] = []
    verified: list[str] = []
    with Session(inventory) as session:

        def on_step(lesson: object, number: int, title: str) -> None:
            started.append((getattr(lesson, "id", ""), number))
            if number == 2:
                set_later(session.cancelled, 0.5)

        start = time.monotonic()
        report = catch_up(
            "lesson-1",
            inventory,
            platform="rehearsal",
            session=session,
            on_step=on_step,
            on_verified=lambda r: verified.append(f"{r.lesson} step {r.steps[0].step}"),
        )
        elapsed = time.monotonic() - start
    assert elapsed < 15, f"catch up took {elapsed:.1f}s to stop"  # not stopped: 30 s
    assert report.cancelled and not report.ok
    assert report.failed is None and report.unsettled is None  # stopped, not failed
    assert started == [("lesson-1", 1), ("lesson-1", 2)]
    assert report.last_passed == ("lesson-1", 1)
    assert verified == ["lesson-1 step 1"]
    assert [(v.lesson, [s.step for s in v.steps]) for v in report.verified] == [("lesson-1", [1])]
    cut = report.interrupted
    assert cut is not None and cut.step == 2 and cut.cancelled and cut.skipped == 1
    assert all(r.cancelled for r in cut.actions[0].results)
    time.sleep(0.2)
    assert not marker.exists()  # the block after the stopped one never ran

    # set before it starts: nothing runs
    with Session(inventory) as session:
        session.cancelled.set()
        report = catch_up("lesson-1", inventory, platform="rehearsal", session=session)
    assert report.cancelled and not report.ok and report.runs == [] and report.verified == []


# --------------------------------------------------------------------------- the TUI


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_running_cell_stops_with_c_and_keeps_its_output(
    ssh_inventory: tuple[Cluster, Path], test_lessons: Path, tag: str
) -> None:
    _, inventory = ssh_inventory
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-1")
        cell = lesson.query_one("#step-2").query_one(CommandCell)
        button = cell.query_one(".cell-run", Button)
        cell.focus()
        assert cell.check_action("stop", ()) is False  # no Stop in the footer while idle
        await pilot.press("e")
        cell.query_one(".cell-editor").text = f"echo started; sleep 30; echo never # {tag}"  # type: ignore[attr-defined]
        await pilot.press("escape", "r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        output = cell.query_one(".cell-output", Static)
        await wait_for(
            pilot,
            lambda: all(f"{n} │ started" in static_text(output) for n in ("agent1", "agent2")),
        )
        assert cell.running and str(button.label) == "■ Stop"
        assert cell.check_action("stop", ()) is True
        assert "c" in app.active_bindings and app.active_bindings["c"].binding.action == "stop"
        start = time.monotonic()
        await pilot.press("c")
        await wait_for(pilot, lambda: not cell.running, 20)
        assert time.monotonic() - start < 10  # not stopped: 30 s
        text = static_text(output)
        assert text.startswith("■ stopped")
        assert "agent1 │ started" in text and "never" not in text
        assert "✘ agent1: stopped by you" in text and "✘ agent2: stopped by you" in text
        assert str(button.label) == "▶ Run" and cell.check_action("stop", ()) is False
        assert cell.record is not None and not cell.record.ok
        kept = app.cell_store().cell("lesson-1", cell.key)
        assert kept is not None and not kept.ok and "stopped by you" in kept.outputs[0].error
        # the button stops it too
        await pilot.press("r", "y")
        await wait_for(pilot, lambda: "agent1 │ started" in static_text(output))
        await pilot.click(button)
        await wait_for(pilot, lambda: not cell.running, 5)
        assert static_text(output).startswith("■ stopped")
        # the scratch cell: typed in its editor, run with ctrl+r, stopped with c
        await pilot.press("x")
        scratch = lesson.query_one(ScratchCell)
        editor = scratch.query_one(".scratch-editor", TextArea)
        command = f"echo started; sleep 30; echo never # {tag}"
        editor.text = command
        await pilot.press("ctrl+r", "y")
        shown = scratch.query_one(".cell-output", Static)
        await wait_for(pilot, lambda: "master1 │ started" in static_text(shown))
        await pilot.press("c")  # the run took the focus out of the editor: c is not typed
        await wait_for(pilot, lambda: not scratch.running, 5)
        assert static_text(shown).startswith("■ stopped") and editor.text == command
        kept = app.cell_store().scratch("lesson-1")
        assert kept and "stopped by you" in kept[-1].outputs[0].error


@pytest.mark.anyio
async def test_catch_up_stops_on_escape_and_records_what_passed(
    ssh_inventory: tuple[Cluster, Path], test_lessons: Path, tmp_path: Path, tag: str
) -> None:
    _, inventory = ssh_inventory
    marker = tmp_path / "second-block-ran"
    write_stoppable_lessons(test_lessons, marker, tag)
    app = make_test_app(inventory)
    progress = app.context.progress_path()
    assert progress is not None
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-2")
        await pilot.press("C")
        assert isinstance(app.screen, ConfirmScreen) and "Escape stops it" in str(app.screen.body)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, CatchUpScreen))
        screen = app.screen
        assert isinstance(screen, CatchUpScreen)
        status = screen.query_one("#catch-up-status", Static)
        log = screen.query_one(LogPanel)
        await wait_for(pilot, lambda: "agent1 │ started" in log_text(log))
        await pilot.press("escape")
        assert "stopping…" in static_text(status) and app.screen is screen
        await wait_for(pilot, lambda: screen.done, 5)
        text = static_text(status)
        assert text.startswith("■ stopped after lesson-1 step 1"), text
        assert "lesson-1 step 2 (Slow) was cut short" in text
        assert ProgressStore(progress).passed_steps("lesson-1") == {1}
        assert not marker.exists()
        await pilot.press("escape")
        assert app.screen is lesson


@pytest.mark.anyio
async def test_catch_up_records_every_step_it_passes_in_the_progress(
    ssh_inventory: tuple[Cluster, Path], test_lessons: Path, tmp_path: Path, tag: str
) -> None:
    _, inventory = ssh_inventory
    marker = tmp_path / "second-block-ran"
    write_stoppable_lessons(test_lessons, marker, tag, sleep="0")
    app = make_test_app(inventory)
    progress = app.context.progress_path()
    assert progress is not None
    rows, _ = lesson_rows(progress)
    assert [(r.id, r.passed) for r in rows][:2] == [("lesson-1", 0), ("lesson-2", 0)]
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-2")
        await pilot.press("C", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, CatchUpScreen) and app.screen.done)
        screen = app.screen
        status = static_text(screen.query_one("#catch-up-status", Static))
        assert "caught up through lesson-1" in status and "(2 steps ran)" in status
        await pilot.press("escape")
        assert app.screen is lesson
    assert marker.exists()
    assert ProgressStore(progress).passed_steps("lesson-1") == {1, 2}
    rows, _ = lesson_rows(progress)
    assert [(r.id, r.passed, r.steps) for r in rows][:1] == [("lesson-1", 2, 2)]
    # reopening lesson-1 shows the checks catch up settled
    assert [r.kind for r in app.cell_store().checks("lesson-1", 2)] == ["host.file_exists"] * 2
