"""What the TUI tests share: two small lessons of our own (so the snapshots do not change
when the shipped lessons are edited), a lesson-3 cluster served by real loopback HTTP servers
(tests/support/fixture_server.py) and its inventory, the app factory the tests use, and ways
to wait for and read what the app shows."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from mesoslab.tui.app import MesoslabApp, make_app
from mesoslab.tui.context import LabContext
from mesoslab.tui.screens.help import HelpScreen
from mesoslab.tui.screens.lesson import LessonScreen
from mesoslab.tui.widgets.check_list import CheckList
from mesoslab.tui.widgets.log_panel import LogPanel
from tests.support.fixture_server import FakeLab
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster
from tests.support.lesson3_cluster import write_inventory
from tests.support.sshd import SshServer

LESSON_1 = """---
id: lesson-1
title: Your first cluster
summary: One master, two agents, and a first look at their APIs.
preset: 1m-2a
builds_on: []
platforms: [centos7, rehearsal]
---

The smallest cluster worth the name.

## Step 1: The agents register

Both agents register with the master.

```sh on=master1
curl -s http://master1:5050/master/slaves | head -c 200
```

```check
- kind: mesos.agents_registered
  count: 2
  hint: Start mesos-slave on both agents.
```

## Step 2: Say hello

```sh on=agent
echo "hello from $(hostname)"
```

```check
- kind: host.file_exists
  on: agent
  path: /etc/hostname
  hint: Each agent has an /etc/hostname.
```
"""

LESSON_3 = """---
id: lesson-3
title: Custom port ranges
summary: Give every agent the ranges 21000-24000 and 30000-64000 instead of 31000-32000.
preset: 1m-2a
builds_on: [lesson-1]
platforms: [centos7, rehearsal]
---

Ports are a resource, like CPUs and memory. By default an agent offers **31000-32000**.

## Step 1: What the agents offer today

Ask both agents for their ports:

```sh on=agent
curl -s "http://$(hostname -s):5051/state" | grep -o '"ports": *"[^"]*"'
```

```check
- kind: mesos.agents_registered
  count: 2
  hint: Both agents must be registered before you change anything.
```

## Step 2: Write the resources file

```sh on=agent sudo
mkdir -p /etc/mesos-slave-data
echo 'ports:[21000-24000,30000-64000]' > /etc/mesos-slave-data/ports
```

```check
- kind: host.file_contains
  on: agent
  path: /etc/mesos-slave-data/ports
  text: "21000-24000"
  hint: Write the file on every agent.
```

## Step 3: Restart the agents

Remove the checkpoint, then restart:

```sh on=agent sudo platform=centos7
rm -f /var/lib/mesos/meta/slaves/latest
systemctl restart mesos-slave
```

```sh on=agent sudo platform=rehearsal
rm -f /var/lib/mesos/meta/slaves/latest
systemctl restart mesos-slave
```

```check
- kind: mesos.agent_resources
  on: agent
  ports: "[21000-24000, 30000-64000]"
  timeout: 90
  hint: >-
    The agent still advertises the old range: remove /var/lib/mesos/meta/slaves/latest
    before the restart.
```
"""

SIZE = (100, 36)  # the terminal most TUI tests run in

NODES = [
    ("master1", ["master", "marathon", "chronos"]),
    ("agent1", ["agent"]),
    ("agent2", ["agent"]),
]


def write_lessons(root: Path) -> Path:
    for folder, text in (("01-first-cluster", LESSON_1), ("03-port-ranges", LESSON_3)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "lesson.md").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def test_lessons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_lessons(tmp_path / "lessons")
    monkeypatch.setenv("MESOSLAB_LESSONS", str(root))
    return root


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, Path]]:
    with FakeLab(NODES) as lab:
        yield Cluster(lab), write_inventory(lab, tmp_path / "inv.toml")


def make_test_app(inventory: Path | None = None, **options: object) -> MesoslabApp:
    """The app as `mesoslab --inventory FILE` starts it, with no background refresh."""
    # checks settle for at most 5 s: a failing one ends soon, and one attempt still gets the
    # product's whole 5 s for an answer (the loopback servers share the GIL with the app, and
    # a busy machine has made them take over 0.5 s)
    settings: dict[str, Any] = {"refresh_every": 0, "verify_timeout": 5.0, "pace_gc": False}
    settings.update(options)
    if inventory:
        return make_app(inventory=str(inventory), **settings)
    return make_app(context=LabContext(), **settings)  # no lab: not one found around here


async def wait_for(
    pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await pilot.pause(0.05)


def table_text(table: DataTable[object]) -> str:
    rows = []
    for row_key in table.rows:
        rows.append(" | ".join(str(getattr(c, "plain", c)) for c in table.get_row(row_key)))
    return "\n".join(rows)


def static_text(widget: Static) -> str:
    content = widget.content
    if hasattr(content, "plain"):
        return str(content.plain)
    return str(getattr(widget.visual, "plain", content))


def log_text(log: LogPanel) -> str:
    """The panel's text with its wrapping undone (lines joined by single spaces)."""
    return " ".join(log.text.split())


def rendered(widget: Static) -> str:
    """What a Static shows, as a wide terminal prints it, spaces squeezed."""
    console = Console(width=300, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(widget.content)
    return "\n".join(" ".join(line.split()) for line in capture.get().splitlines())


def checks_text(checklist: CheckList) -> str:
    return rendered(checklist.query_one(".checks-body", Static))


def help_text(screen: object) -> str:
    assert isinstance(screen, HelpScreen)
    return "\n".join(
        rendered(s) for s in screen.query(Static) if s.id in ("help-keys", "help-global")
    )


async def open_lesson(pilot: Pilot[None], app: MesoslabApp, lesson_id: str) -> LessonScreen:
    app.open_lesson(lesson_id)
    await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
    screen = app.screen
    assert isinstance(screen, LessonScreen)
    await wait_for(pilot, lambda: screen.ready)
    await pilot.pause(0.05)
    return screen


@pytest.fixture
def ssh_inventory(
    cluster: tuple[Cluster, Path], sshd_server: SshServer, tmp_path: Path
) -> tuple[Cluster, Path]:
    lab, _ = cluster
    login = ("127.0.0.1", sshd_server.port, "root", str(sshd_server.user_key))
    path = write_inventory(lab.lab, tmp_path / "ssh-inv.toml", {n: login for n, _ in NODES})
    return lab, path
