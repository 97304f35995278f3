"""`mesoslab ssh NODE -- COMMAND` runs one command as `ssh host cmd` does: output streamed
to stdout and stderr, the command's exit status passed through, no terminal when not
interactive. Against a real sshd (tests/support/sshd.py) named in the lab's inventory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mesoslab.lab.inventory import SshTarget
from mesoslab.lab.lab_inventory import lab_inventory, write_inventory
from mesoslab.lab.spec import load_lab
from mesoslab.lab.ssh_argv import openssh_argv
from tests.support.paths import REPO
from tests.support.sshd import SshServer, sshd_server

__all__ = ["sshd_server"]  # a fixture, used by name


def test_openssh_argv_offers_only_the_inventorys_keys_and_passes_the_command_on() -> None:
    target = SshTarget(host="10.0.3.21", port=2222, user="vagrant", key="/k1", extra_keys=("/k2",))
    argv = openssh_argv(target, ["systemctl", "status", "mesos-slave"])
    assert argv[:3] == ["ssh", "-p", "2222"]
    assert argv[argv.index("-i") + 1] == "/k1" and "/k2" in argv
    assert "IdentitiesOnly=yes" in argv and "StrictHostKeyChecking=no" in argv
    assert argv[-5:] == ["vagrant@10.0.3.21", "--", "systemctl", "status", "mesos-slave"]
    assert "-t" not in argv
    assert openssh_argv(target, tty=True)[1] == "-t"


@pytest.fixture
def lab(tmp_path: Path, sshd_server: SshServer) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "lab"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    subprocess.run(
        [sys.executable, "-m", "mesoslab", "init", str(folder), "--provider", "virtualbox",
         "--platform", "centos7"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    spec = load_lab(folder)
    node = sshd_server.node()
    assert node.ssh is not None
    write_inventory(lab_inventory(spec, {"master1": node.ssh}), spec.state_dir / "inventory.toml")
    return folder, env


def test_a_command_streams_both_outputs_and_passes_its_exit_status_through(
    lab: tuple[Path, dict[str, str]],
) -> None:
    folder, env = lab
    proc = subprocess.run(
        [sys.executable, "-m", "mesoslab", "ssh", "master1", "-C", str(folder), "--",
         "echo out; echo err >&2; [ -t 0 ] || echo no terminal; exit 7"],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.splitlines() == ["out", "no terminal"]
    assert proc.stderr.strip() == "err"


def test_words_are_joined_as_ssh_joins_them(lab: tuple[Path, dict[str, str]]) -> None:
    folder, env = lab
    proc = subprocess.run(
        [sys.executable, "-m", "mesoslab", "ssh", "master1", "-C", str(folder), "--",
         "printf", "%s-", "a", "b"],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a-b-"


def test_an_unknown_node_is_refused_with_the_lab_nodes(lab: tuple[Path, dict[str, str]]) -> None:
    folder, env = lab
    proc = subprocess.run(
        [sys.executable, "-m", "mesoslab", "ssh", "nosuch", "-C", str(folder), "--", "true"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "no node 'nosuch'" in proc.stderr and "master1" in proc.stderr
