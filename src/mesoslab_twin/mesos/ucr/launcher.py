"""How a container with an image is started: Linux namespaces, a chroot, the sandbox mapped.

The process tree (all in the task's process group)::

    unshare --mount --pid --fork --kill-child [--net] /bin/sh -c SETUP
        -> python -m mesoslab_twin.mesos.ucr.enter ROOTFS WORKDIR ENV -- ARGV

SETUP runs as pid 1 of the new pid namespace in a private mount namespace: it mounts a
``proc`` for that namespace at ``ROOTFS/proc`` (``--mount-proc=ROOTFS/proc`` in spirit: a
plain ``--mount-proc`` would mount over the node's /proc, outside the chroot), binds
``/dev/null``, ``zero``, ``full``, ``random``, ``urandom`` and ``tty``, binds the sandbox at
``/mnt/mesos/sandbox`` (the agent's ``--sandbox_directory``), and, on the host network, the
node's ``/etc/hosts``, ``/etc/hostname`` and ``/etc/resolv.conf`` (the network/cni isolator
does this for a container without its own network). ``--kill-child`` takes the container
down when the launcher is killed.

Network: the host's (the default), or ``netns`` — the path of a network namespace prepared
by someone else (e.g. ``/var/run/netns/<container id>``, attached to a CNI bridge), joined
with ``nsenter --net=PATH`` — or a fresh one with only ``lo`` (``fresh_net``, a task that
asked for a network no one prepared).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from mesoslab_twin.mesos.docker_run import MAPPED_SANDBOX

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
HOST_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


def setup_script(rootfs: Path, sandbox: Path, *, host_network: bool) -> str:
    r, q = str(rootfs), shlex.quote
    lines = [
        "set -e",
        f"mkdir -p {q(r + '/proc')} {q(r + '/dev')} {q(r + MAPPED_SANDBOX)} {q(r + '/tmp')}",
        f"mount -t proc proc {q(r + '/proc')}",
    ]
    for device in DEVICES:
        target = q(f"{r}/dev/{device}")
        lines.append(
            f"if [ -e /dev/{device} ]; then [ -e {target} ] || : > {target}; "
            f"mount --bind /dev/{device} {target}; fi"
        )
    lines.append(f"mount --bind {q(str(sandbox))} {q(r + MAPPED_SANDBOX)}")
    if host_network:
        for name in HOST_FILES:
            target, parent = q(r + name), q(str(Path(r + name).parent))
            lines.append(
                f"if [ -f {name} ] && [ ! -L {target} ]; then mkdir -p {parent}; "
                f"[ -e {target} ] || : > {target}; mount --bind {name} {target}; fi"
            )
    lines.append('exec "$@"')
    return "\n".join(lines)


def argv(
    rootfs: Path,
    sandbox: Path,
    program: list[str],
    env: dict[str, str],
    workdir: str,
    *,
    netns: str | None = None,
    fresh_net: bool = False,
) -> list[str]:
    """The command line that runs ``program`` in the container."""
    enter = [
        sys.executable,
        "-m",
        "mesoslab_twin.mesos.ucr.enter",
        str(rootfs),
        workdir,
        json.dumps(env, sort_keys=True),
        "--",
        *program,
    ]
    host_network = netns is None and not fresh_net
    unshare = ["unshare", "--mount", "--pid", "--fork", "--kill-child"]
    if fresh_net and netns is None:
        unshare.append("--net")
    script = setup_script(rootfs, sandbox, host_network=host_network)
    command = [*unshare, "/bin/sh", "-c", script, "mesos-container", *enter]
    if netns is not None:
        command = ["nsenter", f"--net={netns}", *command]
    return command
