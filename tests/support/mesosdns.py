"""The Mesos-DNS twin as a real process for tests, ``dig`` to ask it, and the two servers
around it the tests control: a fake upstream resolver (UDP) and a fake master whose
``/master/state`` a test sets.

The helpers build and read DNS packets with their own few lines of code (and ``dig``),
independent of the codec under test.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.ports import free_port
from tests.support.twin_lab import Daemon, wait_until, write

CONFIG_PATH = "/etc/mesos-dns/config.json"


def free_dns_port(address: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on ``address``."""
    for _ in range(50):
        port = free_port([address])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((address, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for TCP and UDP")


@dataclass
class DnsDaemon:
    daemon: Daemon  # its url is the HTTP API's
    port: int  # DNS, UDP and TCP


def mesos_dns(
    base: Path, config: dict[str, Any], *, name: str = "mesos-dns", verbose: bool = True
) -> DnsDaemon:
    """A Mesos-DNS twin on 127.0.0.1 (not started) reading ``config`` from its
    /etc/mesos-dns/config.json; ``port``/``httpport`` default to free ones."""
    config = {
        "listener": "127.0.0.1",
        "httplistener": "127.0.0.1",
        "port": free_dns_port(),
        "httpport": free_port(),
        **config,
    }
    root = base / name
    write(root, CONFIG_PATH, json.dumps(config, indent=2) + "\n")
    args = ["mesos-dns", f"-config={CONFIG_PATH}"] + (["-v=1"] if verbose else [])
    daemon = Daemon(name, args, root, "127.0.0.1", int(config["httpport"]))
    return DnsDaemon(daemon, int(config["port"]))


# --------------------------------------------------------------------------- dig


@dataclass
class Dig:
    status: str
    flags: set[str]
    answer: list[tuple[str, int, str, str]]  # (name, ttl, type, data)
    authority: list[tuple[str, int, str, str]]
    additional: list[tuple[str, int, str, str]]
    text: str

    def data(self, rtype: str | None = None) -> list[str]:
        return [d for _n, _t, t, d in self.answer if rtype is None or t == rtype]


_SECTION_RE = re.compile(r"^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:$")


def dig_available() -> bool:
    return shutil.which("dig") is not None


def dig(
    port: int,
    name: str,
    rtype: str = "A",
    *,
    tcp: bool = False,
    options: tuple[str, ...] = (),
    timeout: float = 2.0,
) -> Dig:
    """``dig @127.0.0.1 -p PORT NAME TYPE``, parsed (status NONE when no answer came)."""
    args = [
        "dig",
        "@127.0.0.1",
        "-p",
        str(port),
        name,
        rtype,
        "+tries=1",
        f"+time={max(1, int(timeout))}",
        *options,
    ]
    if tcp:
        args.append("+tcp")
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout * 3 + 5)
    text = done.stdout
    status_match = re.search(r"status: (\w+)", text)
    flags_match = re.search(r";; flags: ([a-z ]*);", text)
    found = Dig(
        status_match.group(1) if status_match else "NONE",
        set(flags_match.group(1).split()) if flags_match else set(),
        [],
        [],
        [],
        text,
    )
    section: list[tuple[str, int, str, str]] | None = None
    for line in text.splitlines():
        match = _SECTION_RE.match(line)
        if match:
            section = {
                "ANSWER": found.answer,
                "AUTHORITY": found.authority,
                "ADDITIONAL": found.additional,
            }[match.group(1)]
            continue
        if not line.strip() or line.startswith(";"):
            section = None if not line.strip() else section
            continue
        if section is not None:
            parts = line.split(None, 4)
            if len(parts) == 5:
                section.append((parts[0], int(parts[1]), parts[3], parts[4]))
    return found


# --------------------------------------------------------------------------- fake resolver


def _qname_end(packet: bytes) -> int:
    offset = 12
    while packet[offset]:
        offset += packet[offset] + 1
    return offset + 1


class FakeResolver:
    """A UDP DNS server that answers every A query with ``address`` (TTL 30) and records
    the names it was asked."""

    def __init__(self, address: str = "192.0.2.7") -> None:
        self.address = address
        self.asked: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                packet, client = self.sock.recvfrom(4096)
            except OSError:
                return
            if self.closed.is_set():
                return
            try:
                answer = self._answer(packet)
            except (IndexError, UnicodeDecodeError):
                continue  # not a query we can read: dropped, as a resolver drops garbage
            self.sock.sendto(answer, client)

    def _answer(self, packet: bytes) -> bytes:
        end = _qname_end(packet)
        labels, offset = [], 12
        while packet[offset]:
            labels.append(packet[offset + 1 : offset + 1 + packet[offset]].decode())
            offset += packet[offset] + 1
        self.asked.append(".".join(labels) + ".")
        question = packet[12 : end + 4]
        header = packet[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
        record = struct.pack("!HHHIH", 0xC00C, 1, 1, 30, 4) + socket.inet_aton(self.address)
        return header + question + record

    def close(self) -> None:
        """Stops the server and frees its port: close() alone leaves a thread blocked in
        recvfrom holding the socket (and its port) open; shutdown() wakes it."""
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.sock.close()


# --------------------------------------------------------------------------- fake master


@dataclass
class FakeMaster:
    """``GET /master/state`` answers ``state`` (JSON), or ``status`` with garbage when
    ``broken``; ``requests`` counts the state requests, ``agents`` their User-Agent."""

    state: dict[str, Any] = field(default_factory=dict)
    broken: bool = False
    requests: int = 0
    agents: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def start(self) -> FakeMaster:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/master/state":
                    self.send_response(404)
                    self.end_headers()
                    return
                owner.requests += 1
                owner.agents.append(self.headers.get("User-Agent", ""))
                body = b"<html>oops</html>" if owner.broken else json.dumps(owner.state).encode()
                self.send_response(503 if owner.broken else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def small_state(master_port: int, tasks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A master state with one agent (S0 on 127.0.0.2) and Marathon's tasks."""
    return {
        "leader": f"master@127.0.0.1:{master_port}",
        "slaves": [{"id": "ab12-S0", "hostname": "agent1", "pid": "slave(1)@127.0.0.2:5051"}],
        "frameworks": [{"name": "marathon", "hostname": "master1", "tasks": tasks or []}],
    }


def task(name: str, ports: str = "[]", task_id: str | None = None) -> dict[str, Any]:
    return {
        "id": task_id or f"{name}.0001",
        "name": name,
        "slave_id": "ab12-S0",
        "state": "TASK_RUNNING",
        "resources": {"ports": ports},
        "statuses": [{"state": "TASK_RUNNING", "timestamp": 1.0}],
    }


def wait_serving(daemon: Daemon, timeout: float = 30.0) -> None:
    """Until the daemon's HTTP API answers (it serves only after its first reload)."""

    def up() -> bool:
        if not daemon.running:
            raise AssertionError(f"{daemon.name} exited:\n{daemon.output()[-3000:]}")
        return daemon.get("/v1/version", timeout=1.0).status == 200

    wait_until(f"{daemon.name} serving", up, timeout)
