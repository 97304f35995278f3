"""Tasks as real processes on the agent node.

A command task runs ``/bin/sh -c <command>`` in its sandbox
(``<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<task>/runs/<container>``) with its
output in ``stdout``/``stderr`` there, in a process group of its own, with ``PORT0``...,
``MESOS_TASK_ID`` and the other variables Mesos and Marathon set. Its exit becomes
TASK_FINISHED/TASK_FAILED with the command executor's messages; a kill sends SIGTERM to the
group, then SIGKILL.

Containerizers are chosen like Mesos' composing containerizer: ``docker`` takes tasks with a
DOCKER ContainerInfo, ``mesos`` the others; when none of the enabled ones takes a task it
fails with Mesos' message. A Docker task is a real container of the node's Docker Engine:
its process is the ``docker run`` client Mesos's docker executor would run
(:mod:`.docker_run`), named ``mesos-<container id>``; killing it is ``docker stop``. A
Mesos-containerizer task with a Docker image is the unified containerizer's (:mod:`.ucr`):
pulled into the store, provisioned into a rootfs and run chrooted in namespaces of its own;
without ``--image_providers`` it fails with Mesos's ``Unsupported container image type``.

Tasks survive an agent restart (the unit uses KillMode=process, like the packages) when
their framework checkpoints: each task is checkpointed with its pid, and a recovered agent
adopts the live ones (:mod:`.recovery` decides which).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import mesoslab_twin
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos import docker_calls, docker_run, recovery
from mesoslab_twin.mesos.ucr import containers, provisioner
from mesoslab_twin.mesos.ucr.store import Store

log = logging.getLogger("mesoslab_twin.agent")

TERMINAL = frozenset(
    {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED"}
)
KILL_GRACE = 3.0
TWIN_PATH = str(Path(mesoslab_twin.__file__).resolve().parents[1])  # holds mesoslab_twin/
WRAPPER = '"$@"; status=$?; echo "$status" > "$MESOSLAB_TWIN_EXIT"; exit "$status"'


def _signal_name(number: int) -> str:
    try:
        return {
            signal.SIGTERM: "Terminated",
            signal.SIGKILL: "Killed",
            signal.SIGINT: "Interrupt",
            signal.SIGHUP: "Hangup",
        }.get(signal.Signals(number), signal.Signals(number).name)
    except ValueError:
        return str(number)


def _start_ticks(pid: int) -> str:
    """The process start time in clock ticks (tells a pid from a reused one)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(pid: int, ticks: str) -> bool:
    return pid > 0 and _start_ticks(pid) == ticks and ticks != ""


class RecoveryError(Exception):
    """A checkpoint the agent cannot read while it recovers (with ``--strict``)."""


@dataclass
class Adopted:
    adopted: int = 0  # live tasks taken back
    shut_down: int = 0  # live tasks of frameworks that do not checkpoint, shut down
    errors: int = 0  # unreadable checkpoints skipped (``--strict=false``)


@dataclass
class RunningTask:
    framework: dict[str, Any]
    info: dict[str, Any]
    sandbox: Path
    container_id: str
    state: str = "TASK_STAGING"
    statuses: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)
    pid: int = 0
    ticks: str = ""
    killing: bool = False
    docker: bool = False  # run by the Docker containerizer: a real container
    image: bool = False  # the unified containerizer's: chrooted into an image's rootfs
    process: subprocess.Popen[bytes] | None = None
    inspector: threading.Thread | None = None  # a Docker task's wait for its container
    # lesson 10: the container's own address on a named network ("" = the agent's)
    ip: str = ""
    network: str = ""

    @property
    def id(self) -> str:
        return str(self.info.get("task_id", ""))

    @property
    def framework_id(self) -> str:
        return str(self.framework.get("id", ""))

    @property
    def resources(self) -> Amounts:
        return Amounts.from_wire(self.info.get("resources"))

    @property
    def exit_file(self) -> Path:
        return self.sandbox / ".mesoslab-twin-exit"

    def report(self) -> dict[str, Any]:
        """How the agent describes this task to the master."""
        return {
            "framework_id": self.framework_id,
            "task_id": self.id,
            "status": self.last,
            "statuses": self.statuses,
            "resources": self.info.get("resources"),
            "task": self.info,
        }


