"""Health checks, as Marathon 1.4 keeps them (``core/health/``).

HTTP and TCP checks (also HTTPS, sent as plain HTTP) are Marathon's own: every
``intervalSeconds`` Marathon itself connects to the task's host port at ``portIndex`` (or
``port``); HTTP is healthy on 200-399 (``ignoreHttp1xx`` also lets 1xx pass). COMMAND,
MESOS_HTTP(S) and MESOS_TCP checks are Mesos checks: Marathon hands the first one to Mesos in
the TaskInfo and takes the ``healthy`` flag of the task's status updates, never running it
itself (``HealthCheckActor.scala`` L99-110, ``MarathonHealthCheckManager.scala`` L194-215);
in the rehearsal lab that flag comes only if the twin agent runs the check.

Each result updates the task's ``Health`` (``Health.scala`` L6-29): a success sets
``firstSuccess``/``lastSuccess`` and clears ``consecutiveFailures``; a failure sets
``lastFailure``/``lastFailureCause`` and counts one more, except before the first success
within ``gracePeriodSeconds`` of the task running, when it is ignored
(``HealthCheckActor.scala`` L147-155). ``alive`` is "last success after last failure". A
failure when ``maxConsecutiveFailures`` (> 0) failures are already counted kills the task
(``unhealthy_instance_kill_event``) and Marathon launches a replacement (L112-145, L157-185).
A change of ``alive`` publishes ``health_status_changed_event`` and
``instance_health_changed_event`` (L189-205).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from mesoslab_twin.marathon.apps import MESOS_CHECKS
from mesoslab_twin.marathon.versions import new_version

if TYPE_CHECKING:
    from mesoslab_twin.marathon.apps import App, MTask
    from mesoslab_twin.marathon.daemon import Marathon

MARATHON_CHECKS = frozenset({"HTTP", "HTTPS", "TCP"})


def probe(check: dict[str, Any], host: str, port: int) -> str | None:
    """Run a Marathon HTTP/TCP check: None when healthy, else why not."""
    protocol = str(check.get("protocol", "HTTP")).upper()
    timeout = float(check.get("timeoutSeconds", 20))
    try:
        if protocol == "TCP":
            with socket.create_connection((host, port), timeout=timeout):
                return None
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", str(check.get("path") or "/"))
            code = conn.getresponse().status
        finally:
            conn.close()
        if 200 <= code < 400 or (check.get("ignoreHttp1xx") and 100 <= code < 200):
            return None
        return f"{code}"
    except (OSError, http.client.HTTPException) as exc:
        return f"{exc.__class__.__name__}: {exc}"


def _alive(health: dict[str, Any]) -> bool:
    success, failure = health["lastSuccess"], health["lastFailure"]
    return success is not None and (failure is None or success > failure)


class HealthChecker:
    def __init__(self, marathon: Marathon) -> None:
        self.marathon = marathon
        self._due: dict[tuple[str, int], float] = {}

    def start(self) -> None:
        threading.Thread(target=self._run, name="health-checks", daemon=True).start()

    def _run(self) -> None:
        while not self.marathon.stopping.wait(0.25):
            for app, task, index, check, address in self._due_now():
                problem = probe(check, *address)
                with self.marathon.lock:
                    if task.id in app.tasks and not task.killing:
                        self.record(app, task, index, check, problem)

    def _due_now(self) -> list[tuple[App, MTask, int, dict[str, Any], tuple[str, int]]]:
        work = []
        now = time.monotonic()
        with self.marathon.lock:
            for app in self.marathon.apps.values():
                for index, check in enumerate(app.definition.get("healthChecks") or []):
                    if check["protocol"] not in MARATHON_CHECKS:
                        continue
                    for task in app.tasks.values():
                        key = (task.id, index)
                        if (
                            task.state != "TASK_RUNNING"
                            or task.killing
                            or now < self._due.get(key, 0.0)
                        ):
                            continue
                        self._due[key] = now + float(check["intervalSeconds"])
                        port_index = int(check.get("portIndex", 0) or 0)
                        port = int(check.get("port", 0) or 0) or (
                            task.ports[port_index] if port_index < len(task.ports) else 0
                        )
                        if port:
                            work.append((app, task, index, check, (_address(app, task), port)))
        return work

    def mesos_result(self, app: App, task: MTask, healthy: bool) -> None:
        """The ``healthy`` of a status update: the result of the app's Mesos check."""
        for index, check in enumerate(app.definition.get("healthChecks") or []):
            if check["protocol"] in MESOS_CHECKS:
                self.record(app, task, index, check, None if healthy else "")
                return

    def record(
        self, app: App, task: MTask, index: int, check: dict[str, Any], problem: str | None
    ) -> None:
        """One result of check ``index`` for ``task`` (with the Marathon lock held)."""
        marathon = self.marathon
        while len(task.health) <= index:
            task.health.append(
                {
                    "alive": False,
                    "consecutiveFailures": 0,
                    "firstSuccess": None,
                    "lastFailure": None,
                    "lastSuccess": None,
                    "lastFailureCause": None,
                    "instanceId": task.id,  # Marathon 1.4 (HealthWrites)
                    "taskId": task.id,  # Marathon <= 1.3, and the recorded responses
                }
            )
        health = task.health[index]
        was_alive = health["alive"]
        stamp = new_version()
        if problem is None:
            health["firstSuccess"] = health["firstSuccess"] or stamp
            health["lastSuccess"] = stamp
            health["consecutiveFailures"] = 0
        else:
            grace = float(check["gracePeriodSeconds"])
            if health["firstSuccess"] is None and time.monotonic() - task.running_since < grace:
                return
            marathon.events.publish(
                "failed_health_check_event", appId=app.id, instanceId=task.id, healthCheck=check
            )
            limit = int(check["maxConsecutiveFailures"])
            if limit > 0 and health["consecutiveFailures"] >= limit:
                marathon.events.publish(
                    "unhealthy_instance_kill_event",
                    appId=app.id,
                    taskId=task.id,
                    instanceId=task.id,
                    version=app.version,
                    reason=health["lastFailureCause"] or "unknown",
                    host=task.host,
                    slaveId=task.agent_id,
                )
                marathon.kill_unhealthy(task)
            health["lastFailure"] = stamp
            health["lastFailureCause"] = problem
            health["consecutiveFailures"] += 1
        health["alive"] = _alive(health)
        if health["alive"] != was_alive:
            marathon.events.publish(
                "health_status_changed_event",
                appId=app.id,
                instanceId=task.id,
                version=app.version,
                alive=health["alive"],
            )
            marathon.events.publish(
                "instance_health_changed_event",
                instanceId=task.id,
                runSpecId=app.id,
                healthy=health["alive"],
                runSpecVersion=app.version,
            )
        marathon.changed()


def _address(app: App, task: MTask) -> str:
    """Where a check reaches the task: its own address only for an app with IP-per-task
    (``ipAddress``); else its agent's host, even when Docker gave the container a bridge
    address (v1.4.12 core/task/state/NetworkInfo.scala ``effectiveIpAddress`` L32-38). The
    host is taken as the offer's agent address, which is what its name resolves to in a
    cluster (and loopback twin labs have no DNS for their node names)."""
    if app.definition.get("ipAddress") and task.ip:
        return task.ip
    return task.agent_ip or task.host
