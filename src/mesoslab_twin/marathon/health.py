"""Marathon's own HTTP/TCP health checks (Marathon 1.4 runs them from the Marathon node).

Each running task of an app with ``healthChecks`` is probed every ``intervalSeconds`` on the
host port at ``portIndex``; results land in the task's ``healthCheckResults`` and the app's
``tasksHealthy``/``tasksUnhealthy``. After ``gracePeriodSeconds``, a task that failed
``maxConsecutiveFailures`` times in a row is killed (and replaced).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mesoslab_twin.marathon.apps import MTask
    from mesoslab_twin.marathon.daemon import Marathon


def _probe(check: dict[str, Any], host: str, port: int) -> str | None:
    """None when healthy, else why not."""
    protocol = str(check.get("protocol", "HTTP")).upper().replace("MESOS_", "")
    timeout = float(check.get("timeoutSeconds", 20))
    try:
        if protocol == "TCP":
            with socket.create_connection((host, port), timeout=timeout):
                return None
        if protocol in ("HTTP", "HTTPS"):
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            try:
                conn.request("GET", str(check.get("path", "/")))
                code = conn.getresponse().status
            finally:
                conn.close()
            ignore = {int(c) for c in check.get("ignoreHttp1xx", []) or []}
            return None if 200 <= code < 400 or code in ignore else f"HTTP {code}"
    except OSError as exc:
        return str(exc) or exc.__class__.__name__
    except http.client.HTTPException as exc:
        return str(exc) or exc.__class__.__name__
    return None  # COMMAND checks run on the agent in real Marathon: not emulated


class HealthChecker:
    def __init__(self, marathon: Marathon) -> None:
        self.marathon = marathon
        self._due: dict[tuple[str, int], float] = {}

    def start(self) -> None:
        threading.Thread(target=self._run, name="health-checks", daemon=True).start()

    def _run(self) -> None:
        from mesoslab_twin.marathon import apps as marathon_apps

        while not self.marathon.stopping.wait(0.5):
            work: list[tuple[MTask, int, dict[str, Any], str, int]] = []
            now = time.monotonic()
            with self.marathon.lock:
                for app in self.marathon.apps.values():
                    for index, check in enumerate(app.definition.get("healthChecks") or []):
                        for task in app.tasks.values():
                            if task.state != "TASK_RUNNING" or task.killing:
                                continue
                            key = (task.id, index)
                            if now < self._due.get(key, 0.0):
                                continue
                            self._due[key] = now + float(check.get("intervalSeconds", 60))
                            port_index = int(check.get("portIndex", 0) or 0)
                            port = int(check.get("port", 0) or 0) or (
                                task.ports[port_index] if port_index < len(task.ports) else 0
                            )
                            if port:
                                work.append((task, index, check, task.ip or task.host, port))
            for task, index, check, host, port in work:
                problem = _probe(check, host, port)
                with self.marathon.lock:
                    self._record(task, index, check, problem, marathon_apps.now_iso())

    def _record(
        self, task: MTask, index: int, check: dict[str, Any], problem: str | None, stamp: str
    ) -> None:
        while len(task.health) <= index:
            task.health.append(
                {
                    "alive": False,
                    "consecutiveFailures": 0,
                    "firstSuccess": None,
                    "lastFailure": None,
                    "lastSuccess": None,
                    "lastFailureCause": None,
                    "taskId": task.id,
                }
            )
        result = task.health[index]
        if problem is None:
            result["alive"] = True
            result["consecutiveFailures"] = 0
            result["lastSuccess"] = stamp
            result["firstSuccess"] = result["firstSuccess"] or stamp
            return
        grace = float(check.get("gracePeriodSeconds", 300))
        in_grace = result["firstSuccess"] is None and (
            time.monotonic() - task.running_since < grace
        )
        if in_grace:
            return
        result["alive"] = False
        result["consecutiveFailures"] += 1
        result["lastFailure"] = stamp
        result["lastFailureCause"] = problem
        limit = int(check.get("maxConsecutiveFailures", 3))
        if limit > 0 and result["consecutiveFailures"] >= limit:
            self.marathon.kill_unhealthy(task)
        self.marathon.changed()
