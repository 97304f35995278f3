"""A real HTTP server on loopback addresses for check tests (no mocks of HTTP).

``FixtureServer`` is a ``ThreadingHTTPServer`` running in a thread. Its routes map
``(method, path)`` to a :class:`Reply` (status, headers, body, delay) or to a callable that
gets the :class:`Request` and returns a Reply. Unknown paths answer 404.

``FakeLab`` serves several "nodes" on 127.0.0.1, 127.0.0.2, ... with one port per service
(``mesos_master``, ``mesos_agent``, ``marathon``, ``chronos``), the same on every node, so a
single :class:`~mesoslab.lab.inventory.Inventory` (whose ``ports`` are per service) fits.
A stopped server leaves its address:port closed: requests to it are refused.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mesoslab.checks import runner
from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import CheckResult
from mesoslab.checks.runner import plan, run_all
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import DEFAULT_PORTS, Inventory, Node
from mesoslab.remote.session import Session
from tests.support.paths import FIXTURES
from tests.support.ports import free_port

# Which service (inventory port key) a role runs.
ROLE_SERVICES = {
    "master": "mesos_master",
    "agent": "mesos_agent",
    "marathon": "marathon",
    "chronos": "chronos",
}


def load_fixture(relative: str) -> Any:
    """A JSON fixture from ``shared/fixtures`` (a fresh copy each call: tests modify it)."""
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """One canned answer. ``body`` may be bytes, text, or anything JSON-serialisable."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow service)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data = self.body
        elif isinstance(self.body, str):
            data = self.body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(self.body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        return data, headers


def json_reply(body: Any, status: int = 200, delay: float = 0.0) -> Reply:
    return Reply(status=status, body=body, delay=delay)


def redirect(location: str, status: int = 307) -> Reply:
    """A Mesos-style redirect; Mesos sends a scheme-less ``//host:port`` Location."""
    return Reply(status=status, headers={"Location": location})


Route = Reply | Callable[[Request], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each kept-alive reply waits 40 ms (delayed ACK)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        owner = self.server.owner
        owner.requests.append(request)
        route = owner.routes.get((self.command, parts.path))
        if route is None:
            reply = Reply(404, f"no route for {self.command} {parts.path}\n")
        elif isinstance(route, Reply):
            reply = route
        else:
            reply = route(request)
        if reply.delay:
            time.sleep(reply.delay)
        data, headers = reply.encoded()
        try:
            self.send_response(reply.status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout expired): fine

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow handler must not hold up a test's teardown
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs of concurrent checks (1 s retries)

    def __init__(self, address: tuple[str, int], owner: FixtureServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (socket.getfqdn) of the address,
        # which can stall for seconds on 127.0.0.x without /etc/hosts entries: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class FixtureServer:
    """A real HTTP server on ``host:port`` (port 0 = any free port) serving canned routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Request] = []
        self._server = _Server((host, port), self)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fixture-{host}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.running = True

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def route(self, path: str, reply: Route, method: str = "GET") -> None:
        self.routes[(method, path)] = reply

    def json(self, path: str, body: Any, status: int = 200, delay: float = 0.0) -> None:
        self.route(path, json_reply(body, status, delay))

    def paths_requested(self) -> list[str]:
        return [r.path for r in self.requests]

    def stop(self) -> None:
        """Stop serving and close the socket: connections to host:port are then refused."""
        if self.running:
            self.running = False
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=2)

    def __enter__(self) -> FixtureServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class NodeDef:
    name: str
    address: str
    roles: tuple[str, ...]


class FakeLab:
    """Several nodes on 127.0.0.x, each serving its roles' services on shared ports.

    ``lab.server("master2", "mesos_master")`` is the server of that node and service;
    ``lab.inventory`` is the matching Inventory (nodes named as given, ports shared).
    """

    def __init__(self, nodes: list[tuple[str, list[str]]], *, first_address: int = 1) -> None:
        self.nodes = [
            NodeDef(name, f"127.0.0.{first_address + i}", tuple(roles))
            for i, (name, roles) in enumerate(nodes)
        ]
        self._servers: dict[tuple[str, str], FixtureServer] = {}
        self.ports = dict(DEFAULT_PORTS)
        for attempt in range(20):
            try:
                self._start_all()
                break
            except OSError:
                self.stop()  # a port was taken on one address: try another shared port
                if attempt == 19:
                    raise
        self.inventory = Inventory(
            nodes=tuple(Node(n.name, n.address, n.roles) for n in self.nodes),
            ports=self.ports,
            source="fixture lab",
        )

    def _start_all(self) -> None:
        self._servers = {}
        for key in sorted({s for n in self.nodes for r in n.roles if (s := ROLE_SERVICES.get(r))}):
            holders = [n for n in self.nodes if any(ROLE_SERVICES.get(r) == key for r in n.roles)]
            port = free_port([holders[0].address])
            for node in holders:
                self._servers[(node.name, key)] = FixtureServer(node.address, port)
            self.ports[key] = port

    def server(self, node: str, service: str) -> FixtureServer:
        return self._servers[(node, service)]

    def servers(self, service: str) -> Iterator[tuple[str, FixtureServer]]:
        for (name, key), srv in self._servers.items():
            if key == service:
                yield name, srv

    def node(self, name: str) -> NodeDef:
        return next(n for n in self.nodes if n.name == name)

    def stop(self) -> None:
        """Stop every server at once (each shutdown waits for its poll loop)."""
        stoppers = [threading.Thread(target=srv.stop) for srv in self._servers.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def __enter__(self) -> FakeLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound then released): connecting to it is refused."""
    return free_port([host])


# ---------------------------------------------------------------------------- running checks


def run_checks(
    inventory: Inventory, specs: list[CheckSpec], *, timeout: float | None = None
) -> list[CheckResult]:
    """Plan and settle ``specs`` concurrently, the way ``mesoslab verify`` does."""
    with Session(inventory) as session:
        return run_all(plan(specs, inventory), session, timeout=timeout)


ONE_ATTEMPT_WAIT = 30.0  # seconds one attempt may wait for its answers (see attempt_checks)


def attempt_checks(
    inventory: Inventory, specs: list[CheckSpec], *, wait: float = ONE_ATTEMPT_WAIT
) -> list[CheckResult]:
    """One attempt of each check, all at once, each given up to ``wait`` s for its answers:
    a check that fails fails at once, one that passes passes at once. (A settling timeout of
    0.3 s did the same on a quiet machine; on a busy one, loopback servers took longer than
    that to answer, and checks failed for want of an answer.)"""
    with Session(inventory) as session:
        planned = plan(specs, inventory)

        def once(pc: runner.PlannedCheck) -> CheckResult:
            start = time.monotonic()
            obs = runner.attempt(pc, session, start + wait)
            return runner.concluded(pc, obs, attempts=1, elapsed_s=time.monotonic() - start)

        if not planned:
            return []
        with ThreadPoolExecutor(max_workers=len(planned)) as pool:
            return list(pool.map(once, planned))


def run_check(
    inventory: Inventory,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    on: str | None = None,
    timeout: float | None = None,
) -> CheckResult:
    """One check (its parameters must be valid) and its one result: one attempt (see
    attempt_checks), or, with a ``timeout``, settled as ``mesoslab verify`` settles it."""
    params = params or {}
    problems = catalogue()[kind].problems(params)
    assert not problems, problems
    spec = CheckSpec(kind, params, on=on, timeout=timeout)
    results = (
        attempt_checks(inventory, [spec]) if timeout is None else run_checks(inventory, [spec])
    )
    assert len(results) == 1, [r.node for r in results]
    return results[0]
