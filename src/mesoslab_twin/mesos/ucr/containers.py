"""Preparing one Mesos-containerizer task that has a Docker image: pull (the store),
provision (the rootfs), take the command/env/workdir from the image (docker/runtime), and
build the launcher's command line. Failures carry Mesos's text; the agent reports them as
``TASK_FAILED`` with ``Failed to launch container: <text>`` (MESOS@1.4.3 slave.cpp L5335).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesoslab_twin.mesos.docker_run import MAPPED_SANDBOX
from mesoslab_twin.mesos.ucr import launcher, provisioner, runtime
from mesoslab_twin.mesos.ucr.registry import PullError
from mesoslab_twin.mesos.ucr.store import Store

HOST_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LaunchError(Exception):
    """Why the container could not be launched (Mesos's words)."""


@dataclass
class Prepared:
    argv: list[str]
    rootfs: Path
    image: str
    layer_ids: list[str]


def image_of(info: dict[str, Any]) -> dict[str, Any] | None:
    """The task's ``container.mesos.image``, if it has one."""
    container = info.get("container") or {}
    if str(container.get("type", "MESOS")).upper() != "MESOS":
        return None
    image = (container.get("mesos") or {}).get("image")
    return image if isinstance(image, dict) else None


def wants_network(info: dict[str, Any]) -> bool:
    return bool((info.get("container") or {}).get("network_infos"))


def prepare(
    store: Store | None,
    work_dir: Path,
    info: dict[str, Any],
    container_id: str,
    sandbox: Path,
    mesos_env: dict[str, str],
    *,
    netns: str | None = None,
) -> Prepared:
    image = image_of(info) or {}
    kind = str(image.get("type", "DOCKER")).upper()
    if store is None or kind != "DOCKER":
        raise LaunchError(f"Unsupported container image type: {kind}")
    name = str((image.get("docker") or {}).get("name", ""))
    try:
        stored = store.get(name, cached=image.get("cached", True) is not False)
    except PullError as exc:
        raise LaunchError(str(exc)) from None
    command = info.get("command") or {}
    try:
        program = runtime.command(command, stored.config)
    except runtime.RuntimeError_ as exc:
        raise LaunchError(str(exc)) from None
    env = {"PATH": HOST_DEFAULT_PATH}
    env.update(runtime.environment(stored.config))
    env.update(mesos_env)
    env["MESOS_SANDBOX"] = MAPPED_SANDBOX
    for variable in (command.get("environment") or {}).get("variables", []):
        env[str(variable.get("name"))] = str(variable.get("value", ""))
    try:
        rootfs = provisioner.provision(work_dir, container_id, stored.layer_paths)
    except (provisioner.ProvisionError, OSError) as exc:
        raise LaunchError(f"Failed to provision: {exc}") from None
    argv = launcher.argv(
        rootfs,
        sandbox,
        program,
        env,
        runtime.working_dir(stored.config) or MAPPED_SANDBOX,
        netns=netns,
        fresh_net=wants_network(info),
    )
    return Prepared(argv, rootfs, name, stored.layer_ids)
