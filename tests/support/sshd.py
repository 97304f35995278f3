"""A real OpenSSH server on loopback for the tests (no mocks of SSH).

``sshd_server`` (session scope) starts ``/usr/sbin/sshd -D -e`` with its own host key, a
user key in its own ``authorized_keys``, a free port on 127.0.0.1 and no PAM or passwords,
and stops it at the end. ``ssh_node`` is a Node that logs in to it as root; ``ssh_pool`` is
a fresh SshPool per test.

Sessions get ``PATH=<tmp>/bin:<the usual PATH>`` (sshd_config ``SetEnv``). ``<tmp>/bin``
holds one stand-in, ``systemctl``: it answers for units named ``labfake-*`` from state
files the tests write (``<tmp>/units/<unit>.is-active`` holds ``active``, ``failed``, ...),
and hands every other unit to the real ``systemctl`` when there is one. systemd is not PID 1
in a container, so ``systemctl is-active`` cannot answer for a real unit there; the stand-in
lets the service checks be tested end to end over real SSH.

Tests import these fixtures: ``from tests.support.sshd import ssh_node, ssh_pool, sshd_server``.
Skipped (with the reason) when not root or when OpenSSH's server is not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.lab.inventory import Node, SshTarget
from mesoslab.remote.pool import SshPool
from tests.support.ports import free_port
from tests.support.prerequisites import missing

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_FAKE_SYSTEMCTL = """#!/bin/sh
# Test stand-in: answers for units named labfake-*, passes everything else on.
verb=$1
unit=$2
case "$unit" in
  labfake-*) ;;
  *)
    if [ -n "{real}" ]; then exec "{real}" "$@"; fi
    echo "systemctl: command not found" >&2
    exit 127 ;;
esac
unit=${{unit%.service}}
state_file="{units}/$unit.$verb"
case "$verb" in
  is-active)
    if [ -f "$state_file" ]; then state=$(cat "$state_file"); else state=inactive; fi
    echo "$state"
    [ "$state" = active ] && exit 0
    exit 3 ;;
  is-enabled)
    if [ ! -f "$state_file" ]; then
      echo "Failed to get unit file state for $unit.service: No such file or directory" >&2
      exit 1
    fi
    state=$(cat "$state_file")
    echo "$state"
    case "$state" in enabled|enabled-runtime|static|alias|indirect|generated) exit 0 ;; esac
    exit 1 ;;
esac
echo "unsupported verb $verb" >&2
exit 2
"""


NOT_ROOT = "the SSH tests start sshd and log in as root: run them as root"


def skip_reason() -> str | None:
    """Why a real sshd cannot run here, or None."""
    if os.geteuid() != 0:
        return NOT_ROOT
    if not SSHD.exists():
        return f"{SSHD} is missing: install openssh-server to run the SSH tests"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is missing: install openssh-client to run the SSH tests"
    return None


def require_sshd() -> None:
    """Skip (fail on CI, which installs openssh) when a real sshd cannot run here."""
    reason = skip_reason()
    if reason:
        missing(reason, ci_installs_it=reason != NOT_ROOT)


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mesoslab-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def rendezvous(folder: Path, parties: int) -> str:
    """Shell that marks its arrival in ``folder`` (empty at first), then waits until
    ``parties`` have arrived; it fails after 30 s of waiting. Commands on several nodes that all
    pass through it ran at the same time, however slow the machine: elapsed-time bounds of
    parallelism failed on a busy CI machine."""
    return (
        f"mktemp {folder}/arrived.XXXXXX >/dev/null; tries=0; "
        f'until [ "$(ls {folder} | wc -l)" -ge {parties} ]; do '
        'tries=$((tries + 1)); [ "$tries" -le 300 ] || '
        '{ echo "the others never arrived" >&2; exit 1; }; sleep 0.1; done'
    )


class SshServer:
    """One sshd process (and the sessions it forks) serving 127.0.0.1:<port>."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.host_key = keygen(workdir / "host_ed25519")
        self.user_key = keygen(workdir / "user_ed25519")
        (workdir / "authorized_keys").write_text(
            Path(f"{self.user_key}.pub").read_text(encoding="utf-8"), encoding="utf-8"
        )
        self.bin_dir = workdir / "bin"
        self.units_dir = workdir / "units"
        self.bin_dir.mkdir(exist_ok=True)
        self.units_dir.mkdir(exist_ok=True)
        real = shutil.which("systemctl", path=STD_PATH) or ""
        fake = self.bin_dir / "systemctl"
        fake.write_text(_FAKE_SYSTEMCTL.format(real=real, units=self.units_dir), encoding="utf-8")
        fake.chmod(0o755)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "sshd.log"

    def start(self) -> None:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            config = self._write_config()
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    [str(SSHD), "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            if self._wait_listening():
                return
            self.stop()
        raise RuntimeError(f"sshd did not start; its log:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.kill_connections()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def connection_pids(self) -> list[int]:
        """The per-connection sshd processes forked by this server (its children)."""
        if self.process is None:
            return []
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def kill_connections(self) -> list[int]:
        """SIGKILL every connection of this server (the listener keeps running)."""
        pids = self.connection_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def node(
        self,
        name: str = "node1",
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        user: str = "root",
        key: str | None = None,
    ) -> Node:
        """A Node that logs in to this server (override a field to break it)."""
        target = SshTarget(
            host=host,
            port=self.port if port is None else port,
            user=user,
            key=str(self.user_key) if key is None else key,
        )
        return Node(name=name, address="127.0.0.1", roles=("agent",), ssh=target)

    def set_unit(self, unit: str, verb: str, state: str | None) -> None:
        """What the stand-in systemctl answers for ``systemctl <verb> <unit>``."""
        path = self.units_dir / f"{unit}.{verb}"
        if state is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(state + "\n", encoding="utf-8")

    def _write_config(self) -> Path:
        config = self.workdir / "sshd_config"
        lines = [
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",
            f"PidFile {self.workdir / 'sshd.pid'}",
            f"SetEnv PATH={self.bin_dir}:{STD_PATH}",
            "MaxStartups 50:30:100",
            "LogLevel ERROR",
        ]
        if SFTP_SERVER.exists():
            lines.append(f"Subsystem sftp {SFTP_SERVER}")
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return config

    def _wait_listening(self, limit: float = 10.0) -> bool:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.settimeout(2)
                    if sock.recv(8).startswith(b"SSH-"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_sshd()
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ssh_node(sshd_server: SshServer) -> Node:
    return sshd_server.node()


@pytest.fixture
def ssh_pool() -> Iterator[SshPool]:
    pool = SshPool()
    try:
        yield pool
    finally:
        pool.close()
