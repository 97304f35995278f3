"""Run the twin daemons as real processes for tests (``python -m mesoslab_twin ...``).

Each node gets its own root folder (``--root``): the test writes the same configuration
files a learner writes on a lab node (``/etc/mesos/zk``, ``/etc/mesos-master/quorum``,
``/etc/mesos-slave/resources``, ...) and the daemons read them through the package logic.
Nodes listen on their own loopback address (127.0.0.x), with one port per service shared by
all nodes, so one :class:`~mesoslab.lab.inventory.Inventory` fits the lab.

Every daemon runs in its own process group; tasks run in groups of their own (they survive
an agent restart, as with Mesos), so :meth:`TwinLab.stop_all` also kills every process whose
working directory lies under the lab's folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesoslab.lab.inventory import Inventory, Node
from tests.support.paths import REPO
from tests.support.ports import free_port

SRC = REPO / "src"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    timeout: float = 30.0,  # generous: a busy CI machine can stall a daemon for seconds
    accept: str = "application/json",
) -> Answer:
    """One HTTP request; redirects are returned, not followed."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Accept": accept})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers.items()), exc.read())


def wait_until(
    what: str, probe: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1
) -> Any:
    """Poll ``probe`` until it returns something truthy (exceptions count as not yet).

    The deadline is generous on purpose: it only costs time when something is wrong, and a
    busy 2-core CI machine has made 20 s waits fail that passed in 2 s on a quiet one."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@dataclass
class Daemon:
    name: str
    args: list[str]
    root: Path
    address: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self) -> Daemon:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mesoslab_twin", *self.args, f"--root={self.root}"],
                env=twin_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def wait_exit(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path: str, **kwargs: Any) -> Answer:
        return http("GET", self.url + path, **kwargs)

    def wait_http(self, path: str = "/health", timeout: float = 15.0) -> None:
        def ready() -> bool:
            if not self.running:
                raise AssertionError(f"{self.name} exited:\n{self.output()[-3000:]}")
            return self.get(path, timeout=1.0).status < 500

        wait_until(f"{self.name} to answer {path}", ready, timeout)


def twin_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOS")}
    env["PYTHONPATH"] = str(SRC)
    env.pop("MESOSLAB_TWIN_ROOT", None)
    return env


def write(root: Path, node_path: str, content: str) -> Path:
    path = root / node_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


class TwinLab:
    """Nodes on 127.0.0.x, each a folder under ``base``; one port per service."""

    def __init__(self, base: Path, addresses: list[str]) -> None:
        self.base = base
        self.ports = {
            "mesos_master": free_port(addresses),
            "mesos_agent": free_port(addresses),
            "marathon": free_port(addresses),
            "chronos": free_port(addresses),
        }
        self.daemons: list[Daemon] = []
        self.nodes: dict[str, tuple[str, tuple[str, ...]]] = {}

    def root(self, node: str) -> Path:
        return self.base / node

    def _add(self, node: str, address: str, role: str) -> None:
        _, roles = self.nodes.get(node, (address, ()))
        self.nodes[node] = (address, tuple(dict.fromkeys((*roles, role))))

    def master(
        self,
        node: str,
        address: str,
        *,
        zk: str | None = None,
        quorum: int = 1,
        extra: dict[str, str] | None = None,
    ) -> Daemon:
        """A master configured like the packages: /etc/default/mesos*, /etc/mesos/zk and
        one file per flag in /etc/mesos-master."""
        root = self.root(node)
        write(root, "/etc/default/mesos", 'LOGS=/var/log/mesos\nULIMIT="-n 8192"\n')
        if zk:
            write(root, "/etc/mesos/zk", zk + "\n")
            write(root, "/etc/default/mesos-master", "ZK=`cat /etc/mesos/zk`\n")
            write(root, "/etc/mesos-master/quorum", f"{quorum}\n")
        write(root, "/etc/mesos-master/work_dir", "/var/lib/mesos\n")
        write(root, "/etc/mesos-master/ip", address + "\n")
        write(root, "/etc/mesos-master/hostname", node + "\n")
        write(root, "/etc/mesos-master/port", f"{self.ports['mesos_master']}\n")
        for name, value in (extra or {}).items():
            write(root, f"/etc/mesos-master/{name}", value + "\n")
        self._add(node, address, "master")
        daemon = Daemon(f"master-{node}", ["master"], root, address, self.ports["mesos_master"])
        self.daemons.append(daemon)
        return daemon

    def agent(
        self, node: str, address: str, *, master: str, extra: dict[str, str] | None = None
    ) -> Daemon:
        root = self.root(node)
        write(root, "/etc/default/mesos", 'LOGS=/var/log/mesos\nULIMIT="-n 8192"\n')
        if master.startswith("zk://"):
            write(root, "/etc/mesos/zk", master + "\n")
            write(root, "/etc/default/mesos-slave", "MASTER=$(cat /etc/mesos/zk)\n")
        else:
            write(root, "/etc/mesos-slave/master", master + "\n")
        write(root, "/etc/mesos-slave/work_dir", "/var/lib/mesos\n")
        write(root, "/etc/mesos-slave/ip", address + "\n")
        write(root, "/etc/mesos-slave/hostname", node + "\n")
        write(root, "/etc/mesos-slave/port", f"{self.ports['mesos_agent']}\n")
        for name, value in (extra or {}).items():
            write(root, f"/etc/mesos-slave/{name}", value + "\n")
        self._add(node, address, "agent")
        daemon = Daemon(f"agent-{node}", ["agent"], root, address, self.ports["mesos_agent"])
        self.daemons.append(daemon)
        return daemon

    def marathon(self, node: str, address: str, *, master: str, zk: str | None = None) -> Daemon:
        root = self.root(node)
        options = [
            f"MARATHON_HTTP_PORT={self.ports['marathon']}",
            f"MARATHON_HOSTNAME={node}",
            f"MARATHON_HTTP_ADDRESS={address}",
        ]
        if master.startswith("zk://"):
            write(root, "/etc/mesos/zk", master + "\n")
        else:
            options.append(f"MARATHON_MASTER={master}")
        if zk:
            options.append(f"MARATHON_ZK={zk}")
        write(root, "/etc/default/marathon", "\n".join(options) + "\n")
        self._add(node, address, "marathon")
        daemon = Daemon(f"marathon-{node}", ["marathon"], root, address, self.ports["marathon"])
        self.daemons.append(daemon)
        return daemon

    def chronos(self, node: str, address: str, *, master: str) -> Daemon:
        root = self.root(node)
        write(root, "/etc/chronos/conf/http_port", f"{self.ports['chronos']}\n")
        write(root, "/etc/chronos/conf/hostname", node + "\n")
        write(root, "/etc/chronos/conf/http_address", address + "\n")
        if master.startswith("zk://"):
            write(root, "/etc/mesos/zk", master + "\n")
        else:
            write(root, "/etc/chronos/conf/master", master + "\n")
        self._add(node, address, "chronos")
        daemon = Daemon(f"chronos-{node}", ["chronos"], root, address, self.ports["chronos"])
        self.daemons.append(daemon)
        return daemon

    def tool(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mesoslab_twin", *args],
            env=twin_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def inventory(self) -> Inventory:
        return Inventory(
            nodes=tuple(Node(name, addr, roles) for name, (addr, roles) in self.nodes.items()),
            ports={**self.ports, "zookeeper": 2181},
            source="twin lab",
        )

    def stop_all(self) -> None:
        for daemon in self.daemons:
            if daemon.running and daemon.process is not None:
                with contextlib.suppress(OSError):
                    os.killpg(daemon.process.pid, signal.SIGTERM)
        for daemon in self.daemons:
            daemon.stop()
        kill_processes_under(self.base)


def kill_processes_under(base: Path) -> int:
    """Kill every process whose working directory is under ``base`` (task processes)."""
    killed = 0
    prefix = str(base.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == prefix or cwd.startswith(prefix + os.sep):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed
