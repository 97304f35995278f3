"""Tasks on named networks (DC/OS's ``dcos``): the hook :mod:`.tasks` calls.

* a MESOS-type task naming a network joins it through :mod:`.cni` and its command runs in
  the container's namespace (``ip netns exec <container id> ...``);
* a DOCKER-type task on a user network runs with ``docker run --net <name>``
  (:mod:`.docker_run`); its address is Docker's, read back with ``docker inspect`` as Mesos's
  docker containerizer does before it reports TASK_RUNNING.

Either way the task's status reports the container's address in
``container_status.network_infos[].ip_addresses``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path
from typing import Any

from mesoslab_twin.mesos import cni

log = logging.getLogger("slave.cpp")

INSPECT_DEADLINE = 120.0  # seconds: the image may still be pulling


class TaskNetworks:
    def __init__(self, cni_dir: Path | None, data_dir: Path, docker: list[str]) -> None:
        self.cni_dir = cni_dir
        self.data_dir = data_dir
        self.docker = docker
        self.attached: dict[str, cni.Attachment] = {}  # container id -> attachment

    def wrap(
        self, container_id: str, info: dict[str, Any], argv: list[str]
    ) -> tuple[list[str], str, str]:
        """(argv to run, the container's IP, the network) for a MESOS-type task."""
        attached = self.join(container_id, info)
        if attached is None:
            return argv, "", ""
        return ["ip", "netns", "exec", attached.netns, *argv], attached.ip, attached.network

    def join(self, container_id: str, info: dict[str, Any]) -> cni.Attachment | None:
        """Attach the container to the CNI network its task names (None: it names none)."""
        names = cni.network_names(info)
        if not names:
            return None
        if self.cni_dir is None:
            raise ValueError("Failed to prepare CNI networks: --network_cni_config_dir is not set")
        try:
            attached = cni.attach(self.cni_dir, names[0], container_id, data_dir=self.data_dir)
        except cni.CniError as exc:
            raise ValueError(f"Failed to setup the CNI network '{names[0]}': {exc}") from None
        self.attached[container_id] = attached
        log.info(
            "Container %s joined CNI network %s with IP %s", container_id, names[0], attached.ip
        )
        return attached

    def release(self, container_id: str) -> None:
        attached = self.attached.pop(container_id, None)
        if attached is not None:
            cni.detach(attached.network, container_id, data_dir=self.data_dir)

    @staticmethod
    def docker_network(info: dict[str, Any]) -> str:
        """The user network a DOCKER-type task runs on ('' for host/bridge)."""
        container = info.get("container") or {}
        if str((container.get("docker") or {}).get("network", "")).upper() != "USER":
            return ""
        names = cni.network_names(info)
        return names[0] if names else ""

    def docker_ip(self, name: str, network: str, alive: Any) -> str:
        """The container's address on ``network``, once Docker has started it."""
        deadline = time.monotonic() + INSPECT_DEADLINE
        while time.monotonic() < deadline and alive():
            done = subprocess.run(
                [*self.docker, "inspect", name], capture_output=True, text=True, check=False
            )
            if done.returncode == 0:
                try:
                    doc = json.loads(done.stdout)[0]
                    found = doc["NetworkSettings"]["Networks"][network]["IPAddress"]
                except (ValueError, LookupError, TypeError):
                    found = ""
                if found:
                    return str(found)
            time.sleep(0.5)
        return ""
