"""The emulated Chronos (2.x API under ``/scheduler``, api-facts §5).

Options like the package's ``chronos-framework`` script: ``/etc/chronos/conf/<name>``
(``http_port`` is 4400 in the Mesosphere package), ``CHRONOS_<NAME>`` in
``/etc/default/chronos``, the command line; ``--master`` defaults to ``/etc/mesos/zk`` and
``--zk_hosts`` to its hosts. Jobs are kept in ZooKeeper (``<zk_path>/twin-jobs``, default
``/chronos/state``) and run through the master as tasks, on their ISO 8601 schedule
``R[n]/<start>/<period>``, when run by hand (``PUT /scheduler/job/<name>``) or after their
parents succeeded (dependent jobs). Runs are retried ``retries`` times; the job keeps
``successCount``/``errorCount``/``lastSuccess``/``lastError``.
"""

from __future__ import annotations

import getpass
import logging
import re
import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from mesoslab_twin import CHRONOS_VERSION
from mesoslab_twin.common.config import Root, load_options, mesos_zk
from mesoslab_twin.common.httpd import BadRequest, serve
from mesoslab_twin.common.process import wait_for_signal
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos.scheduler import Driver, Launches, Offers

log = logging.getLogger("mesoslab_twin.chronos")

JOB_DEFAULTS: dict[str, Any] = {
    "name": "",
    "command": "",
    "shell": True,
    "epsilon": "PT60S",
    "executor": "",
    "executorFlags": "",
    "taskInfoData": "",
    "retries": 2,
    "owner": "",
    "ownerName": "",
    "description": "",
    "async": False,
    "successCount": 0,
    "errorCount": 0,
    "lastSuccess": "",
    "lastError": "",
    "cpus": 0.1,
    "disk": 256.0,
    "mem": 128.0,
    "disabled": False,
    "softError": False,
    "dataProcessingJobType": False,
    "errorsSinceLastSuccess": 0,
    "fetch": [],
    "uris": [],
    "environmentVariables": [],
    "arguments": [],
    "highPriority": False,
    "runAsUser": "root",
}
FIELD_ORDER = [*JOB_DEFAULTS, "container", "constraints", "parents", "schedule", "scheduleTimeZone"]
COUNTERS = ("successCount", "errorCount", "lastSuccess", "lastError", "errorsSinceLastSuccess")
TERMINAL = frozenset(
    {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED"}
)
_PERIOD_RE = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def iso_now() -> str:
    return (
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(time.time() * 1000) % 1000:03d}Z"
    )


def parse_period(text: str) -> timedelta:
    match = _PERIOD_RE.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"Invalid ISO 8601 period: {text!r}")
    years, months, weeks, days, hours, minutes, seconds = (
        float(g) if g else 0.0 for g in match.groups()
    )
    return timedelta(
        days=years * 365 + months * 30 + weeks * 7 + days,
        hours=hours,
        minutes=minutes,
        seconds=seconds,
    )


def parse_time(text: str) -> datetime:
    value = text.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def parse_schedule(text: str) -> tuple[int | None, datetime | None, timedelta]:
    """``R5/2014-03-08T20:00:00.000Z/PT2H`` -> (5, start, period); ``R`` alone = forever."""
    parts = text.strip().split("/")
    if len(parts) != 3 or not parts[0].startswith("R"):
        raise ValueError(f"Invalid schedule '{text}': expected R[n]/<start>/<period>")
    repeat = int(parts[0][1:]) if parts[0][1:] else None
    start = parse_time(parts[1]) if parts[1] else None
    return repeat, start, parse_period(parts[2])


