"""The master's overlay module (``com_mesosphere_mesos_OverlayMasterManager``), emulated.

Loaded when the master's ``--modules_dir`` holds a module file naming it (DC/OS writes
``/opt/mesosphere/etc/mesos-master-modules/overlay_master_modules.json``), with its
``master_config`` parameter pointing at ``overlay/config/master.json``
(``{"replicated_log_dir": ..., "network": <dcos_overlay_network>}``).

It hands every agent (the master's own overlay agent included) its slice of each overlay and
its VTEP, keeps the allocation across restarts (the real module keeps it in a replicated log
under ``replicated_log_dir``; here one JSON file there), and serves
``GET /overlay-master/state``. Agents register with the twin's own call
``POST /overlay-master/twin/register`` (the real module uses libprocess messages) and repeat
it with their configuration status, which the state then shows.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.httpd import BadRequest, Reply, Request, Router, json_reply
from mesoslab_twin.dcos import overlay_network as net

log = logging.getLogger("overlay")

MASTER_MODULE = "com_mesosphere_mesos_OverlayMasterManager"
AGENT_MODULE = "com_mesosphere_mesos_OverlayAgentManager"
STATE_FILE = "overlay-allocations.json"
STATUSES = ("STATUS_OK", "STATUS_FAILED", "STATUS_CONFIGURING", "STATUS_INVALID")


def module_parameters(root: Root, modules_dir: str | None, module: str) -> dict[str, str] | None:
    """The parameters of ``module`` if a ``*.json`` file in ``modules_dir`` loads it."""
    if not modules_dir:
        return None
    folder = root.path(modules_dir)
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("Ignoring module file %s: not JSON", path)
            continue
        for library in doc.get("libraries") or []:
            for entry in library.get("modules") or []:
                if entry.get("name") == module:
                    params = entry.get("parameters") or []
                    return {str(p.get("key")): str(p.get("value")) for p in params}
    return None


def read_config(root: Root, path: str) -> dict[str, Any]:
    text = root.read(path)
    if text is None:
        raise net.OverlayError(f"cannot read the overlay configuration {path}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise net.OverlayError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise net.OverlayError(f"{path} must hold a JSON object")
    return data


class OverlayMaster:
    def __init__(self, network: dict[str, Any], state_dir: Path | None) -> None:
        net.overlays(network)  # raise OverlayError on a bad configuration
        self.network = network
        self.state_file = state_dir / STATE_FILE if state_dir else None
        self.lock = threading.Lock()
        self.order: list[str] = []  # agent IPs in the order they were first seen
        self.agents: dict[str, dict[str, Any]] = {}
        self._load()

    @classmethod
    def from_modules(cls, root: Root, modules_dir: str | None) -> OverlayMaster | None:
        params = module_parameters(root, modules_dir, MASTER_MODULE)
        if params is None:
            return None
        config = read_config(root, params.get("master_config", ""))
        log_dir = config.get("replicated_log_dir")
        state_dir = root.path(str(log_dir)) if log_dir else None
        return cls(config.get("network") or net.DEFAULT_NETWORK, state_dir)

    def _load(self) -> None:
        if self.state_file is None:
            return
        try:
            saved = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for entry in saved.get("agents", []):
            ip = str(entry.get("ip", ""))
            if ip and ip not in self.order:
                self.order.append(ip)
                self.agents[ip] = entry

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.state_file.with_suffix(".tmp")
        scratch.write_text(json.dumps({"agents": [self.agents[ip] for ip in self.order]}))
        scratch.replace(self.state_file)

    def register(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("ip"), str) or not body["ip"]:
            raise BadRequest("expected {'ip': <agent address>, ...}")
        ip = body["ip"]
        raw = body.get("status")
        statuses: dict[str, Any] = raw if isinstance(raw, dict) else {}
        with self.lock:
            if ip not in self.order:
                self.order.append(ip)
                index = len(self.order) - 1
                overlays = net.agent_overlays(
                    self.network,
                    index,
                    mesos_bridge=bool(body.get("mesos_bridge", True)),
                    docker_bridge=bool(body.get("docker_bridge", True)),
                )
                for overlay in overlays:
                    overlay["state"] = {"status": "STATUS_CONFIGURING"}
                self.agents[ip] = {"ip": ip, "overlays": overlays}
                log.info(
                    "Allocated overlay subnets to agent %s: %s",
                    ip,
                    ", ".join(o["subnet"] for o in overlays),
                )
            entry = self.agents[ip]
            for overlay in entry["overlays"]:
                reported = statuses.get(overlay["info"]["name"])
                if isinstance(reported, dict) and reported.get("status") in STATUSES:
                    overlay["state"] = {
                        k: reported[k] for k in ("status", "error") if k in reported
                    }
            self._save()
            copy: dict[str, Any] = json.loads(json.dumps(entry))
            return copy

    def state(self) -> dict[str, Any]:
        with self.lock:
            agents = [json.loads(json.dumps(self.agents[ip])) for ip in self.order]
        return {"network": net.network_info(self.network), "agents": agents}

    def add_routes(self, router: Router, not_leading: Any) -> None:
        """``not_leading(request)`` answers for a master that does not lead (or None)."""

        def state(request: Request, _m: Any) -> Reply:
            return not_leading(request) or json_reply(self.state())

        def register(request: Request, _m: Any) -> Reply:
            return not_leading(request) or json_reply(self.register(request.json()))

        router.add("GET", r"/overlay-master/state", state)
        router.add("POST", r"/overlay-master/twin/register", register)
