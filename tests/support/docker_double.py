"""A test double of the ``docker`` command line, for twin tests on a host without Docker.

The twin agent's Docker containerizer runs the real ``docker`` (its ``--docker`` flag, as
Mesos's); on the lab nodes that is Docker Engine (``tests/test_rehearsal_e2e.py``). The
loopback tests of the twin's APIs only need a Docker task that runs and publishes its
ports, so they point ``--docker`` at this script (:func:`install`), which understands the
calls the agent makes: ``ps -a``, ``image inspect``, ``pull``, ``run`` (a web server on
every ``-p HOST:CONTAINER`` host port, or the given command) and ``stop`` (by name; state
beside the ``-H unix://`` socket). It records every call in ``calls.log`` there.
"""

from __future__ import annotations

import http.server
import os
import signal
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve()


def install(folder: Path) -> Path:
    """An executable ``docker`` in ``folder`` that runs this double."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "docker"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE} "$@"\n')
    path.chmod(0o755)
    return path


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"docker double: a Docker task's published port\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _run(state: Path, args: list[str]) -> int:
    ports, name, rest = [], "", list(args)
    entrypoint: str | None = None
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        value = rest.pop(0) if option in ("-p", "-e", "-v", "--net", "--name", "--entrypoint",
                                          "--cpu-shares", "--memory") else ""  # fmt: skip
        if option == "-p":
            ports.append(int(value.split(":")[0]))
        elif option == "--name":
            name = value
        elif option == "--entrypoint":
            entrypoint = value
    rest = rest[1:]  # the image
    (state / f"{name}.pid").write_text(str(os.getpid()))
    if entrypoint or rest:
        return subprocess.call([entrypoint, *rest] if entrypoint else rest)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    servers = []
    for port in ports:
        server = socketserver.ThreadingTCPServer(("", port), _Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    return 0


def main(argv: list[str]) -> int:
    socket = argv[1].removeprefix("unix://") if argv[:1] == ["-H"] else "/var/run/docker.sock"
    args = argv[2:] if argv[:1] == ["-H"] else argv
    state = Path(socket).parent / "docker-double"
    state.mkdir(parents=True, exist_ok=True)
    with (state / "calls.log").open("a") as log:
        log.write(" ".join(args) + "\n")
    command = args[0] if args else ""
    if command in ("ps", "pull") or args[:2] == ["image", "inspect"]:
        return 0
    if command == "run":
        return _run(state, args[1:])
    if command == "stop":
        pid = int((state / f"{args[-1]}.pid").read_text())
        os.kill(pid, signal.SIGKILL)  # `docker stop -t 0`
        return 0
    print(f"docker double: {command!r} is not something the twin agent runs", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
