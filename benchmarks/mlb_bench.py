"""marathon-lb latency: an app change (one more instance) until the real HAProxy serves the new
task, against the time Marathon's event stream reports the new task TASK_RUNNING.

HAProxy serves the task once one round of its roundrobin (a request per task, in a row)
reaches it; probing with single requests would add the wait for the balancer's turn.

Prints both and the ratio (target <= 1.5x: marathon-lb adds little to the event itself:
a /v2/apps read, the configuration, `haproxy -c`, a seamless reload).

Run: .venv/bin/python benchmarks/mlb_bench.py   (from the repository root; needs haproxy)
Not a timed test: numbers vary by machine; the ratio is what to watch.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.marathon_lab import read_events  # noqa: E402
from tests.support.mlb_lab import start_mlb_lab, wait_serving, web_app  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.twin_lab import http, wait_until  # noqa: E402

RUNS = 4


def main() -> int:
    lab = start_mlb_lab(Path(tempfile.mkdtemp(prefix="mlb-bench-")))
    try:
        port = free_port()
        http("POST", f"{lab.marathon.url}/v2/apps", web_app("/bench", port, 1, healthChecks=[]))
        tasks = lab.running_plain("/bench", 1)
        wait_serving(lab, port, {f"agent1:{t['ports'][0]}" for t in tasks})
        events, serves = [], []
        for n in range(2, 2 + RUNS):
            # Marathon answers 409 to a change while the last deployment still holds the app
            wait_until("no deployment of /bench", lambda: lab.settled("/bench"), 60)
            stream = read_events(lab.marathon.url, "?event_type=status_update_event")
            started = time.monotonic()
            answer = http("PUT", f"{lab.marathon.url}/v2/apps/bench", {"instances": n})
            assert answer.status == 200, answer.body
            event = stream.next("status_update_event", taskStatus="TASK_RUNNING", timeout=60)
            events.append(time.monotonic() - started)
            stream.close()
            new = f"agent1:{event['ports'][0]}"

            def served(new: str = new, n: int = n) -> bool:
                # n requests in a row are one round of HAProxy's roundrobin over n tasks:
                # the new task answers one of them once the running worker has it
                try:
                    return new in lab.bodies(port, n)
                except OSError:
                    return False

            wait_until(f"HAProxy :{port} to route to {new}", served, 60, interval=0.005)
            serves.append(time.monotonic() - started)
        event_s, serve_s = statistics.median(events), statistics.median(serves)
        print(f"event TASK_RUNNING after {event_s * 1000:.0f} ms (median of {RUNS})")
        print(f"HAProxy serving it after {serve_s * 1000:.0f} ms")
        print(f"ratio {serve_s / event_s:.2f}x (target <= 1.5x)")
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
