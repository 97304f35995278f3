"""mesoslab benchmarks: each prints a measured ratio against its target (DESIGN §7).

Run: .venv/bin/python benchmarks/run.py   (from the repository root)
Not timed tests: numbers vary by machine; the ratios are what to watch.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fixture_server import FakeLab, Reply  # noqa: E402

from mesoslab.checks.runner import plan, run_all  # noqa: E402
from mesoslab.checks.spec import CheckSpec  # noqa: E402
from mesoslab.remote.session import Session  # noqa: E402

MESOSLAB = str(Path(sys.executable).with_name("mesoslab"))


def report(name: str, value: float, target: float, unit: str = "x") -> None:
    verdict = "ok" if value <= target else "OVER TARGET"
    print(f"{name:<52} {value:7.2f}{unit}  (target <= {target}{unit})  {verdict}")


def bench_cold_start(runs: int = 7) -> None:
    def timed(cmd: list[str]) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    python = timed([sys.executable, "-c", "pass"])
    for args in (["--help"], ["verify", "--help"]):
        seconds = timed([MESOSLAB, *args])
        report(f"cold start `mesoslab {' '.join(args)}` (seconds)", seconds, 0.3, "s")
        print(f"{'':<52} {seconds / python:7.2f}x of a bare `python -c pass`")


def bench_parallel_verify(checks: int = 10, delay: float = 0.2) -> None:
    with FakeLab([("master1", ["master"])]) as lab:
        lab.server("master1", "mesos_master").route("/health", Reply(200, b"", delay=delay))
        specs = [CheckSpec("mesos.master_health", timeout=5) for _ in range(checks)]
        single = plan(specs[:1], lab.inventory)
        with Session(lab.inventory) as session:
            start = time.perf_counter()
            run_all(single, session)
            slowest = time.perf_counter() - start
        planned = plan(specs, lab.inventory)
        with Session(lab.inventory) as session:
            start = time.perf_counter()
            results = run_all(planned, session)
            wall = time.perf_counter() - start
    assert all(r.status.value == "pass" for r in results), results
    report(
        f"verify of {checks} checks at {delay * 1000:.0f} ms vs slowest check", wall / slowest, 1.5
    )


def bench_dead_host(timeout: float = 3.0) -> None:
    """A master that accepts connections and never answers (a hung host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    from mesoslab.lab.inventory import DEFAULT_PORTS, Inventory, Node

    inventory = Inventory(
        nodes=(Node("master1", "127.0.0.1", ("master",)),),
        ports={**DEFAULT_PORTS, "mesos_master": port},
    )
    specs = [CheckSpec("mesos.master_health"), CheckSpec("mesos.leader")]
    with Session(inventory) as session:
        start = time.perf_counter()
        results = run_all(plan(specs, inventory), session, timeout=timeout)
        wall = time.perf_counter() - start
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()
    assert all(r.status.value == "fail" for r in results)
    report(f"hung host: verify wall - --timeout {timeout:.0f}s (seconds)", wall - timeout, 1.0, "s")


def bench_twin_keepalive(requests: int = 30) -> None:
    """A check run reuses its connections (one httpx client per Session): a request on a
    kept-alive connection to a twin daemon must not be slower than one on a new connection.
    (With Nagle's algorithm on, every reply after the first waited 40 ms for a delayed ACK.)"""
    import httpx

    from mesoslab_twin.common.httpd import Router, json_reply, serve

    router = Router()
    router.add("GET", "/health", lambda request, match: json_reply({"ok": True}))
    server = serve("127.0.0.1", 0, router, "bench-twin")
    url = f"http://127.0.0.1:{server.server_address[1]}/health"

    def median_get(client: httpx.Client, headers: dict[str, str]) -> float:
        client.get(url, headers=headers)
        samples = []
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url, headers=headers)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    try:
        with httpx.Client(trust_env=False) as client:
            kept = median_get(client, {})
            fresh = median_get(client, {"Connection": "close"})
    finally:
        server.shutdown()
        server.server_close()
    report("twin HTTP: kept-alive request vs a new connection", kept / fresh, 1.0)


def main() -> None:
    bench_cold_start()
    bench_parallel_verify()
    bench_dead_host()
    bench_twin_keepalive()


if __name__ == "__main__":
    main()