class Chronos:
    def __init__(self, options: dict[str, str]) -> None:
        self.options = options
        self.port = int(options.get("http_port", "8080"))
        self.hostname = options.get("hostname") or socket.gethostname()
        self.master = options["master"]
        self.lock = threading.RLock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.framework_id = ""
        self.queue: list[tuple[str, int, int]] = []  # (job, attempt, due millis)
        self.running: dict[str, tuple[str, int, int]] = {}  # task id -> (job, attempt, due)
        self.parents_done: dict[str, set[str]] = {}  # child -> parents succeeded since
        self.driver: Driver | None = None
        self.zk: Any = None
        self.stopping = threading.Event()
        self._dirty = threading.Event()

    @property
    def me(self) -> str:
        return f"{self.hostname}:{self.port}"

    # ------------------------------------------------------------------ state

    def start(self) -> None:
        zk_hosts = self.options.get("zk_hosts", "")
        if zk_hosts:
            from mesoslab_twin.common.zk import Zk

            path = self.options.get("zk_path", "/chronos/state")
            self.zk = Zk(f"zk://{zk_hosts}{path}", 10.0)
            self.zk.start()
            if self.zk.wait_connected(15.0):
                self._load()
            threading.Thread(target=self._persist_loop, name="chronos-store", daemon=True).start()
        info = {
            "name": self.options.get("mesos_framework_name", "chronos"),
            "user": self.options.get("user") or getpass.getuser(),
            "hostname": self.hostname,
            "webui_url": f"http://{self.hostname}:{self.port}",
            "failover_timeout": float(self.options.get("failover_timeout", "604800")),
            "checkpoint": self.options.get("mesos_checkpoint", "true") != "false",
            "role": self.options.get("mesos_role", "*"),
            "capabilities": [],
        }
        self.driver = Driver(
            self.master,
            info,
            framework_id=self.framework_id or None,
            on_registered=self._registered,
            on_update=self._update,
            on_offers=self._offers,
            wants_offers=lambda: bool(self.queue),
        )
        self.driver.start()
        threading.Thread(target=self._schedule_loop, name="chronos-schedule", daemon=True).start()

    def _load(self) -> None:
        state = self.zk.get_json(f"{self.zk.path}/twin-jobs")
        if not isinstance(state, dict):
            return
        with self.lock:
            self.framework_id = str(state.get("framework_id", ""))
            self.jobs = {j["name"]: j for j in state.get("jobs", [])}

    def _persist_loop(self) -> None:
        while not self.stopping.is_set():
            self._dirty.wait(1.0)
            if self._dirty.is_set():
                self._dirty.clear()
                if not self.save():
                    self._dirty.set()
                    time.sleep(1.0)

    def save(self) -> bool:
        """Store the framework id and the jobs (with their counts) in ZooKeeper."""
        if self.zk is None:
            return True
        with self.lock:
            state = {"framework_id": self.framework_id, "jobs": list(self.jobs.values())}
        try:
            self.zk.put_json(f"{self.zk.path}/twin-jobs", state)
        except Exception as exc:  # keep running; retry later
            log.warning("Could not store jobs in ZooKeeper: %s", exc)
            return False
        return True

    def _registered(self, framework_id: str, again: bool) -> None:
        with self.lock:
            self.framework_id = framework_id
        self._dirty.set()

    # ------------------------------------------------------------------ jobs

    def put_job(self, raw: Any, dependent: bool) -> None:
        if not isinstance(raw, dict):
            raise BadRequest("Invalid job: expected a JSON object")
        name = str(raw.get("name") or "").strip()
        if not name:
            raise BadRequest("Job name is required")
        if not str(raw.get("command") or "").strip() and not raw.get("container"):
            raise BadRequest("Job command is required")
        job = dict(JOB_DEFAULTS)
        job.update({k: v for k, v in raw.items() if k in FIELD_ORDER})
        job["name"] = name
        for key in ("cpus", "mem", "disk"):
            try:
                job[key] = float(job[key])
            except (TypeError, ValueError):
                raise BadRequest(f"'{key}' must be a number") from None
        if dependent:
            parents = raw.get("parents")
            if not isinstance(parents, list) or not parents:
                raise BadRequest("A dependent job needs 'parents'")
            missing = [p for p in parents if p not in self.jobs]
            if missing:
                raise BadRequest(f"Parent job(s) not found: {', '.join(missing)}")
            job.pop("schedule", None)
            job.pop("scheduleTimeZone", None)
        else:
            try:
                parse_schedule(str(raw.get("schedule", "")))
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            job["scheduleTimeZone"] = str(raw.get("scheduleTimeZone", ""))
            job.pop("parents", None)
        if isinstance(job.get("container"), dict):
            container = dict(job["container"])
            container["type"] = str(container.get("type", "docker")).lower()
            job["container"] = container
        job.setdefault("constraints", [])
        with self.lock:
            old = self.jobs.get(name)
            if old is not None:
                for key in COUNTERS:
                    job[key] = old.get(key, JOB_DEFAULTS[key])
            self.jobs[name] = job
        self._dirty.set()

    def ordered(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: job[k] for k in FIELD_ORDER if k in job}

    def run_now(self, name: str) -> None:
        with self.lock:
            if name not in self.jobs:
                raise BadRequest(f"Job '{name}' not found")
            self.queue.append((name, 0, int(time.time() * 1000)))
        if self.driver is not None:
            self.driver.wake.set()

    def delete(self, name: str) -> None:
        with self.lock:
            if self.jobs.pop(name, None) is None:
                raise BadRequest(f"Job '{name}' not found")
            self.queue = [q for q in self.queue if q[0] != name]
        self._dirty.set()

    def _schedule_loop(self) -> None:
        while not self.stopping.wait(0.5):
            now = datetime.now(UTC)
            with self.lock:
                for job in self.jobs.values():
                    if "schedule" not in job or job.get("disabled"):
                        continue
                    due = self._due(job, now)
                    if due is not None:
                        self.queue.append((job["name"], 0, int(due.timestamp() * 1000)))
                        self._dirty.set()
            if self.queue and self.driver is not None:
                self.driver.wake.set()

    def _due(self, job: dict[str, Any], now: datetime) -> datetime | None:
        """If the job is due now: its due time, and the schedule moved on by one run.

        Runs that passed are skipped (the schedule moves to the latest one); the latest runs
        if it is not older than the job's ``epsilon``, as in Chronos.
        """
        try:
            repeat, start, period = parse_schedule(job["schedule"])
            epsilon = parse_period(job.get("epsilon") or "PT60S")
        except ValueError:
            return None
        if repeat == 0:
            return None
        start = start or now
        if start > now:
            return None
        suffix = job["schedule"].split("/")[2]
        if period.total_seconds() > 0:
            skipped = int((now - start) / period)
            if repeat is not None:
                skipped = min(skipped, repeat - 1)
                repeat -= skipped
            start += period * skipped
        remaining = "" if repeat is None else str(repeat - 1)
        job["schedule"] = f"R{remaining}/{format_time(start + period)}/{suffix}"
        return start if now - start <= epsilon else None

    # ------------------------------------------------------------------ tasks

    def _offers(self, offers: Offers) -> Launches:
        launches: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            free = {o["agent_id"]: Amounts.from_wire(o["resources"]) for o in offers}
            waiting = list(self.queue)
            for entry in waiting:
                name, attempt, due = entry
                job = self.jobs.get(name)
                if job is None:
                    self.queue.remove(entry)
                    continue
                needs = Amounts(
                    scalars={
                        "cpus": float(job["cpus"]),
                        "mem": float(job["mem"]),
                        "disk": float(job["disk"]),
                    }
                )
                for offer in offers:
                    agent = offer["agent_id"]
                    if not free[agent].contains(needs):
                        continue
                    task_id = f"ct:{due}:{attempt}:{name}:"
                    launches.setdefault(agent, []).append(self._task(job, task_id, agent, needs))
                    free[agent] = free[agent].minus(needs)
                    self.running[task_id] = entry
                    self.queue.remove(entry)
                    break
        return list(launches.items())

    def _task(
        self, job: dict[str, Any], task_id: str, agent_id: str, needs: Amounts
    ) -> dict[str, Any]:
        variables = [
            {"name": str(v.get("name")), "value": str(v.get("value", ""))}
            for v in job.get("environmentVariables") or []
        ]
        variables += [
            {"name": "CHRONOS_JOB_NAME", "value": job["name"]},
            {"name": "CHRONOS_JOB_OWNER", "value": job.get("owner", "")},
            {"name": "CHRONOS_JOB_RUN_TIME", "value": iso_now()},
            {"name": "CHRONOS_RESOURCE_CPU", "value": str(job["cpus"])},
            {"name": "CHRONOS_RESOURCE_MEM", "value": str(job["mem"])},
            {"name": "CHRONOS_RESOURCE_DISK", "value": str(job["disk"])},
        ]
        command: dict[str, Any] = {
            "shell": bool(job.get("shell", True)),
            "environment": {"variables": variables},
            "uris": [{"value": u} for u in job.get("uris") or []],
        }
        if job.get("command"):
            command["value"] = job["command"]
        if job.get("arguments"):
            command["arguments"] = job["arguments"]
        info: dict[str, Any] = {
            "task_id": task_id,
            "name": f"ChronosTask:{job['name']}",
            "agent_id": agent_id,
            "resources": needs.to_wire(),
            "command": command,
        }
        container = job.get("container")
        if isinstance(container, dict) and container.get("image"):
            info["container"] = {
                "type": "DOCKER",
                "volumes": container.get("volumes", []),
                "docker": {
                    "image": container["image"],
                    "network": str(container.get("network", "HOST")).upper(),
                    "privileged": False,
                    "force_pull_image": bool(container.get("forcePullImage", False)),
                },
            }
        return info

    def _update(self, status: dict[str, Any]) -> None:
        task_id = str(status.get("task_id", ""))
        state = str(status.get("state", ""))
        if state not in TERMINAL:
            return
        with self.lock:
            entry = self.running.pop(task_id, None)
            if entry is None:
                return
            name, attempt, due = entry
            job = self.jobs.get(name)
            if job is None:
                return
            if state == "TASK_FINISHED":
                job["successCount"] = int(job.get("successCount", 0)) + 1
                job["lastSuccess"] = iso_now()
                job["errorsSinceLastSuccess"] = 0
                log.info("Job %s succeeded", name)
                self._trigger_children(name)
            elif attempt < int(job.get("retries", 2)):
                log.info("Job %s failed (%s), retrying", name, status.get("message", state))
                self.queue.append((name, attempt + 1, due))
            else:
                job["errorCount"] = int(job.get("errorCount", 0)) + 1
                job["lastError"] = iso_now()
                job["errorsSinceLastSuccess"] = int(job.get("errorsSinceLastSuccess", 0)) + 1
                log.info("Job %s failed: %s", name, status.get("message", state))
        self._dirty.set()

    def _trigger_children(self, parent: str) -> None:
        for child in self.jobs.values():
            parents = child.get("parents")
            if not parents or parent not in parents or child.get("disabled"):
                continue
            done = self.parents_done.setdefault(child["name"], set())
            done.add(parent)
            if set(parents) <= done:
                self.parents_done[child["name"]] = set()
                self.queue.append((child["name"], 0, int(time.time() * 1000)))


