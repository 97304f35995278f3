"""Marathon apps (``GET /v2/apps?embed=apps.tasks``) -> the services marathon-lb exposes.

One :class:`Service` per service port of an app (MLB marathon_lb.py ``get_apps``
L1624-1850, utils.py ``get_service_ports``/``get_task_ip_and_ports``):

* service ports: ``container.docker.portMappings[].servicePort`` for BRIDGE/USER apps,
  otherwise ``portDefinitions[].port`` (older Marathon: ``ports``);
* per-port labels ``HAPROXY_{n}_*`` (``VHOST``, ``GROUP``, ``PORT``, ``MODE``, ``BALANCE``,
  ``BIND_ADDR``, ``ENABLED``, ``STICKY``, ``BIND_OPTIONS``, ``SSL_CERT``) and the app label
  ``HAPROXY_GROUP`` (comma list; ``HAPROXY_{n}_GROUP`` wins over it);
* a backend per running task at ``<task host resolved to an IP>:<task port n>``; tasks
  without a host, in a non-running state (:data:`EXCLUDED_TASK_STATES`), with a failing
  Marathon health check under ``--health-check``, or whose host does not resolve are left
  out, and a service without backends is left out of the configuration altogether.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("mesoslab_twin.marathonlb")

# States whose tasks get no traffic (marathon_lb.py L1580-1620): TASK_RUNNING, TASK_LOST and
# TASK_UNREACHABLE (the task may still run) are the ones routed to.
EXCLUDED_TASK_STATES = frozenset(
    {
        "TASK_STAGING",
        "TASK_STARTING",
        "TASK_KILLING",
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_ERROR",
        "TASK_DROPPED",
        "TASK_GONE",
        "TASK_GONE_BY_OPERATOR",
        "TASK_UNKNOWN",
    }
)


@dataclass(frozen=True, order=True)
class Backend:
    host: str  # the task's host as Marathon reports it
    port: int
    ip: str


@dataclass
class Service:
    app_id: str
    service_port: int
    health_check: dict[str, Any] | None = None
    groups: tuple[str, ...] = ()  # HAPROXY_GROUP of the app
    port_groups: tuple[str, ...] = ()  # HAPROXY_{n}_GROUP
    vhosts: tuple[str, ...] = ()
    mode: str | None = None
    balance: str = "roundrobin"
    bind_addr: str = "*"
    bind_options: str = ""
    ssl_cert: str = ""
    sticky: bool = False
    enabled: bool = True
    backends: set[Backend] = field(default_factory=set)

    @property
    def backend_name(self) -> str:
        """``/group/app`` on service port 10000 -> ``group_app_10000`` (L526)."""
        return self.app_id[1:].replace("/", "_") + "_" + str(self.service_port)

    def effective_mode(self) -> str:
        if self.mode:
            return self.mode
        return "http" if self.vhosts else "tcp"

    def selected_by(self, groups: Iterable[str]) -> bool:
        wanted = frozenset(groups)
        if "*" in wanted:
            return True
        own = self.port_groups or self.groups
        return bool(wanted & frozenset(own))


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "on")


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def networking_mode(app: dict[str, Any]) -> str:
    """``host``, ``container/bridge`` or ``container`` (utils.py ``get_app_networking_mode``)."""
    mode = "container" if app.get("ipAddress") else "host"
    docker = ((app.get("container") or {}).get("docker")) or {}
    network = str(docker.get("network") or "")
    if network == "USER":
        mode = "container"
    elif network == "BRIDGE":
        mode = "container/bridge"
    for net in app.get("networks") or []:
        if isinstance(net, dict):
            mode = str(net.get("mode") or "container")
    return mode


def _port_mappings(app: dict[str, Any]) -> list[dict[str, Any]]:
    container = app.get("container") or {}
    mappings = (container.get("docker") or {}).get("portMappings") or []
    return list(mappings or container.get("portMappings") or [])


def service_ports(app: dict[str, Any]) -> list[int]:
    mode = networking_mode(app)
    if mode in ("container", "container/bridge"):
        ports = [int(m["servicePort"]) for m in _port_mappings(app) if m.get("servicePort")]
        if ports:
            return ports
    if "portDefinitions" in app:
        return [int(d["port"]) for d in app["portDefinitions"] or [] if d.get("port") is not None]
    return [int(p) for p in app.get("ports") or []]


def task_ports(app: dict[str, Any], task: dict[str, Any]) -> list[int]:
    mode = networking_mode(app)
    if mode == "container":
        discovery = ((app.get("ipAddress") or {}).get("discovery") or {}).get("ports") or []
        found = [int(p["number"]) for p in discovery if "number" in p]
        return found or [int(m["containerPort"]) for m in _port_mappings(app)]
    ports = [int(p) for p in task.get("ports") or []]
    if ports:
        return ports
    definitions = [int(d["port"]) for d in app.get("portDefinitions") or [] if "port" in d]
    if definitions or mode == "host":
        return definitions
    return [int(m["containerPort"]) for m in _port_mappings(app) if "containerPort" in m]


def health_check_for(app: dict[str, Any], index: int) -> dict[str, Any] | None:
    for check in app.get("healthChecks") or []:
        if check.get("port") or check.get("portIndex") == index:
            return dict(check)
    return None


def _apply_label(service: Service, key: str, value: str) -> None:
    if key == "VHOST":
        service.vhosts = _split(value.lower())
    elif key == "GROUP":
        service.port_groups = _split(value)
    elif key == "PORT":
        service.service_port = int(value)
    elif key == "MODE":
        service.mode = value.strip().lower()
    elif key == "BALANCE":
        service.balance = value.strip()
    elif key == "BIND_ADDR":
        service.bind_addr = value.strip()
    elif key == "BIND_OPTIONS":
        service.bind_options = value.strip()
    elif key == "SSL_CERT":
        service.ssl_cert = value.strip()
    elif key == "ENABLED":
        service.enabled = _truthy(value)
    elif key == "STICKY":
        service.sticky = _truthy(value)


def _alive(task: dict[str, Any]) -> bool:
    return any(r.get("alive") for r in task.get("healthCheckResults") or [])


Resolver = Callable[[str], str]


def resolve_host(host: str) -> str:
    """The task host's IPv4 address, "" when it does not resolve (utils.py ``resolve_ip``)."""
    try:
        return socket.gethostbyname(host)
    except (OSError, UnicodeError):
        return ""


