"""The rehearsal lab's Docker stand-in (lesson 2): installed by `install.sh docker`, a daemon
that listens on the Docker socket, answers /_ping, /version and /containers/json and removes
the socket when it stops."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from mesoslab_twin.docker import dockerd

TWIN_DIR = Path(__file__).resolve().parents[1] / "src" / "mesoslab_twin"


def _get(path: Path, url: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(f"GET {url} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_dockerd_listens_answers_ping_and_removes_its_socket(tmp_path: Path) -> None:
    sock = tmp_path / "run" / "docker.sock"
    stop = threading.Event()
    thread = threading.Thread(target=dockerd.main, args=([f"--host=unix://{sock}"], stop))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        reply = _get(sock, "/_ping")
        assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(b"\r\n\r\nOK")
        assert b"X-Mesoslab-Twin: emulation" in reply
        assert b'"ApiVersion": "1.26"' in _get(sock, "/v1.26/version")
        # Docker Engine API 1.26 "List containers": a JSON array, empty as nothing runs
        listed = _get(sock, "/v1.26/containers/json")
        assert listed.startswith(b"HTTP/1.0 200") and listed.endswith(b"\r\n\r\n[]")
        assert b"Content-Type: application/json" in listed
        assert _get(sock, "/images/json").startswith(b"HTTP/1.0 404")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert not sock.exists()  # an agent with docker in containerizers must see it gone


def test_install_docker_mode_writes_the_unit_and_launcher_only(tmp_path: Path) -> None:
    prefix = tmp_path / "opt"
    shutil.copytree(TWIN_DIR, prefix / "mesoslab_twin")
    dest = tmp_path / "node"
    env = {
        **os.environ,
        "DESTDIR": str(dest),
        "PATH": f"{Path(sys.executable).parent}:" + os.environ.get("PATH", ""),
    }
    done = subprocess.run(
        ["sh", str(TWIN_DIR / "install.sh"), "docker", str(prefix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    unit = (dest / "usr/lib/systemd/system/docker.service").read_text()
    assert "ExecStart=/usr/bin/dockerd" in unit and f"PYTHONPATH={prefix}" in unit
    assert "python3 -m mesoslab_twin dockerd" in (dest / "usr/bin/dockerd").read_text()
    assert not (dest / "usr/lib/systemd/system/mesos-master.service").exists()
    assert not (dest / "etc/mesos").exists()