def run(root: Root, args: list[str]) -> int:
    options = load_options(root, args, "/etc/chronos/conf", "/etc/default/chronos", "CHRONOS_")
    zk = mesos_zk(root)
    if zk:
        options.setdefault("zk_hosts", zk.split("/")[2])
        options.setdefault("master", zk)
    if not options.get("master"):
        print("Required option 'master' not found", file=sys.stderr)
        return 1
    chronos = Chronos(options)
    try:
        from mesoslab_twin.chronos.api import ChronosApi

        routes = ChronosApi(chronos).routes()
        server = serve(options.get("http_address", "0.0.0.0"), chronos.port, routes, "chronos-http")
    except OSError as exc:
        print(f"Failed to bind to port {chronos.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    log.info(
        "Chronos %s (mesoslab twin: an emulation) on %s, master %s",
        CHRONOS_VERSION,
        chronos.me,
        chronos.master,
    )
    try:
        chronos.start()
    except ValueError as exc:  # an unusable ZooKeeper URL
        print(f"Invalid --zk_hosts/--zk_path: {exc}", file=sys.stderr)
        return 1
    wait_for_signal()
    chronos.stopping.set()
    server.shutdown()
    if chronos.zk is not None:
        chronos.save()
        chronos.zk.stop()
    return 0
