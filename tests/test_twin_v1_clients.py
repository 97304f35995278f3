"""Real third-party clients from PyPI against a twin master and agent on loopback (issue 14,
item 7, the master's side).

* The framework library is **avmesos** (PyPI ``avmesos`` 0.4.2, AVENTER's pure-Python client
  of the v1 scheduler HTTP API: ``requests`` + ``kazoo``). ``pymesos`` 0.3.15 was tried first
  and does not install on Python 3.11: it needs ``http-parser`` 0.9.0, whose C extension
  includes ``longintrepr.h`` (moved in 3.11) and fails to compile, with no pure wheel.
  avmesos reads the RecordIO stream with ``requests``' ``iter_lines()``: a record has no
  newline after it, so each event reaches avmesos's callbacks only when the next record's
  length line arrives (at worst with the next HEARTBEAT, 15 s later). That is avmesos's
  behaviour against a real master too; the deadlines below allow for it and the twin is not
  changed for it.
* The CLI is the Apache Mesos CLI as published on PyPI (``avmesos-cli`` 1.0.0, the last
  release for Python < 3.12), run as its ``mesos-cli`` script runs it
  (``python -m avmesos.cli.mesos-cli``) with a config file naming the master. It reads
  ``/slaves``, ``/master/frameworks/`` and ``/tasks?order=asc&limit=-1``.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.twin_lab import Daemon, TwinLab, wait_until
from tests.support.v1_stream import call, of_type, subscribe, update_of

pytestmark = pytest.mark.slow

MASTER = "127.0.0.1"
AGENT = "127.0.0.2"
RESOURCES = "cpus:2;mem:1024;disk:2048;ports:[31000-31009]"
EVENT_WAIT = 90.0  # seconds: avmesos sees an event only when the next one arrives (see above)


@dataclass
class Lab:
    master: Daemon
    agent: Daemon
    base: Path

    def state(self) -> dict[str, Any]:
        return self.master.get("/master/state").json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("clients")
    twin = TwinLab(base / "nodes", [MASTER, AGENT])
    try:
        master = twin.master("master", MASTER).start()
        agent = twin.agent(
            "agent",
            AGENT,
            master=f"{MASTER}:{twin.ports['mesos_master']}",
            extra={"resources": RESOURCES},
        ).start()
        master.wait_http()
        found = Lab(master, agent, base)
        wait_until(
            "the agent to register", lambda: [s for s in found.state()["slaves"] if s["active"]]
        )
        yield found
    finally:
        twin.stop_all()


# ------------------------------------------------------------------ avmesos


def test_avmesos_framework_declines_accepts_and_runs_a_task_to_finished(lab: Lab) -> None:
    from avmesos.client import MesosClient  # type: ignore[import-untyped]

    client = MesosClient(mesos_urls=[lab.master.url], frameworkName="avmesos-lab")
    client.set_failover_timeout(60)
    drivers: queue.Queue[Any] = queue.Queue()
    updates: queue.Queue[dict[str, Any]] = queue.Queue()
    seen: dict[str, str] = {}

    def on_subscribed(driver: Any) -> None:
        drivers.put(driver)

    def on_offers(offers: list[Any]) -> None:
        for offer in offers:
            data = offer.get_offer()
            if "declined" not in seen:
                seen["declined"] = data["id"]["value"]
                offer.decline(options={"filters": {"refuse_seconds": 1.0}})
            elif "accepted" not in seen:
                seen["accepted"] = data["id"]["value"]
                offer.accept([_task_info(data)])
            else:
                offer.decline()

    def on_update(update: dict[str, Any]) -> None:
        updates.put(update["status"])

    client.on(MesosClient.SUBSCRIBED, on_subscribed)
    client.on(MesosClient.OFFERS, on_offers)
    client.on(MesosClient.UPDATE, on_update)
    runner = threading.Thread(target=client.register, name="avmesos", daemon=True)
    runner.start()
    try:
        driver = drivers.get(timeout=EVENT_WAIT)
        framework_id = client.frameworkId
        active = wait_until(
            "avmesos's framework registered and active",
            lambda: [
                f for f in lab.state()["frameworks"] if f["id"] == framework_id and f["active"]
            ],
        )
        assert active[0]["name"] == "avmesos-lab"
        states = []
        while "TASK_FINISHED" not in states:
            status = updates.get(timeout=EVENT_WAIT)
            assert status["task_id"]["value"] == "avmesos-task"
            states.append(status["state"])
        assert states[-2:] == ["TASK_RUNNING", "TASK_FINISHED"]
        assert seen["declined"] != seen["accepted"]
        metrics = lab.master.get("/metrics/snapshot").json()
        assert metrics["master/messages_decline_offers"] >= 1
        assert metrics["master/messages_launch_tasks"] >= 1
        framework = next(f for f in lab.state()["frameworks"] if f["id"] == framework_id)
        assert [(t["id"], t["state"]) for t in framework["completed_tasks"]] == [
            ("avmesos-task", "TASK_FINISHED")
        ]
        wait_until(
            "avmesos's acknowledgements",
            lambda: lab.master.get("/metrics/snapshot").json()["master/tasks_finished"] >= 1,
        )
        client.tearDown()  # stops avmesos's loop; the driver's TEARDOWN removes the framework
        driver.tearDown()
        wait_until(
            "the framework to be torn down",
            lambda: [f for f in lab.state()["completed_frameworks"] if f["id"] == framework_id],
        )
        runner.join(timeout=30)
        assert not runner.is_alive(), "avmesos's loop did not end after TEARDOWN"
    finally:
        client.stop = True
        if client.long_pool is not None:
            client.long_pool.close()


def _task_info(offer: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "avmesos-task",
        "task_id": {"value": "avmesos-task"},
        "agent_id": {"value": offer["agent_id"]["value"]},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
        ],
        "command": {"value": "echo hello from avmesos", "shell": True},
    }


# ------------------------------------------------------------------ the Mesos CLI


def _mesos_cli(lab: Lab, *args: str) -> str:
    config = lab.base / "mesos-cli.toml"
    config.write_text(f'[master]\naddress = "{MASTER}:{lab.master.port}"\n')
    env = {**os.environ, "MESOS_CLI_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-m", "avmesos.cli.mesos-cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=lab.base,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_mesos_cli_lists_agents_frameworks_and_tasks(lab: Lab) -> None:
    agent_id = next(s["id"] for s in lab.state()["slaves"] if s["active"])
    sub = subscribe(lab.master.url, {"user": "root", "name": "listed", "hostname": "agent"})
    try:
        offer = sub.next(of_type("OFFERS"), timeout=30)["offers"]["offers"][0]
        task = {
            "name": "listed-task",
            "task_id": {"value": "listed-task"},
            "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}],
            "command": {"value": "sleep 60", "shell": True},
        }
        accept = {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        }
        assert call(lab.master.url, sub, "ACCEPT", accept).status == 202
        sub.next(update_of("listed-task", "TASK_RUNNING"), timeout=30)

        agents = _mesos_cli(lab, "agent", "list").splitlines()
        assert agents[0].split() == ["Agent", "ID", "Hostname", "Active"]
        assert agents[1].split() == [agent_id, "agent", "True"]

        frameworks = _mesos_cli(lab, "framework", "list").splitlines()
        assert frameworks[0].split() == ["ID", "Active", "Hostname", "Name"]
        assert [sub.framework_id, "True", "agent", "listed"] in [r.split() for r in frameworks]

        tasks = _mesos_cli(lab, "task", "list").splitlines()
        assert tasks[0].split() == ["ID", "State", "Framework", "ID", "Executor", "ID"]
        assert ["listed-task", "TASK_RUNNING", sub.framework_id] in [
            r.split()[:3] for r in tasks[1:]
        ]
        assert call(lab.master.url, sub, "TEARDOWN").status == 202
        sub.wait_end()
    finally:
        sub.close()
