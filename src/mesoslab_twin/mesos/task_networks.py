"""Tasks on named networks (DC/OS's ``dcos``): the hook :mod:`.tasks` calls.

* a MESOS-type task naming a network joins it through :mod:`.cni` and its command runs in
  the container's namespace (``ip netns exec <container id> ...``);
* a DOCKER-type task on a user network runs with ``docker run --net <name>``
  (:mod:`.docker_run`); its address is Docker's, read back with ``docker inspect`` before
  TASK_RUNNING, as for every Docker task (:mod:`.docker_calls`).

Either way the task's status reports the container's address in
``container_status.network_infos[].ip_addresses``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mesoslab_twin.mesos import cni

log = logging.getLogger("slave.cpp")


class TaskNetworks:
    def __init__(self, cni_dir: Path | None, data_dir: Path) -> None:
        self.cni_dir = cni_dir
        self.data_dir = data_dir
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
