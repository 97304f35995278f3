"""``mesos-execute`` as the lessons use it (lesson 1, step 6).

``mesos-execute --master=HOST:PORT --name=N --command=C [--resources=cpus:1;mem:128]
[--docker_image=I] [--containerizer=mesos|docker] [--shell=true|false] [--env=JSON]
[--checkpoint]``
registers a framework named ``mesos-execute instance``, launches one task whose id and name
are ``N`` on the first offer that fits, prints its status updates like the real tool, and
tears the framework down at the end (it then shows under ``completed_frameworks``). Exit
status: 0 when the task finished, 1 otherwise (the real tool always exits 0).

Unlike the real tool, it launches the task again when the master has not known it for
``UNKNOWN_FOR`` seconds: a launch that never reached the master, or that a failed-over master
took with it before the agent got it, would otherwise leave the learner's command waiting
forever. It says so when it does.
"""

from __future__ import annotations

import getpass
import json
import signal
import socket
import sys
import threading
import time
from typing import Any

from mesoslab_twin.common.config import tool_options
from mesoslab_twin.common.values import Amounts, parse_resources
from mesoslab_twin.mesos.scheduler import Driver, Launches, Offers

UNKNOWN_FOR = 15.0  # seconds; agents re-register with a new master well within it

TERMINAL = frozenset(
    {
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_LOST",
        "TASK_ERROR",
        "TASK_DROPPED",
        "TASK_GONE",
    }
)


class Execute:
    def __init__(self, options: dict[str, str]) -> None:
        self.name = options["name"]
        self.options = options
        resources = options.get("resources", "cpus:1;mem:128")
        self.needs = Amounts.of(parse_resources(resources))
        self.launched = False
        self.final: str | None = None
        self.done = threading.Event()
        self.unknown_since: float | None = None

    def task_info(self, agent_id: str) -> dict[str, Any]:
        shell = self.options.get("shell", "true") != "false"
        command: dict[str, Any] = {"shell": shell}
        if self.options.get("command"):
            command["value"] = self.options["command"]
        if self.options.get("env"):
            try:
                env = json.loads(self.options["env"])
            except json.JSONDecodeError:
                env = {}
            command["environment"] = {
                "variables": [{"name": k, "value": str(v)} for k, v in env.items()]
            }
        info: dict[str, Any] = {
            "task_id": self.name,
            "name": self.name,
            "agent_id": agent_id,
            "resources": self.needs.to_wire(),
            "command": command,
        }
        image = self.options.get("docker_image")
        if image:
            if self.options.get("containerizer", "mesos") == "docker":
                info["container"] = {
                    "type": "DOCKER",
                    "docker": {"image": image, "network": "HOST", "privileged": False},
                }
            else:
                # `cached` is a protobuf default (true), printed in /master/state as Mesos
                # prints it (include/mesos/mesos.proto `message Image`)
                info["container"] = {
                    "type": "MESOS",
                    "mesos": {
                        "image": {"type": "DOCKER", "docker": {"name": image}, "cached": True}
                    },
                }
        return info

    def offers(self, offers: Offers) -> Launches:
        if self.launched:
            return []
        for offer in offers:
            if Amounts.from_wire(offer.get("resources")).contains(self.needs):
                self.launched = True
                print(f"Submitted task '{self.name}' to agent '{offer['agent_id']}'", flush=True)
                return [(offer["agent_id"], [self.task_info(offer["agent_id"])])]
        return []

    def tasks(self, known: list[dict[str, Any]], now: float | None = None) -> None:
        """The master's live tasks of this framework, after every poll (and after its
        updates, so a task that just ended is no longer here but ``done`` is set)."""
        if not self.launched or self.done.is_set():
            return
        if any(status.get("task_id") == self.name for status in known):
            self.unknown_since = None
            return
        now = time.monotonic() if now is None else now
        if self.unknown_since is None:
            self.unknown_since = now
        elif now - self.unknown_since >= UNKNOWN_FOR:
            print(
                f"The master does not know task '{self.name}' (lost in a master failover?); "
                "launching it again",
                flush=True,
            )
            self.launched = False
            self.unknown_since = None

    def update(self, status: dict[str, Any]) -> None:
        if status.get("task_id") != self.name:
            return
        state = str(status.get("state"))
        lines = [f"Received status update {state} for task '{self.name}'"]
        if status.get("message"):
            lines.append(f"  message: '{status['message']}'")
        if status.get("source"):
            lines.append(f"  source: {status['source']}")
        if status.get("reason"):
            lines.append(f"  reason: {status['reason']}")
        print("\n".join(lines), flush=True)
        if state in TERMINAL:
            self.final = state
            self.done.set()


def main(args: list[str]) -> int:
    options, _ = tool_options(args)
    missing = [o for o in ("master", "name") if not options.get(o)]
    if options.get("shell", "true") != "false" and not options.get("command"):
        missing.append("command")
    if missing:
        print(f"Missing required option --{missing[0]}", file=sys.stderr)
        return 1
    try:
        execute = Execute(options)
    except ValueError as exc:
        print(f"Failed to parse resources '{options.get('resources')}': {exc}", file=sys.stderr)
        return 1
    info = {
        "name": "mesos-execute instance",
        "user": getpass.getuser(),
        "hostname": socket.gethostname(),
        "failover_timeout": 0,
        "checkpoint": options.get("checkpoint", "false") == "true",
        "role": options.get("role", "*"),
        "capabilities": [
            {"type": "RESERVATION_REFINEMENT"},
            {"type": "TASK_KILLING_STATE"},
            {"type": "REVOCABLE_RESOURCES"},
            {"type": "PARTITION_AWARE"},
        ],
    }
    try:
        driver = Driver(
            options["master"],
            info,
            interval=0.2,
            on_registered=lambda fid, again: (
                print(f"Subscribed with ID {fid}", flush=True) if not again else None
            ),
            on_update=execute.update,
            on_offers=execute.offers,
            on_tasks=execute.tasks,
            wants_offers=lambda: not execute.launched,
        )
    except ValueError as exc:
        print(f"Failed to create a master detector: {exc}", file=sys.stderr)
        return 1

    def interrupted(signum: int, _frame: object) -> None:
        execute.done.set()

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    driver.start()
    while not execute.done.wait(0.5):
        pass
    driver.teardown()
    driver.stop()
    return 0 if execute.final == "TASK_FINISHED" else 1
