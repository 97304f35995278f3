"""Real ZooKeeper servers for tests: the Debian ``zookeeper`` package's jars run with java.

Servers start as child processes (all JVMs at once, so startup costs one JVM start, not
several) with a small heap, the AdminServer disabled and their data in a temporary folder.
A three-server ensemble listens on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (all of 127/8 is
loopback on Linux) with the same client port on each address, so one inventory fits it.

The helpers talk to the servers with their own tiny socket code, independent of the
code under test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port
from tests.support.prerequisites import missing

ZK_JAR = Path("/usr/share/java/zookeeper.jar")  # its manifest Class-Path names its deps
LOG_JAR = Path("/usr/share/java/slf4j-simple.jar")  # logs to stderr -> the server's log file
MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
JVM_OPTS = (
    "-Xmx128m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",  # quick start matters more than peak speed here
    "-Dzookeeper.admin.enableServer=false",
    "-Dzookeeper.jmx.log4j.disable=true",
)
TICK_MS = 200  # fast elections; ZooKeeper's default is 2000
# Tests share a slow, busy 2-core machine: an fsync of the transaction log took 2.3 s there,
# and with syncLimit at 10 ticks (2 s) the leader dropped its followers and every client's
# session expired. The servers keep no data worth an fsync, allow peers 10 s to sync, and
# accept the session timeouts clients ask for (up to 60 s; the default cap is 20 ticks, 4 s).
TOLERANT = (
    "forceSync=no",
    f"initLimit={10_000 // TICK_MS}",
    f"syncLimit={10_000 // TICK_MS}",
    "maxSessionTimeout=60000",
)


def missing_reason() -> str | None:
    """Why real ZooKeeper servers cannot run here, or None when they can."""
    if shutil.which("java") is None:
        return "java is not installed (apt-get install default-jre-headless)"
    if not ZK_JAR.exists():
        return f"{ZK_JAR} is missing (apt-get install zookeeper)"
    return None


def require_zookeeper() -> None:
    """Skip (fail on CI, which installs zookeeper and Java) without a real ZooKeeper."""
    reason = missing_reason()
    if reason:
        missing(f"real ZooKeeper unavailable: {reason}")


def classpath() -> str:
    jars = [ZK_JAR]
    if LOG_JAR.exists():
        jars.append(LOG_JAR)
    return ":".join(str(j) for j in jars)


def four_letter(address: str, port: int, word: str = "srvr", timeout: float = 1.0) -> str | None:
    """The answer to a four-letter word, or None when the server does not answer."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.sendall(word.encode())
            chunks = []
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError:
        return None
    return b"".join(chunks).decode("utf-8", "replace")


@dataclass
class ZkServer:
    """One ZooKeeper server process."""

    name: str
    address: str
    client_port: int
    root: Path  # the server's own folder: zoo.cfg, data/, server.log
    myid: int = 0
    peers: list[str] = field(default_factory=list)  # "server.N=host:peer:election" lines
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.root / "zoo.cfg"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def write_config(self) -> None:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"tickTime={TICK_MS}",
            *TOLERANT,
            f"dataDir={data}",
            f"clientPort={self.client_port}",
            f"clientPortAddress={self.address}",
            "admin.enableServer=false",
            *(f"{k}={v}" for k, v in self.settings.items()),
            *self.peers,
        ]
        if self.peers:
            (data / "myid").write_text(f"{self.myid}\n")
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.write_config()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["java", *JVM_OPTS, "-cp", classpath(), MAIN, str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def srvr(self) -> str | None:
        return four_letter(self.address, self.client_port, "srvr")

    def mode(self) -> str | None:
        """``leader``/``follower``/``standalone``; ``not serving``; None when no answer."""
        text = self.srvr()
        if text is None:
            return None
        if "not currently serving" in text:
            return "not serving"
        for line in text.splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def stop_all(servers: Iterable[ZkServer]) -> None:
    """Stop servers together: signal every one first, then wait for each."""
    servers = list(servers)
    for server in servers:
        if server.running and server.process is not None:
            server.process.terminate()
    for server in servers:
        server.stop()


def standalone(root: Path, name: str = "zk", **settings: str) -> ZkServer:
    port = free_port()
    server_root = root / name
    server_root.mkdir(parents=True, exist_ok=True)
    return ZkServer(name, "127.0.0.1", port, server_root, settings=dict(settings))


def ensemble(
    root: Path,
    addresses: tuple[str, ...] = ("127.0.0.1", "127.0.0.2", "127.0.0.3"),
    names: tuple[str, ...] = ("zk1", "zk2", "zk3"),
    **settings: str,
) -> list[ZkServer]:
    """Servers of one ensemble: same client, peer and election ports on each address."""
    client = free_port(addresses)
    peer = free_port(addresses, avoid=[client])
    election = free_port(addresses, avoid=[client, peer])
    peers = [f"server.{i}={a}:{peer}:{election}" for i, a in enumerate(addresses, start=1)]
    servers = []
    for i, (address, name) in enumerate(zip(addresses, names, strict=True), start=1):
        server_root = root / name
        server_root.mkdir(parents=True, exist_ok=True)
        servers.append(ZkServer(name, address, client, server_root, i, list(peers), dict(settings)))
    return servers


def orphan(root: Path, address: str = "127.0.0.4", name: str = "orphan") -> ZkServer:
    """A server whose ensemble partners never come up: it never serves (no quorum)."""
    others = ("127.0.0.5", "127.0.0.6")
    client = free_port([address, *others])
    peer = free_port([address, *others], avoid=[client])
    election = free_port([address, *others], avoid=[client, peer])
    peers = [f"server.1={address}:{peer}:{election}"] + [
        f"server.{i}={a}:{peer}:{election}" for i, a in enumerate(others, start=2)
    ]
    server_root = root / name
    server_root.mkdir(parents=True, exist_ok=True)
    return ZkServer(name, address, client, server_root, 1, peers)


def wait_for(
    servers: list[ZkServer],
    ready: Callable[[list[str | None]], bool],
    timeout: float = 30.0,
) -> list[str | None]:
    """Poll the servers' modes until ``ready(modes)``; raise with their logs if they never are."""
    deadline = time.monotonic() + timeout
    modes: list[str | None] = []
    while time.monotonic() < deadline:
        modes = [s.mode() for s in servers]
        if ready(modes):
            return modes
        dead = [s for s in servers if s.process is not None and s.process.poll() is not None]
        if dead:
            break
        time.sleep(0.1)
    report = "\n".join(f"--- {s.name} ({s.mode()}):\n{s.log_tail()}" for s in servers)
    raise RuntimeError(f"ZooKeeper servers not ready (modes {modes}):\n{report}")


def ensemble_ready(modes: list[str | None]) -> bool:
    return modes.count("leader") == 1 and modes.count("follower") == len(modes) - 1


def all_answer(modes: list[str | None]) -> bool:
    return all(m is not None for m in modes)
