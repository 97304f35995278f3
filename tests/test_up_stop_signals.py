"""`mesoslab up` stopped by SIGTERM or SIGHUP stops Vagrant's whole process group, as Ctrl-C
does, so no `vagrant up` is left holding the lab's lock.

Real processes: the `mesoslab` command, a real `timeout`, and a stand-in `vagrant` (a bash
script: SIGINT runs its clean-up as Vagrant's Ctrl-C does; it ignores SIGTERM and SIGHUP,
so only the SIGINT that mesoslab sends to its group ends it; and it has a child there).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.processes import processes_in_group

FAKE_VAGRANT = """#!/usr/bin/env bash
if [ "$1" = up ]; then
  echo $$ > "$FAKE_VAGRANT_PID"
  sleep 300 &
  trap 'echo "==> master1: Waiting for cleanup before exiting..."; kill $!; exit 1' INT
  trap '' TERM HUP
  while true; do echo "==> master1: Booting VM..."; sleep 0.2 & wait $!; done
fi
echo "fake vagrant: $* is not supported here" >&2
exit 1
"""


@pytest.fixture
def lab_with_fake_vagrant(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    vagrant = bin_dir / "vagrant"
    vagrant.write_text(FAKE_VAGRANT)
    vagrant.chmod(0o755)
    mesoslab = [sys.executable, "-m", "mesoslab"]
    folder = tmp_path / "lab"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env["PYTHONPATH"] = str(REPO / "src")
    env["FAKE_VAGRANT_PID"] = str(tmp_path / "vagrant.pid")
    subprocess.run(
        [*mesoslab, "init", str(folder), "--provider", "virtualbox", "--platform", "centos7"],
        env=env,
        check=True,
        capture_output=True,
    )
    return folder, env, tmp_path / "vagrant.pid"


def _wait_for(path: Path, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"the stand-in vagrant never started ({path} not written)")


def _stop_up(
    lab: tuple[Path, dict[str, str], Path], prefix: list[str], sig: signal.Signals
) -> tuple[int, str, str, int]:
    """Start ``PREFIX mesoslab up`` with the stand-in Vagrant, send ``sig`` to the first
    process once Vagrant runs; its exit status, stdout, stderr and Vagrant's pid."""
    folder, env, pid_file = lab
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "mesoslab", "up", "-C", str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    vagrant_pid = _wait_for(pid_file)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err, vagrant_pid


def test_sigterm_through_a_real_timeout_stops_vagrant_up_and_its_children(
    lab_with_fake_vagrant: tuple[Path, dict[str, str], Path],
) -> None:
    # `timeout 300 mesoslab up`, then SIGTERM to timeout (as CI or systemd stop the tree
    # from its top): timeout passes SIGTERM on to mesoslab, which must stop Vagrant's group.
    status, out, err, vagrant_pid = _stop_up(
        lab_with_fake_vagrant, ["timeout", "300"], signal.SIGTERM
    )
    assert status == 128 + signal.SIGTERM, err  # mesoslab's status, passed on
    assert processes_in_group(vagrant_pid) == []  # vagrant and its `sleep 300` are gone
    assert "Waiting for cleanup before exiting" in out  # Vagrant got its Ctrl-C
    assert "`mesoslab up` continues" in err


def test_sighup_stops_vagrant_up_with_status_129(
    lab_with_fake_vagrant: tuple[Path, dict[str, str], Path],
) -> None:
    status, out, err, vagrant_pid = _stop_up(lab_with_fake_vagrant, [], signal.SIGHUP)
    assert status == 128 + signal.SIGHUP, err
    assert processes_in_group(vagrant_pid) == []
    assert "Waiting for cleanup before exiting" in out
