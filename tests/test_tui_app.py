"""The app driven by keyboard with Textual's Pilot, against real loopback HTTP servers
(tests/support/fixture_server.py), a real sshd (tests/support/sshd.py) and a stand-in
`vagrant` program."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, Static

from mesoslab.checks.result import Status
from mesoslab.lab.doctor import Host
from mesoslab.progress import ProgressStore
from mesoslab.tui.app import make_app
from mesoslab.tui.context import LabContext
from mesoslab.tui.dialogs.confirm import ConfirmScreen
from mesoslab.tui.screens.first_run import FirstRunScreen
from mesoslab.tui.screens.help import HelpScreen
from mesoslab.tui.screens.lab import LabScreen
from mesoslab.tui.screens.lesson import LessonScreen
from mesoslab.tui.screens.lessons import LessonsScreen
from mesoslab.tui.widgets.check_list import CheckList
from mesoslab.tui.widgets.command_cell import CommandCell
from mesoslab.tui.widgets.footer import KeyFooter
from mesoslab.tui.widgets.log_panel import LogPanel
from mesoslab.tui.widgets.scratch_cell import ScratchCell
from mesoslab.tui.widgets.step_section import StepSection
from mesoslab.tui.widgets.step_toc import StepToc
from tests.support.lesson3_cluster import CUSTOM, DEFAULT
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster
from tests.support.sshd import sshd_server
from tests.support.tui import (
    SIZE,
    checks_text,
    cluster,
    help_text,
    log_text,
    make_test_app,
    open_lesson,
    ssh_inventory,
    static_text,
    table_text,
    test_lessons,
    wait_for,
)

__all__ = ["cluster", "ssh_inventory", "sshd_server", "test_lessons"]  # fixtures used by name

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --------------------------------------------------------------------------- the lab


async def test_lab_screen_shows_every_node_with_live_health(
    cluster: tuple[Cluster, Path], test_lessons: Path
) -> None:
    lab, inventory = cluster
    lab.serve(CUSTOM, registered=("agent1",))
    app = make_test_app(inventory)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, LabScreen)
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: "leader" in table_text(table))
        text = table_text(table)
        assert "master1 | 127.0.0.1 | master\nmarathon\nchronos | ✔ leader\n✔ up\n✔ up" in text
        assert "agent1 | 127.0.0.2 | agent | ✔ registered" in text
        assert "agent2 | 127.0.0.3 | agent | ! not registered" in text
        notes = static_text(screen.query_one("#notes", Static))
        assert "agent2 agent: up, but not registered with a master" in notes
        assert not screen.query("#rehearsal-banner")  # an inventory is not a rehearsal lab
        # An inventory cluster has no VM actions: `u` does nothing, the footer hides it.
        assert screen.check_action("up", ()) is False
        await pilot.press("u")
        assert not screen.busy
        # The health refreshes: agent2 registers, `r` probes again.
        lab.serve(CUSTOM)
        await pilot.press("r")
        await wait_for(
            pilot, lambda: "agent2 | 127.0.0.3 | agent | ✔ registered" in table_text(table)
        )
        # ssh needs [node.ssh]: said plainly, no crash.
        await pilot.press("s")
        await wait_for(pilot, lambda: any("[node.ssh]" in n.message for n in app._notifications))


async def test_every_screen_by_keyboard(cluster: tuple[Cluster, Path], test_lessons: Path) -> None:
    _, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LabScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app.screen)
        assert "l Lessons" in text and "s SSH" in text and "command palette" in text
        assert "D Destroy" not in text  # no machine actions for an inventory's cluster
        await pilot.press("escape")
        assert isinstance(app.screen, LabScreen)
        await pilot.press("l")
        assert isinstance(app.screen, LessonsScreen)
        lessons = app.screen
        table = lessons.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert "lesson-3 | Custom port ranges | 0/3" in table_text(table)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        lesson = app.screen
        assert isinstance(lesson, LessonScreen)
        await wait_for(pilot, lambda: lesson.ready)
        await pilot.pause(0.05)
        assert lesson.current == 1
        await pilot.press("n", "n")
        assert lesson.current == 3
        assert lesson.query_one("#step-3", StepSection).heading.has_class("-current")
        await pilot.press("p")
        assert lesson.current == 2
        # n and p put the step's first command in focus (r runs it), the steps panel follows
        assert app.focused is lesson.step_cells(2)[0]
        toc = lesson.query_one("#toc", StepToc)
        assert toc.highlighted == 1
        toc.focus()
        await pilot.press("home", "enter")
        assert lesson.current == 1
        # Tab reaches the cells (after the notebook itself, which scrolls with the arrows);
        # the focused cell's step becomes current
        for _ in range(10):
            await pilot.press("tab")
            if isinstance(app.focused, CommandCell):
                break
        assert isinstance(app.focused, CommandCell) and lesson.current == 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "run the focused cell" in help_text(app.screen)
        await pilot.press("escape", "s")
        assert app.screen.__class__.__name__ == "SolutionScreen"
        assert "curl -s" in static_text(app.screen.query(Static)[1])
        await pilot.press("escape", "b")
        assert not lesson.query_one("#toc").display
        await pilot.press("b", "escape")
        assert isinstance(app.screen, LessonsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, LabScreen)
        # the command palette lists the screen's actions
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Lab: refresh health" in commands and "Lessons" in commands
        await pilot.press("q")
    assert app.return_code == 0


# --------------------------------------------------------------------------- verify


async def test_verify_shows_pass_then_fail_with_observed_values(
    cluster: tuple[Cluster, Path], test_lessons: Path
) -> None:
    lab, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-3")
        await pilot.press("n", "n", "v")
        checklist = lesson.query_one("#checks-3", CheckList)
        await wait_for(pilot, lambda: checklist.state == "done")
        text = checks_text(checklist)
        assert "✔ mesos.agent_resources [agent1] agent agent1 offers ports " + CUSTOM in text
        assert "✔ mesos.agent_resources [agent2]" in text
        assert checklist.has_class("-passed")
        # the agents fall back to the default range: the same check now fails
        lab.serve(DEFAULT)
        await pilot.press("v")
        await wait_for(pilot, lambda: checklist.state == "running")
        await wait_for(pilot, lambda: checklist.state == "done")
        text = checks_text(checklist)
        assert f"✘ mesos.agent_resources [agent1] agent agent1 offers ports {DEFAULT}" in text
        assert f"expected {CUSTOM}" in text and f"observed {DEFAULT}" in text
        assert "hint The agent still advertises the old range" in text
        assert checklist.has_class("-failed")
        assert "s shows the solution" in static_text(checklist.query_one(".checks-title", Static))
        # progress was recorded: step 3 failed
        store = ProgressStore(app.context.progress_path())  # type: ignore[arg-type]
        assert store.steps("lesson-3")[3]["passed"] is False
        assert lesson.states[3] == "failed"
        # the whole lesson: step 1 passes, step 2 skips (no [node.ssh]), step 3 fails
        await pilot.press("V")
        checks_1 = lesson.query_one("#checks-1", CheckList)
        await wait_for(pilot, lambda: checklist.state == "done" and checks_1.state == "done")
        assert "✔ mesos.agents_registered" in checks_text(checks_1)
        assert "– host.file_contains [agent1] no [node.ssh]" in checks_text(
            lesson.query_one("#checks-2", CheckList)
        )
        # step 2's checks all skipped: not passed (not done), shown as skipped
        assert lesson.states == {1: "passed", 2: "skipped", 3: "failed"}
        kept = ProgressStore(app.context.progress_path()).steps("lesson-3")  # type: ignore[arg-type]
        assert kept[2]["passed"] is False and kept[2]["skipped"] is True
        toc = lesson.query_one("#toc", StepToc)
        await wait_for(pilot, lambda: toc.prompt(2, "x").plain.startswith("– 2 "))
        heading = lesson.query_one("#step-2", StepSection).heading
        assert "– skipped" in static_text(heading) and not heading.has_class("-passed")
    # Reopened, the lesson shows the last verify of each step.
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-3")
        checklist = lesson.query_one("#checks-3", CheckList)
        assert checklist.state == "stored"
        assert f"observed {DEFAULT}" in checks_text(checklist)
        assert "last verify" in static_text(checklist.query_one(".checks-title", Static))
        assert lesson.current == 2  # the first step not passed yet (2 only skipped)


async def test_a_settling_check_shows_what_it_saw_and_escape_stops_the_wait(
    cluster: tuple[Cluster, Path], test_lessons: Path
) -> None:
    lab, inventory = cluster
    lab.serve(DEFAULT)  # before the fix: the check would wait its whole 90 s
    app = make_test_app(inventory, verify_timeout=None)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-3")
        await pilot.press("n", "n", "v")
        checklist = lesson.query_one("#checks-3", CheckList)
        await wait_for(pilot, lambda: "waiting for" in checks_text(checklist))
        text = checks_text(checklist)
        assert f"[agent1] saw {DEFAULT} · waiting for {CUSTOM} ·" in text and "s left" in text
        assert "Escape stops waiting" in static_text(checklist.query_one(".checks-title", Static))
        await pilot.press("escape")  # stop waiting: the lesson stays open
        await wait_for(pilot, lambda: checklist.state == "done", timeout=15)
        assert app.screen is lesson
        text = checks_text(checklist)
        assert "✘ mesos.agent_resources [agent1]" in text and f"observed {DEFAULT}" in text
        assert lesson.states.get(3) != "passed"
        kept = ProgressStore(app.context.progress_path()).steps("lesson-3")  # type: ignore[arg-type]
        assert 3 not in kept  # stopped, not settled: nothing recorded
        await pilot.press("escape")  # a second Escape leaves the lesson
        await wait_for(pilot, lambda: app.screen is not lesson)


async def test_a_link_in_the_prose_opens_the_lesson_it_names(
    cluster: tuple[Cluster, Path], test_lessons: Path
) -> None:
    from mesoslab.tui.widgets.step_section import Prose

    _, inventory = cluster
    lesson_file = test_lessons / "03-port-ranges" / "lesson.md"
    text = lesson_file.read_text()
    text = text.replace(
        "Ask both agents for their ports:",
        "[Lesson 1](../01-first-cluster/lesson.md) set them up.\n\n"
        "Ask both agents for their ports:",
    )
    lesson_file.write_text(text)
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-3")
        section = lesson.query_one("#step-1", StepSection)
        await wait_for(pilot, lambda: any(p.made for p in section.query(Prose)))
        await pilot.pause(0.2)
        prose = next(p for p in section.query(Prose) if "Lesson 1" in p.text)
        spot = None
        for y in range(prose.size.height):
            x = 0
            for segment in prose.render_line(y):
                if segment.style is not None and segment.style.link:
                    spot = (x, y)
                    break
                x += len(segment.text)
            if spot:
                break
        assert spot is not None, "the link was not rendered as a link"
        await pilot.click(prose, offset=spot)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, LessonScreen) and app.screen.lesson_id == "lesson-1",
        )


async def test_an_unreachable_node_is_a_failed_check_not_an_error(
    cluster: tuple[Cluster, Path], test_lessons: Path
) -> None:
    lab, inventory = cluster
    lab.lab.server("agent2", "mesos_agent").stop()
    app = make_test_app(inventory, verify_timeout=1.0)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-3")
        await pilot.press("n", "n")
        # run the verify from the command palette this time
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        app.screen.query_one(Input).value = "verify this step"
        await pilot.pause(0.5)
        await pilot.press("enter")
        checklist = lesson.query_one("#checks-3", CheckList)
        await wait_for(pilot, lambda: checklist.state == "done")
        failed = {r.node: r for r in checklist.results.values() if r.status is Status.FAIL}
        assert set(failed) == {"agent2"}
        assert "cannot connect" in failed["agent2"].summary
        assert "✘ mesos.agent_resources [agent2] cannot connect" in checks_text(checklist)
        assert app.screen is lesson  # no error screen
        assert not [n for n in app._notifications if n.title not in ("Verify", "")]


# --------------------------------------------------------------------------- cells (real sshd)


async def test_a_cell_runs_after_asking_streams_output_and_keeps_it(
    ssh_inventory: tuple[Cluster, Path], test_lessons: Path
) -> None:
    _, inventory = ssh_inventory
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-1")
        cell = lesson.query_one("#step-2").query_one(CommandCell)
        cell.focus()
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.body)
        assert 'echo "hello from $(hostname)"' in body and "agent1, agent2" in body
        await pilot.press("y")
        await wait_for(pilot, lambda: cell.record is not None and not cell.running, 20)
        output = static_text(cell.query_one(".cell-output", Static))
        assert "agent1 │ hello from" in output and "agent2 │ hello from" in output
        assert "✔ agent1: exit 0" in output and "✔ agent2: exit 0" in output
        # the step's first cell ran: its start is on record for the step's `step start` checks
        from mesoslab.progress import ProgressStore, progress_path_for_inventory

        progress = progress_path_for_inventory(inventory)
        await wait_for(pilot, lambda: bool(ProgressStore(progress).starts("lesson-1")), 10)
        starts = ProgressStore(progress).starts("lesson-1")
        assert list(starts) == [2], starts
        assert starts[2].isoformat(timespec="seconds") == cell.record.ran_at  # type: ignore[union-attr]
        # edit the cell before running it again
        await pilot.press("e")
        editor = cell.query_one(".cell-editor")
        editor.text = "echo edited-$((6*7)); exit 3"  # type: ignore[attr-defined]
        await pilot.press("escape", "r", "y")
        await wait_for(
            pilot, lambda: cell.record is not None and "edited" in cell.record.command, 20
        )
        await wait_for(pilot, lambda: not cell.running, 20)
        output = static_text(cell.query_one(".cell-output", Static))
        assert "agent1 │ edited-42" in output and "✘ agent1: exit 3" in output
        # the scratch cell runs anything anywhere
        await pilot.press("x")
        scratch = lesson.query_one(ScratchCell)
        scratch.query_one(".scratch-editor").text = "echo scratch on $(hostname)"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r", "y")
        await wait_for(pilot, lambda: scratch.record is not None and not scratch.running, 20)
        assert "master1 │ scratch on" in static_text(scratch.query_one(".cell-output", Static))
    # Reopened: what ran and what came back are still there.
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-1")
        cell = lesson.query_one("#step-2").query_one(CommandCell)
        assert cell.code.startswith("echo edited-")  # the edited command is kept
        output = static_text(cell.query_one(".cell-output", Static))
        assert "last run" in output and "agent2 │ edited-42" in output
        scratch = lesson.query_one(ScratchCell)
        assert "scratch on" in static_text(scratch.query_one(".cell-output", Static))
        await pilot.press("x")
        # reset brings the lesson's command back
        cell.focus()
        await pilot.press("u")
        assert cell.code == 'echo "hello from $(hostname)"'


async def test_the_footer_is_rebuilt_only_when_its_keys_change(
    cluster: tuple[Cluster, Path], test_lessons: Path
) -> None:
    _, inventory = cluster
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        lesson = await open_lesson(pilot, app, "lesson-3")
        footer = lesson.query_one(KeyFooter)

        def shown() -> list[str]:
            return [f"{key.key} {key.description}" for key in footer.query("FooterKey")]

        lesson.step_cells(1)[0].focus()
        await wait_for(pilot, lambda: "r Run" in shown() and "e Edit" in shown())
        keys = list(footer.query("FooterKey"))
        await pilot.press("n")  # the next step's cell has the same keys: the same key widgets
        await wait_for(pilot, lambda: app.focused is lesson.step_cells(2)[0])
        await pilot.pause(0.1)  # a rebuild, if any, would have happened by now
        assert list(footer.query("FooterKey")) == keys
        await pilot.press("e")  # editing: other keys, shown
        await wait_for(pilot, lambda: "escape Done editing" in shown())
        assert "r Run" not in shown()
        await pilot.press("escape")
        await wait_for(pilot, lambda: "r Run" in shown())


# --------------------------------------------------------------------------- first run and up


def _fake_vagrant(bin_dir: Path) -> Path:
    """A stand-in `vagrant`: `up` prints Vagrant-like lines for ever (a burst, then slowly);
    anything else fails."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "vagrant"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = up ]; then\n'
        "  i=0\n"
        "  while true; do\n"
        "    i=$((i+1))\n"
        '    echo "==> master1: Importing base box... $i"\n'
        '    echo "    agent1: Booting VM... $i"\n'
        '    if [ "$i" -gt 5 ]; then sleep 0.5; else sleep 0.02; fi\n'
        "  done\n"
        "fi\n"
        'echo "fake vagrant: $1 is not supported here" >&2\n'
        "exit 1\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def _ups_running(vagrant: Path) -> list[int]:
    """Processes running ``vagrant up`` (not the lab screen's short ``vagrant status`` calls,
    one of which a busy CI machine caught still starting)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().decode().split("\0")
            except OSError:
                continue
            if str(vagrant) in argv and "up" in argv:
                found.append(int(proc.name))
    return found


async def test_first_run_creates_a_lab_then_up_streams_and_quitting_cancels_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_lessons: Path
) -> None:
    bin_dir = tmp_path / "bin"
    _fake_vagrant(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    folder = tmp_path / "mylab"
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    host = Host(
        path=str(nothing),  # doctor finds no vagrant, no VirtualBox, no LXC: fast and certain
        kvm=nothing / "kvm",
        vboxdrv=nothing / "vboxdrv",
        cpuinfo=nothing / "cpuinfo",
        sys_module=nothing,
    )
    app = make_app(
        context=LabContext(folder=folder),
        refresh_every=0,
        probe_timeout=0.3,
        doctor_host=host,
        pace_gc=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, FirstRunScreen)
        why = screen.query_one("#why", Static)
        await wait_for(pilot, lambda: "Suggested" in static_text(why))
        # neither VirtualBox nor KVM here: LXC + rehearsal
        assert "Neither VirtualBox nor KVM" in static_text(why)
        assert screen.query_one("#provider").value == "lxc"  # type: ignore[attr-defined]
        assert screen.query_one("#platform").value == "rehearsal"  # type: ignore[attr-defined]
        assert "Provider VirtualBox" in static_text(screen.query_one("#doctor", Static))
        # choose CentOS 7 on VirtualBox instead (the provider follows the platform rule)
        screen.query_one("#platform").value = "centos7"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        screen.query_one("#provider").value = "virtualbox"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        await pilot.press("c")  # create and start up
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen))
        assert (folder / "lab.toml").is_file() and (folder / "Vagrantfile").is_file()
        lab = app.screen
        assert isinstance(lab, LabScreen) and app.context.spec is not None
        log = lab.query_one(LogPanel)
        await wait_for(pilot, lambda: "Importing base box... 3" in log_text(log), 20)
        text = log_text(log)
        assert "master1 │ Importing base box" in text and "agent1 │ Booting VM" in text
        assert lab.busy and lab.cancellable
        assert _ups_running(bin_dir / "vagrant")
        # quitting asks, then stops vagrant, waits for it and quits
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        assert "`up` is running" in app.screen.title_text
        await pilot.press("n")
        assert lab.busy  # "keep running"
        await pilot.press("q", "y")
        for _ in range(1200):  # 60 s: a vagrant that ignored SIGINT still ends (SIGTERM at 30 s)
            if not app.is_running:
                break
            await asyncio.sleep(0.05)
    assert not app.is_running
    assert not _ups_running(bin_dir / "vagrant")
    assert "up cancelled" in log_text(log) or "stopping up" in log_text(log)


async def test_lab_errors_are_messages_not_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_lessons: Path
) -> None:
    from mesoslab.lab.init import write_lab
    from mesoslab.lab.machines import write_machines
    from mesoslab.tui.context import for_spec

    bin_dir = tmp_path / "bin"
    _fake_vagrant(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = write_lab(tmp_path / "lab", platform="rehearsal")
    write_machines(result.spec)  # as after a first `up`: Vagrant knows each machine's id,
    for node in result.spec.nodes:  # but LXC does not list it, so Vagrant is asked
        ident = result.spec.directory / ".vagrant" / "machines" / node.name / "lxc" / "id"
        ident.parent.mkdir(parents=True)
        ident.write_text(f"gone-{node.name}")
    app = make_app(context=for_spec(result.spec), refresh_every=0, probe_timeout=0.3, pace_gc=False)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        assert isinstance(lab, LabScreen)
        assert lab.query_one("#rehearsal-banner")
        table = lab.query_one(DataTable)
        # `vagrant status` fails: the machine state is unknown, with the reason
        await wait_for(pilot, lambda: "unknown" in table_text(table))
        assert "vagrant status" in static_text(lab.query_one("#notes", Static))
        # LXC has no snapshots: the driver says so, and the app shows it
        await pilot.press("c")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: not lab.busy and "checkpoint" in log_text(lab.query_one(LogPanel))
        )
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors[-1].title == "Lab error"
        assert "no snapshots" in log_text(lab.query_one(LogPanel))
        assert app.screen is lab


LESSON_2 = """---
id: lesson-2
title: A second lesson
summary: Something to catch up on.
preset: 1m-2a
builds_on: [lesson-1]
platforms: [centos7, rehearsal]
---

