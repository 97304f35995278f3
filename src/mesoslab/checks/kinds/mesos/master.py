"""Mesos check kinds: master health, version and leader election.

The flag, agent, framework and task kinds live in :mod:`mesoslab.checks.kinds.mesos.flags` and
:mod:`mesoslab.checks.kinds.mesos.cluster`; the catalogue imports each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mesoslab.checks.fanout import fan_out, short_reason
from mesoslab.checks.kinds.mesos.common import mesos_port_key, version_at_least, version_tuple
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get, get_json, split_location
from mesoslab.remote.session import CheckContext


@check("mesos.master_health", role="master")
def master_health(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """The Mesos process answers GET /health with 200."""
    port_key = mesos_port_key(node)
    response = get(ctx, node, port_key, "/health", accept="*/*")
    where = f"{node.name}:{ctx.port(port_key)}/health"
    if response.status_code == 200:
        return Observation.ok(f"{where} answers 200", expected="HTTP 200", observed="HTTP 200")
    return Observation.fail(
        f"{where} answered HTTP {response.status_code}, not 200 (is Mesos on that port?)",
        expected="HTTP 200",
        observed=f"HTTP {response.status_code}",
    )


def _validate_version(params: dict[str, Any]) -> list[str]:
    if "min" in params:
        try:
            version_tuple(params["min"])
        except ValueError:
            return [f"parameter 'min' must be a version like 1.0 or 1.4.2, got {params['min']!r}"]
    return []


@check(
    "mesos.version",
    role="master",
    params={"min": P(str, help="lowest acceptable version, e.g. 1.0")},
    validate=_validate_version,
)
def version(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """Mesos reports its version on GET /version (optionally at least `min`)."""
    data = get_json(ctx, node, mesos_port_key(node), "/version")
    value = data.get("version") if isinstance(data, dict) else None
    minimum = params.get("min")
    expected = f">= {minimum}" if minimum else "a version string"
    if not isinstance(value, str) or not value.strip():
        return Observation.fail(
            f"{node.name} /version has no 'version' field",
            expected=expected,
            observed=str(data)[:120],
        )
    if minimum is None:
        return Observation.ok(f"{node.name} runs Mesos {value}", expected=expected, observed=value)
    try:
        enough = version_at_least(value, minimum)
    except ValueError:
        return Observation.fail(
            f"{node.name} reports version {value!r}, which is not a version number",
            expected=expected,
            observed=value,
        )
    if enough:
        return Observation.ok(
            f"{node.name} runs Mesos {value} (>= {minimum})", expected=expected, observed=value
        )
    return Observation.fail(
        f"{node.name} runs Mesos {value}, older than {minimum}", expected=expected, observed=value
    )


# ---------------------------------------------------------------------------- leader


@dataclass(frozen=True)
class _MasterView:
    """What one master said about the leader."""

    node: Node
    answered: bool  # the master's HTTP server answered (any status)
    leader: str = ""  # the leader as a node name (or host:port when not in the inventory)
    leader_node: Node | None = None
    text: str = ""  # what it said, for the observed line

    def line(self) -> str:
        if self.leader:
            return f"{self.node.name} -> {self.leader}"
        return f"{self.node.name}: {self.text}"


def _ask_redirect(ctx: CheckContext, node: Node) -> _MasterView:
    try:
        response = get(ctx, node, "mesos_master", "/master/redirect", accept="*/*", allow=(503,))
    except ProbeError as exc:
        return _MasterView(node, answered=False, text=short_reason(exc))
    status = response.status_code
    if status == 503:
        return _MasterView(node, answered=True, text="no leader elected (503)")
    location = response.headers.get("location", "")
    if status in (301, 302, 303, 307, 308) and location:
        host, port = split_location(location)
        if not host:
            return _MasterView(node, answered=True, text=f"unreadable Location {location!r}")
        target = ctx.inventory.find_host(host)
        name = target.name if target is not None else f"{host}:{port}" if port else host
        return _MasterView(node, answered=True, leader=name, leader_node=target)
    return _MasterView(node, answered=True, text=f"HTTP {status} (expected 307 or 503)")


def _elected_metric(ctx: CheckContext, node: Node) -> float | None:
    """``master/elected`` of a master's /metrics/snapshot; None when unavailable."""
    try:
        data = get_json(ctx, node, "mesos_master", "/metrics/snapshot")
    except ProbeError:
        return None
    value = data.get("master/elected") if isinstance(data, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _answers_health(ctx: CheckContext, node: Node) -> bool:
    try:
        return get(ctx, node, "mesos_master", "/health", accept="*/*").status_code == 200
    except ProbeError:
        return False


def _leader_expectation(params: dict[str, Any]) -> str:
    parts = ["every answering master names the same leader, which answers"]
    if params.get("masters_up") is not None:
        parts.append(f"{params['masters_up']} masters answering")
    if params.get("leader"):
        parts.append(f"leader {params['leader']}")
    if params.get("not_leader"):
        parts.append(f"leader is not {params['not_leader']}")
    return "; ".join(parts)


def _same_node(ctx: CheckContext, name: str, node: Node | None, label: str) -> bool:
    wanted = ctx.inventory.find_host(name)
    if wanted is not None and node is not None:
        return wanted == node
    return name.strip().lower() == label.lower()


@check(
    "mesos.leader",
    service="mesos_master",
    role="master",
    scope="group",
    params={
        "masters_up": P(int, help="exactly this many masters answer"),
        "leader": P(str, help="node name expected to lead"),
        "not_leader": P(str, help="node name that must not lead (e.g. the one you stopped)"),
    },
)
def leader(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """Every answering master names the same elected leader (GET /master/redirect)."""
    views = [
        v for v in fan_out(nodes, lambda n: _ask_redirect(ctx, n)) if isinstance(v, _MasterView)
    ]
    observed = ", ".join(v.line() for v in views)
    expected = _leader_expectation(params)
    answering = [v for v in views if v.answered]
    total = len(views)

    def fail(summary: str) -> Observation:
        return Observation.fail(summary, expected=expected, observed=observed)

    masters_up = params.get("masters_up")
    if masters_up is not None and len(answering) != masters_up:
        return fail(f"{len(answering)} of {total} masters answer, expected {masters_up}")
    if not answering:
        return fail(f"none of the {total} masters answers on port {ctx.port('mesos_master')}")
    named = {v.leader for v in answering if v.leader}
    silent = [v for v in answering if not v.leader]
    if not named:
        return fail("no leader elected: " + ", ".join(v.line() for v in silent))
    if len(named) > 1 or silent:
        return fail("the masters disagree about the leader")
    label = named.pop()
    leader_node = answering[0].leader_node
    agree = f"{len(answering)} of {total} masters agree"
    if leader_node is None:
        return fail(
            f"the masters name {label} as leader, which is no node of the inventory "
            "(check the masters' --hostname/--ip)"
        )
    answered_nodes = {v.node for v in answering}
    if leader_node not in answered_nodes and (
        leader_node in {v.node for v in views} or not _answers_health(ctx, leader_node)
    ):
        return fail(f"stale view: the masters name {label} as leader, but {label} does not answer")
    if _elected_metric(ctx, leader_node) == 0.0:
        return fail(
            f"stale view: the masters name {label} as leader, but its /metrics/snapshot "
            "says master/elected 0"
        )
    wanted = params.get("leader")
    if wanted and not _same_node(ctx, wanted, leader_node, label):
        return fail(f"{label} leads, expected {wanted}; {agree}")
    unwanted = params.get("not_leader")
    if unwanted and _same_node(ctx, unwanted, leader_node, label):
        return fail(f"{label} still leads, expected another master to take over; {agree}")
    return Observation.ok(f"{label} leads; {agree}", expected=expected, observed=observed)
