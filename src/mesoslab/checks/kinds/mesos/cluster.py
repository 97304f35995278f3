"""Mesos cluster-state checks: registered agents, agent resources, frameworks and tasks.

Cluster-wide views come from the leading master (the first master that answers; a
non-leader's 307 is followed through the inventory).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from mesoslab.checks.kinds.mesos.common import (
    get_json_or_none,
    host_of_pid,
    inventory_node,
    leader_json,
    number_text,
)
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.checks.values import format_ranges, image_matches, parse_number, parse_ranges
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import get_json
from mesoslab.remote.session import CheckContext

TASK_STATES = (
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_FAILED",
    "TASK_KILLED",
    "TASK_LOST",
    "TASK_ERROR",
    "TASK_DROPPED",
    "TASK_UNREACHABLE",
    "TASK_GONE",
    "TASK_GONE_BY_OPERATOR",
    "TASK_UNKNOWN",
)


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a JSON list (anything else: empty), so optional fields never crash."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    return _dicts(data.get(key)) if isinstance(data, dict) else []


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


# ------------------------------------------------------------------ agents registered


@check(
    "mesos.agents_registered",
    service="mesos_master",
    role="master",
    scope="group",
    params={
        "count": P(int, help="at least this many agents (default: the inventory's agents)"),
        "active": P(bool, default=True, help="count only active agents"),
    },
)
def agents_registered(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """The leading master lists the expected number of (active) agents (GET /master/slaves)."""
    _master, data = leader_json(ctx, nodes, "/master/slaves", fallback="/master/state")
    inventory_agents = ctx.inventory.with_role("agent")
    count = params.get("count")
    if count is None:
        count = max(1, len(inventory_agents))
    want_active = bool(params.get("active", True))
    labels: list[str] = []
    counted_nodes: set[str] = set()
    counted = 0
    for slave in _items(data, "slaves"):
        hostname = str(slave.get("hostname") or "")
        node = inventory_node(ctx, hostname, host_of_pid(str(slave.get("pid") or "")))
        label = hostname or host_of_pid(str(slave.get("pid") or "")) or "?"
        if node is not None and node.name != hostname:
            label = f"{hostname} ({node.name})"
        active = slave.get("active", True) is not False
        if active or not want_active:
            counted += 1
            if node is not None:
                counted_nodes.add(node.name)
        labels.append(label if active else f"{label} (inactive)")
    missing = [n.name for n in inventory_agents if n.name not in counted_nodes]
    adjective = "registered and active" if want_active else "registered"
    observed = _names(labels)
    if missing:
        observed += f"; missing: {', '.join(missing)}"
    expected = f"at least {count} agents {adjective}"
    if counted >= count:
        return Observation.ok(
            f"{counted} agents {adjective}"
            + (f" (not seen: {', '.join(missing)})" if missing else ""),
            expected=expected,
            observed=observed,
        )
    summary = f"{counted} of {count} agents {adjective} on the leading master"
    if missing:
        summary += f"; missing: {', '.join(missing)}"
    return Observation.fail(summary, expected=expected, observed=observed)


# ------------------------------------------------------------------ agent resources


def _validate_resources(params: dict[str, Any]) -> list[str]:
    if not any(k in params for k in ("ports", "cpus", "mem")):
        return ["give at least one of 'ports', 'cpus', 'mem'"]
    if "ports" in params:
        try:
            parse_ranges(params["ports"])
        except ValueError as exc:
            return [f"'ports' is not a port range list: {exc}"]
    return []


@check(
    "mesos.agent_resources",
    service="mesos_agent",
    role="agent",
    params={
        "ports": P(str, help='port ranges, e.g. "[21000-24000, 30000-64000]"'),
        "cpus": P(float, help="number of CPUs the agent offers"),
        "mem": P(float, help="memory in MB the agent offers"),
    },
    validate=_validate_resources,
)
def agent_resources(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """The agent offers the given ports (compared as ranges), cpus and mem (GET /state)."""
    data = get_json_or_none(ctx, node, "mesos_agent", "/state")
    if data is None:
        data = get_json(ctx, node, "mesos_agent", "/state.json")
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, dict):
        return Observation.fail(
            f"agent {node.name} /state has no 'resources' object",
            expected="resources in /state",
            observed=str(data)[:120],
        )
    checks: list[tuple[str, str, str, bool]] = []  # name, expected, observed, same
    if "ports" in params:
        want = parse_ranges(params["ports"])
        raw = resources.get("ports")
        if raw is None:
            checks.append(("ports", format_ranges(want), "(no ports)", False))
        else:
            try:
                have = parse_ranges(str(raw))
                checks.append(("ports", format_ranges(want), format_ranges(have), have == want))
            except ValueError:
                checks.append(("ports", format_ranges(want), str(raw), False))
    for name in ("cpus", "mem"):
        if name not in params:
            continue
        want_n = parse_number(params[name])
        raw = resources.get(name)
        try:
            have_n = parse_number(raw)
        except (TypeError, ValueError):
            checks.append((name, number_text(want_n), "(none)" if raw is None else str(raw), False))
            continue
        same = abs(have_n - want_n) <= 1e-6 * max(1.0, abs(want_n))
        checks.append((name, number_text(want_n), number_text(have_n), same))
    if len(checks) == 1:
        expected, observed = checks[0][1], checks[0][2]
    else:
        expected = "; ".join(f"{n} {e}" for n, e, _, _ in checks)
        observed = "; ".join(f"{n} {o}" for n, _, o, _ in checks)
    wrong = [c for c in checks if not c[3]]
    if not wrong:
        shown = ", ".join(f"{n} {o}" for n, _, o, _ in checks)
        return Observation.ok(
            f"agent {node.name} offers {shown}", expected=expected, observed=observed
        )
    summary = "; ".join(f"{n} {o}, expected {e}" for n, e, o, _ in wrong)
    return Observation.fail(
        f"agent {node.name} offers {summary}", expected=expected, observed=observed
    )


# ------------------------------------------------------------------ frameworks


def _validate_names(params: dict[str, Any]) -> list[str]:
    names = params.get("names")
    if not names or not all(isinstance(n, str) and n for n in names):
        return ["'names' must be a non-empty list of framework names, e.g. [marathon, chronos]"]
    return []


def _framework_status(data: Any, name: str) -> str:
    entries = [f for f in _items(data, "frameworks") if f.get("name") == name]
    if any(f.get("active", True) is not False for f in entries):
        return "active"
    if entries:
        return "inactive"
    if any(f.get("name") == name for f in _items(data, "completed_frameworks")):
        return "completed"
    return "not registered"


@check(
    "mesos.frameworks",
    service="mesos_master",
    role="master",
    scope="group",
    params={
        "names": P(list, required=True, help="framework names, e.g. [marathon, chronos]"),
        "active": P(bool, default=True, help="the frameworks must be active (connected)"),
    },
    validate=_validate_names,
)
def frameworks(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """The named frameworks are registered (and active) on the leading master."""
    _master, data = leader_json(ctx, nodes, "/master/frameworks", fallback="/master/state")
    names = [str(n) for n in params["names"]]
    want_active = bool(params.get("active", True))
    status = {name: _framework_status(data, name) for name in names}
    observed = ", ".join(f"{n} ({s})" for n, s in status.items())
    good = {"active"} if want_active else {"active", "inactive"}
    adjective = "registered and active" if want_active else "registered"
    expected = f"{', '.join(names)} {adjective}"
    bad = [n for n in names if status[n] not in good]
    if not bad:
        return Observation.ok(
            f"{', '.join(names)} {adjective}", expected=expected, observed=observed
        )
    reasons = []
    for name in bad:
        if status[name] == "inactive":
            reasons.append(f"{name} is registered but inactive (disconnected: is it running?)")
        elif status[name] == "completed":
            reasons.append(f"{name} was torn down (only in completed_frameworks)")
        else:
            reasons.append(f"{name} is not registered with the leading master")
    return Observation.fail("; ".join(reasons), expected=expected, observed=observed)


# ------------------------------------------------------------------ tasks


def _all_tasks(data: Any, framework: str | None) -> Iterator[dict[str, Any]]:
    """Every task of the master state: live, completed and unreachable, also of completed
    frameworks (mesos-execute frameworks end up there)."""
    for group, keys in (
        ("frameworks", ("tasks", "unreachable_tasks", "completed_tasks")),
        ("completed_frameworks", ("tasks", "unreachable_tasks", "completed_tasks")),
    ):
        for fw in _items(data, group):
            if framework is not None and fw.get("name") != framework:
                continue
            for key in keys:
                yield from _dicts(fw.get(key))


def _container_type(task: dict[str, Any]) -> str:
    container = task.get("container")
    if isinstance(container, dict) and container.get("type"):
        return str(container["type"]).upper()
    return "none"


def _container_image(task: dict[str, Any]) -> str:
    """The task's image: ``container.docker.image`` (docker containerizer) or
    ``container.mesos.image.docker.name`` (the unified containerizer's Docker image)."""
    container = task.get("container")
    if not isinstance(container, dict):
        return ""
    docker = container.get("docker")
    if isinstance(docker, dict) and docker.get("image"):
        return str(docker["image"])
    image = (container.get("mesos") or {}).get("image") or {}
    if isinstance(image, dict):
        name = (image.get("docker") or {}).get("name")
        if name:
            return str(name)
    return ""


def _counted(items: list[str]) -> str:
    return ", ".join(f"{n}× {s}" if n > 1 else s for s, n in Counter(items).most_common())


@check(
    "mesos.task",
    service="mesos_master",
    role="master",
    scope="group",
    params={
        "name": P(str, required=True, help="exact task name"),
        "state": P(str, default="TASK_RUNNING", choices=TASK_STATES, help="Mesos task state"),
        "container": P(str, choices=("DOCKER", "MESOS", "none"), help="container type"),
        "image": P(str, help="the container's image, e.g. nginx (= nginx:latest)"),
        "framework": P(str, help="framework name, e.g. marathon"),
        "count": P(int, default=1, help="at least this many matching tasks"),
    },
)
def task(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """At least `count` tasks with this name are in `state` on the leading master."""
    _master, data = leader_json(ctx, nodes, "/master/state", fallback="/master/state.json")
    name = params["name"]
    state = params.get("state", "TASK_RUNNING")
    container = params.get("container")
    image = params.get("image")
    framework = params.get("framework")
    count = int(params.get("count", 1))
    every = list(_all_tasks(data, framework))
    named = [t for t in every if t.get("name") == name]
    expected = f"{'at least ' + str(count) + ' ' if count != 1 else ''}{name} {state}"
    if container:
        expected += f" in container {container}"
    if image:
        expected += f" of image {image}"
    if framework:
        expected += f" of framework {framework}"

    def describe(t: dict[str, Any]) -> str:
        text = str(t.get("state") or "?")
        if image:
            return f"{text} ({_container_type(t)} {_container_image(t) or 'no image'})"
        return f"{text} ({_container_type(t)})" if container else text

    matching = [
        t
        for t in named
        if t.get("state") == state
        and (container is None or _container_type(t).lower() == container.lower())
        and (image is None or image_matches(_container_image(t), image))
    ]
    scope = f" of framework {framework}" if framework else ""
    if not named:
        others = sorted({str(t.get("name")) for t in every if t.get("name")})
        shown = ", ".join(others[:8]) + (" …" if len(others) > 8 else "")
        return Observation.fail(
            f"no task named {name!r}{scope} on the leading master",
            expected=expected,
            observed=f"no task named {name}" + (f" (tasks: {shown})" if others else ""),
        )
    observed = _counted([describe(t) for t in named])
    if len(matching) >= count:
        return Observation.ok(
            f"{len(matching)} task{'s' if len(matching) != 1 else ''} {name}{scope} {state}"
            + (f" (container {container})" if container else "")
            + (f" (image {image})" if image else ""),
            expected=expected,
            observed=observed,
        )
    wanted = f"{state} (container {container})" if container else state
    if image:
        wanted += f" of image {image}"
    if count == 1:
        summary = f"task {name}{scope} is not {wanted}; seen: {observed}"
    else:
        summary = f"{len(matching)} of {count} tasks {name}{scope} are {wanted}; seen: {observed}"
    return Observation.fail(summary, expected=expected, observed=observed)
