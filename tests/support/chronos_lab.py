"""A loopback Chronos lab: a standalone twin master, one agent and the twin Chronos beside
the master, with Chronos's ``failure_retry`` (the pause before a failed run is retried)
shortened, started and registered."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.twin_lab import Daemon, TwinLab, http, wait_until, write


@dataclass
class ChronosLab:
    twins: TwinLab
    master: Daemon
    agent: Daemon
    chronos: Daemon

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return http(method, self.chronos.url + path, body)

    def job(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = next(
            j for j in self.chronos.get("/scheduler/jobs").json() if j["name"] == name
        )
        return found

    def tasks(self, job: str) -> list[dict[str, Any]]:
        """Every Mesos task of the job (running and completed), oldest first."""
        frameworks = self.master.get("/master/frameworks").json()["frameworks"]
        found = [
            t
            for f in frameworks
            if f["name"] == "chronos"
            for t in f["tasks"] + f["completed_tasks"]
            if t["name"] == f"ChronosTask:{job}"
        ]
        return sorted(found, key=lambda t: int(t["id"].split(":")[1]))


@contextlib.contextmanager
def chronos_lab(base: Path, master: str, agent: str, *, retry_ms: int) -> Iterator[ChronosLab]:
    twins = TwinLab(base, [master, agent])
    url = f"{master}:{twins.ports['mesos_master']}"
    try:
        found = ChronosLab(
            twins,
            twins.master("master1", master),
            twins.agent("agent1", agent, master=url),
            twins.chronos("master1", master, master=url),
        )
        write(twins.root("master1"), "/etc/chronos/conf/failure_retry", f"{retry_ms}\n")
        for daemon in (found.master, found.agent, found.chronos):
            daemon.start()
        found.master.wait_http()
        found.agent.wait_http()
        found.chronos.wait_http("/ping")
        wait_until(
            "chronos registered and the agent up",
            lambda: (
                found.master.get("/master/frameworks").json()["frameworks"]
                and found.master.get("/master/slaves").json()["slaves"]
            ),
        )
        yield found
    finally:
        twins.stop_all()
