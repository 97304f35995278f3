"""Agent recovery: which tasks a restarted agent takes back (MESOS@1.4.3, docs/agent-recovery.md).

* A framework that checkpoints (``FrameworkInfo.checkpoint``; Marathon and Chronos do,
  ``mesos-execute`` only with ``--checkpoint``) has its tasks written under
  ``<work_dir>/meta/slaves/<agent id>/frameworks/<framework id>/`` in Mesos's tree
  (src/slave/paths.hpp L54-113): ``framework.info``,
  ``executors/<executor id>/executor.info``, ``executors/<executor id>/runs/<container
  id>/pids/forked.pid`` (and ``runs/latest``), ``.../tasks/<task id>/task.info``. Mesos writes
  binary protobufs; the twin writes the same messages as JSON. Nothing is written for a
  framework that does not checkpoint (slave.cpp L2367, L3878).
* With ``--recover=reconnect`` (the default) a restarted agent with the same id adopts the
  live tasks of checkpointing frameworks; the tasks of the others were shut down by their
  executors when the agent went away (``Disconnected from agent ...; Shutting down``), so
  the agent does not know them and answers the master's reconciliation ``TASK_LOST``, or
  ``TASK_DROPPED`` for a partition-aware framework (the master's side, master_state.py).
* With ``--recover=cleanup`` every live executor is killed and the agent terminates
  without registering (slave.cpp L6386-6402).
* ``--strict`` (default true): a checkpoint that cannot be read fails the recovery (``Failed
  to perform recovery: ...``); with ``--strict=false`` it is skipped and counted in
  ``slave/recovery_errors`` (src/slave/state.cpp L140-250).

The twin also keeps its own record of every task (``twin-tasks/``, pid and start time) to
find the processes it must adopt or kill.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any


def checkpoints(framework: dict[str, Any]) -> bool:
    return bool(framework.get("checkpoint", False))


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    temp.replace(path)


def write_mesos_tree(
    agent_meta: Path,
    framework: dict[str, Any],
    task: dict[str, Any],
    container_id: str,
    pid: int,
    command: str,
) -> None:
    """The checkpoint of one task of a checkpointing framework, in Mesos's tree."""
    framework_id = str(framework.get("id", ""))
    task_id = str(task.get("task_id", ""))
    fw_dir = agent_meta / "frameworks" / framework_id
    _write(fw_dir / "framework.info", framework)
    executor_dir = fw_dir / "executors" / task_id
    _write(
        executor_dir / "executor.info",
        {
            "executor_id": {"value": task_id},
            "framework_id": {"value": framework_id},
            "name": f"Command Executor (Task: {task_id}) (Command: {command})",
            "source": task_id,
        },
    )
    run = executor_dir / "runs" / container_id
    (run / "pids").mkdir(parents=True, exist_ok=True)
    (run / "pids" / "forked.pid").write_text(str(pid), encoding="ascii")
    latest = executor_dir / "runs" / "latest"
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(container_id)
    _write(run / "tasks" / task_id / "task.info", task)


def terminate(pid: int) -> None:
    """What an executor does when its agent is gone and its framework does not checkpoint:
    it shuts its task down."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
