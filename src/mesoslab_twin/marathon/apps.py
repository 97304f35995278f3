"""Marathon 1.4 app definitions: validation, defaults, ports, and the Mesos TaskInfo.

An app is kept as the JSON Marathon 1.4 answers with (legacy networking:
``container.docker.network``/``portMappings``, ``ports``, ``portDefinitions``,
``ipAddress``). Ports: ``portDefinitions`` (or ``ports``) give service ports, 0 = assign one
from ``local_port_min``-``local_port_max``; with ``requirePorts`` the host ports are exactly
those. Docker BRIDGE ``portMappings`` get a host port each (``hostPort: 0`` = any port the
offer has). Tasks get ``PORT0``..., ``PORT``, ``PORTS`` and ``PORT_<servicePort>``.
"""

from __future__ import annotations

import copy
import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mesoslab_twin.common.httpd import BadRequest
from mesoslab_twin.common.values import Amounts, Ranges, ports_as_ranges, ranges_contain

APP_ID_RE = re.compile(r"^(/?(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.?)+)+$")
APP_DEFAULTS: dict[str, Any] = {
    "cmd": None,
    "args": None,
    "user": None,
    "env": {},
    "instances": 1,
    "cpus": 1.0,
    "mem": 128.0,
    "disk": 0.0,
    "gpus": 0,
    "executor": "",
    "constraints": [],
    "uris": [],
    "fetch": [],
    "storeUrls": [],
    "backoffSeconds": 1,
    "backoffFactor": 1.15,
    "maxLaunchDelaySeconds": 3600,
    "container": None,
    "healthChecks": [],
    "readinessChecks": [],
    "dependencies": [],
    "upgradeStrategy": {"minimumHealthCapacity": 1, "maximumOverCapacity": 1},
    "labels": {},
    "ipAddress": None,
    "residency": None,
    "secrets": {},
    "taskKillGracePeriodSeconds": None,
    "unreachableStrategy": {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600},
    "killSelection": "YOUNGEST_FIRST",
    "acceptedResourceRoles": None,
    "requirePorts": False,
}


def now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def canonical_id(raw: str) -> str:
    return "/" + str(raw).strip().strip("/")


def invalid(path: str, error: str) -> BadRequest:
    return BadRequest("Object is not valid", 422, [{"path": path, "errors": [error]}])


def normalize(raw: Any, app_id: str | None = None) -> dict[str, Any]:
    """A posted app with Marathon's defaults filled in; raises BadRequest (422) like
    Marathon for what the lessons can get wrong."""
    if not isinstance(raw, dict):
        raise BadRequest("Invalid JSON: expected an object", 400)
    app = copy.deepcopy(APP_DEFAULTS)
    app.update(copy.deepcopy(raw))
    app["id"] = canonical_id(app_id or raw.get("id") or "")
    if app["id"] == "/":
        raise invalid("/id", "error.path.missing")
    if not all(APP_ID_RE.match(part) for part in app["id"].strip("/").split("/")):
        raise invalid(
            "/id",
            "must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*"
            "([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$'",
        )
    container = app.get("container")
    if not app.get("cmd") and not app.get("args") and not container:
        raise invalid(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        )
    for key in ("cpus", "mem", "disk"):
        try:
            app[key] = float(app[key])
        except (TypeError, ValueError):
            raise invalid(f"/{key}", "error.expected.jsnumber") from None
    try:
        app["instances"] = int(app["instances"])
    except (TypeError, ValueError):
        raise invalid("/instances", "error.expected.jsnumber") from None
    if isinstance(container, dict):
        container.setdefault("type", "DOCKER" if "docker" in container else "MESOS")
        container["type"] = str(container["type"]).upper()
        container.setdefault("volumes", [])
        docker = container.get("docker")
        if isinstance(docker, dict):
            docker.setdefault("network", "HOST")
            docker["network"] = str(docker["network"]).upper()
            docker.setdefault("privileged", False)
            docker.setdefault("parameters", [])
            docker.setdefault("forcePullImage", False)
            mappings = docker.get("portMappings")
            if docker["network"] in ("BRIDGE", "USER"):
                docker["portMappings"] = [_mapping(m) for m in (mappings or [])]
            elif mappings:
                raise invalid(
                    "/container/docker/portMappings",
                    "Port mappings are only supported in BRIDGE and USER networking modes",
                )
    app["healthChecks"] = [_health_check(h) for h in app.get("healthChecks") or []]
    definitions = raw.get("portDefinitions")
    if definitions is None and raw.get("ports") is not None:
        definitions = [{"port": int(p)} for p in raw["ports"]]
    if _bridged(app):
        definitions = []
    elif definitions is None:
        definitions = [{"port": 0}]
    app["portDefinitions"] = [
        {
            "port": int(d.get("port", 0)),
            "protocol": d.get("protocol", "tcp"),
            "labels": d.get("labels", {}),
            **({"name": d["name"]} if d.get("name") else {}),
        }
        for d in definitions
    ]
    return {"id": app.pop("id"), **app}  # Marathon writes the id first