def services_of(
    apps: list[dict[str, Any]],
    *,
    health_check: bool = False,
    strict_mode: bool = False,
    resolve: Resolver = resolve_host,
) -> list[Service]:
    """Every service of ``apps`` that has at least one backend, in app id/port order."""
    out: list[Service] = []
    for app in apps:
        app_id = str(app.get("id") or "")
        if not app_id.startswith("/"):
            continue
        labels = {str(k): str(v) for k, v in (app.get("labels") or {}).items()}
        groups = _split(labels.get("HAPROXY_GROUP", ""))
        by_port: dict[int, Service] = {}
        ports = service_ports(app)
        for index, port in enumerate(ports):
            service = Service(app_id, port, health_check_for(app, index), groups=groups)
            service.enabled = not strict_mode
            if service.health_check and service.health_check.get("protocol") == "HTTP":
                service.mode = "http"
            prefix = f"HAPROXY_{index}_"
            for key, value in labels.items():
                if key.startswith(prefix):
                    try:
                        _apply_label(service, key[len(prefix) :], value)
                    except ValueError:
                        log.warning("%s: ignoring label %s=%r", app_id, key, value)
            by_port[port] = service
        checked = health_check and bool(app.get("healthChecks"))
        for task in app.get("tasks") or []:
            task_id = task.get("id", "?")
            host = str(task.get("host") or "")
            if not host:
                log.warning("Ignoring Marathon task without host %s", task_id)
                continue
            if task.get("state") in EXCLUDED_TASK_STATES:
                log.info("Ignoring non-running task %s with state %s", task_id, task["state"])
                continue
            if checked and not _alive(task):
                continue
            if networking_mode(app) == "container":
                addresses = task.get("ipAddresses") or []
                ip = str(addresses[0].get("ipAddress") or "") if addresses else ""
            else:
                ip = resolve(host)
            found_ports = task_ports(app, task)
            if not ip or not found_ports:
                log.warning("Task %s has no resolvable IP address - skip", task_id)
                continue
            for task_port, service_port in zip(found_ports, ports, strict=False):
                if service_port in by_port:
                    by_port[service_port].backends.add(Backend(host, task_port, ip))
        out.extend(s for s in by_port.values() if s.backends)
    return sorted(out, key=lambda s: (s.app_id, s.service_port))
