"""A test double of the ``docker`` command line, for twin tests on a host without Docker.

The twin agent's Docker containerizer runs the real ``docker`` (its ``--docker`` flag, as
Mesos's); on the lab nodes that is Docker Engine (``tests/test_rehearsal_e2e.py``). The
loopback tests of the twin's APIs only need a Docker task that runs and publishes its
ports, so they point ``--docker`` at this script (:func:`install`), which understands the
calls the agent makes: ``ps -a``, ``inspect`` (of an image: found, unless its name starts
with ``missing``; of a container ``run`` started: its State and network), ``pull`` (fails as
Docker does for a ``missing…`` image), ``run`` (a web server on every ``-p HOST:CONTAINER``
host port, or the given command) and ``stop`` (by name; state beside the ``-H unix://``
socket). It records every call in ``calls.log`` there.
"""

from __future__ import annotations

import http.server
import json
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
    ports, name, network, rest = [], "", "default", list(args)
    entrypoint: str | None = None
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        value = rest.pop(0) if option in ("-p", "-e", "-v", "--net", "--name", "--entrypoint",
                                          "--cpu-shares", "--memory") else ""  # fmt: skip
        if option == "-p":
            ports.append(int(value.split(":")[0]))
        elif option == "--net":
            network = value
        elif option == "--name":
            name = value
        elif option == "--entrypoint":
            entrypoint = value
    rest = rest[1:]  # the image
    (state / f"{name}.json").write_text(json.dumps({"pid": os.getpid(), "net": network}))
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


def _inspect(state: Path, name: str) -> int:
    container = state / f"{name}.json"
    if container.exists():
        started = json.loads(container.read_text())
        network = started["net"]
        address = "" if network == "host" else "172.17.0.2"
        doc = {
            "Name": f"/{name}",
            "State": {"Running": True, "Pid": started["pid"], "StartedAt": "2026-12-02T00:00:00Z"},
            "HostConfig": {"NetworkMode": network},
            "NetworkSettings": {
                "IPAddress": address,
                "Networks": {network: {"IPAddress": address}},
            },
        }
    elif name.startswith("missing"):
        print(f"Error: No such object: {name}", file=sys.stderr)
        return 1
    else:
        doc = {"Id": "sha256:" + "0" * 64, "RepoTags": [name]}
    print(json.dumps([doc]))
    return 0


def main(argv: list[str]) -> int:
    socket = argv[1].removeprefix("unix://") if argv[:1] == ["-H"] else "/var/run/docker.sock"
    args = argv[2:] if argv[:1] == ["-H"] else argv
    state = Path(socket).parent / "docker-double"
    state.mkdir(parents=True, exist_ok=True)
    with (state / "calls.log").open("a") as log:
        log.write(" ".join(args) + "\n")
    command = args[0] if args else ""
    if command == "inspect":
        return _inspect(state, args[-1])
    if command == "pull" and args[-1].startswith("missing"):
        repository = args[-1].rsplit(":", 1)[0]
        print(f"Error response from daemon: pull access denied for {repository}, repository"
              " does not exist or may require 'docker login'", file=sys.stderr)  # fmt: skip
        return 1
    if command in ("ps", "pull"):
        return 0
    if command == "run":
        return _run(state, args[1:])
    if command == "stop":
        pid = int(json.loads((state / f"{args[-1]}.json").read_text())["pid"])
        os.kill(pid, signal.SIGKILL)  # `docker stop -t 0`
        return 0
    print(f"docker double: {command!r} is not something the twin agent runs", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
