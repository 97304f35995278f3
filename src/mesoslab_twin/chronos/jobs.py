"""Chronos 2.5 job documents: read as ``JobDeserializer`` reads them, written in
``JobSerializer``'s field order, checked as ``Iso8601JobResource`` and
``DependentJobResource`` check them.

A job posted again *replaces* the old one, counters included: ``successCount``,
``errorCount``, ``lastSuccess``... come from the posted document (0 and "" when it leaves
them out), as in Chronos, whose web UI posts the whole job back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mesoslab_twin.chronos.schedule import can_parse, parse_period

NAME_PATTERN = r"([\w\s\.#_-]+)"  # JobUtils.jobNamePattern
_NAME_RE = re.compile(NAME_PATTERN)
BAD_NAME = "requirement failed: the job's name is invalid. Allowed names: '" + NAME_PATTERN + "'"
RUN_ONCE_NOW = "R1//PT24H"  # a job with neither schedule nor parents

ORDER = (
    "name", "command", "shell", "epsilon", "executor", "executorFlags", "taskInfoData",
    "retries", "owner", "ownerName", "description", "async", "successCount", "errorCount",
    "lastSuccess", "lastError", "cpus", "disk", "mem", "disabled", "softError",
    "dataProcessingJobType", "errorsSinceLastSuccess", "fetch", "uris",
    "environmentVariables", "arguments", "highPriority", "runAsUser", "container",
    "constraints", "parents", "schedule", "scheduleTimeZone",
)  # fmt: skip
COUNTERS = ("successCount", "errorCount", "lastSuccess", "lastError", "errorsSinceLastSuccess")


class JobError(Exception):
    """A request Chronos refuses: its HTTP status and body (2.x bodies are plain text,
    often empty)."""

    def __init__(self, status: int, text: str = "") -> None:
        super().__init__(text or f"HTTP {status}")
        self.status = status
        self.text = text


@dataclass(frozen=True)
class Defaults:
    """The scheduler flags a job document falls back on (SchedulerConfiguration)."""

    task_epsilon: int = 60
    cpus: float = 0.1
    mem: float = 128.0
    disk: float = 256.0
    user: str = "root"

    @classmethod
    def from_options(cls, options: dict[str, str]) -> Defaults:
        def number(key: str, default: float) -> float:
            try:
                return float(options.get(key, default))
            except ValueError:
                return default

        return cls(
            task_epsilon=int(number("task_epsilon", 60)),
            cpus=number("mesos_task_cpu", 0.1),
            mem=number("mesos_task_mem", 128.0),
            disk=number("mesos_task_disk", 256.0),
            user=options.get("user", "root") or "root",
        )


def valid_name(name: str) -> bool:
    return _NAME_RE.fullmatch(name) is not None


def _text(raw: dict[str, Any], key: str, default: str = "") -> str:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flag(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _int(raw: dict[str, Any], key: str, default: int) -> int:
    value = raw.get(key)
    try:
        return int(value) if value is not None and not isinstance(value, bool) else default
    except (TypeError, ValueError):
        return 0  # Jackson's asInt/asLong of text that is no number


def _amount(raw: dict[str, Any], key: str, default: float) -> float:
    try:
        value = float(raw.get(key) or 0)
    except (TypeError, ValueError):
        value = 0.0
    return value if value != 0 else default


def read_job(raw: Any, defaults: Defaults) -> dict[str, Any]:
    """A posted document as Chronos reads it. A document that ``JobDeserializer`` cannot
    read at all (no object, no name or command, an unreadable epsilon) raises
    JobError(500): it fails before the resource is called."""
    if not isinstance(raw, dict) or raw.get("name") is None or raw.get("command") is None:
        raise JobError(500)
    try:
        epsilon = (
            str(parse_period(_text(raw, "epsilon")))
            if "epsilon" in raw
            else f"PT{defaults.task_epsilon}S"
        )
    except ValueError:
        raise JobError(500) from None
    job: dict[str, Any] = {
        "name": _text(raw, "name"),
        "command": _text(raw, "command"),
        "shell": _flag(raw, "shell", True),
        "epsilon": epsilon,
        "executor": _text(raw, "executor"),
        "executorFlags": _text(raw, "executorFlags"),
        "taskInfoData": _text(raw, "taskInfoData"),
        "retries": _int(raw, "retries", 2),
        "owner": _text(raw, "owner"),
        "ownerName": _text(raw, "ownerName"),
        "description": _text(raw, "description"),
        "async": _flag(raw, "async", False),
        "successCount": _int(raw, "successCount", 0),
        "errorCount": _int(raw, "errorCount", 0),
        "lastSuccess": _text(raw, "lastSuccess"),
        "lastError": _text(raw, "lastError"),
        "cpus": _amount(raw, "cpus", defaults.cpus),
        "disk": _amount(raw, "disk", defaults.disk),
        "mem": _amount(raw, "mem", defaults.mem),
        "disabled": _flag(raw, "disabled", False),
        "softError": _flag(raw, "softError", False),
        "dataProcessingJobType": _flag(raw, "dataProcessingJobType", False),
        "errorsSinceLastSuccess": _int(raw, "errorsSinceLastSuccess", 0),
        "fetch": [_fetch(f) for f in _list(raw, "fetch") if isinstance(f, dict)],
        "uris": [str(u) for u in _list(raw, "uris")],
        "environmentVariables": [
            {"name": str(v.get("name", "")), "value": str(v.get("value", ""))}
            for v in _list(raw, "environmentVariables")
            if isinstance(v, dict)
        ],
        "arguments": [str(a) for a in _list(raw, "arguments")],
        "highPriority": _flag(raw, "highPriority", False),
        "runAsUser": _text(raw, "runAsUser", defaults.user),
    }
    container = raw.get("container")
    if isinstance(container, dict):
        job["container"] = _container(container)
    job["constraints"] = [
        [str(c[0]), str(c[1]), str(c[2])]
        for c in _list(raw, "constraints")
        if isinstance(c, list) and len(c) >= 3 and str(c[1]) in ("EQUALS", "LIKE", "UNLIKE")
    ]
    if "parents" in raw:
        job["parents"] = list(dict.fromkeys(str(p) for p in _list(raw, "parents")))
    else:
        job["schedule"] = (
            _text(raw, "schedule", RUN_ONCE_NOW) if "schedule" in raw else RUN_ONCE_NOW
        )
        job["scheduleTimeZone"] = _text(raw, "scheduleTimeZone")
    return job


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _fetch(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "uri": str(item.get("uri", "")),
        "executable": bool(item.get("executable", False)),
        "cache": bool(item.get("cache", False)),
        "extract": bool(item.get("extract", False)),
    }


def _container(raw: dict[str, Any]) -> dict[str, Any]:
    """Serialized as 2.x writes it: ``type`` always lowercase ``docker``."""
    return {
        "type": "docker",
        "image": str(raw.get("image", "")),
        "network": str(raw.get("network") or "HOST").upper(),
        "volumes": [
            {k: str(v[k]) for k in ("hostPath", "containerPath", "mode") if k in v}
            for v in raw.get("volumes") or []
            if isinstance(v, dict)
        ],
        "forcePullImage": str(raw.get("forcePullImage", False)).lower() == "true",
        "parameters": [
            {"key": str(p.get("key", "")), "value": str(p.get("value", ""))}
            for p in raw.get("parameters") or []
            if isinstance(p, dict)
        ],
    }


def check_scheduled(job: dict[str, Any], is_new: bool) -> None:
    """``Iso8601JobResource.handleRequest``: what it refuses (JobError)."""
    if "parents" in job:
        # JobDeserializer made a dependent job where a scheduled one is expected
        raise JobError(500)
    if is_new and not valid_name(job["name"]):
        raise JobError(400, BAD_NAME)
    if not can_parse(job["schedule"], job["scheduleTimeZone"]):
        raise JobError(400)  # an empty body: 2.x says nothing more
    if is_new and job["uris"] and job["fetch"]:
        raise JobError(400)


def check_dependent(job: dict[str, Any], is_new: bool, known: set[str]) -> None:
    """``DependentJobResource.handleRequest`` and ``JobGraph.parentJobs``."""
    if "parents" not in job:
        raise JobError(500)  # a scheduled job where a dependent one is expected
    if is_new and not valid_name(job["name"]):
        raise JobError(400, BAD_NAME)
    if not job["parents"]:
        if is_new:
            raise JobError(500)  # throw new Exception("Error, parent does not exist")
        raise JobError(400, "requirement failed: Error, parent does not exist")
    if any(p not in known for p in job["parents"]):
        raise JobError(
            400, f"requirement failed: Job {job['name']} does not have all parents defined!"
        )


def ordered(job: dict[str, Any]) -> dict[str, Any]:
    return {k: job[k] for k in ORDER if k in job}
