"""A twin master, agent and Marathon on loopback, for the tests of Marathon's /v2 API.

Marathon runs with ``--event_subscriber http_callback`` (``/etc/marathon/conf``), so the
event subscriptions are on. :func:`read_events` reads ``/v2/events`` as a real SSE client
does, on a socket of its own.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.twin_lab import Daemon, TwinLab, http, wait_until, write

ADDRESS_MASTER = "127.0.0.1"
ADDRESS_AGENT = "127.0.0.2"


@dataclass
class MarathonLab:
    lab: TwinLab
    master: Daemon
    agent: Daemon
    marathon: Daemon

    @property
    def url(self) -> str:
        return self.marathon.url

    def app(self, app_id: str) -> dict[str, Any]:
        return dict(http("GET", f"{self.url}/v2/apps{app_id}").json()["app"])

    def deployed(self, app_id: str, instances: int) -> dict[str, Any]:
        """Wait until the app runs ``instances`` tasks and no deployment holds it."""

        def done() -> dict[str, Any] | None:
            app = self.app(app_id)
            running = app["tasksRunning"] == instances == len(app["tasks"])
            return app if running and not app["deployments"] else None

        found: dict[str, Any] = wait_until(f"{app_id} deployed with {instances}", done)
        return found


def marathon_lab(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[MarathonLab]:
    """For a module's fixture: the lab, stopped after the module's tests."""
    found = start_marathon_lab(tmp_path_factory.mktemp(name))
    try:
        yield found
    finally:
        found.lab.stop_all()


def start_marathon_lab(base: Path) -> MarathonLab:
    twins = TwinLab(base, [ADDRESS_MASTER, ADDRESS_AGENT])
    master_url = f"{ADDRESS_MASTER}:{twins.ports['mesos_master']}"
    try:
        master = twins.master("master1", ADDRESS_MASTER)
        agent = twins.agent("agent1", ADDRESS_AGENT, master=master_url)
        marathon = twins.marathon("master1", ADDRESS_MASTER, master=master_url)
        write(twins.root("master1"), "/etc/marathon/conf/event_subscriber", "http_callback\n")
        for daemon in (master, agent, marathon):
            daemon.start()
        for daemon in (master, agent):
            daemon.wait_http()
        marathon.wait_http("/ping")
        wait_until(
            "marathon registered and an agent",
            lambda: (
                master.get("/master/frameworks").json()["frameworks"]
                and master.get("/master/slaves").json()["slaves"]
            ),
        )
    except BaseException:
        twins.stop_all()
        raise
    return MarathonLab(twins, master, agent, marathon)


@dataclass
class EventReader:
    """An open ``/v2/events`` stream: its status, headers and the events as they come."""

    status: int
    headers: dict[str, str]
    sock: socket.socket
    events: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)
    raw: list[bytes] = field(default_factory=list)

    def next(
        self,
        event_type: str,
        timeout: float = 60.0,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        **fields: Any,
    ) -> dict[str, Any]:
        """The next event of that type whose fields have those values (and ``where``
        holds); the others before it are passed over."""

        def wanted(data: dict[str, Any]) -> bool:
            return where(data) and all(data.get(k) == v for k, v in fields.items())

        return self.until(event_type, wanted, timeout)[-1][1]

    def until(
        self, event_type: str, where: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> list[tuple[str, dict[str, Any]]]:
        """Every event up to the first of that type for which ``where`` holds, in order."""
        seen: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append((name, data))
            if name == event_type and where(data):
                return seen
        names = [n for n, _ in seen][-20:]
        raise AssertionError(f"no such {event_type} within {timeout}s; last seen: {names}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # the reader thread's file holds it open
        self.sock.close()


def read_events(url: str, query: str = "", accept: str = "text/event-stream") -> EventReader:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        f"GET /v2/events{query} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\n\r\n".encode()
    )
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline().decode().strip()) != "":
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    found = EventReader(status, headers, sock)

    def pump() -> None:
        name = ""
        try:
            for line in _lines(reader):
                found.raw.append(line)
                text = line.decode().rstrip("\r\n")
                if text.startswith("event: "):
                    name = text.removeprefix("event: ")
                elif text.startswith("data: "):
                    found.events.put((name, json.loads(text.removeprefix("data: "))))
        except (OSError, ValueError):
            return

    if status == 200:
        threading.Thread(target=pump, daemon=True).start()
    return found


def _lines(reader: Any) -> Iterator[bytes]:
    while line := reader.readline():
        yield line
