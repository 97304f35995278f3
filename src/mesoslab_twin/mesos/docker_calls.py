"""The Docker CLI calls the Docker containerizer makes around ``docker run``.

Before the container runs, the image (Mesos 1.4.3 ``src/docker/docker.cpp``
``Docker::pull`` L1585-1651 and ``__pull``/``___pull`` L1676-1817): ``docker -H SOCKET
inspect IMAGE`` (``:latest`` added when the last path part has no tag) and, only when that
fails or ``force_pull_image`` is set, ``docker -H SOCKET pull IMAGE``. A failed pull fails the
launch with ``Failed to run '<cmd>': exited with status N; stderr='<docker's stderr>'`` (the
``failure`` helper, L71-79); the agent prefixes ``Failed to launch container: `` and sends
TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED (slave.cpp ``executorLaunched``).

After ``docker run`` starts, the container (``src/docker/executor.cpp`` L209-281):
``docker -H SOCKET inspect NAME`` again and again until Docker says it started
(``State.StartedAt`` not ``0001-01-01T00:00:00Z``, ``Docker::Container::create``
L326), and only then TASK_RUNNING, with the address from
``NetworkSettings.Networks.<HostConfig.NetworkMode>.IPAddress`` when it has one (L328-373).
Mesos retries every 500 ms (``DOCKER_INSPECT_DELAY``); the twin polls faster, which only
makes TASK_RUNNING come sooner after the container really runs.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NOT_STARTED = "0001-01-01T00:00:00Z"
INSPECT_EVERY = 0.05  # seconds between two `docker inspect` of a starting container
INSPECT_TIMEOUT = 5.0  # one `docker inspect` that hangs is given up (DOCKER_INSPECT_TIMEOUT)


class PullError(Exception):
    """The image could not be pulled; ``str()`` is Mesos's message for it."""


@dataclass(frozen=True)
class Started:
    """What ``docker inspect`` said of a container that has started."""

    pid: int
    ip: str  # its address on its own network ('' on the host's network)
    network: str  # HostConfig.NetworkMode: host, bridge, or a user network's name


def with_tag(image: str) -> str:
    """``IMAGE:latest`` when the image names no tag (a registry's ``host:port/`` part is not
    a tag: only the last ``/`` part is looked at)."""
    return image if ":" in image.split("/")[-1] else f"{image}:latest"


def ensure_image(client: list[str], image: str, *, force: bool = False) -> None:
    """Have Docker hold ``image``: inspect, and pull when it is missing (always with
    ``force``). Raises :class:`PullError` with Mesos's message when the pull fails."""
    if not force:
        found = subprocess.run(
            [*client, "inspect", with_tag(image)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if found.returncode == 0:
            return
        image = with_tag(image)  # Docker::_pull passes the tagged name on to __pull
    argv = [*client, "pull", image]
    pulled = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    if pulled.returncode != 0:
        stderr = pulled.stderr.decode(errors="replace")
        raise PullError(
            f"Failed to run '{' '.join(argv)}': exited with status {pulled.returncode};"
            f" stderr='{stderr}'"
        )


def started(doc: dict[str, Any]) -> Started | None:
    """The container of one ``docker inspect`` document, if it has started."""
    state = doc.get("State") or {}
    if str(state.get("StartedAt", NOT_STARTED)) == NOT_STARTED:
        return None
    mode = str((doc.get("HostConfig") or {}).get("NetworkMode", ""))
    settings = doc.get("NetworkSettings") or {}
    networks = settings.get("Networks") or {}
    if mode in networks:
        ip = str((networks[mode] or {}).get("IPAddress") or "")
    else:  # Docker before API 1.20 kept only the one address
        ip = str(settings.get("IPAddress") or "")
    return Started(pid=int(state.get("Pid") or 0), ip=ip, network=mode)


def wait_started(client: list[str], name: str, running: Callable[[], bool]) -> Started | None:
    """Inspect container ``name`` until it has started. Gives up (None) once ``running()``
    is false (the ``docker run`` client exited) and one last look finds it never started."""
    while True:
        alive = running()
        try:
            done = subprocess.run(
                [*client, "inspect", name],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=INSPECT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            done = None
        if done is not None and done.returncode == 0:
            try:
                doc = json.loads(done.stdout)[0]
            except (ValueError, LookupError):
                doc = {}
            found = started(doc) if isinstance(doc, dict) else None
            if found is not None:
                return found
        if not alive:
            return None
        time.sleep(INSPECT_EVERY)