## Step 1: Mark the agents

```sh on=agent
echo "lesson two on $(hostname)"
```

```check
- kind: mesos.agents_registered
  count: 2
  hint: Both agents must be registered.
```
"""


async def test_catch_up_and_ssh_on_a_cluster_with_ssh(
    ssh_inventory: tuple[Cluster, Path], test_lessons: Path
) -> None:
    _, inventory = ssh_inventory
    app = make_test_app(inventory)
    async with app.run_test(size=SIZE) as pilot:
        # ssh hands the terminal over; a headless test terminal cannot, and says so
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen))
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app._notifications))
        message = list(app._notifications)[-1].message
        assert "run it yourself: ssh -p" in message and "root@127.0.0.1" in message
        # catch up needs every lesson before this one: lesson-2 is missing, said plainly
        lesson = await open_lesson(pilot, app, "lesson-3")
        # the lesson says at once that lesson-1 is not done on this lab, and how to catch up
        note = lesson.query_one("#prerequisites", Static)
        await wait_for(pilot, lambda: bool(note.display))
        assert "lesson-3 starts where lesson-1 ended" in static_text(note)
        assert "lesson-1 (Your first cluster): 0/2 steps passed" in static_text(note)
        assert "press C to catch up" in static_text(note)
        await pilot.press("C", "y")
        from mesoslab.tui.dialogs.catch_up import CatchUpScreen

        await wait_for(pilot, lambda: isinstance(app.screen, CatchUpScreen) and app.screen.done)
        status = static_text(app.screen.query_one("#catch-up-status", Static))
        assert "lesson-2 is not written yet" in status
        await pilot.press("escape")
        assert app.screen is lesson
        # with lesson-2 written, catch up runs lessons 1 and 2 over SSH, with live output
        folder = test_lessons / "02-second"
        folder.mkdir()
        (folder / "lesson.md").write_text(LESSON_2, encoding="utf-8")
        await pilot.press("C", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, CatchUpScreen) and app.screen.done, 30)
        catch_up = app.screen
        await wait_for(pilot, lambda: "lesson two on" in log_text(catch_up.query_one(LogPanel)))
        status = static_text(catch_up.query_one("#catch-up-status", Static))
        assert "caught up through lesson-2" in status and "(3 steps ran)" in status
        log = log_text(catch_up.query_one(LogPanel))
        assert "agent1 │ hello from" in log and "agent2 │ lesson two on" in log
        await pilot.press("escape")
        # lesson-1 has nothing before it
        await pilot.press("escape")
        app.open_lesson("lesson-1")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and app.screen.ready)
        lesson_1 = app.screen
        assert lesson_1.check_action("catch_up", ()) is False  # not offered, not in the footer
        await pilot.press("C")
        assert app.screen is lesson_1
        assert not lesson_1.query_one("#prerequisites").display
        # the theme switches between dark and light
        await pilot.press("t")
        assert app.theme == "textual-light"
