"""Marathon check kinds: ping, leader, an app's deployment, its tasks' host ports.

Group checks ask the first Marathon instance that answers: a non-leading Marathon proxies
every API call to the leader, so any instance gives the leader's view.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from mesoslab.checks.fanout import fan_out, first_answer, short_reason
from mesoslab.checks.kinds.mesos.common import number_text
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.checks.values import format_ranges, parse_number, parse_ranges, ranges_contain
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get, parse_json
from mesoslab.remote.session import CheckContext

PORT_KEY = "marathon"


def app_path(app: str) -> str:
    """``nginx`` / ``/nginx`` / ``/group/app/`` -> the absolute app id ``/nginx``."""
    return "/" + str(app).strip().strip("/")


def _snippet(text: str, limit: int = 80) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _ask(
    ctx: CheckContext, nodes: Sequence[Node], path: str, *, accept: str = "application/json"
) -> tuple[Node, httpx.Response]:
    return first_answer(
        nodes, lambda n: get(ctx, n, PORT_KEY, path, accept=accept), what="Marathon instance"
    )


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(parse_number(value))
    except (TypeError, ValueError):
        return default


# ------------------------------------------------------------------ ping


@check("marathon.ping", role="marathon", service="marathon")
def ping(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """Marathon answers GET /ping with pong."""
    response = get(ctx, node, PORT_KEY, "/ping", accept="text/plain")
    body = response.text.strip().strip('"')
    where = f"{node.name}:{ctx.port(PORT_KEY)}/ping"
    if response.status_code == 200 and body == "pong":
        return Observation.ok(f"{where} answers pong", expected="pong", observed="pong")
    shown = f"HTTP {response.status_code}" + (f": {_snippet(body)}" if body else " (empty body)")
    return Observation.fail(
        f"{where} answered {shown}, not pong (is Marathon on that port?)",
        expected="pong",
        observed=shown,
    )


# ------------------------------------------------------------------ leader


@dataclass(frozen=True)
class _View:
    node: Node
    answered: bool
    leader: str = ""  # node name, or host:port when not in the inventory
    leader_node: Node | None = None
    text: str = ""

    def line(self) -> str:
        return (
            f"{self.node.name} -> {self.leader}"
            if self.leader
            else f"{self.node.name}: {self.text}"
        )


def _ask_leader(ctx: CheckContext, node: Node) -> _View:
    try:
        response = get(ctx, node, PORT_KEY, "/v2/leader")
    except ProbeError as exc:
        return _View(node, answered=False, text=short_reason(exc))
    if response.status_code == 404:
        return _View(node, answered=True, text="no leader (404)")
    if response.status_code != 200:
        return _View(node, answered=True, text=f"HTTP {response.status_code}")
    try:
        data = parse_json(response)
    except ProbeError as exc:
        return _View(node, answered=True, text=short_reason(exc))
    value = data.get("leader") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        return _View(node, answered=True, text=f"no 'leader' in {_snippet(str(data), 60)}")
    host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    target = ctx.inventory.find_host(host)
    return _View(node, True, leader=target.name if target else value, leader_node=target)


@check("marathon.leader", role="marathon", scope="group", service="marathon")
def leader(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """Every answering Marathon instance names the same leader (GET /v2/leader)."""
    views = [v for v in fan_out(nodes, lambda n: _ask_leader(ctx, n)) if isinstance(v, _View)]
    observed = ", ".join(v.line() for v in views)
    expected = "every answering Marathon names the same leader"
    answering = [v for v in views if v.answered]
    if not answering:
        return Observation.fail(
            f"none of the {len(views)} Marathon instances answers on port {ctx.port(PORT_KEY)}",
            expected=expected,
            observed=observed,
        )
    named = {v.leader for v in answering if v.leader}
    if not named:
        return Observation.fail("Marathon has no leader", expected=expected, observed=observed)
    if len(named) > 1 or any(not v.leader for v in answering):
        return Observation.fail(
            "the Marathon instances disagree about the leader",
            expected=expected,
            observed=observed,
        )
    label = named.pop()
    leader_node = answering[0].leader_node
    if leader_node is not None and leader_node in {v.node for v in views} - {
        v.node for v in answering
    }:
        return Observation.fail(
            f"stale view: Marathon names {label} as leader, but {label} does not answer",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"{label} leads Marathon; {len(answering)} of {len(views)} instances agree",
        expected=expected,
        observed=observed,
    )


# ------------------------------------------------------------------ app


def _get_app(ctx: CheckContext, nodes: Sequence[Node], app_id: str) -> dict[str, Any] | Observation:
    """The app object of GET /v2/apps/<id>, or a failing Observation saying why not."""
    node, response = _ask(ctx, nodes, "/v2/apps" + app_id)
    if response.status_code == 404:
        message = ""
        try:
            data = parse_json(response)
            message = str(data.get("message", "")) if isinstance(data, dict) else ""
        except ProbeError:
            pass
        return Observation.fail(
            f"app {app_id} does not exist in Marathon",
            expected=f"app {app_id} deployed",
            observed="HTTP 404" + (f": {message}" if message else ""),
        )
    if response.status_code != 200:
        return Observation.fail(
            f"{node.name}:{ctx.port(PORT_KEY)}/v2/apps{app_id} answered HTTP "
            f"{response.status_code}",
            expected="HTTP 200",
            observed=f"HTTP {response.status_code}: {_snippet(response.text)}",
        )
    data = parse_json(response)
    app = data.get("app") if isinstance(data, dict) else None
    if not isinstance(app, dict):
        return Observation.fail(
            f"/v2/apps{app_id} has no 'app' object",
            expected='{"app": {...}}',
            observed=_snippet(response.text),
        )
    return app


def container_type(app: dict[str, Any]) -> str:
    """DOCKER / MESOS / none; Marathon 1.4 and 1.5+ both carry ``container.type``."""
    container = app.get("container")
    if not isinstance(container, dict):
        return "none"
    kind = container.get("type")
    if isinstance(kind, str) and kind:
        return kind.upper()
    return "DOCKER" if isinstance(container.get("docker"), dict) else "MESOS"


@check(
    "marathon.app_running",
    service="marathon",
    role="marathon",
    scope="group",
    params={
        "app": P(str, required=True, help="app id, e.g. /nginx"),
        "instances": P(int, help="tasks that must run (default: the app's instances)"),
        "container": P(str, choices=("DOCKER", "MESOS"), help="container type of the app"),
        "healthy": P(bool, help="tasks must be healthy (default: when the app has health checks)"),
    },
)
def app_running(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A Marathon app is deployed: no deployment in progress, its tasks running (and healthy)."""
    app_id = app_path(params["app"])
    app = _get_app(ctx, nodes, app_id)
    if isinstance(app, Observation):
        return app
    instances = params.get("instances")
    if instances is None:
        instances = _int(app.get("instances"), 1)
    if "tasksRunning" in app:
        running = _int(app.get("tasksRunning"))
    else:
        listed = app.get("tasks")
        tasks = listed if isinstance(listed, list) else []
        running = sum(1 for t in tasks if isinstance(t, dict) and t.get("state") == "TASK_RUNNING")
    healthy_count = _int(app.get("tasksHealthy"))
    has_checks = bool(app.get("healthChecks"))
    healthy = params.get("healthy")
    if healthy is None:
        healthy = has_checks
    deployments = app.get("deployments") if isinstance(app.get("deployments"), list) else []
    kind = container_type(app)
    wanted_kind = params.get("container")

    expected = f"tasksRunning {instances} of {instances}, no deployment in progress"
    parts = [f"tasksRunning {running} of {instances}"]
    parts.append(
        f"deployments {len(deployments)} in progress"
        if deployments
        else "no deployment in progress"
    )
    if healthy:
        expected += f", tasksHealthy {instances}"
        parts.append(f"tasksHealthy {healthy_count}")
    if wanted_kind:
        expected += f", container {wanted_kind}"
        parts.append(f"container {kind}")
    observed = ", ".join(parts)

    problems: list[str] = []
    if wanted_kind and kind != wanted_kind:
        problems.append(f"runs in container {kind}, expected {wanted_kind}")
    if deployments:
        problems.append(f"{len(deployments)} deployment(s) still in progress")
    if running < instances:
        problems.append(f"{running} of {instances} tasks running")
    if healthy and not has_checks:
        problems.append(
            "has no health checks, so Marathon reports no healthy tasks (use healthy: false)"
        )
    elif healthy and healthy_count < instances:
        problems.append(f"{healthy_count} of {instances} tasks healthy")
    if not problems:
        return Observation.ok(
            f"app {app_id}: {running} of {instances} tasks running"
            + (", healthy" if healthy else "")
            + ", no deployment in progress",
            expected=expected,
            observed=observed,
        )
    failure = app.get("lastTaskFailure")
    message = failure.get("message") if isinstance(failure, dict) else None
    if message:
        observed += f"; last task failure: {_snippet(str(message), 200)}"
    return Observation.fail(
        f"app {app_id} " + "; ".join(problems), expected=expected, observed=observed
    )


