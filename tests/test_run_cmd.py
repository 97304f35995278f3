"""`mesoslab run` and host checks through the CLI, against a real sshd on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sshd import SshServer, sshd_server  # noqa: F401 - pytest fixture

LESSON = """---
id: lesson-1
title: Run test
summary: Commands on two agents.
preset: 1m-2a
platforms: [centos7, rehearsal]
---

Intro.

## Say hello

```sh on=agent
echo "hello from $(hostname -s) as $(id -un)"
```

```sh on=agent1 sudo
touch {marker}
```

```check
- kind: host.file_exists
  on: agent1
  path: {marker}
  hint: Did the touch run?
```

## Fail early

```sh on=agent
echo before failing; exit 3
```

```sh on=agent
touch {never}
```

```check
- kind: host.file_exists
  on: agent
  path: {never}
  hint: It should not exist.
```

## Platform variants

```sh on=agent1 platform=centos7
echo centos-only
```

```sh on=agent1 platform=rehearsal
echo rehearsal-only
```

```check
- kind: host.command
  on: agent1
  command: "true"
  hint: never fails
```
"""


@pytest.fixture
def env(tmp_path: Path, sshd_server: SshServer) -> dict[str, str]:  # noqa: F811
    lessons = tmp_path / "lessons" / "01-run"
    lessons.mkdir(parents=True)
    marker, never = tmp_path / "marker", tmp_path / "never"
    (lessons / "lesson.md").write_text(LESSON.format(marker=marker, never=never))
    inventory = tmp_path / "inv.toml"
    text = ""
    for name in ("agent1", "agent2"):
        text += (
            f'[[node]]\nname = "{name}"\naddress = "127.0.0.1"\nroles = ["agent"]\n'
            f'[node.ssh]\nuser = "root"\nhost = "127.0.0.1"\nport = {sshd_server.port}\n'
            f'key = "{sshd_server.user_key}"\n\n'
        )
    inventory.write_text(text)
    return {
        **os.environ,
        "MESOSLAB_LESSONS": str(tmp_path / "lessons"),
        "MESOSLAB_INVENTORY": str(inventory),
        "MARKER": str(marker),
        "NEVER": str(never),
    }


def mesoslab(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesoslab", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_run_streams_node_prefixed_output_then_verify_passes(env: dict[str, str]) -> None:
    assert mesoslab(env, "verify", "1", "--step", "1", "--timeout", "1").returncode == 1
    out = mesoslab(env, "run", "lesson-1", "--step", "1", "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    hello = [line for line in lines if "│" in line and "hello from" in line]
    assert sorted(line.split("│")[0].strip() for line in hello) == ["agent1", "agent2"]
    assert all(line.endswith("as root") for line in hello)
    assert Path(env["MARKER"]).exists()
    assert "✔ step 1 ran on every node" in out.stdout
    out = mesoslab(env, "verify", "1", "--step", "1", "--format", "json")
    assert out.returncode == 0, out.stdout + out.stderr


def test_run_stops_at_the_first_failure(env: dict[str, str]) -> None:
    out = mesoslab(env, "run", "1", "--step", "2", "--yes")
    assert out.returncode == 1
    assert "before failing" in out.stdout
    assert "agent1: exit 3" in out.stderr and "agent2: exit 3" in out.stderr
    assert "1 later command block(s) not run" in out.stderr
    assert not Path(env["NEVER"]).exists()


def test_run_picks_the_platform_variant(env: dict[str, str]) -> None:
    out = mesoslab(env, "run", "1", "--step", "3", "--yes", "--platform", "rehearsal")
    assert out.returncode == 0, out.stderr
    assert "rehearsal-only" in out.stdout and "centos-only" not in out.stdout
    # without --platform: an inventory file does not say, so centos7 ...
    out = mesoslab(env, "run", "1", "--step", "3", "--yes")
    assert "centos-only" in out.stdout and "rehearsal-only" not in out.stdout
    # ... but a lab's own inventory (beside its lab.toml) runs that lab's variant
    from mesoslab.lab.init import write_lab

    lab = Path(env["MARKER"]).parent / "lab"
    write_lab(lab, platform="rehearsal")
    (lab / ".mesoslab").mkdir()
    (lab / ".mesoslab" / "inventory.toml").write_text(Path(env["MESOSLAB_INVENTORY"]).read_text())
    out = mesoslab(
        {**env, "MESOSLAB_INVENTORY": str(lab / ".mesoslab" / "inventory.toml")},
        *("run", "1", "--step", "3", "--yes"),
    )
    assert out.returncode == 0, out.stderr
    assert "rehearsal-only" in out.stdout and "centos-only" not in out.stdout


def test_run_unknown_step_is_a_usage_error(env: dict[str, str]) -> None:
    out = mesoslab(env, "run", "1", "--step", "7", "--yes")
    assert out.returncode == 2
    assert "lesson-1 has no step 7" in out.stderr


UNSETTLED = """---
id: lesson-1
title: Catch-up test
summary: A step whose commands succeed but whose checks do not pass.
preset: 1m-2a
platforms: [centos7, rehearsal]
---

## Commands succeed, checks do not

```sh on=agent1
true
```

```check
- kind: host.file_exists
  on: agent1
  path: {missing}
  timeout: 1
  hint: never there
```

## Never reached

```sh on=agent1
touch {never}
```

```check
- kind: host.file_exists
  on: agent1
  path: {never}
  hint: never there
```
"""


def test_catch_up_stops_when_a_step_does_not_settle(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from mesoslab.lab.inventory import load_inventory
    from mesoslab.ops.catchup import catch_up
    from mesoslab.remote.session import Session

    lessons = tmp_path / "unsettled" / "01-x"
    lessons.mkdir(parents=True)
    never = tmp_path / "never-reached"
    (lessons / "lesson.md").write_text(UNSETTLED.format(missing=tmp_path / "missing", never=never))
    monkeypatch.setenv("MESOSLAB_LESSONS", str(tmp_path / "unsettled"))
    base = load_inventory(env["MESOSLAB_INVENTORY"])
    agent1 = base.node("agent1")
    assert agent1 is not None
    master1 = replace(agent1, name="master1", roles=("master",))  # the preset's master
    inventory = replace(base, nodes=(master1, *base.nodes))
    with Session(inventory) as session:
        report = catch_up("lesson-1", inventory, platform="centos7", session=session, patience=2.5)
    assert not report.ok
    assert report.failed is None  # every command ran fine
    assert report.unsettled is not None and report.unsettled.step == 1
    # the check's own timeout is 1 s; catch-up gave it its patience instead
    [unsettled] = report.unsettled.results
    assert unsettled.elapsed_s > 1.0, unsettled
    assert report.unsettled_lesson == "lesson-1"
    assert not never.exists()  # step 2 was not run on an unsettled step 1