class Tasks:
    """The agent's tasks; ``on_change`` is called (without locks held) after a status."""

    def __init__(
        self,
        work_dir: Path,
        containerizers: list[str],
        agent_ip: str,
        hostname: str,
        on_change: Callable[[], None],
        *,
        docker: str = "docker",
        docker_socket: str = "/var/run/docker.sock",
        store: Store | None = None,
        netns_for: Callable[[RunningTask], str | None] | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.containerizers = containerizers
        self.docker = docker  # the agent's --docker and --docker_socket
        self.docker_socket = docker_socket
        self.store = store  # the Docker image store, with --image_providers=docker
        # the network namespace a task with network_infos joins (a CNI bridge's), if any
        self.netns_for = netns_for
        self.agent_ip = agent_ip
        self.hostname = hostname
        self.on_change = on_change
        self.agent_id = ""
        self.lock = threading.RLock()
        self.live: dict[tuple[str, str], RunningTask] = {}
        self.done: list[RunningTask] = []
        self.frameworks: dict[str, dict[str, Any]] = {}
        self.networks: Any = None  # a task_networks.TaskNetworks when the agent has CNI

    # ------------------------------------------------------------------ status

    def _set(
        self,
        task: RunningTask,
        state: str,
        *,
        message: str = "",
        reason: str = "",
        source: str = "SOURCE_EXECUTOR",
    ) -> None:
        update: dict[str, Any] = {
            "task_id": task.id,
            "agent_id": self.agent_id,
            "state": state,
            "timestamp": time.time(),
            "source": source,
            "container_status": {
                "container_id": {"value": task.container_id},
                "network_infos": [self._network_info(task)],
            },
        }
        if message:
            update["message"] = message
        if reason:
            update["reason"] = reason
        with self.lock:
            task.state = state
            task.last = update
            entry = {k: update[k] for k in ("state", "timestamp", "container_status")}
            task.statuses.append(entry)
            if state in TERMINAL:
                self.live.pop((task.framework_id, task.id), None)
                self.done.append(task)
                del self.done[:-200]
                self._forget(task)
            else:
                self._checkpoint(task)
        self.on_change()

    # ------------------------------------------------------------------ launching

    def launch(self, framework: dict[str, Any], info: dict[str, Any]) -> None:
        task_id = str(info.get("task_id", ""))
        framework_id = str(framework.get("id", ""))
        container_id = str(uuid.uuid4())
        sandbox = (
            self.work_dir
            / "slaves"
            / self.agent_id
            / "frameworks"
            / framework_id
            / "executors"
            / task_id
            / "runs"
            / container_id
        )
        task = RunningTask(framework, info, sandbox, container_id)
        with self.lock:
            if (framework_id, task_id) in self.live:
                return  # delivered twice (a retried heartbeat): already running
            self.frameworks[framework_id] = framework
            self.live[(framework_id, task_id)] = task
        container = info.get("container") or {}
        kind = str(container.get("type", "")).upper() or None
        taker = next((c for c in self.containerizers if _takes(c, kind)), None)
        if taker is None:
            # Mesos logs the containerizers' refusal on the agent only; the task's update
            # comes from executorTerminated, whose wait() found no container (slave.cpp
            # Slave::executorLaunched and executorTerminated, 1.4.0 L5317-5323, L6909-6915).
            log.error(
                "Container '%s' for executor '%s' of framework %s failed to start: None of the"
                " enabled containerizers (%s) could create a container for the provided"
                " TaskInfo/ExecutorInfo message",
                container_id,
                task_id,
                framework_id,
                ",".join(self.containerizers),
            )
            self._set(
                task,
                "TASK_FAILED",
                message="Abnormal executor termination: unknown container",
                reason="REASON_EXECUTOR_TERMINATED",
                source="SOURCE_SLAVE",
            )
            return
        task.docker = taker == "docker"
        task.image = not task.docker and containers.image_of(info) is not None
        if task.image or task.docker:
            slow = self._launch_image if task.image else self._launch_docker
            threading.Thread(target=slow, args=(task,), daemon=True).start()
            return
        try:
            argv = self._argv(task)
            if self.networks is not None:  # lesson 10: CNI networks
                argv, task.ip, task.network = self.networks.wrap(task.container_id, info, argv)
        except ValueError as exc:
            self._launch_failed(task, str(exc))
            return
        self._start(task, argv)

    def _launch_failed(self, task: RunningTask, why: str) -> None:
        self._set(
            task,
            "TASK_FAILED",
            message=f"Failed to launch container: {why}",
            reason="REASON_CONTAINER_LAUNCH_FAILED",
            source="SOURCE_SLAVE",
        )

    def _launch_image(self, task: RunningTask) -> None:
        """Pull and provision (slow: off the heartbeat thread), then start."""
        try:
            task.sandbox.mkdir(parents=True, exist_ok=True)
            mesos_env = {k: v for k, v in self._environment(task).items() if k.startswith("MESOS_")}
            netns = self._join_network(task)
            prepared = containers.prepare(
                self.store,
                self.work_dir,
                task.info,
                task.container_id,
                task.sandbox,
                mesos_env,
                netns=netns,
            )
        except (containers.LaunchError, OSError, ValueError) as exc:
            provisioner.destroy(self.work_dir, task.container_id)
            if self.networks is not None:
                self.networks.release(task.container_id)
            self._launch_failed(task, str(exc))
            return
        if task.killing:  # killed while its image was pulled
            provisioner.destroy(self.work_dir, task.container_id)
            self._set(task, "TASK_KILLED", message="Container destroyed while provisioning images")
            return
        log.info("Provisioned rootfs %s for container %s", prepared.rootfs, task.container_id)
        self._start(task, prepared.argv)

    def _launch_docker(self, task: RunningTask) -> None:
        """The Docker containerizer's launch: the image first (pulled when Docker lacks it:
        slow, so off the heartbeat thread), then the executor's ``docker run``."""
        spec = (task.info.get("container") or {}).get("docker") or {}
        try:
            argv = self._docker_argv(task)
            docker_calls.ensure_image(
                self._docker_client(),
                str(spec.get("image", "")),
                force=bool(spec.get("force_pull_image")),
            )
        except (ValueError, docker_calls.PullError) as exc:
            self._launch_failed(task, str(exc))
            return
        if task.killing:  # killed while its image was pulled
            self._set(task, "TASK_KILLED", message="Container destroyed while pulling image")
            return
        self._start(task, argv)

    def _join_network(self, task: RunningTask) -> str | None:
        """The network namespace an image task runs in: its CNI network's (lesson 10), one
        prepared for it, or None (the launcher decides: the host's, or one with only lo)."""
        if self.networks is not None:
            attached = self.networks.join(task.container_id, task.info)
            if attached is not None:
                task.ip, task.network = attached.ip, attached.network
                return f"/var/run/netns/{attached.netns}"
        return self.netns_for(task) if self.netns_for else None

    def _start(self, task: RunningTask, argv: list[str]) -> None:
        sandbox, task_id = task.sandbox, task.id
        try:
            sandbox.mkdir(parents=True, exist_ok=True)
            _link_latest(sandbox)
            env = self._environment(task)
            with (sandbox / "stdout").open("ab") as out, (sandbox / "stderr").open("ab") as err:
                # the command executor logs to its stderr (glog), as Mesos 1.4's does
                # (src/launcher/executor.cpp L643, L656)
                err.write(_glog(f"Starting task {task_id}"))
                err.flush()
                task.process = subprocess.Popen(
                    ["/bin/sh", "-c", WRAPPER, "mesos-task", *argv],
                    cwd=sandbox,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
                err.write(_glog(f"Forked command at {task.process.pid}"))
        except (OSError, ValueError) as exc:
            self._launch_failed(task, str(exc))
            return
        task.pid = task.process.pid
        task.ticks = _start_ticks(task.pid)
        if task.docker:  # RUNNING once Docker says the container started (the executor's)
            task.inspector = threading.Thread(target=self._running_once_started, args=(task,))
            task.inspector.daemon = True
            task.inspector.start()
        else:
            self._set(task, "TASK_RUNNING")
        threading.Thread(target=self._wait, args=(task,), daemon=True).start()

    def _network_info(self, task: RunningTask) -> dict[str, Any]:
        info: dict[str, Any] = {"ip_addresses": [{"ip_address": task.ip or self.agent_ip}]}
        if task.network:
            info["name"] = task.network
        return info

    def _running_once_started(self, task: RunningTask) -> None:
        process = task.process
        found = docker_calls.wait_started(
            self._docker_client(),
            self.container_name(task),
            lambda: process is not None and process.poll() is None,
        )
        if found is None:
            return  # it never started: the terminal update says why, with no RUNNING before
        task.ip = found.ip
        task.network = docker_run.user_network(task.info) if found.ip else ""
        with self.lock:
            live = task.state not in TERMINAL and not task.killing
        if live:
            self._set(task, "TASK_RUNNING")

    def _argv(self, task: RunningTask) -> list[str]:
        command = task.info.get("command") or {}
        value = str(command.get("value") or "")
        shell = command.get("shell", True) is not False
        if value and shell:
            return ["/bin/sh", "-c", value]
        if value:
            return [value, *[str(a) for a in command.get("arguments", [])[1:]]]
        raise ValueError("the task has no command to run")

    def _docker_argv(self, task: RunningTask) -> list[str]:
        """The Docker task's process: the executor's ``docker run`` in the foreground."""
        return docker_run.run_argv(
            task.info,
            task.sandbox,
            self.container_name(task),
            socket=self.docker_socket,
            docker=self.docker,
        )

    def _docker_client(self) -> list[str]:
        return docker_run.client_argv(self.docker, self.docker_socket)

    def container_names(self) -> set[str]:
        """The Docker container names of the live Docker tasks."""
        with self.lock:
            return {self.container_name(t) for t in self.live.values() if t.docker}

    def container_name(self, task: RunningTask) -> str:
        return docker_run.container_name(
            mesoslab_twin.MESOS_VERSION, self.agent_id, task.container_id
        )

    def _environment(self, task: RunningTask) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONPATH": TWIN_PATH,
            "MESOS_TASK_ID": task.id,
            "MESOS_FRAMEWORK_ID": task.framework_id,
            "MESOS_EXECUTOR_ID": task.id,
            "MESOS_AGENT_ID": self.agent_id,
            "MESOS_SLAVE_ID": self.agent_id,
            "MESOS_SANDBOX": str(task.sandbox),
            "MESOS_DIRECTORY": str(task.sandbox),
            "MESOS_CONTAINER_NAME": f"mesos-{task.container_id}",
            "MESOSLAB_TWIN_EXIT": str(task.exit_file),
        }
        variables = ((task.info.get("command") or {}).get("environment") or {}).get("variables", [])
        for variable in variables:
            env[str(variable.get("name"))] = str(variable.get("value", ""))
        return env

    # ------------------------------------------------------------------ running

    def _wait(self, task: RunningTask) -> None:
        assert task.process is not None
        code = task.process.wait()
        if task.inspector is not None:  # its RUNNING (if it started) comes before the end
            task.inspector.join(timeout=docker_calls.INSPECT_TIMEOUT)
        self._finished(task, code)

    def _finished(self, task: RunningTask, code: int | None) -> None:
        if task.image:  # the container is destroyed (its processes, then its rootfs)
            _destroy_group(task.pid, KILL_GRACE if task.killing else 0.0)
            provisioner.destroy(self.work_dir, task.container_id)
        if self.networks is not None:  # lesson 10: the container leaves its CNI network
            self.networks.release(task.container_id)
        try:
            recorded = int(task.exit_file.read_text().strip())
        except (OSError, ValueError):
            recorded = None
        what = "Container" if task.docker else "Command"
        status = recorded if recorded is not None else code
        if task.docker and status is not None and status >= 0:
            # the docker executor reports the `docker run` client's own exit: a container
            # killed (docker stop, or behind Mesos's back) exits 137, not by a signal
            if task.killing:
                state = "TASK_KILLED"
            else:
                state = "TASK_FINISHED" if status == 0 else "TASK_FAILED"
            self._set(task, state, message=f"Container exited with status {status}")
            return
        if task.killing:
            signal_number = -code if code is not None and code < 0 else signal.SIGTERM
            self._set(
                task,
                "TASK_KILLED",
                message=f"{what} terminated with signal {_signal_name(signal_number)}",
            )
            return
        if status is None:
            self._set(
                task,
                "TASK_FAILED",
                message="Executor terminated",
                reason="REASON_EXECUTOR_TERMINATED",
                source="SOURCE_SLAVE",
            )
        elif status == 0:
            self._set(task, "TASK_FINISHED", message=f"{what} exited with status 0")
        elif status < 0 or status > 128:
            number = -status if status < 0 else status - 128
            self._set(
                task,
                "TASK_FAILED",
                message=f"{what} terminated with signal {_signal_name(number)}",
            )
        else:
            self._set(task, "TASK_FAILED", message=f"{what} exited with status {status}")

    def kill(self, framework_id: str, task_id: str) -> None:
        with self.lock:
            task = self.live.get((framework_id, task_id))
        if task is None:
            return
        task.killing = True
        if task.pid <= 0:
            return  # still provisioning: the launch sees `killing` and stops there
        if task.docker:  # the docker executor's kill: docker stop, then `docker run` returns
            stop = docker_run.stop_argv(
                self.container_name(task), socket=self.docker_socket, docker=self.docker
            )
            threading.Thread(target=run_quietly, args=(stop,), daemon=True).start()
        else:
            with contextlib.suppress(OSError):
                os.killpg(task.pid, signal.SIGTERM)

        def escalate() -> None:
            time.sleep(KILL_GRACE)
            if (task.framework_id, task.id) in self.live:
                with contextlib.suppress(OSError):
                    os.killpg(task.pid, signal.SIGKILL)

        threading.Thread(target=escalate, daemon=True).start()

    def kill_all(self) -> None:
        with self.lock:
            tasks = list(self.live.values())
        for task in tasks:
            self.kill(task.framework_id, task.id)

    # ------------------------------------------------------------------ reporting

    def reports(self) -> list[dict[str, Any]]:
        with self.lock:
            return [t.report() for t in list(self.live.values()) + self.done[-50:]]

    def framework_infos(self) -> list[dict[str, Any]]:
        with self.lock:
            wanted = {t.framework_id for t in self.live.values()}
            return [info for fid, info in self.frameworks.items() if fid in wanted]

    # ------------------------------------------------------------------ checkpoint

    def _checkpoint_dir(self) -> Path:
        return self.work_dir / "meta" / "slaves" / self.agent_id / "twin-tasks"

    def _checkpoint(self, task: RunningTask) -> None:
        if not self.agent_id or task.pid <= 0:
            return
        folder = self._checkpoint_dir()
        folder.mkdir(parents=True, exist_ok=True)
        data = {
            "framework": task.framework,
            "task": task.info,
            "sandbox": str(task.sandbox),
            "container_id": task.container_id,
            "pid": task.pid,
            "ticks": task.ticks,
            "docker": task.docker,
            "image": task.image,
            "state": task.state,
            "statuses": task.statuses,
        }
        path = folder / (quote(f"{task.framework_id}:{task.id}", safe="") + ".json")
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        temp.replace(path)
        if recovery.checkpoints(task.framework):
            command = str((task.info.get("command") or {}).get("value") or "")
            recovery.write_mesos_tree(
                self.work_dir / "meta" / "slaves" / self.agent_id,
                task.framework,
                task.info,
                task.container_id,
                task.pid,
                command,
            )

    def _forget(self, task: RunningTask) -> None:
        if not self.agent_id:
            return
        path = self._checkpoint_dir() / (quote(f"{task.framework_id}:{task.id}", safe="") + ".json")
        with contextlib.suppress(OSError):
            path.unlink()

    def adopt(self, *, strict: bool = True) -> Adopted:
        """After recovering the agent id: take over the live tasks of the previous run whose
        frameworks checkpoint; the others' are shut down and forgotten (:mod:`.recovery`).
        A checkpoint that cannot be read raises :class:`RecoveryError` when ``strict``."""
        folder = self._checkpoint_dir()
        found = Adopted()
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data.get("framework"), dict):
                    raise ValueError("no framework")
            except (OSError, ValueError, AttributeError) as exc:
                message = f"Failed to read task info from '{path}': {exc}"
                if strict:
                    raise RecoveryError(message) from None
                log.warning("%s", message)
                found.errors += 1
                continue
            if not recovery.checkpoints(data["framework"]):
                pid, ticks = int(data.get("pid", 0)), str(data.get("ticks", ""))
                if _alive(pid, ticks):
                    recovery.terminate(pid)
                    found.shut_down += 1
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            task = RunningTask(
                framework=data["framework"],
                info=data["task"],
                sandbox=Path(data["sandbox"]),
                container_id=str(data["container_id"]),
                state=str(data.get("state", "TASK_RUNNING")),
                statuses=list(data.get("statuses", [])),
                pid=int(data.get("pid", 0)),
                ticks=str(data.get("ticks", "")),
                docker=bool(data.get("docker", False)),
                image=bool(data.get("image", False)),
            )
            with self.lock:
                self.frameworks[task.framework_id] = task.framework
                self.live[(task.framework_id, task.id)] = task
            task.last = {
                "task_id": task.id,
                "agent_id": self.agent_id,
                "state": task.state,
                "timestamp": time.time(),
                "source": "SOURCE_EXECUTOR",
            }
            if _alive(task.pid, task.ticks):
                found.adopted += 1
                threading.Thread(target=self._watch_adopted, args=(task,), daemon=True).start()
            else:
                self._finished(task, None)
        return found

    def shut_down_uncheckpointed(self) -> int:
        """The agent is stopping: the executors of frameworks that do not checkpoint shut
        their tasks down (they would lose their agent); the number shut down."""
        with self.lock:
            tasks = [t for t in self.live.values() if not recovery.checkpoints(t.framework)]
        for task in tasks:
            if task.pid > 0 and _alive(task.pid, task.ticks):
                recovery.terminate(task.pid)
        return len(tasks)

    def _watch_adopted(self, task: RunningTask) -> None:
        while _alive(task.pid, task.ticks):
            time.sleep(0.3)
        self._finished(task, None)


