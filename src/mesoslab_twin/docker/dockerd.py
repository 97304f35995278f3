"""A stand-in for the Docker daemon on the rehearsal lab (lesson 2): it only listens.

The twin cannot run containers (a Docker task runs :mod:`.placeholder` instead), but the
lesson installs Docker, enables the ``docker`` unit and expects ``/var/run/docker.sock``;
an agent with ``docker`` in its containerizers refuses to start without the socket. This
daemon creates the socket and answers the Docker API's ``/_ping`` and ``/version`` (and an
empty container list), saying it is an emulation; it removes the socket when it stops.

``python3 -m mesoslab_twin dockerd [--host=unix:///var/run/docker.sock]``
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from mesoslab_twin import SERVER_NAME, TWIN_HEADER, TWIN_HEADER_VALUE
from mesoslab_twin.common.process import wait_for_signal

log = logging.getLogger("mesoslab_twin.dockerd")
DEFAULT_SOCKET = "/var/run/docker.sock"
API_VERSION = "1.26"  # Docker 1.13, CentOS 7's `docker` package


VERSION = {
    "Version": "1.13.1",
    "ApiVersion": API_VERSION,
    "Os": "linux",
    "Comment": "mesoslab twin: a stand-in for the Docker daemon; runs no containers",
}
# The GET paths served (after an optional /v1.NN prefix): path -> (body, content type).
# /containers/json is an empty list: the stand-in runs no containers.
ROUTES: dict[str, tuple[bytes, str]] = {
    "/_ping": (b"OK", "text/plain"),
    "/version": (json.dumps(VERSION).encode(), "application/json"),
    "/containers/json": (b"[]", "application/json"),
}


class _Handler(BaseHTTPRequestHandler):
    server_version = SERVER_NAME

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/v1."):
            path = "/" + path.split("/", 2)[2] if path.count("/") > 1 else "/"
        if path in ROUTES:
            body, content_type = ROUTES[path]
            self._reply(200, body, content_type)
        else:
            message = {"message": f"the mesoslab Docker stand-in does not serve {path}"}
            self._reply(404, json.dumps(message).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Api-Version", API_VERSION)
        self.send_header(TWIN_HEADER, TWIN_HEADER_VALUE)
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:  # a unix socket has no client address
        return "unix"

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main(args: list[str], stop: threading.Event | None = None) -> int:
    socket_path = DEFAULT_SOCKET
    for arg in args:
        if arg.startswith(("--host=", "-H=")):
            socket_path = arg.split("=", 1)[1].removeprefix("unix://")
    path = Path(socket_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    server = _Server(str(path), _Handler)
    os.chmod(path, 0o660)
    thread = threading.Thread(target=server.serve_forever, name="dockerd", daemon=True)
    thread.start()
    log.info("API listen on %s (mesoslab twin: a stand-in that runs no containers)", path)
    try:
        if stop is None:
            wait_for_signal()
        else:
            stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        path.unlink(missing_ok=True)
        log.info("stopped; removed %s", path)
    return 0
