"""Classroom load (issue 17): simulated learners each queue an event every 2 s and send it
the way mesoslab does (outbox on disk, then the sender), against the real `class serve` on
loopback, while a dashboard listens to the live stream.

Prints, as ratios against the targets: events lost (acknowledged or queued but never on the
dashboard or in the database; target 0), p99 event → dashboard-update latency (target
<= 1 s) and the server's CPU as a share of one core (target <= 25 %).

Run: .venv/bin/python benchmarks/class_bench.py              (50 learners, 2 minutes)
     .venv/bin/python benchmarks/class_bench.py --quick      (a smoke run of a few seconds)
Not a timed test: numbers vary by machine; the ratios are what to watch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402
from tests.support.classroom import ClassServer  # noqa: E402

from mesoslab.ops.classroom.events import check_json, verify_event  # noqa: E402
from mesoslab.ops.classroom.membership import Membership  # noqa: E402
from mesoslab.ops.classroom.outbox import Outbox  # noqa: E402
from mesoslab.ops.classroom.sender import Sender  # noqa: E402

TARGET_P99_S = 1.0
TARGET_CPU = 0.25


def report(name: str, value: float, target: float, unit: str = "x") -> None:
    verdict = "ok" if value <= target else "OVER TARGET"
    print(f"{name:<52} {value:7.2f}{unit}  (target <= {target}{unit})  {verdict}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Dashboard(threading.Thread):
    """Listens to /api/stream like the browser does; notes when each event id shows up."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server stops at the end of the run
            self._listen()

    def _listen(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.stream("GET", f"{self.url}/api/stream", headers=headers, timeout=None) as r:
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                    self.ready.set()
                elif line.startswith("data: ") and kind == "learner":
                    now = time.monotonic()
                    with self.lock:
                        for event_id in json.loads(line[6:])["events"]:
                            self.seen.setdefault(event_id, now)


def learner(
    index: int,
    url: str,
    code: str,
    home: Path,
    stop_at: float,
    interval: float,
    queued: dict[str, float],
    lock: threading.Lock,
) -> None:
    answer = httpx.post(
        f"{url}/api/join", json={"code": code, "name": f"learner{index:02d}"}, timeout=10
    ).json()
    member = Membership(url, answer["class"], answer["name"], answer["token"])
    with Outbox(home / f"outbox-{index}.sqlite3") as box:
        sender = Sender(member, box, max_backoff=1.0)
        time.sleep(interval * index / 50)  # learners do not verify in lockstep
        step = 0
        tick = time.monotonic()
        while tick < stop_at:
            step += 1
            status = "pass" if step % 3 == 0 else "fail"
            checks = [
                check_json(
                    "mesos.agent_resources",
                    "agent1",
                    status,
                    "ports",
                    "[21000-24000, 30000-64000]",
                    "[31000-32000]",
                    "see hint",
                )
            ]
            event = verify_event("lesson-3", [(1 + step % 4, status, checks)])
            with lock:
                queued[event.id] = time.monotonic()
            box.put(event)
            sender.drain(deadline=stop_at + 30)
            tick += interval
            time.sleep(max(0.0, tick - time.monotonic()))
        sender.drain(deadline=time.monotonic() + 30)
        sender.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between events")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--quick", action="store_true", help="5 learners for 6 s (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.learners, args.duration = 5, 6.0
    with tempfile.TemporaryDirectory(prefix="class-bench-") as tmp:
        home = Path(tmp)
        server = ClassServer(home / "instructor").start()
        try:
            assert server.proc is not None
            dashboard = Dashboard(server.url, server.token)
            dashboard.start()
            dashboard.ready.wait(10)
            queued: dict[str, float] = {}
            lock = threading.Lock()
            cpu0, wall0 = cpu_seconds(server.proc.pid), time.monotonic()
            stop_at = wall0 + args.duration
            threads = [
                threading.Thread(
                    target=learner,
                    args=(i, server.url, server.code, home, stop_at, args.interval, queued, lock),
                )
                for i in range(args.learners)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cpu = (cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - wall0)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(dashboard.seen) < len(queued):
                time.sleep(0.05)
            stored = server.store().event_count()
        finally:
            server.stop()
    with dashboard.lock:
        latencies = [dashboard.seen[i] - t for i, t in queued.items() if i in dashboard.seen]
    lost = len(queued) - len(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else float("nan")
    print(
        f"{args.learners} learners, an event every {args.interval:g} s for {args.duration:g} s:"
        f" {len(queued)} events queued, {stored} stored, {len(latencies)} on the dashboard"
    )
    print(
        f"{'events lost':<52} {lost + abs(len(queued) - stored):7d}   (target 0)  "
        f"{'ok' if lost == 0 and stored == len(queued) else 'OVER TARGET'}"
    )
    report("p99 event -> dashboard update / 1 s", p99 / TARGET_P99_S, 1.0)
    report("server CPU / 25 % of one core", cpu / TARGET_CPU, 1.0)
    print(
        f"  (p99 {p99 * 1000:.0f} ms, median {statistics.median(latencies) * 1000:.0f} ms, "
        f"server CPU {cpu * 100:.1f} % of a core)"
    )
    return 0 if lost == 0 and stored == len(queued) else 1


if __name__ == "__main__":
    sys.exit(main())
