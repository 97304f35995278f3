"""Mesos-DNS twin latency: p99 of DNS answers (UDP, loopback) under a paced 1,000 queries/s.

A fake master serves a state of 3 agents and 60 Marathon tasks; the twin daemon runs as a
real process (as on a node) and is asked A and SRV names in turn, each query sent at its
scheduled time (open loop: a slow answer does not slow the sending). Prints p50/p99/max,
the p99's ratio to the 5 ms target, and the queries that got no answer.

Run: .venv/bin/python benchmarks/dns_bench.py [QUERIES]   (from the repository root)
Not a timed test: numbers vary by machine; the ratio is what to watch.
"""

from __future__ import annotations

import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.mesosdns import FakeMaster, mesos_dns, small_state, task, wait_serving  # noqa: E402

RATE = 1000.0  # queries per second
TARGET_MS = 5.0
NAMES = [
    ("web-7.marathon.mesos", 1),
    ("_web-3._tcp.marathon.mesos", 33),
    ("leader.mesos", 1),
    ("slave.mesos", 1),
    ("nope.marathon.mesos", 1),
]


def report(name: str, value: float, target: float, unit: str = "x") -> None:
    verdict = "ok" if value <= target else "OVER TARGET"
    print(f"{name:<52} {value:7.2f}{unit}  (target <= {target}{unit})  {verdict}")


def packet(ident: int, name: str, qtype: int) -> bytes:
    out = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0" + struct.pack("!HH", qtype, 1)


def state(master_port: int) -> dict[str, object]:
    data = small_state(master_port)
    data["slaves"] = [
        {"id": f"ab12-S{i}", "pid": f"slave(1)@127.0.0.{i + 2}:5051"} for i in range(3)
    ]
    data["frameworks"][0]["tasks"] = [  # type: ignore[index]
        {
            **task(f"web-{i % 20}", f"[{31000 + i}-{31000 + i}]", f"web.{i}"),
            "slave_id": f"ab12-S{i % 3}",
        }
        for i in range(60)
    ]
    return data


def bench(port: int, queries: int) -> None:
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(0.2)

    def receive() -> None:
        while not done.is_set() or len(latencies) < len(sent):
            try:
                answer = sock.recv(4096)
            except TimeoutError:
                if done.is_set():
                    return
                continue
            now = time.perf_counter()
            ident = struct.unpack_from("!H", answer)[0]
            start = sent.get(ident)
            if start is not None:
                latencies.append(now - start)

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    begin = time.perf_counter()
    for i in range(queries):
        due = begin + i / RATE
        while (left := due - time.perf_counter()) > 0:
            time.sleep(min(left, 0.001))
        name, qtype = NAMES[i % len(NAMES)]
        ident = i % 65536
        sent[ident] = time.perf_counter()
        sock.send(packet(ident, name, qtype))
    elapsed = time.perf_counter() - begin
    time.sleep(1.0)
    done.set()
    reader.join(timeout=2)
    sock.close()
    ms = sorted(x * 1000 for x in latencies)
    if not ms:
        print("no answers at all")
        return
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{queries} queries in {elapsed:.2f}s ({queries / elapsed:.0f}/s), {len(ms)} answered")
    print(f"p50 {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms, max {ms[-1]:.2f} ms")
    report("DNS p99 latency at 1,000 queries/s (ratio to 5 ms)", p99 / TARGET_MS, 1.0)
    report("queries without an answer", float(queries - len(ms)), 0.0, "")


def main() -> None:
    queries = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    master = FakeMaster().start()
    master.state = state(master.port)
    with tempfile.TemporaryDirectory() as base:
        dns = mesos_dns(
            Path(base),
            {"masters": [f"127.0.0.1:{master.port}"], "refreshSeconds": 60, "externalon": False},
            verbose=False,
        )
        dns.daemon.start()
        try:
            wait_serving(dns.daemon)
            bench(dns.port, min(queries, 65536))
        finally:
            dns.daemon.stop()
            master.stop()


if __name__ == "__main__":
    main()
