"""The classroom's real parts for tests: `mesoslab class serve` in a subprocess on loopback,
learners as XDG homes of their own (several share one machine), a TCP proxy that can swallow
the server's answers (a reply lost on the way back), and polling with deadlines."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from mesoslab.ops.classroom.events import Event, verify_event
from mesoslab.ops.classroom.outbox import Outbox, OutboxStats
from mesoslab.ops.classroom.sender import lock_holder
from mesoslab.ops.classroom.store import ClassInfo, ClassStore
from tests.support.fixture_server import FakeLab
from tests.support.lesson3_cluster import Lesson3Cluster, write_inventory
from tests.support.ports import free_port

MESOSLAB = [sys.executable, "-m", "mesoslab"]
SRC = str(Path(__file__).resolve().parents[2] / "src")
T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy, or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def xdg_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **extra,
    }
    return env


@dataclass
class ClassServer:
    """`mesoslab class serve` on 127.0.0.1, its database under ``home``/data."""

    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    args: tuple[str, ...] = ()
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.home / "data" / "mesoslab" / "classroom.sqlite3"

    @property
    def output(self) -> str:
        return (self.home / "serve.out").read_text()

    def start(self) -> ClassServer:
        self.home.mkdir(parents=True, exist_ok=True)
        out = open(self.home / "serve.out", "w")  # noqa: SIM115 - the child writes it
        self.proc = subprocess.Popen(
            [
                *MESOSLAB,
                "class",
                "serve",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-qr",
                *self.args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=xdg_env(self.home),
        )
        out.close()
        wait_for(self._healthy, 30, f"class serve on {self.url} ({self.home / 'serve.out'})")
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"class serve exited: {self.output}")
        try:
            return httpx.get(f"{self.url}/api/health", timeout=1, verify=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.proc = None

    def store(self) -> ClassStore:
        return ClassStore(self.db)

    def info(self) -> ClassInfo:
        store = self.store()
        try:
            return store.info()
        finally:
            store.close()

    @property
    def code(self) -> str:
        return self.info().code

    @property
    def token(self) -> str:
        return self.info().instructor_token

    def state(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/state",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=5,
            verify=False,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def event_ids(self, name: str) -> list[str]:
        store = self.store()
        try:
            return store.event_ids(name)
        finally:
            store.close()


@dataclass
class LearnerHome:
    """A learner on this machine: their own XDG config, state and data folders."""

    name: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return xdg_env(self.home, **extra)

    def mesoslab(
        self, *args: str, timeout: float = 60, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*MESOSLAB, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(**extra),
        )

    def start(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*MESOSLAB, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env(**extra),
        )

    def join(self, url: str, code: str, *more: str) -> None:
        out = self.mesoslab("class", "join", url, "--code", code, "--name", self.name, *more)
        assert out.returncode == 0, out.stdout + out.stderr

    @property
    def outbox_path(self) -> Path:
        return self.home / "state" / "mesoslab" / "class-outbox.sqlite3"

    def queue(self, count: int, lesson: str = "lesson-3") -> list[Event]:
        """Put ``count`` verify events straight into the outbox (no sender is started)."""
        events = [
            verify_event(lesson, [(1 + i % 4, "fail" if i % 3 else "pass", [])])
            for i in range(count)
        ]
        with Outbox(self.outbox_path) as box:
            for event in events:
                box.put(event)
        return events

    def stats(self) -> OutboxStats:
        with Outbox(self.outbox_path) as box:
            return box.stats()

    def sender_pid(self) -> int | None:
        return lock_holder(self.home / "state" / "mesoslab" / "class-sender.lock")

    def stop_sender(self) -> None:
        """End a detached sender this learner's commands started (it would retry for an
        hour against a server the test has stopped)."""
        pid = self.sender_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def lesson3_cluster(tmp_path: Path) -> Iterator[tuple[Lesson3Cluster, Path]]:
    """A lesson-3 cluster on loopback HTTP servers and its inventory, for learners' verifies."""
    nodes = [("master1", ["master", "marathon"]), ("agent1", ["agent"]), ("agent2", ["agent"])]
    with FakeLab(nodes) as lab:
        yield Lesson3Cluster(lab), write_inventory(lab, tmp_path / "inv.toml")


@pytest.fixture
def learners(tmp_path: Path) -> Iterator[Callable[[str], LearnerHome]]:
    """Make learners (``learners("alice")``); their detached senders end with the test."""
    made: list[LearnerHome] = []

    def make(name: str) -> LearnerHome:
        learner = LearnerHome(name, tmp_path / name)
        made.append(learner)
        return learner

    yield make
    for learner in made:
        learner.stop_sender()


class HoldingProxy:
    """A TCP proxy in front of the class server. With ``hold`` set it still forwards each
    request (the server stores the events) but swallows the answers: the learner's sender
    waits for a reply that never comes, as when Wi-Fi drops on the way back."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.hold = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._conns += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while data := src.recv(65536):
                if answers and self.hold.is_set():
                    continue  # the reply is lost
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        for s in self._conns:
            s.close()
