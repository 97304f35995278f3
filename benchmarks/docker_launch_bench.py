"""A Docker task's launch through the twin against a plain `docker run` on the same node.

Run on a rehearsal lab past lesson 2 (the agents run Docker and `--containerizers=docker,mesos`),
e.g. after `mesoslab up --through lesson-2`:
    .venv/bin/python benchmarks/docker_launch_bench.py -C mylab [--agent agent1] [--runs 5]

- plain: `docker run -d --net host busybox:latest sleep 60` timed inside the agent (it
  returns once Docker has started the container);
- twin: a v1 framework on this host accepts an offer of that agent with the same container
  as a DOCKER task, timed from its ACCEPT to the TASK_RUNNING update (the master hands the
  task to the agent, the agent inspects the image, runs `docker run` and reports RUNNING once
  `docker inspect` says the container started, as Mesos's docker executor does).
Prints the medians and their ratio (target: twin <= 1.5x plain). Not a timed test.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mesoslab.lab.inventory import load_inventory  # noqa: E402
from mesoslab_twin.common.values import Amounts, parse_resources  # noqa: E402
from mesoslab_twin.mesos.scheduler import Driver, Launches, Offers  # noqa: E402

IMAGE = "busybox:latest"
NEEDS = Amounts.of(parse_resources("cpus:0.1;mem:32"))
PLAIN = r"""
for i in $(seq {runs}); do
  docker rm -f bench-plain >/dev/null 2>&1
  start=$(date +%s%N)
  docker run -d --net host --name bench-plain {image} sleep 60 >/dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
done
docker rm -f bench-plain >/dev/null 2>&1
"""


def plain_runs(lab: Path, agent: str, runs: int) -> list[float]:
    """Seconds each plain `docker run -d` took, measured inside the agent."""
    script = PLAIN.format(runs=runs, image=IMAGE)
    out = subprocess.run(
        [sys.executable, "-m", "mesoslab", "ssh", agent, "--", f"sudo sh -c {shlex.quote(script)}"],
        cwd=lab,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"docker run on {agent} failed:\n{out.stdout}{out.stderr}")
    return [int(line) / 1e6 for line in out.stdout.split() if line.isdigit()]


class Launcher:
    """One framework; launches one DOCKER task at a time on ``agent_host`` and times it."""

    def __init__(self, agent_host: str) -> None:
        self.agent_host = agent_host
        self.pending: str | None = None
        self.accepted_at = 0.0
        self.running = threading.Event()
        self.took = 0.0
        self.last_state = ""

    def offers(self, offers: Offers) -> Launches:
        task_id = self.pending
        if task_id is None:
            return []
        for offer in offers:
            if offer["hostname"] != self.agent_host:
                continue
            if not Amounts.from_wire(offer["resources"]).contains(NEEDS):
                continue
            self.pending = None
            info: dict[str, Any] = {
                "task_id": task_id,
                "name": task_id,
                "agent_id": offer["agent_id"],
                "resources": NEEDS.to_wire(),
                "command": {"shell": False, "arguments": ["sleep", "60"]},
                "container": {"type": "DOCKER", "docker": {"image": IMAGE, "network": "HOST"}},
            }
            self.accepted_at = time.perf_counter()
            return [(offer["agent_id"], [info])]
        return []

    def update(self, status: dict[str, Any]) -> None:
        self.last_state = str(status.get("state"))
        if self.last_state == "TASK_RUNNING" and not self.running.is_set():
            self.took = time.perf_counter() - self.accepted_at
            self.running.set()
        elif self.last_state in ("TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED"):
            print(f"  task ended {self.last_state}: {status.get('message', '')}", file=sys.stderr)
            self.running.set()


def twin_runs(master: str, agent_host: str, runs: int) -> list[float]:
    launcher = Launcher(agent_host)
    framework = {"name": "docker-launch-bench", "user": "root", "failover_timeout": 0}
    driver = Driver(
        master, framework, interval=0.1, on_offers=launcher.offers, on_update=launcher.update
    )
    driver.start()
    times: list[float] = []
    try:
        if not driver.wait_registered(30):
            raise SystemExit(f"could not subscribe to the master at {master}")
        for _ in range(runs):
            task_id = f"bench-{uuid.uuid4().hex[:8]}"
            launcher.running.clear()
            launcher.pending = task_id
            driver.wake.set()
            if not launcher.running.wait(120) or launcher.last_state != "TASK_RUNNING":
                raise SystemExit(f"task {task_id} did not run (last: {launcher.last_state})")
            times.append(launcher.took)
            driver.kill(task_id)
    finally:
        driver.teardown()
        driver.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-C", "--lab", type=Path, default=Path.cwd())
    parser.add_argument("--agent", default="agent1")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    inventory = load_inventory(args.lab / ".mesoslab" / "inventory.toml")
    agent = inventory.node(args.agent)
    masters = inventory.with_role("master")
    if agent is None or not masters:
        raise SystemExit(f"the lab has no node {args.agent!r} or no master")
    master = f"{masters[0].address}:{inventory.ports.get('mesos_master', 5050)}"
    plain = plain_runs(args.lab, agent.name, args.runs)
    twin = twin_runs(master, agent.name, args.runs)
    p, t = statistics.median(plain), statistics.median(twin)
    print(f"plain docker run -d on {agent.name}: median {p * 1000:.0f} ms "
          f"({', '.join(f'{x * 1000:.0f}' for x in plain)})")  # fmt: skip
    print(f"twin ACCEPT -> TASK_RUNNING:        median {t * 1000:.0f} ms "
          f"({', '.join(f'{x * 1000:.0f}' for x in twin)})")  # fmt: skip
    print(f"ratio twin / plain: {t / p:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
