"""A twin master, agent and Marathon on loopback, the twin marathon-lb and a **real** HAProxy.

The marathon-lb "node" is a folder (``--root``): its ``/etc/haproxy/haproxy.cfg``, stats
socket and server state live there, and its ``/etc/hosts`` names the agent (``agent1`` is
127.0.0.2), which marathon-lb resolves for every task. HAProxy runs in master-worker mode
(``haproxy -W``, as Debian's unit runs it with ``-Ws``) and marathon-lb reloads it with
``--command "kill -USR2 <master pid>"`` (what ``systemctl reload haproxy`` sends). The fixed
ports of the head (9090, 9091) are moved to free ones; ``--dont-bind-http-https`` leaves out
80 and 443.

The web app's tasks are ``python3 -m http.server`` processes answering ``<host>:<port>``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.ports import free_port
from tests.support.twin_lab import Daemon, TwinLab, http, twin_env, wait_until, write

ADDRESS_MASTER = "127.0.0.1"
ADDRESS_AGENT = "127.0.0.2"
HAPROXY = shutil.which("haproxy")


def web_app(app_id: str, service_port: int, instances: int, **extra: Any) -> dict[str, Any]:
    """A command app whose tasks answer ``GET /`` with ``<host>:<port>``."""
    return {
        "id": app_id,
        "cmd": (
            'echo "$HOST:$PORT0" > index.html && '
            f"exec python3 -m http.server $PORT0 --bind {ADDRESS_AGENT}"
        ),
        "cpus": 0.01,
        "mem": 16,
        "instances": instances,
        "portDefinitions": [{"port": service_port, "protocol": "tcp"}],
        "labels": {"HAPROXY_GROUP": "external"},
        "healthChecks": [
            {"protocol": "HTTP", "path": "/", "intervalSeconds": 1, "gracePeriodSeconds": 30}
        ],
        **extra,
    }


@dataclass
class MlbLab:
    lab: TwinLab
    marathon: Daemon
    mlb: Daemon
    root: Path
    stats_port: int
    haproxy: subprocess.Popen[bytes] | None = None
    extra_ports: list[int] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "etc/haproxy/haproxy.cfg"

    def stats(self, path: str) -> tuple[int, str, dict[str, str]]:
        answer = http("GET", f"http://127.0.0.1:{self.stats_port}{path}", accept="*/*")
        return answer.status, answer.body.decode(errors="replace"), answer.headers

    def servers(self, backend: str) -> dict[str, str]:
        """Server name -> status of one backend, from ``/haproxy?stats;csv``."""
        status, text, _ = self.stats("/haproxy?stats;csv")
        assert status == 200, text
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {
            r["svname"]: r["status"]
            for r in rows
            if r["pxname"] == backend and r["svname"] not in ("FRONTEND", "BACKEND")
        }

    def up(self, backend: str) -> list[str]:
        return sorted(n for n, s in self.servers(backend).items() if s.startswith("UP"))

    def bodies(self, port: int, count: int) -> list[str]:
        out = []
        for _ in range(count):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
                out.append(answer.read().decode().strip())
        return out

    def tasks(self, app_id: str) -> list[dict[str, Any]]:
        return list(http("GET", f"{self.marathon.url}/v2/apps{app_id}").json()["app"]["tasks"])

    def settled(self, app_id: str) -> bool:
        """No deployment holds the app."""
        found = http("GET", f"{self.marathon.url}/v2/apps{app_id}").json()["app"]
        return not found["deployments"]

    def running(self, app_id: str, instances: int) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            found = http("GET", f"{self.marathon.url}/v2/apps{app_id}").json()["app"]
            alive = [
                t
                for t in found["tasks"]
                if t.get("state") == "TASK_RUNNING"
                and any(r.get("alive") for r in t.get("healthCheckResults") or [])
            ]
            return alive if len(alive) == instances == len(found["tasks"]) else None

        tasks: list[dict[str, Any]] = wait_until(f"{app_id} with {instances} healthy", done, 90)
        return tasks

    def running_plain(self, app_id: str, instances: int) -> list[dict[str, Any]]:
        """The app's tasks once ``instances`` run (no health checks asked)."""

        def done() -> list[dict[str, Any]] | None:
            tasks = [t for t in self.tasks(app_id) if t.get("state") == "TASK_RUNNING"]
            return tasks if len(tasks) == instances else None

        found: list[dict[str, Any]] = wait_until(f"{app_id} with {instances}", done, 90)
        return found

    def start_haproxy(self) -> None:
        assert HAPROXY is not None
        log = (self.root / "haproxy.log").open("ab")
        self.haproxy = subprocess.Popen(
            [HAPROXY, "-W", "-f", str(self.config), "-p", str(self.root / "run/haproxy.pid")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        self.mlb.stop()
        if self.haproxy is not None and self.haproxy.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.haproxy.pid, signal.SIGTERM)
            try:
                self.haproxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(self.haproxy.pid, signal.SIGKILL)
                self.haproxy.wait(timeout=5)
        self.lab.stop_all()


def mlb_args(
    marathon_url: str, stats_port: int, appid_port: int, haproxy_pid: int | None
) -> list[str]:
    args = [
        "marathon-lb",
        "--marathon",
        marathon_url,
        "--group",
        "external",
        "--dont-bind-http-https",
        f"--stats-port={stats_port}",
        f"--appid-port={appid_port}",
        "--haproxy-maxconn=2000",
        "--reload-interval=5",
    ]
    if haproxy_pid is not None:
        args.append(f"--command=kill -USR2 {haproxy_pid}")
    return args


def start_mlb_lab(base: Path) -> MlbLab:
    """Master, agent, Marathon, then HAProxy with marathon-lb's empty configuration, then
    marathon-lb in SSE mode; stopped by :meth:`MlbLab.stop` (also when this fails)."""
    twins = TwinLab(base, [ADDRESS_MASTER, ADDRESS_AGENT])
    master_url = f"{ADDRESS_MASTER}:{twins.ports['mesos_master']}"
    low = free_port([ADDRESS_AGENT])
    stats_port = free_port()
    appid_port = free_port(avoid=[stats_port])
    root = base / "agent1-lb"
    mlb = Daemon("marathon-lb", [], root, "127.0.0.1", stats_port)
    found = MlbLab(
        twins, twins.marathon("master1", ADDRESS_MASTER, master=master_url), mlb, root, stats_port
    )
    try:
        master = twins.master("master1", ADDRESS_MASTER)
        agent = twins.agent(
            "agent1",
            ADDRESS_AGENT,
            master=master_url,
            extra={"resources": f"ports:[{low}-{low + 40}]"},
        )
        write(twins.root("master1"), "/etc/marathon/conf/event_subscriber", "http_callback\n")
        for daemon in (master, agent, found.marathon):
            daemon.start()
        for daemon in (master, agent):
            daemon.wait_http()
        found.marathon.wait_http("/ping")
        wait_until(
            "marathon registered and an agent",
            lambda: (
                master.get("/master/frameworks").json()["frameworks"]
                and master.get("/master/slaves").json()["slaves"]
            ),
        )
        write(root, "/etc/hosts", f"{ADDRESS_MASTER} master1\n{ADDRESS_AGENT} agent1\n")
        (root / "var/run/haproxy").mkdir(parents=True, exist_ok=True)
        (root / "run").mkdir(parents=True, exist_ok=True)
        dry = subprocess.run(
            [
                sys.executable,
                "-m",
                "mesoslab_twin",
                *mlb_args(found.marathon.url, stats_port, appid_port, None),
                "--dry",
                f"--root={root}",
            ],
            env=twin_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert dry.returncode == 0, dry.stderr
        write(root, "/etc/haproxy/haproxy.cfg", dry.stdout)
        found.start_haproxy()
        assert found.haproxy is not None
        wait_until(
            "haproxy to serve :9090", lambda: found.stats("/_haproxy_health_check")[0] == 200, 30
        )
        mlb.args = [
            *mlb_args(found.marathon.url, stats_port, appid_port, found.haproxy.pid),
            "--sse",
        ]
        mlb.start()
        wait_until("marathon-lb to open the event stream", lambda: "SSE Active" in mlb.output(), 30)
    except BaseException:
        found.stop()
        raise
    return found


def mlb_lab(base: Path) -> Iterator[MlbLab]:
    found = start_mlb_lab(base)
    try:
        yield found
    finally:
        found.stop()


def wait_serving(lab: MlbLab, port: int, bodies: set[str], timeout: float = 60.0) -> float:
    """Seconds until requests through HAProxy's ``port`` have been answered by all of
    ``bodies`` (each ``host:port`` of a task)."""
    started = time.monotonic()
    seen: set[str] = set()

    def probe() -> bool:
        with contextlib.suppress(OSError):
            seen.update(lab.bodies(port, 1))
        return bodies <= seen

    wait_until(f"HAProxy :{port} to answer from {sorted(bodies)}", probe, timeout, interval=0.02)
    return time.monotonic() - started