# ------------------------------------------------------------------ task ports


def _validate_within(params: dict[str, Any]) -> list[str]:
    try:
        parse_ranges(params["within"])
    except (KeyError, ValueError) as exc:
        return [f"'within' must be port ranges like \"[21000-24000, 30000-64000]\": {exc}"]
    return []


def _app_tasks(
    ctx: CheckContext, nodes: Sequence[Node], app_id: str, app: dict[str, Any]
) -> list[dict[str, Any]]:
    tasks = app.get("tasks")
    if isinstance(tasks, list):
        return [t for t in tasks if isinstance(t, dict)]
    node, response = _ask(ctx, nodes, "/v2/tasks")  # older answers do not embed tasks
    if response.status_code != 200:
        raise ProbeError(
            f"{node.name}:{ctx.port(PORT_KEY)}/v2/tasks answered HTTP {response.status_code}",
            f"HTTP {response.status_code}",
        )
    data = parse_json(response)
    listed = data.get("tasks") if isinstance(data, dict) else None
    return [
        t
        for t in (listed if isinstance(listed, list) else [])
        if isinstance(t, dict) and t.get("appId") == app_id
    ]


def _connect(ctx: CheckContext, host: str, port: int) -> str:
    """Why ``host:port`` does not accept a TCP connection ("" when it does)."""
    node = ctx.inventory.find_host(host)
    address = node.address if node is not None else host
    try:
        with socket.create_connection((address, port), timeout=min(2.0, ctx.request_timeout())):
            return ""
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return "timed out"
    except socket.gaierror:
        return "host name does not resolve"
    except OSError as exc:
        return exc.strerror or str(exc)