def kill_orphans(work_dir: Path, keep_agent: str | None) -> int:
    """Kill the tasks checkpointed by earlier agents other than ``keep_agent`` (Mesos kills
    orphaned containers when it starts as a new agent)."""
    killed = 0
    slaves = work_dir / "meta" / "slaves"
    if not slaves.is_dir():
        return 0
    for path in slaves.glob("*/twin-tasks/*.json"):
        owner = path.parents[1]
        if owner.is_symlink() or (keep_agent and owner.name == keep_agent):
            continue  # `latest` points at an agent's own folder
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pid, ticks = int(data.get("pid", 0)), str(data.get("ticks", ""))
        except (OSError, ValueError):
            continue
        if _alive(pid, ticks):
            try:
                os.killpg(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        with contextlib.suppress(OSError):
            path.unlink()
    return killed


def run_quietly(argv: list[str]) -> None:
    """Run a helper command (``docker stop``, ``docker rm``); its failure shows in the
    agent's log."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s failed: %s", " ".join(argv), exc)
        return
    if done.returncode != 0:
        log.warning("%s: exited with status %d; %s", " ".join(argv), done.returncode,
                    done.stderr.strip())  # fmt: skip


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True


def _destroy_group(pgid: int, grace: float) -> None:
    """What is left of a container's process group goes: after ``grace`` seconds, SIGKILL.
    (``unshare --fork`` ignores SIGTERM and the namespace's pid 1 ignores a signal it has no
    handler for, so the launcher's shell can be gone while the container still runs.)"""
    if pgid <= 0:
        return
    deadline = time.monotonic() + grace
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _takes(containerizer: str, kind: str | None) -> bool:
    if containerizer == "docker":
        return kind == "DOCKER"
    if containerizer == "mesos":
        return kind in (None, "MESOS")
    return False


def _glog(message: str) -> bytes:
    """One INFO line as glog writes it: ``I1202 01:23:45.678901  1234 executor.cpp:643] …``."""
    now = time.time()
    stamp = time.strftime("%m%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    return f"I{stamp} {os.getpid():>6} executor.cpp] {message}\n".encode()


def _link_latest(sandbox: Path) -> None:
    """``runs/latest`` -> this run, as the agent links an executor's newest run."""
    latest = sandbox.parent / "latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(sandbox)
