"""The emulated Chronos 2.5 (API under ``/scheduler``, api-facts §5, lessons-5-10 facts §3).

Options like the package's ``chronos-framework`` script: each file ``/etc/chronos/conf/<name>``
is ``--name <content>`` (``http_port`` is 4400 in the Mesosphere package), then
``CHRONOS_<NAME>`` in ``/etc/default/chronos``, then the command line; ``--master`` defaults
to ``/etc/mesos/zk`` and ``--zk_hosts`` to its hosts. The scheduler flags of
``SchedulerConfiguration`` that change what a learner sees are read: ``failure_retry`` (ms
between retries, 60000), ``schedule_horizon`` (s, 60), ``task_epsilon`` (s, 60),
``disable_after_failures`` (0 = never), ``mesos_task_cpu/mem/disk``, ``user``.

Jobs are kept in ZooKeeper (``<zk_path>/twin-jobs``, default ``/chronos/state``) and run as
Mesos tasks through the master's v1 scheduler API, named ``ChronosTask:<job>`` with task ids
``ct:<due ms>:<attempt>:<job>:<arguments>`` (TaskUtils, MesosTaskBuilder). The semantics are
``JobScheduler``'s:

* a schedule-based job runs when its next time falls in ``(now - epsilon, now + horizon)``;
  a run missed by more than epsilon is skipped; each run moves the stored ``schedule`` on
  (``R3/...`` becomes ``R2/<next>/...``) and a job whose repeats reach 0 is disabled after
  its last success;
* a failed (or lost) run is retried up to ``retries`` times, ``failure_retry`` ms apart, with
  the attempt number in the task id; only when the retries are used up do ``errorCount``,
  ``errorsSinceLastSuccess`` and ``lastError`` change. A job whose last error is newer than
  its last success is not retried at all;
* a dependent job runs when all its parents succeeded since it last started;
* one task per job at a time: a run due while the job runs is dropped, as is a run of a
  disabled job (also a manual one).
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
from mesoslab_twin.chronos.jobs import (
    Defaults,
    JobError,
    check_dependent,
    check_scheduled,
    ordered,
    read_job,
)
from mesoslab_twin.chronos.schedule import (
    Schedule,
    parse_period,
    parse_schedule,
    parse_time,
    registered,
    utc_now_text,
    window,
)
from mesoslab_twin.common.config import Root, load_options, mesos_zk
from mesoslab_twin.common.httpd import serve
from mesoslab_twin.common.process import wait_for_signal
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos.scheduler import Driver, Launches, Offers

log = logging.getLogger("mesoslab_twin.chronos")

TASK_ID = re.compile(r"ct:(\d+):(\d+):([\w\s\.#_-]+):?(.*)", re.DOTALL)
STARTED = frozenset({"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"})
FAILED = frozenset({"TASK_FAILED", "TASK_LOST"})  # MesosJobFramework.statusUpdate
TICK = 0.25  # seconds between looks at the schedules (Chronos plans runs a horizon ahead)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def task_id(name: str, due_ms: int, attempt: int = 0, arguments: str = "") -> str:
    return f"ct:{due_ms}:{attempt}:{name}:" + arguments.replace(";", "")


def parse_task_id(value: str) -> tuple[str, int, int, str] | None:
    """(job, due ms, attempt, arguments), or None for an id Chronos did not make."""
    match = TASK_ID.fullmatch(value)
    if match is None:
        return None
    return match.group(3), int(match.group(1)), int(match.group(2)), match.group(4)


def _later(a: str, b: str) -> bool:
    """``a`` is a time after ``b`` (both ISO strings; an unreadable one is not after)."""
    try:
        return parse_time(a) > parse_time(b)
    except ValueError:
        return False


class Chronos:
    def __init__(self, options: dict[str, str]) -> None:
        self.options = options
        self.port = int(options.get("http_port", "8080"))
        self.hostname = options.get("hostname") or socket.gethostname()
        self.master = options["master"]
        self.defaults = Defaults.from_options(options)
        self.failure_retry_ms = int(_number(options, "failure_retry", 60000))
        self.horizon = timedelta(seconds=_number(options, "schedule_horizon", 60))
        self.disable_after = int(_number(options, "disable_after_failures", 0))
        self.lock = threading.RLock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.framework_id = ""
        self.streams: dict[str, Schedule] = {}  # the next run of each scheduled job
        self.delayed: list[tuple[int, str, bool]] = []  # (due ms, task id, high priority)
        self.queue: list[str] = []  # task ids due, waiting for an offer
        self.running: dict[str, str] = {}  # job -> its task id (one at a time)
        self.edges: dict[tuple[str, str], int] = {}  # (parent, child) -> successes counted
        self.run_times: dict[str, list[float]] = {}  # job -> ms from due to finished
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
            "webui_url": self.options.get("webui_url") or f"http://{self.hostname}:{self.port}",
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
        now = datetime.now(UTC)
        with self.lock:
            self.framework_id = str(state.get("framework_id", ""))
            for job in state.get("jobs", []):
                if isinstance(job, dict) and job.get("name"):
                    self.jobs[str(job["name"])] = job
            for job in self.jobs.values():  # JobUtils.loadJobs: dependents lose unknown parents
                self._add_stream(job, now)
        log.info("Loaded %d jobs from ZooKeeper", len(self.jobs))

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

    # ------------------------------------------------------------------ the API's calls

    def put_scheduled(self, raw: Any) -> None:
        """POST/PUT /scheduler/iso8601."""
        job = read_job(raw, self.defaults)
        with self.lock:
            old = self.jobs.get(job["name"])
            check_scheduled(job, is_new=old is None)
            if old is not None and "parents" in old:
                for parent in old["parents"]:
                    self.edges.pop((parent, old["name"]), None)
            self._replace(job)
            log.info("%s job %s", "Replaced" if old else "Added", job["name"])
        self._dirty.set()

    def put_dependent(self, raw: Any) -> None:
        """POST/PUT /scheduler/dependency."""
        job = read_job(raw, self.defaults)
        with self.lock:
            old = self.jobs.get(job["name"])
            check_dependent(job, is_new=old is None, known=set(self.jobs))
            if old is not None and "parents" in old:
                for parent in set(old["parents"]) - set(job["parents"]):
                    self.edges.pop((parent, old["name"]), None)
            self._replace(job)
            log.info("Job parent: [ %s ], name: %s", ",".join(job["parents"]), job["name"])
        self._dirty.set()

    def _replace(self, job: dict[str, Any]) -> None:
        """``registerJob`` / ``updateJob``: the job and, when scheduled, its stream anew."""
        self.jobs[job["name"]] = job
        self.streams.pop(job["name"], None)
        self._add_stream(job, datetime.now(UTC))

    def _add_stream(self, job: dict[str, Any], now: datetime) -> None:
        if "schedule" not in job or job.get("disabled"):
            return
        try:
            schedule = parse_schedule(job["schedule"], job.get("scheduleTimeZone", ""), now)
            epsilon = parse_period(job.get("epsilon") or "PT60S")
        except ValueError:
            return
        stream = registered(schedule, epsilon, now)
        if stream is None:
            log.warning("Filtered job %s as it is no longer valid.", job["name"])
            return
        self.streams[job["name"]] = stream

    def ordered(self, job: dict[str, Any]) -> dict[str, Any]:
        return ordered(job)

    def job_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [ordered(j) for j in self.jobs.values()]

    def _known(self, name: str) -> dict[str, Any]:
        job = self.jobs.get(name)
        if job is None:
            raise JobError(400, f"Job '{name}' not found")
        return job

    def run_now(self, name: str, arguments: str | None = None) -> None:
        """PUT /scheduler/job/<name>: queue a run now (attempt 0)."""
        with self.lock:
            job = self._known(name)
            log.info("Manually triggering job:%s", name)
            args = arguments if arguments and arguments.strip() else " ".join(job["arguments"])
            self._enqueue(task_id(name, millis(datetime.now(UTC)), 0, args), job)

    def delete(self, name: str) -> None:
        """DELETE /scheduler/job/<name> (JobManagementResource.delete, deregisterJob)."""
        with self.lock:
            job = self._known(name)
            for child_name in self._children(name):
                child = self.jobs[child_name]
                if "parents" in job:  # a dependent parent: its children inherit its parents
                    parents = [p for p in child["parents"] if p != name] + job["parents"]
                    child["parents"] = list(dict.fromkeys(parents))
                else:  # a scheduled parent: its dependent children take over its schedule
                    self._replace(self._scheduled_copy(child, job))
            self.jobs.pop(name)
            self.streams.pop(name, None)
            self.edges = {e: n for e, n in self.edges.items() if name not in e}
            self.run_times.pop(name, None)
            self._cancel(name)
            log.info("Removed job %s", name)
        self._dirty.set()

    def _scheduled_copy(self, child: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
        """``new ScheduleBasedJob(...)`` of the delete: the fields it copies, defaults for
        the others."""
        kept = (
            "name", "command", "epsilon", "successCount", "errorCount", "executor",
            "executorFlags", "taskInfoData", "retries", "owner", "lastError", "lastSuccess",
            "async", "cpus", "disk", "mem", "disabled", "softError", "uris", "fetch",
            "highPriority",
        )  # fmt: skip
        base = read_job({"name": child["name"], "command": child["command"]}, self.defaults)
        base.update({k: child[k] for k in kept if k in child})
        base["runAsUser"] = ""
        base["schedule"] = parent["schedule"]
        base["scheduleTimeZone"] = parent.get("scheduleTimeZone", "")
        return base

    def _children(self, name: str) -> list[str]:
        return [n for n, j in self.jobs.items() if name in (j.get("parents") or [])]

    def kill_tasks(self, name: str) -> None:
        """DELETE /scheduler/task/kill/<name>: drop its waiting runs, kill its running task."""
        with self.lock:
            if name not in self.jobs:
                raise JobError(500)  # a failed require() outside the IllegalArgument catch
            self._cancel(name)

    def _cancel(self, name: str) -> None:
        self.delayed = [d for d in self.delayed if _job_of(d[1]) != name]
        self.queue = [t for t in self.queue if _job_of(t) != name]
        running = self.running.get(name)
        if running is not None and self.driver is not None:
            log.warning("Killing task '%s'", running)
            self.driver.kill(running)

    def stat(self, name: str) -> dict[str, Any]:
        """GET /scheduler/job/stat/<name>: the run-time histogram (ms) and, without
        Cassandra (the package default), an empty task history."""
        with self.lock:
            self._known(name)
            values = sorted(self.run_times.get(name, []))
        return {
            "histogram": {
                "75thPercentile": _quantile(values, 0.75),
                "95thPercentile": _quantile(values, 0.95),
                "98thPercentile": _quantile(values, 0.98),
                "99thPercentile": _quantile(values, 0.99),
                "median": _quantile(values, 0.5),
                "mean": _quantile(values, 0.5),  # HistogramSerializer writes getValue(0.5)
                "count": len(values),
            },
            "taskStatHistory": [],
        }

    def graph_csv(self) -> str:
        lines = []
        with self.lock:
            queued = {_job_of(t) for t in self.queue}
            for name, job in self.jobs.items():
                state = (
                    "running" if name in self.running else "queued" if name in queued else "idle"
                )
                lines.append(f"node,{name},{_last_state(job)},{state}")
            for child, job in self.jobs.items():
                lines.extend(f"link,{parent},{child}" for parent in job.get("parents") or [])
        return "".join(line + "\n" for line in lines)

    def graph_dot(self) -> str:
        """jgrapht's DOTExporter with integer ids and the job names as labels."""
        with self.lock:
            ids = {name: i for i, name in enumerate(self.jobs, start=1)}
            out = ["digraph G {"]
            out += [f'  {i} [ label="{name}" ];' for name, i in ids.items()]
            for child, job in self.jobs.items():
                out += [
                    f"  {ids[p]} -> {ids[child]};" for p in job.get("parents") or [] if p in ids
                ]
        return "\n".join(out) + "\n}\n"

    # ------------------------------------------------------------------ scheduling

    def _schedule_loop(self) -> None:
        while not self.stopping.wait(TICK):
            try:
                self.tick(datetime.now(UTC))
            except Exception:  # keep scheduling whatever one job does
                log.exception("schedule iteration failed")

    def tick(self, now: datetime) -> None:
        """One look at every stream (``JobScheduler.iteration``) and at the delayed runs."""
        woke = False
        with self.lock:
            for name in list(self.streams):
                self._advance(name, now)
            now_ms = millis(now)
            due = [d for d in self.delayed if d[0] <= now_ms]
            if due:
                self.delayed = [d for d in self.delayed if d[0] > now_ms]
                for _, tid, _high in sorted(due):
                    job = self.jobs.get(_job_of(tid))
                    if job is not None:
                        self._enqueue(tid, job)
                        woke = True
        if woke and self.driver is not None:
            self.driver.wake.set()

    def _advance(self, name: str, now: datetime) -> None:
        """``JobScheduler.next`` for one stream, as often as runs fall in the window."""
        job = self.jobs.get(name)
        stream = self.streams.get(name)
        if job is None or stream is None:
            self.streams.pop(name, None)
            return
        try:
            epsilon = parse_period(job.get("epsilon") or "PT60S")
        except ValueError:
            epsilon = parse_period("PT60S")
        while True:
            if stream.repeats == 0:
                log.info("Finished all recurrences of job '%s'", name)
                self.streams.pop(name, None)
                return
            low, high = window(now, epsilon, self.horizon)
            if low < stream.start < high:
                log.info("Task ready for scheduling: %s", stream.start.isoformat())
                tid = task_id(name, millis(stream.start), 0, " ".join(job["arguments"]))
                self.delayed.append((millis(stream.start), tid, bool(job.get("highPriority"))))
                tail = stream.tail()
                assert tail is not None  # repeats != 0
                job["schedule"] = str(tail)
                stream = tail
                self.streams[name] = stream
                self._dirty.set()
                continue
            if stream.start >= now:
                self.streams[name] = stream
                return
            log.info("Skipped the run of %s at %s (missed by more than epsilon)", name, stream)
            tail = stream.tail()
            if tail is None:
                self.streams.pop(name, None)
                return
            stream = tail
            self.streams[name] = stream

    def _enqueue(self, tid: str, job: dict[str, Any]) -> None:
        if job.get("highPriority"):
            self.queue.insert(0, tid)
        else:
            self.queue.append(tid)
        if self.driver is not None:
            self.driver.wake.set()

    # ------------------------------------------------------------------ tasks

    def _offers(self, offers: Offers) -> Launches:
        """``generateLaunchableTasks``: take runs off the queue while offers hold them."""
        launches: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            free = {o["agent_id"]: Amounts.from_wire(o["resources"]) for o in offers}
            hosts = {o["agent_id"]: str(o.get("hostname", "")) for o in offers}
            batch: set[str] = set()
            while self.queue:
                tid = self.queue.pop(0)
                parsed = parse_task_id(tid)
                job = self.jobs.get(parsed[0]) if parsed else None
                if parsed is None or job is None:
                    continue
                name = parsed[0]
                if job.get("disabled"):
                    log.info("Job %s is disabled: dropping %s", name, tid)
                    continue
                if name in self.running or name in batch:
                    log.warning(
                        "The head of the task queue appears to already be running: %s", name
                    )
                    continue
                needs = Amounts(
                    scalars={"cpus": job["cpus"], "mem": job["mem"], "disk": job["disk"]}
                )
                agent = next((a for a, res in free.items() if res.contains(needs)), None)
                if agent is None:
                    log.warning("Insufficient resources for task '%s', will append to queue", tid)
                    self.queue.append(tid)
                    break
                free[agent] = free[agent].minus(needs)
                batch.add(name)
                self.running[name] = tid
                self._started(name)
                launches.setdefault(agent, []).append(
                    self._task(job, tid, parsed, agent, hosts[agent], needs)
                )
        return list(launches.items())

    def _task(
        self,
        job: dict[str, Any],
        tid: str,
        parsed: tuple[str, int, int, str],
        agent_id: str,
        host: str,
        needs: Amounts,
    ) -> dict[str, Any]:
        """``MesosTaskBuilder.getMesosTaskInfoBuilder``."""
        _, due, attempt, arguments = parsed
        env = {
            "mesos_task_id": tid,
            "MESOS_TASK_ID": tid,
            "CHRONOS_JOB_OWNER": job["owner"],
            "CHRONOS_JOB_NAME": job["name"],
            "HOST": host,
            "CHRONOS_RESOURCE_MEM": str(job["mem"]),
            "CHRONOS_RESOURCE_CPU": str(job["cpus"]),
            "CHRONOS_RESOURCE_DISK": str(job["disk"]),
            "CHRONOS_JOB_RUN_TIME": datetime.fromtimestamp(due / 1000, UTC).isoformat(),
            "CHRONOS_JOB_RUN_ATTEMPT": str(attempt),
        }
        for variable in job["environmentVariables"]:
            env.setdefault(variable["name"], variable["value"])
        command_text = job["command"] + (" " + arguments if arguments else "")
        command: dict[str, Any] = {
            "value": command_text,
            "shell": bool(job["shell"]),
            "environment": {"variables": [{"name": k, "value": v} for k, v in env.items()]},
            "uris": [{"value": f["uri"], "extract": f["extract"], "executable": f["executable"],
                      "cache": f["cache"]} for f in job["fetch"]]
            + [{"value": u} for u in job["uris"]],
        }  # fmt: skip
        if job["arguments"]:
            command["arguments"] = list(job["arguments"])
        if job["runAsUser"]:
            command["user"] = job["runAsUser"]
        info: dict[str, Any] = {
            "task_id": tid,
            "name": f"ChronosTask:{job['name']}",
            "agent_id": agent_id,
            "resources": needs.to_wire(),
            "command": command,
        }
        container = job.get("container")
        if isinstance(container, dict) and container.get("image"):
            info["container"] = {
                "type": "DOCKER",
                "volumes": [
                    {
                        "container_path": v.get("containerPath", ""),
                        "host_path": v.get("hostPath", ""),
                        "mode": v.get("mode", "RW"),
                    }
                    for v in container.get("volumes", [])
                ],
                "docker": {
                    "image": container["image"],
                    "network": str(container.get("network", "HOST")).upper(),
                    "force_pull_image": bool(container.get("forcePullImage", False)),
                    "parameters": container.get("parameters", []),
                },
            }
        return info

    def _started(self, name: str) -> None:
        """``handleStartedTask``: a dependent job's count of parent successes starts anew."""
        job = self.jobs.get(name)
        if job is not None:
            for parent in job.get("parents") or []:
                self.edges[(parent, name)] = 0

    def _update(self, status: dict[str, Any]) -> None:
        tid = str(status.get("task_id", ""))
        state = str(status.get("state", ""))
        parsed = parse_task_id(tid)
        if parsed is None:
            log.warning("Found old or invalid task, ignoring!")
            return
        name = parsed[0]
        with self.lock:
            if state in STARTED:
                self.running[name] = tid
                self._started(name)
                return
            if self.running.get(name) == tid:
                self.running.pop(name)
            job = self.jobs.get(name)
            if job is None:
                log.warning("Job '%s' no longer registered.", name)
                return
            if state == "TASK_FINISHED":
                if job.get("async"):
                    log.info("Asynchronous task: '%s', not updating job-graph.", tid)
                else:
                    self._finished(job, parsed)
            elif state in FAILED:
                self._failed(job, parsed, str(status.get("message", "")))
            elif state != "TASK_KILLED":
                log.warning("Unknown TaskState:%s for task: %s", state, tid)
        self._dirty.set()

    def _finished(self, job: dict[str, Any], parsed: tuple[str, int, int, str]) -> None:
        name, due, _, _ = parsed
        self.run_times.setdefault(name, []).append(float(millis(datetime.now(UTC)) - due))
        job["successCount"] = int(job["successCount"]) + 1
        job["errorsSinceLastSuccess"] = 0
        job["lastSuccess"] = utc_now_text()
        log.info("Job %s succeeded (successCount %d)", name, job["successCount"])
        self._dependents_of(name)
        if "schedule" in job:
            try:
                left = parse_schedule(job["schedule"], job.get("scheduleTimeZone", "")).repeats
            except ValueError:
                left = -1
            if left == 0:
                log.info("Disabling job that reached a zero-recurrence count!")
                job["disabled"] = True

    def _failed(self, job: dict[str, Any], parsed: tuple[str, int, int, str], why: str) -> None:
        """``JobScheduler.handleFailedTask``."""
        name, _, attempt, arguments = parsed
        log.warning("Task of job: %s failed. %s", name, why)
        attempts_left = attempt < int(job["retries"])
        recent_success = bool(job["lastError"] and job["lastSuccess"]) and not _later(
            job["lastError"], job["lastSuccess"]
        )
        if attempts_left and (not job["lastError"] or recent_success):
            log.warning("Retrying job: %s, attempt: %d", name, attempt)
            due = millis(datetime.now(UTC)) + self.failure_retry_ms
            retry = task_id(name, due, attempt + 1, arguments)
            self.delayed.append((due, retry, bool(job.get("highPriority"))))
            return
        errors_since = int(job["errorsSinceLastSuccess"]) + 1
        job["errorCount"] = int(job["errorCount"]) + 1
        job["errorsSinceLastSuccess"] = errors_since
        job["lastError"] = utc_now_text()
        if self.disable_after > 0 and errors_since >= self.disable_after:
            job["disabled"] = True
            log.warning(
                "Job failed beyond retries! Job will now be disabled after %d failures "
                "(disableAfterFailures=%d).",
                errors_since,
                self.disable_after,
            )
        else:
            log.warning("Job failed beyond retries!")
        self._replace(job)  # updateJob: the stream anew from the stored schedule
        if job.get("softError"):
            self._dependents_of(name)

    def _dependents_of(self, parent: str) -> None:
        """``processDependencies`` with ``JobGraph.getExecutableChildren``."""
        now_ms = millis(datetime.now(UTC))
        for child in self._children(parent):
            job = self.jobs[child]
            parents = job["parents"]
            if len(parents) > 1:
                self.edges[(parent, child)] = self.edges.get((parent, child), 0) + 1
                counts = [self.edges.get((p, child), 0) for p in parents]
                if self.edges[(parent, child)] != min(counts):
                    continue
            if not job.get("disabled"):
                self._enqueue(task_id(child, now_ms, 0, " ".join(job["arguments"])), job)


def _job_of(tid: str) -> str:
    parsed = parse_task_id(tid)
    return parsed[0] if parsed else ""


def _last_state(job: dict[str, Any]) -> str:
    """Exporter.getLastState."""
    if not job.get("lastSuccess") and not job.get("lastError"):
        return "fresh"
    if not job.get("lastSuccess"):
        return "failure"
    if not job.get("lastError"):
        return "success"
    return "success" if _later(job["lastSuccess"], job["lastError"]) else "failure"


def _quantile(values: list[float], q: float) -> float:
    """A snapshot's ``getValue(q)`` over the sorted values (0.0 when there are none)."""
    if not values:
        return 0.0
    pos = q * (len(values) + 1)
    index = int(pos)
    if index < 1:
        return values[0]
    if index >= len(values):
        return values[-1]
    lower, upper = values[index - 1], values[index]
    return lower + (pos - index) * (upper - lower)


def _number(options: dict[str, str], key: str, default: float) -> float:
    try:
        return float(options.get(key, default))
    except ValueError:
        return default


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
        "Chronos %s (mesoslab twin: an emulation) on %s, master %s, failure_retry %d ms",
        CHRONOS_VERSION,
        chronos.me,
        chronos.master,
        chronos.failure_retry_ms,
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
