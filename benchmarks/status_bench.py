"""`mesoslab status` latency: a 6-node lab (3m-3a) whose every service answers after 0.2 s.

Prints the ratio of the status wall time to the slowest single probe (target <= 1.5x: the
probes run at once), and the time status takes on a lab where every service is gone.

Run: .venv/bin/python benchmarks/status_bench.py   (from the repository root)
Not a timed test: numbers vary by machine; the ratio is what to watch.
"""

from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fixture_server import FakeLab, Reply  # noqa: E402

from mesoslab.lab.inventory import Inventory  # noqa: E402
from mesoslab.ops.status import node_services, probe_service, status_rows  # noqa: E402
from mesoslab.remote.session import Session  # noqa: E402

DELAY = 0.2
RUNS = 5
LAYOUT = [
    ("master1", ["master", "zookeeper", "marathon", "chronos"]),
    ("master2", ["master", "zookeeper"]),
    ("master3", ["master", "zookeeper"]),
    ("agent1", ["agent"]),
    ("agent2", ["agent"]),
    ("agent3", ["agent"]),
]
SRVR = (
    "Zookeeper version: 3.8.0-bench, built on 2022-01-01 00:00 UTC\n"
    "Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\n"
    "Zxid: 0x100000000\nMode: {mode}\nNode count: 5\n"
)


def report(name: str, value: float, target: float, unit: str = "x") -> None:
    verdict = "ok" if value <= target else "OVER TARGET"
    print(f"{name:<60} {value:7.2f}{unit}  (target <= {target}{unit})  {verdict}")


class SlowZooKeeper:
    """Answers ``srvr`` after ``delay`` on each address (one port shared by all)."""

    def __init__(self, addresses: list[str], delay: float) -> None:
        self.delay = delay
        self.stop = threading.Event()
        self.listeners: list[socket.socket] = []
        port = 0
        for index, address in enumerate(addresses):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            port = sock.getsockname()[1]
            sock.listen(64)
            sock.settimeout(0.1)
            self.listeners.append(sock)
            mode = "leader" if index == 0 else "follower"
            threading.Thread(target=self._serve, args=(sock, mode), daemon=True).start()
        self.port = port

    def _serve(self, sock: socket.socket, mode: str) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn, mode), daemon=True).start()

    def _answer(self, conn: socket.socket, mode: str) -> None:
        with conn:
            conn.recv(16)
            time.sleep(self.delay)
            conn.sendall(SRVR.format(mode=mode).encode())

    def close(self) -> None:
        self.stop.set()
        for sock in self.listeners:
            sock.close()


def slow_lab(lab: FakeLab) -> None:
    port = lab.ports["mesos_master"]
    for _, server in lab.servers("mesos_master"):
        server.route(
            "/master/redirect",
            Reply(307, headers={"Location": f"//master1:{port}"}, delay=DELAY),
        )
    for _, server in lab.servers("mesos_agent"):
        server.route("/metrics/snapshot", Reply(200, {"slave/registered": 1.0}, delay=DELAY))
    lab.server("master1", "marathon").route("/ping", Reply(200, "pong", delay=DELAY))
    lab.server("master1", "chronos").route("/scheduler/jobs", Reply(200, [], delay=DELAY))


def main() -> None:
    with FakeLab(LAYOUT) as lab:
        slow_lab(lab)
        masters = [n.address for n in lab.nodes if "zookeeper" in n.roles]
        zk = SlowZooKeeper(masters, DELAY)
        inventory = Inventory(lab.inventory.nodes, {**lab.ports, "zookeeper": zk.port}, "bench")
        jobs = [(n, s) for n in inventory.nodes for s in node_services(n)]
        singles = []
        with Session(inventory) as session:
            probe_service(session, jobs[0][0], jobs[0][1])  # warm up imports and the client
            for node, service in jobs:
                start = time.perf_counter()
                result = probe_service(session, node, service)
                singles.append(time.perf_counter() - start)
                assert result.health == "ok", result
        slowest = max(singles)
        walls = []
        for _ in range(RUNS):
            start = time.perf_counter()
            with Session(inventory) as session:
                rows = status_rows(inventory, session, lambda: {})
            walls.append(time.perf_counter() - start)
            assert all(s.health == "ok" for r in rows for s in r.services), rows
        wall = statistics.median(walls)
        zk.close()
    print(
        f"{len(jobs)} probes on {len(LAYOUT)} nodes; slowest single probe {slowest * 1000:.0f} ms; "
        f"status (median of {RUNS}) {wall * 1000:.0f} ms"
    )
    report(f"status of a 6-node lab at {DELAY * 1000:.0f} ms vs slowest probe", wall / slowest, 1.5)

    with FakeLab(LAYOUT) as dead:
        pass  # every server stopped: each address:port is closed
    start = time.perf_counter()
    with Session(dead.inventory) as session:
        rows = status_rows(dead.inventory, session, None)
    gone = time.perf_counter() - start
    assert all(s.health == "down" for r in rows for s in r.services), rows
    report("status of a 6-node lab with every service down (seconds)", gone, 1.0, "s")


if __name__ == "__main__":
    main()
