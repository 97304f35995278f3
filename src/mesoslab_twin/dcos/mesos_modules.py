"""Where the twin's Mesos daemons load the DC/OS overlay modules (``--modules_dir``).

The master and agent call these two functions once their routes are built; without a
module file naming an overlay module they do nothing, so a plain Mesos lab is unchanged.
A broken module configuration stops the daemon, as a module that fails to load stops Mesos
(``Error loading modules: ...``).
"""

from __future__ import annotations

import logging
from typing import Any

from mesoslab_twin.common.httpd import Router
from mesoslab_twin.common.process import Exit
from mesoslab_twin.dcos import overlay_network as net
from mesoslab_twin.dcos.overlay_agent import OverlayAgent
from mesoslab_twin.dcos.overlay_master import OverlayMaster
from mesoslab_twin.mesos.docker_run import client_argv

log = logging.getLogger("overlay")


def attach_master(master: Any, router: Router) -> OverlayMaster | None:
    """The overlay master (and the master's own overlay agent) if the modules say so."""
    modules_dir = master.flags.get("modules_dir")
    try:
        manager = OverlayMaster.from_modules(master.root, modules_dir)
        if manager is None:
            return None
        manager.add_routes(router, master._not_leading)

        def leader() -> str | None:
            if master.elected:
                return f"{master.ip}:{master.port}"
            info = master.leader_info() or {}
            host = (info.get("address") or {}).get("ip") or info.get("hostname")
            return f"{host}:{info.get('port', 5050)}" if host else None

        agent = OverlayAgent.from_modules(master.root, modules_dir, master.ip, leader, [])
    except net.OverlayError as exc:
        raise Exit(f"Error loading modules: {exc}") from None
    if agent is not None:
        agent.add_routes(router)
        agent.start()
    log.info("Loaded module %s (emulated)", "com_mesosphere_mesos_OverlayMasterManager")
    return manager


def attach_agent(agent: Any, router: Router, watch: Any) -> OverlayAgent | None:
    """The agent's overlay module if the modules say so (started at once)."""
    docker = client_argv(agent.flags["docker"], str(agent.root.path(agent.flags["docker_socket"])))
    try:
        module = OverlayAgent.from_modules(
            agent.root, agent.flags.get("modules_dir"), agent.ip, watch.address, docker
        )
    except net.OverlayError as exc:
        raise Exit(f"Error loading modules: {exc}") from None
    if module is not None:
        module.add_routes(router)
        module.start()
        log.info("Loaded module %s (emulated)", "com_mesosphere_mesos_OverlayAgentManager")
    return module