@check(
    "marathon.task_ports",
    service="marathon",
    role="marathon",
    scope="group",
    params={
        "app": P(str, required=True, help="app id, e.g. /nginx"),
        "within": P(str, required=True, help='port ranges, e.g. "[21000-24000, 30000-64000]"'),
        "reachable": P(bool, default=False, help="also open a TCP connection to each port"),
    },
    validate=_validate_within,
)
def task_ports(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """The host ports of an app's tasks lie within the given ranges (and accept connections)."""
    app_id = app_path(params["app"])
    within = parse_ranges(params["within"])
    shown_within = format_ranges(within)
    expected = f"task ports within {shown_within}" + (
        ", reachable" if params.get("reachable") else ""
    )
    app = _get_app(ctx, nodes, app_id)
    if isinstance(app, Observation):
        return app
    tasks = _app_tasks(ctx, nodes, app_id, app)
    if not tasks:
        return Observation.fail(
            f"app {app_id} has no tasks", expected=expected, observed="no tasks"
        )
    ports = [(str(t.get("host") or "?"), _int(p)) for t in tasks for p in _list(t.get("ports"))]
    if not ports:
        return Observation.fail(
            f"the {len(tasks)} task(s) of {app_id} have no host ports "
            "(no portDefinitions, or IP-per-task networking?)",
            expected=expected,
            observed="no host ports",
        )
    outside = [(h, p) for h, p in ports if not ranges_contain(within, p)]
    listing = ", ".join(f"{p} on {h}" for h, p in ports)
    if outside:
        return Observation.fail(
            f"{len(outside)} of {len(ports)} task ports of {app_id} are outside {shown_within}",
            expected=expected,
            observed=", ".join(f"{p} on {h}" for h, p in outside),
        )
    if params.get("reachable"):
        reasons = fan_out(ports, lambda hp: _connect(ctx, hp[0], hp[1]))
        closed = [f"{h}:{p} {r}" for (h, p), r in zip(ports, reasons, strict=True) if r]
        if closed:
            return Observation.fail(
                f"{len(closed)} of {len(ports)} task ports of {app_id} do not accept connections",
                expected=expected,
                observed=", ".join(closed),
            )
    return Observation.ok(
        f"{len(ports)} task port(s) of {app_id} within {shown_within}"
        + (" and reachable" if params.get("reachable") else "")
        + f": {', '.join(number_text(p) for _, p in ports)}",
        expected=expected,
        observed=listing,
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