def _health_check(raw: Any) -> dict[str, Any]:
    """A health check with Marathon 1.4's defaults filled in."""
    if not isinstance(raw, dict):
        raise invalid("/healthChecks", "error.expected.jsobject")
    check = {
        "protocol": "HTTP",
        "portIndex": 0,
        "gracePeriodSeconds": 300,
        "intervalSeconds": 60,
        "timeoutSeconds": 20,
        "maxConsecutiveFailures": 3,
        "ignoreHttp1xx": False,
    }
    check.update(raw)
    check["protocol"] = str(check["protocol"]).upper()
    if check["protocol"] in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
        check.setdefault("path", "/")
    if "port" in raw:
        check.pop("portIndex", None)
    return check


def _mapping(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid("/container/docker/portMappings", "error.expected.jsobject")
    return {
        "containerPort": int(raw.get("containerPort", 0)),
        "hostPort": int(raw.get("hostPort", 0)) if raw.get("hostPort") is not None else 0,
        "servicePort": int(raw.get("servicePort", 0)),
        "protocol": raw.get("protocol", "tcp"),
        "labels": raw.get("labels", {}),
        **({"name": raw["name"]} if raw.get("name") else {}),
    }


def _bridged(app: dict[str, Any]) -> bool:
    docker = (app.get("container") or {}).get("docker") or {}
    return docker.get("network") in ("BRIDGE", "USER")


def container_type(app: dict[str, Any]) -> str | None:
    container = app.get("container")
    return str(container.get("type")) if isinstance(container, dict) else None


def assign_service_ports(app: dict[str, Any], taken: set[int], low: int, high: int) -> None:
    """Give service port 0 entries a free port of Marathon's own range."""

    def pick() -> int:
        for port in range(low, high + 1):
            if port not in taken:
                taken.add(port)
                return port
        raise BadRequest("No free service ports left", 422)

    for definition in app["portDefinitions"]:
        if definition["port"] == 0:
            definition["port"] = pick()
        taken.add(definition["port"])
    docker = (app.get("container") or {}).get("docker") or {}
    for mapping in docker.get("portMappings") or []:
        if mapping["servicePort"] == 0:
            mapping["servicePort"] = pick()
        taken.add(mapping["servicePort"])
    app["ports"] = service_ports(app)


def service_ports(app: dict[str, Any]) -> list[int]:
    if _bridged(app):
        docker = app["container"]["docker"]
        return [m["servicePort"] for m in docker.get("portMappings") or []]
    return [d["port"] for d in app["portDefinitions"]]


def host_port_needs(app: dict[str, Any]) -> list[int]:
    """One entry per host port the task needs: a fixed port, or 0 for any."""
    if _bridged(app):
        docker = app["container"]["docker"]
        return [m["hostPort"] for m in docker.get("portMappings") or []]
    if app.get("requirePorts"):
        return [d["port"] for d in app["portDefinitions"]]
    return [0 for _ in app["portDefinitions"]]


def pick_host_ports(
    needs: list[int], free: Ranges, rng: random.Random | None = None
) -> list[int] | None:
    """Host ports from the offered ranges (fixed ones must be offered, the others are taken
    at random as Marathon does); None when they do not fit."""
    chosen: list[int] = []
    for port in needs:
        if port:
            if not ranges_contain(free, port) or port in chosen:
                return None
            chosen.append(port)
    fixed = set(chosen)
    dynamic = (p for p in random_ports(free, rng or random.Random()) if p not in fixed)
    for index, port in enumerate(needs):
        if port:
            continue
        candidate = next(dynamic, None)
        if candidate is None:
            return None
        chosen.insert(index, candidate)
    return chosen


def random_ports(free: Ranges, rng: random.Random) -> Iterator[int]:
    """Every offered port once, in Marathon's order for dynamic ports: the ranges shuffled,
    read as one sequence from a random index, wrapping round (MARATHON@v1.4.12
    ``tasks/PortsMatcher.scala`` L263-296). Consecutive ports, but not the lowest ones."""
    spans = list(free)
    total = sum(end - begin + 1 for begin, end in spans)
    if total == 0:
        return
    rng.shuffle(spans)
    start = rng.randrange(total)
    index = 0
    while start >= spans[index][1] - spans[index][0] + 1:
        start -= spans[index][1] - spans[index][0] + 1
        index += 1
    begin, end = spans[index]
    yield from range(begin + start, end + 1)
    for other_begin, other_end in spans[index + 1 :] + spans[:index]:
        yield from range(other_begin, other_end + 1)
    yield from range(begin, begin + start)


def resources_for(app: dict[str, Any], host_ports: list[int]) -> Amounts:
    amounts = Amounts(
        scalars={"cpus": app["cpus"], "mem": app["mem"], "disk": app["disk"]},
    )
    if host_ports:
        amounts.ranges["ports"] = ports_as_ranges(host_ports)
    return amounts


def task_name(app_id: str) -> str:
    """/group/app -> app.group (the Mesos task name Marathon uses)."""
    return ".".join(reversed(app_id.strip("/").split("/")))


def new_task_id(app_id: str) -> str:
    return f"{app_id.strip('/').replace('/', '_')}.{uuid.uuid1()}"


def task_info(
    app: dict[str, Any],
    task_id: str,
    agent_id: str,
    hostname: str,
    host_ports: list[int],
) -> dict[str, Any]:
    """The Mesos TaskInfo Marathon 1.4 sends for a task of ``app``."""
    env = {str(k): str(v) for k, v in (app.get("env") or {}).items() if isinstance(v, str | int)}
    env.update(
        {
            "MARATHON_APP_ID": app["id"],
            "MARATHON_APP_VERSION": app["versionInfo"]["lastConfigChangeAt"],
            "MARATHON_APP_RESOURCE_CPUS": str(app["cpus"]),
            "MARATHON_APP_RESOURCE_MEM": str(app["mem"]),
            "MARATHON_APP_RESOURCE_DISK": str(app["disk"]),
            "MARATHON_APP_LABELS": " ".join(app.get("labels", {})),
            "MESOS_TASK_ID": task_id,
            "HOST": hostname,
        }
    )
    services = service_ports(app)
    for index, port in enumerate(host_ports):
        env[f"PORT{index}"] = str(port)
        if index < len(services) and services[index]:
            env[f"PORT_{services[index]}"] = str(port)
    if host_ports:
        env["PORT"] = str(host_ports[0])
        env["PORTS"] = ",".join(str(p) for p in host_ports)
    command: dict[str, Any] = {
        "environment": {"variables": [{"name": k, "value": v} for k, v in env.items()]},
        "uris": [{"value": u} for u in app.get("uris") or []],
    }
    if app.get("cmd"):
        command.update({"shell": True, "value": app["cmd"]})
    elif app.get("args"):
        # the command executor runs `value` with `arguments` as its argv; a container's
        # runtime takes the arguments alone (TaskBuilder.commandInfo, v1.4.12 L241-249)
        command.update({"shell": False, "arguments": app["args"]})
        if not app.get("container"):
            command["value"] = app["args"][0]
    else:
        command["shell"] = False
    name = task_name(app["id"])
    info: dict[str, Any] = {
        "task_id": task_id,
        "name": name,
        "agent_id": agent_id,
        "resources": resources_for(app, host_ports).to_wire(),
        "command": command,
        "labels": {"labels": [{"key": k, "value": str(v)} for k, v in app["labels"].items()]},
        "discovery": {
            "visibility": "FRAMEWORK",
            "name": name,
            "ports": {"ports": [{"number": p, "protocol": "tcp"} for p in host_ports]},
        },
    }
    mesos_checks = [h for h in app.get("healthChecks") or [] if h["protocol"] in MESOS_CHECKS]
    if mesos_checks:  # Mesos runs one check per task, Marathon sends the first
        info["health_check"] = _mesos_health_check(mesos_checks[0], host_ports)
    container = app.get("container")
    if isinstance(container, dict):
        info["container"] = _mesos_container(container, host_ports)
        if container_type(app) == "DOCKER":
            env["MARATHON_APP_DOCKER_IMAGE"] = str((container.get("docker") or {}).get("image"))
            command["environment"]["variables"].append(
                {"name": "MARATHON_APP_DOCKER_IMAGE", "value": env["MARATHON_APP_DOCKER_IMAGE"]}
            )
    ip_address = app.get("ipAddress")
    network = ip_address.get("networkName") if isinstance(ip_address, dict) else None
    if network:  # IP per task (lesson 10): the ContainerInfo names the network to join
        box = info.setdefault("container", {"type": "MESOS", "volumes": []})
        box["network_infos"] = [{"name": str(network)}]
    return info


# Checks Mesos runs (the executor, on the agent); Marathon runs HTTP, HTTPS and TCP itself.
MESOS_CHECKS = frozenset({"COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"})


def _mesos_health_check(check: dict[str, Any], host_ports: list[int]) -> dict[str, Any]:
    """A Mesos check as Mesos' HealthCheck (MARATHON@v1.4.12 ``core/health/HealthCheck.scala``
    L195-225 ``MesosCommandHealthCheck.toMesos``, and the MESOS_HTTP/MESOS_TCP ones after
    it): the executor runs it on the agent and reports ``healthy`` in the status updates."""
    found: dict[str, Any] = {
        "delay_seconds": float(check.get("delaySeconds", 15)),  # DefaultDelay, L352
        "interval_seconds": float(check["intervalSeconds"]),
        "timeout_seconds": float(check["timeoutSeconds"]),
        "consecutive_failures": int(check["maxConsecutiveFailures"]),
        "grace_period_seconds": float(check["gracePeriodSeconds"]),
    }
    protocol = check["protocol"]
    if protocol == "COMMAND":
        command = check.get("command") or {}
        found.update(type="COMMAND", command={"shell": True, "value": str(command.get("value"))})
        return found
    index = int(check.get("portIndex") or 0)
    port = int(check.get("port") or (host_ports[index] if index < len(host_ports) else 0))
    if protocol == "MESOS_TCP":
        found.update(type="TCP", tcp={"port": port})
    else:
        scheme = "https" if protocol == "MESOS_HTTPS" else "http"
        found.update(type="HTTP", http={"scheme": scheme, "port": port, "path": check["path"]})
    return found


def _mesos_container(container: dict[str, Any], host_ports: list[int]) -> dict[str, Any]:
    """ContainerInfo in Mesos' snake_case JSON (what /master/state shows)."""
    kind = container.get("type", "MESOS")
    docker = container.get("docker") or {}
    result: dict[str, Any] = {"type": kind, "volumes": container.get("volumes", [])}
    if kind == "DOCKER":
        mappings = [
            {"host_port": hp, "container_port": m["containerPort"], "protocol": m["protocol"]}
            for m, hp in zip(docker.get("portMappings") or [], host_ports, strict=False)
        ]
        result["docker"] = {
            "image": docker.get("image"),
            "network": docker.get("network", "HOST"),
            "privileged": bool(docker.get("privileged", False)),
            "force_pull_image": bool(docker.get("forcePullImage", False)),
            "parameters": docker.get("parameters", []),
        }
        if mappings:
            result["docker"]["port_mappings"] = mappings
    elif docker.get("image"):
        image = {"type": "DOCKER", "docker": {"name": docker["image"]}, "cached": True}
        result["mesos"] = {"image": image}  # `cached`: the protobuf default Mesos prints
    return result


def constraints_allow(
    app: dict[str, Any], hostname: str, attributes: dict[str, Any], placed: list[str]
) -> bool:
    """Marathon's UNIQUE/CLUSTER/LIKE/UNLIKE constraints on hostname or an attribute.
    ``placed`` are the field values of the app's running tasks on other agents."""
    for constraint in app.get("constraints") or []:
        if not isinstance(constraint, list) or len(constraint) < 2:
            continue
        field_name, operator = str(constraint[0]), str(constraint[1]).upper()
        value = str(constraint[2]) if len(constraint) > 2 else ""
        actual = hostname if field_name == "hostname" else str(attributes.get(field_name, ""))
        if operator == "UNIQUE" and actual in placed:
            return False
        if operator == "CLUSTER" and value and actual != value:
            return False
        if operator == "LIKE" and not re.fullmatch(value, actual):
            return False
        if operator == "UNLIKE" and re.fullmatch(value, actual):
            return False
    return True


LIVE = frozenset({"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"})
FAILURES = frozenset(
    {"TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE", "TASK_UNREACHABLE"}
)


@dataclass
class MTask:
    id: str
    app_id: str
    agent_id: str
    host: str
    ports: list[int]
    service_ports: list[int]
    version: str
    staged_at: str
    state: str = "TASK_STAGING"
    started_at: str | None = None
    ip: str = ""  # the container's own address, when its status reports one
    agent_ip: str = ""  # the offer's agent address: what DNS gives for `host` in a cluster
    running_since: float = 0.0
    killing: bool = False
    missing_since: float | None = None
    kill_sent: float = 0.0
    health: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "appId": self.app_id,
            "host": self.host,
            "ipAddresses": [{"ipAddress": self.ip, "protocol": "IPv4"}] if self.ip else [],
            "ports": self.ports,
            "servicePorts": self.service_ports,
            "slaveId": self.agent_id,
            "state": self.state,
            "stagedAt": self.staged_at,
            "startedAt": self.started_at,
            "version": self.version,
            "localVolumes": [],
        }
        if self.health:
            data["healthCheckResults"] = self.health
        return data

    def save(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("missing_since", "kill_sent")}


@dataclass
class App:
    definition: dict[str, Any]
    tasks: dict[str, MTask] = field(default_factory=dict)
    last_failure: dict[str, Any] | None = None
    failures: int = 0
    delay_until: float = 0.0
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)  # version -> definition

    @property
    def id(self) -> str:
        return str(self.definition["id"])

    @property
    def version(self) -> str:
        return str(self.definition["versionInfo"]["lastConfigChangeAt"])

    def live(self) -> list[MTask]:
        return [t for t in self.tasks.values() if t.state in LIVE and not t.killing]

    def counts(self) -> dict[str, int]:
        running = [t for t in self.tasks.values() if t.state == "TASK_RUNNING"]
        checked = bool(self.definition.get("healthChecks"))
        healthy = sum(
            1 for t in running if checked and t.health and all(h["alive"] for h in t.health)
        )
        unhealthy = sum(1 for t in running if checked and any(not h["alive"] for h in t.health))
        return {
            "tasksStaged": sum(
                1 for t in self.tasks.values() if t.state in ("TASK_STAGING", "TASK_STARTING")
            ),
            "tasksRunning": len(running),
            "tasksHealthy": healthy,
            "tasksUnhealthy": unhealthy,
        }
