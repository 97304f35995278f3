"""The emulated ``mesos-slave`` (the Mesos agent).

Starts like ``mesos-init-wrapper slave``: flags from ``/etc/default/mesos*``,
``/etc/mesos/zk`` (``--master``) and ``/etc/mesos-slave/*``. Resources come from
``--resources`` (text or ``file://`` JSON) with detected cpus/mem/disk and the default
``ports:[31000-32000]``. The agent checkpoints its SlaveInfo under
``<work_dir>/meta/slaves`` and refuses to start when it changed, with Mesos' text, until
``meta/slaves/latest`` is removed. It finds the leading master through ZooKeeper, registers,
heartbeats (the master runs its launches and kills through the heartbeat answers) and
re-registers with a new leader after a failover. With ``--image_providers=docker`` its
Mesos containerizer runs tasks from Docker images (:mod:`.ucr`); what a restart recovers is
in :mod:`.recovery`.

Endpoints (also under ``/slave(1)``): ``/health``, ``/version``, ``/flags``, ``/state``,
``/metrics/snapshot``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mesoslab_twin import BUILD_USER, MESOS_VERSION
from mesoslab_twin.common.config import ConfigError, Root, load_mesos_flags
from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply, serve, text_reply
from mesoslab_twin.common.process import Exit, exit_failure, log_to_files, wait_for_signal
from mesoslab_twin.common.values import (
    Amounts,
    agent_resources,
    parse_attributes,
    resource_to_wire,
    resources_by_role,
)
from mesoslab_twin.common.wire import WireError, post
from mesoslab_twin.mesos import docker_run
from mesoslab_twin.mesos.checkpoint import Checkpoint, SlaveInfo
from mesoslab_twin.mesos.files import Files
from mesoslab_twin.mesos.identity import BUILD_TIME, advertised_ip
from mesoslab_twin.mesos.nudge import WAKE_PATH
from mesoslab_twin.mesos.tasks import RecoveryError, Tasks, kill_orphans, run_quietly
from mesoslab_twin.mesos.ucr import flags as ucr_flags
from mesoslab_twin.mesos.ucr.store import Store
from mesoslab_twin.mesos.v1_operator import AgentOperatorApi

log = logging.getLogger("mesoslab_twin.agent")

AGENT_DEFAULTS = {
    "appc_simple_discovery_uri_prefix": "http://",
    "appc_store_dir": "/tmp/mesos/store/appc",
    "authenticate_http_readonly": "false",
    "authenticate_http_readwrite": "false",
    "authenticatee": "crammd5",
    "authentication_backoff_factor": "1secs",
    "authorizer": "local",
    "cgroups_cpu_enable_pids_and_tids_count": "false",
    "cgroups_enable_cfs": "false",
    "cgroups_hierarchy": "/sys/fs/cgroup",
    "cgroups_limit_swap": "false",
    "cgroups_root": "mesos",
    "container_disk_watch_interval": "15secs",
    "containerizers": "mesos",
    "default_role": "*",
    "disk_watch_interval": "1mins",
    "docker": "docker",
    "docker_kill_orphans": "true",
    "docker_registry": "https://registry-1.docker.io",
    "docker_remove_delay": "6hrs",
    "docker_socket": "/var/run/docker.sock",
    "docker_stop_timeout": "0ns",
    "docker_store_dir": "/tmp/mesos/store/docker",
    "enforce_container_disk_quota": "false",
    "executor_registration_timeout": "1mins",
    "executor_reregistration_timeout": "2secs",
    "executor_shutdown_grace_period": "5secs",
    "fetcher_cache_dir": "/tmp/mesos/fetch",
    "fetcher_cache_size": "2GB",
    "frameworks_home": "",
    "gc_delay": "1weeks",
    "gc_disk_headroom": "0.1",
    "hadoop_home": "",
    "help": "false",
    "hostname_lookup": "true",
    "http_command_executor": "false",
    "http_heartbeat_interval": "30secs",
    "image_provisioner_backend": "copy",
    "initialize_driver_logging": "true",
    "isolation": "posix/cpu,posix/mem",
    "launcher": "posix",
    "launcher_dir": "/usr/libexec/mesos",
    "logbufsecs": "0",
    "logging_level": "INFO",
    "max_completed_executors_per_framework": "150",
    "oversubscribed_resources_interval": "15secs",
    "perf_duration": "10secs",
    "perf_interval": "1mins",
    "port": "5051",
    "qos_correction_interval_min": "0ns",
    "quiet": "false",
    "recover": "reconnect",
    "recovery_timeout": "15mins",
    "registration_backoff_factor": "1secs",
    "revocable_cpu_low_priority": "true",
    "runtime_dir": "/var/run/mesos",
    "sandbox_directory": "/mnt/mesos/sandbox",
    "strict": "true",
    "switch_user": "true",
    "systemd_enable_support": "true",
    "systemd_runtime_directory": "/run/systemd/system",
    "version": "false",
}
HEARTBEAT = 0.5
KNOWN_CONTAINERIZERS = ("mesos", "docker")


class Agent:
    def __init__(self, given: dict[str, str], root: Root) -> None:
        self.root = root
        self.flags = {**AGENT_DEFAULTS, "launcher": ucr_flags.default_launcher(), **given}
        self.port = int(self.flags["port"])
        self.bind_ip = given.get("ip", "0.0.0.0")
        self.hostname = given.get("hostname") or socket.gethostname()
        self.ip = advertised_ip(given, self.hostname)
        self.shown_work_dir = self.flags["work_dir"]
        self.work_dir = root.path(self.shown_work_dir)
        self.start_time = time.time()
        self.containerizers = [c.strip() for c in self.flags["containerizers"].split(",")]
        try:
            self.resources = agent_resources(given.get("resources"), str(self.work_dir))
        except ValueError as exc:
            raise Exit(f"Failed to determine agent resources: {exc}") from None
        try:
            self.attributes = parse_attributes(given.get("attributes", ""))
        except ValueError as exc:
            raise Exit(str(exc)) from None
        self.checkpoint = Checkpoint(self.work_dir, self.shown_work_dir)
        self.agent_id = ""
        self.operator_api = AgentOperatorApi(self)
        self.master_hostname = ""
        self.registered = False
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.recovery_errors = 0
        self.cleanup = self.flags["recover"] == "cleanup"
        self.tasks = Tasks(
            self.work_dir,
            self.containerizers,
            self.ip,
            self.hostname,
            self.wake.set,
            docker=self.flags["docker"],
            docker_socket=str(self.root.path(self.flags["docker_socket"])),
            store=self._image_store(),
            netns_for=self._prepared_netns,
        )
        if self.flags.get("network_cni_config_dir"):  # lesson 10: tasks on CNI networks
            from mesoslab_twin.mesos.cni import DATA_DIR
            from mesoslab_twin.mesos.task_networks import TaskNetworks

            self.tasks.networks = TaskNetworks(
                root.path(self.flags["network_cni_config_dir"]),
                root.path(DATA_DIR),
            )

    def _prepared_netns(self, task: Any) -> str | None:
        """A task that asks for a network (``network_infos``) joins the network namespace
        prepared for its container at ``/var/run/netns/<container id>`` (a CNI bridge's),
        when there is one; else it gets a namespace of its own with only ``lo``."""
        if not (task.info.get("container") or {}).get("network_infos"):
            return None
        path = self.root.path(f"/var/run/netns/{task.container_id}")
        return str(path) if path.exists() else None

    def _image_store(self) -> Store | None:
        """The Docker image store, when the Mesos containerizer has the docker provider."""
        if "docker" not in ucr_flags.image_providers(self.flags):
            return None
        registry = self.flags["docker_registry"]
        if registry.startswith("/"):  # a folder of `docker save` archives on this node
            registry = str(self.root.path(registry))
        return Store(self.root.path(self.flags["docker_store_dir"]), registry)

    # ------------------------------------------------------------------ start-up

    def validate(self) -> None:
        for name in self.containerizers:
            if name not in KNOWN_CONTAINERIZERS:
                raise Exit(
                    "Failed to create a containerizer: Could not create Containerizer: "
                    f"Unknown or unsupported containerizer: {name}"
                )
        problem = ucr_flags.problem(self.flags, self.containerizers)
        if problem:
            raise Exit(problem)

    def slave_info(self) -> SlaveInfo:
        return SlaveInfo(self.hostname, self.port, self.resources, self.attributes)

    def recover(self) -> None:
        """Recover the agent id from ``meta/slaves/latest``, or fail as Mesos does."""
        old = self.checkpoint.recovered()
        containers = self._docker_answers() if "docker" in self.containerizers else []
        if old is None:
            killed = kill_orphans(self.work_dir, None)
            if killed:
                log.info("Killed %d orphaned task(s) of an earlier agent", killed)
            self._remove_orphan_containers(containers)
            return
        problem = self.checkpoint.incompatible(old, self.slave_info())
        if problem:
            raise Exit(problem + "\n" + self.checkpoint.remedy())
        if self.cleanup:
            # --recover=cleanup: kill every live executor; the agent then terminates
            killed = kill_orphans(self.work_dir, None)
            log.info("Recovery with --recover=cleanup: killed %d live executor(s)", killed)
            self._remove_orphan_containers(containers)
            return
        self.agent_id = old.id
        self.tasks.agent_id = old.id
        kill_orphans(self.work_dir, old.id)
        strict = self.flags.get("strict", "true").lower() not in ("false", "0", "no")
        try:
            found = self.tasks.adopt(strict=strict)
        except RecoveryError as exc:
            raise Exit(f"Failed to perform recovery: {exc}\n" + self.checkpoint.remedy()) from None
        self.recovery_errors = found.errors
        log.info(
            "Recovered agent %s (%d live task(s) adopted; %d of frameworks without"
            " checkpointing shut down)",
            old.id,
            found.adopted,
            found.shut_down,
        )
        self._remove_orphan_containers(containers)

    def _remove_orphan_containers(self, names: list[str]) -> None:
        """Mesos's Docker containerizer, recovering, removes the ``mesos-…`` containers no
        recovered task owns (``--docker_kill_orphans``, true by default): after the agent
        starts with a new id, its old tasks' containers stop and go."""
        if self.flags.get("docker_kill_orphans", "true").lower() in ("false", "0", "no"):
            return
        owned = self.tasks.container_names()
        client = docker_run.client_argv(self.flags["docker"], self._docker_socket())
        for name in names:
            if name.startswith(docker_run.NAME_PREFIX) and name not in owned:
                log.info("Removing orphaned Docker container %s", name)
                run_quietly([*client, "rm", "-f", name])

    def _docker_socket(self) -> str:
        return str(self.root.path(self.flags["docker_socket"]))

    def _docker_answers(self) -> list[str]:
        """The Docker containerizer's recovery lists the containers (``docker ps -a``): no
        Docker daemon, no agent, with Mesos's message and Docker's own words. Returns the
        containers' names (the table's last column)."""
        argv = [*docker_run.client_argv(self.flags["docker"], self._docker_socket()), "ps", "-a"]
        stdout = ""
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
            status, stderr, stdout = done.returncode, done.stderr, done.stdout
        except FileNotFoundError:
            status, stderr = 127, f"{argv[0]}: not found\n"
        except (OSError, subprocess.TimeoutExpired) as exc:
            status, stderr = 1, f"{exc}\n"
        if status != 0:
            raise Exit(
                "Failed to perform recovery: Collect failed: Failed to run "
                f"'{' '.join(argv)}': exited with status {status}; stderr='{stderr}'\n"
                + self.checkpoint.remedy()
            )
        return docker_run.names_in_ps(stdout)

    # ------------------------------------------------------------------ master

    def info_wire(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "ip": self.ip,
            "port": self.port,
            "resources": [resource_to_wire(r) for r in self.resources],
            "attributes": [[k, v] for k, v in self.attributes],
            "version": MESOS_VERSION,
            # where the sandboxes are that /files serves (the master's console links to them)
            "work_dir": str(self.work_dir),
        }

    def run_registration(self, watch: Any) -> None:
        master: str | None = None
        backoff = 0.2
        while not self.stopping.is_set():
            leader = watch.address()
            if leader is None:
                self.registered = False
                watch.changed.wait(0.5)
                watch.changed.clear()
                continue
            if leader != master:
                self.registered = False
                master = leader
            try:
                if not self.registered:
                    self._register(leader)
                    backoff = 0.2
                else:
                    self._heartbeat(leader)
            except (WireError, ValueError, KeyError, TypeError, OSError) as exc:
                # an unreachable master, or an answer we cannot use: try again, as Mesos does
                log.debug("master %s: %s", leader, exc)
                self.registered = False
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            self.wake.wait(HEARTBEAT if self.registered else backoff)
            self.wake.clear()

    def _register(self, leader: str) -> None:
        body = {
            "agent_id": self.agent_id or None,
            "info": self.info_wire(),
            "tasks": self.tasks.reports(),
            "frameworks": self.tasks.framework_infos(),
        }
        answer = post(leader, "/twin/agent/register", body)
        if answer.status == 410:
            log.warning("The master removed this agent: registering as a new agent")
            self.tasks.kill_all()
            self.checkpoint.forget()
            self.agent_id = ""
            return
        if answer.status != 200:
            raise WireError(f"registration answered HTTP {answer.status}")
        data = answer.json() or {}
        new_id = str(data.get("agent_id", ""))
        first = not self.agent_id
        self.agent_id = new_id
        self.tasks.agent_id = new_id
        self.master_hostname = str(data.get("master_hostname", ""))
        if first:
            info = self.slave_info()
            info.id = new_id
            self.checkpoint.save(info)
            log.info("Registered with master %s; given agent ID %s", leader, new_id)
        else:
            log.info("Re-registered with master %s as %s", leader, new_id)
        self.registered = True

    def _heartbeat(self, leader: str) -> None:
        answer = post(
            leader,
            "/twin/agent/heartbeat",
            {"agent_id": self.agent_id, "tasks": self.tasks.reports()},
        )
        if answer.status in (404, 410):
            if answer.status == 410:
                log.warning("The master removed this agent: registering as a new agent")
                self.tasks.kill_all()
                self.checkpoint.forget()
                self.agent_id = ""
            self.registered = False
            return
        if answer.status != 200:
            raise WireError(f"heartbeat answered HTTP {answer.status}")
        for op in (answer.json() or {}).get("operations", []):
            if "launch" in op:
                launch = op["launch"]
                self.tasks.launch(launch["framework"], launch["task"])
            elif "kill" in op:
                self.tasks.kill(op["kill"]["framework_id"], op["kill"]["task_id"])

    # ------------------------------------------------------------------ HTTP

    def routes(self) -> Router:
        router = Router(libprocess=True)
        prefix = r"(?:/slave\(1\))?"
        router.add("GET", prefix + r"/health", lambda r, m: text_reply(""))
        router.add("GET", prefix + r"/version", lambda r, m: json_reply(self.version_json()))
        router.add("GET", prefix + r"/flags", lambda r, m: json_reply({"flags": self.flags}))
        router.add("GET", prefix + r"/(?:state|state\.json)", self._state)
        router.add("GET", r"/metrics/snapshot", self._metrics)
        router.add("GET,POST", prefix + r"/api/v1", lambda r, m: self.operator_api.handle(r, m))
        router.add("POST", WAKE_PATH, self._woken)
        router.add("GET", r"/", self._index)
        Files(self._sandboxes).add_routes(router)
        return router

    def _woken(self, request: Request, _m: Any) -> Reply:
        """The master has operations for this agent (:mod:`.nudge`): heartbeat now."""
        self.wake.set()
        return text_reply("", 202)

    def _sandboxes(self) -> list[Path]:
        """Every task's sandbox the agent still has, live or finished (as Mesos keeps them
        attached until they are garbage collected)."""
        with self.tasks.lock:
            return [t.sandbox for t in [*self.tasks.live.values(), *self.tasks.done]]

    def version_json(self) -> dict[str, Any]:
        return {
            "version": MESOS_VERSION,
            "git_tag": MESOS_VERSION,
            "build_date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(BUILD_TIME)),
            "build_time": BUILD_TIME,
            "build_user": BUILD_USER,
        }

    def _state(self, request: Request, _m: Any) -> Reply:
        total = Amounts.of(self.resources)
        roles = resources_by_role(self.resources)
        data: dict[str, Any] = self.version_json()
        data.update(
            {
                "start_time": round(self.start_time, 5),
                "id": self.agent_id,
                "pid": f"slave(1)@{self.ip}:{self.port}",
                "hostname": self.hostname,
                "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
                "resources": total.to_json(),
                "reserved_resources": {r: a.to_json() for r, a in roles.items() if r != "*"},
                "unreserved_resources": roles.get("*", Amounts()).to_json(),
                "reserved_resources_full": {},
                "unreserved_resources_full": [r.to_json() for r in self.resources if r.role == "*"],
                "attributes": dict(self.attributes),
                "master_hostname": self.master_hostname if self.registered else "",
            }
        )
        if "log_dir" in self.flags:
            data["log_dir"] = self.flags["log_dir"]
        data["flags"] = self.flags
        live, done = self._frameworks()
        data["frameworks"] = live
        data["completed_frameworks"] = done
        return json_reply(data)

    def _frameworks(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self.tasks.lock:
            live_tasks = list(self.tasks.live.values())
            done_tasks = list(self.tasks.done)
            infos = dict(self.tasks.frameworks)
        live: dict[str, dict[str, Any]] = {}
        for task in live_tasks + done_tasks:
            info = infos.get(task.framework_id, task.framework)
            entry = live.setdefault(
                task.framework_id,
                {
                    "id": task.framework_id,
                    "name": str(info.get("name", "")),
                    "user": str(info.get("user", "root")),
                    "failover_timeout": info.get("failover_timeout", 0),
                    "checkpoint": bool(info.get("checkpoint", False)),
                    "role": str(info.get("role", "*")),
                    "hostname": str(info.get("hostname", "")),
                    "executors": [],
                    "completed_executors": [],
                },
            )
            task_json = {
                "id": task.id,
                "name": str(task.info.get("name", task.id)),
                "framework_id": task.framework_id,
                "executor_id": "",
                "slave_id": self.agent_id,
                "state": task.state,
                "resources": task.resources.to_json(),
                "statuses": task.statuses,
            }
            if task.info.get("container"):
                task_json["container"] = task.info["container"]
            executor = {
                "id": task.id,
                "name": f"Command Executor (Task: {task.id})",
                "source": task.id,
                "container": task.container_id,
                "directory": str(task.sandbox),
                "resources": task.resources.to_json(),
                "tasks": [task_json] if task in live_tasks else [],
                "queued_tasks": [],
                "completed_tasks": [] if task in live_tasks else [task_json],
            }
            key = "executors" if task in live_tasks else "completed_executors"
            entry[key].append(executor)
        active = [f for f in live.values() if f["executors"]]
        finished = [f for f in live.values() if not f["executors"]]
        return active, finished

    def _metrics(self, request: Request, _m: Any) -> Reply:
        with self.tasks.lock:
            live = list(self.tasks.live.values())
            done = list(self.tasks.done)
        total = Amounts.of(self.resources)
        used = Amounts()
        for task in live:
            used = used.plus(task.resources)
        data: dict[str, float] = {
            "slave/registered": 1.0 if self.registered else 0.0,
            "slave/uptime_secs": round(time.time() - self.start_time, 3),
            "slave/frameworks_active": float(len({t.framework_id for t in live})),
            "slave/tasks_staging": 0.0,
            "slave/tasks_starting": 0.0,
            "slave/tasks_running": float(sum(1 for t in live if t.state == "TASK_RUNNING")),
            "slave/tasks_killing": 0.0,
            "slave/cpus_total": total.scalars.get("cpus", 0.0),
            "slave/cpus_used": used.scalars.get("cpus", 0.0),
            "slave/mem_total": total.scalars.get("mem", 0.0),
            "slave/mem_used": used.scalars.get("mem", 0.0),
            "slave/disk_total": total.scalars.get("disk", 0.0),
            "slave/disk_used": used.scalars.get("disk", 0.0),
            "slave/gpus_total": 0.0,
            "slave/gpus_used": 0.0,
            "slave/recovery_errors": float(self.recovery_errors),
        }
        for state in ("FINISHED", "FAILED", "KILLED", "LOST"):
            data[f"slave/tasks_{state.lower()}"] = float(
                sum(1 for t in done if t.state == f"TASK_{state}")
            )
        return json_reply(data)

    def _index(self, request: Request, _m: Any) -> Reply:
        page = (
            "<!doctype html><html><head><title>Mesos agent (mesoslab twin)</title></head><body>"
            f"<h1>Mesos agent {self.hostname}</h1><p><strong>This is the mesoslab twin, an "
            "emulation of the Mesos agent for the rehearsal lab.</strong> See /state and "
            "/flags.</p></body></html>"
        )
        return text_reply(page, content_type="text/html; charset=utf-8")


def run(root: Root, extra: list[str], *, use_wrapper: bool = True) -> int:
    try:
        config = load_mesos_flags("slave", root, dict(os.environ), extra, use_wrapper=use_wrapper)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    given = config.flags
    log_to_files(root, given.get("log_dir"), "mesos-slave")
    if not given.get("work_dir"):
        print("Flag 'work_dir' is required, but it was not provided", file=sys.stderr)
        return 1
    if not given.get("master"):
        print("Missing required option --master", file=sys.stderr)
        return 1
    try:
        agent = Agent(given, root)
        agent.validate()
        agent.recover()
    except Exit as exc:
        return exit_failure(str(exc))
    if agent.cleanup:
        log.info(
            "Agent started with --recover=cleanup: live executors are gone; terminating "
            "without registering (mesoslab twin)"
        )
        return 0
    try:
        router = agent.routes()
        server = serve(agent.bind_ip, agent.port, router, "agent-http")
    except OSError as exc:
        return exit_failure(
            f"Failed to initialize: Failed to bind on {agent.bind_ip}:{agent.port}: "
            f"{exc.strerror or exc}"
        )
    from mesoslab_twin.common.zk import LeaderWatch

    try:
        watch = LeaderWatch(given["master"])
    except ValueError as exc:
        return exit_failure(f"Failed to create a master detector: {exc}")
    watch.start()
    # DC/OS (lesson 10): the overlay module, when --modules_dir names it
    from mesoslab_twin.dcos.mesos_modules import attach_agent

    try:
        attach_agent(agent, router, watch)
    except Exit as exc:
        server.shutdown()
        return exit_failure(str(exc))
    log.info(
        "Agent %s started on %s:%d with resources %s [mesoslab twin: emulation of Mesos %s]",
        agent.hostname,
        agent.ip,
        agent.port,
        Amounts.of(agent.resources).to_json(),
        MESOS_VERSION,
    )
    worker = threading.Thread(
        target=agent.run_registration, args=(watch,), name="registration", daemon=True
    )
    worker.start()
    wait_for_signal()
    agent.stopping.set()
    agent.wake.set()
    worker.join(timeout=5)
    server.shutdown()
    shut = agent.tasks.shut_down_uncheckpointed()
    if shut:
        log.info("Executors of %d task(s) of frameworks without checkpointing shut down", shut)
    return 0
