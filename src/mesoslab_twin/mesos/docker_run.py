"""The Docker containerizer's ``docker run``, as Mesos builds it, for the node's real Docker.

A Docker task runs as one ``docker run`` in the foreground (Mesos's docker executor does
the same): its output goes to the sandbox's ``stdout``/``stderr``, its exit is the
container's. The command line follows Mesos 1.4.0 ``src/docker/docker.cpp``
(``Docker::RunOptions::create`` L574-912 and ``Docker::run`` L914-1076):

* ``--cpu-shares`` = 1024 × cpus (at least 2) and ``--memory`` = mem in bytes (at least
  32 MB) (cgroups/constants.hpp L30-38);
* ``-e MESOS_SANDBOX=/mnt/mesos/sandbox`` (``--sandbox_directory``), ``-e
  MESOS_CONTAINER_NAME=<name>`` and the command's environment;
* the sandbox as ``-v <sandbox>:/mnt/mesos/sandbox`` (L706), then the ContainerInfo's
  volumes (a relative container path is under the mapped sandbox);
* ``--net host|bridge|none|<user network>``, ``-p host:container/proto`` for BRIDGE;
* ``docker.parameters`` as ``--key=value``;
* a shell command as ``--entrypoint /bin/sh ... image -c <value>`` (MESOS-1770), else the
  value and the arguments after the image, or nothing (the image's own CMD).

The container is named ``mesos-<container id>`` (Mesos ≤ 0.22 and ≥ 1.4), or
``mesos-<agent id>.<container id>`` (0.23 to 1.3): slave/containerizer/docker.cpp L126-131.
The image is pulled before this runs (:mod:`.docker_calls`), as Docker::pull does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mesoslab_twin.common.values import Amounts
from mesoslab_twin.mesos import cni

CPU_SHARES_PER_CPU = 1024
MIN_CPU_SHARES = 2
MIN_MEMORY_BYTES = 32 * 1024 * 1024
MAPPED_SANDBOX = "/mnt/mesos/sandbox"  # the agent's --sandbox_directory default
NAME_PREFIX = "mesos-"


def container_name(version: str, agent_id: str, container_id: str) -> str:
    """The Docker container's name for a Mesos of ``version``."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        major, minor = 1, 4
    if (0, 23) <= (major, minor) <= (1, 3):
        return f"{NAME_PREFIX}{agent_id}.{container_id}"
    return f"{NAME_PREFIX}{container_id}"


def names_in_ps(table: str) -> list[str]:
    """The container names in ``docker ps -a`` output: the last column of each row after
    the header (a name has no spaces; several names are comma-separated)."""
    rows = table.splitlines()
    if not rows or not rows[0].startswith("CONTAINER ID"):
        return []
    return [name for row in rows[1:] if row.split() for name in row.split()[-1].split(",")]


def client_argv(docker: str, socket: str) -> list[str]:
    """``docker -H unix://SOCKET``: how the agent calls the Docker CLI (its ``--docker``
    and ``--docker_socket``)."""
    return [docker, "-H", f"unix://{socket}"]


def run_argv(
    info: dict[str, Any], sandbox: Path, name: str, *, socket: str, docker: str = "docker"
) -> list[str]:
    """``docker -H unix://SOCKET run ...`` for the task ``info`` (TaskInfo as JSON)."""
    container = info.get("container") or {}
    spec = container.get("docker") or {}
    command = info.get("command") or {}
    resources = Amounts.from_wire(info.get("resources"))
    argv = [*client_argv(docker, socket), "run"]
    if spec.get("privileged"):
        argv.append("--privileged")
    if "cpus" in resources.scalars:
        shares = max(int(CPU_SHARES_PER_CPU * resources.scalars["cpus"]), MIN_CPU_SHARES)
        argv += ["--cpu-shares", str(shares)]
    if "mem" in resources.scalars:
        memory = max(int(resources.scalars["mem"] * 1024 * 1024), MIN_MEMORY_BYTES)
        argv += ["--memory", str(memory)]
    env = {
        str(v.get("name")): str(v.get("value", ""))
        for v in (command.get("environment") or {}).get("variables", [])
    }
    env["MESOS_SANDBOX"] = MAPPED_SANDBOX
    env["MESOS_CONTAINER_NAME"] = name
    for key in sorted(env):  # Mesos keeps them in a std::map: sorted by name
        argv += ["-e", f"{key}={env[key]}"]
    volumes = [f"{sandbox}:{MAPPED_SANDBOX}"]
    for volume in container.get("volumes", []):
        volumes.append(_volume(volume, sandbox))
    for volume in volumes:
        argv += ["-v", volume]
    network = str(spec.get("network", "HOST")).upper()
    if network == "USER":
        argv += ["--net", user_network(info) or "bridge"]
    else:
        argv += ["--net", network.lower()]
    if network in ("BRIDGE", "USER"):
        for mapping in spec.get("port_mappings", []):
            text = f"{int(mapping['host_port'])}:{int(mapping['container_port'])}"
            if mapping.get("protocol"):
                text += "/" + str(mapping["protocol"]).lower()
            argv += ["-p", text]
    shell = command.get("shell", True) is not False
    if shell:
        argv += ["--entrypoint", "/bin/sh"]
    argv += ["--name", name]
    for parameter in spec.get("parameters", []):
        argv.append(f"--{parameter.get('key')}={parameter.get('value', '')}")
    argv.append(str(spec.get("image", "")))
    if shell:
        if not command.get("value"):
            raise ValueError("Shell specified but no command value provided")
        argv += ["-c", str(command["value"])]
    else:
        if command.get("value"):
            argv.append(str(command["value"]))
        argv += [str(a) for a in command.get("arguments", [])]
    return argv


def user_network(info: dict[str, Any]) -> str:
    """The user network a DOCKER-type task runs on: its ContainerInfo's first named network
    with ``network: USER`` ('' for HOST, BRIDGE and NONE)."""
    container = info.get("container") or {}
    if str((container.get("docker") or {}).get("network", "")).upper() != "USER":
        return ""
    names = cni.network_names(info)
    return names[0] if names else ""


def _volume(volume: dict[str, Any], sandbox: Path) -> str:
    # Mesos's snake_case, or Marathon's camelCase as the twin's Marathon passes it on
    inside = str(volume.get("container_path", volume.get("containerPath", "")))
    if not inside.startswith("/"):
        inside = f"{MAPPED_SANDBOX}/{inside}"
    host = str(volume.get("host_path", volume.get("hostPath", "")))
    if not host:
        raise ValueError("Host path or volume source is required")
    if not host.startswith("/"):
        host = str(sandbox / host)
    mode = "ro" if str(volume.get("mode", "RW")).upper() == "RO" else "rw"
    return f"{host}:{inside}:{mode}"


def stop_argv(name: str, *, socket: str, docker: str = "docker", timeout: int = 0) -> list[str]:
    """How the docker executor kills a task: ``docker stop -t <grace>`` (the agent's
    ``--docker_stop_timeout``, 0 by default)."""
    return [*client_argv(docker, socket), "stop", "-t", str(timeout), name]
