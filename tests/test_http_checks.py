"""http.get and haproxy.backend go through the checks' one HTTP layer (remote/http.py): a
node with an IPv6 address gets a bracketed URL, a 5xx is the check's own verdict with the
body shown, and "nothing listens" names what to look at. Real HTTP servers on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mesoslab.checks.result import Status
from mesoslab.lab.inventory import Inventory, Node
from tests.support.fixture_server import closed_port, run_check

STATS = "# pxname,svname,status\nweb_10000,FRONTEND,OPEN\nweb_10000,s1,UP\nweb_10000,BACKEND,UP\n"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/down":
            status, body = 503, b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        elif self.path.startswith("/haproxy?stats"):
            status, body = 200, STATS.encode()
        else:
            status, body = 200, b"hello from [::1]\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture(scope="module")
def server6() -> Iterator[int]:
    server = _Server6(("::1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _inventory(address: str) -> Inventory:
    return Inventory(
        nodes=(Node("agent1", address, ("agent", "marathon-lb")),), ports={}, source="test"
    )


def test_an_ipv6_node_is_reached_in_brackets(server6: int) -> None:
    inventory = _inventory("::1")
    answer = run_check(inventory, "http.get", {"port": server6, "body_contains": "hello"})
    assert answer.status is Status.PASS, answer
    backend = run_check(
        inventory, "haproxy.backend", {"backend": "web_10000", "up": 1, "port": server6}
    )
    assert backend.status is Status.PASS, backend


def test_a_5xx_is_the_checks_verdict_with_what_came_back(server6: int) -> None:
    down = run_check(_inventory("::1"), "http.get", {"port": server6, "path": "/down"})
    assert down.status is Status.FAIL
    assert down.summary == "GET agent1:" + str(server6) + "/down answered HTTP 503, expected 200"
    assert "503 Service Unavailable" in down.observed


def test_nothing_listening_names_what_to_look_at() -> None:
    inventory = _inventory("127.0.0.1")
    port = closed_port()
    refused = run_check(inventory, "http.get", {"port": port})
    assert refused.status is Status.FAIL
    assert f"cannot connect to 127.0.0.1:{port}/: connection refused" in refused.summary
    assert "is this the app's service port?" in refused.summary
    stats = run_check(inventory, "haproxy.backend", {"backend": "web_10000", "port": port})
    assert stats.status is Status.FAIL
    assert "marathon-lb's configuration" in stats.summary, stats.summary
