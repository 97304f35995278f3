"""The overlay network: the overlay master's agents (``/overlay-master/state`` on a master's
:5050), the addresses Marathon reports for tasks on ``dcos``, and whether a task reaches
another one over the vxlan (a ``ping`` from inside the first task's network namespace)."""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence
from typing import Any

from mesoslab.checks.kinds.host.common import run
from mesoslab.checks.kinds.marathon import _app_tasks, _get_app, app_path
from mesoslab.checks.kinds.mesos.common import inventory_node, leader_json
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import get_json
from mesoslab.remote.session import CheckContext


def _cidr_problem(params: dict[str, Any], key: str) -> list[str]:
    try:
        ipaddress.IPv4Network(str(params.get(key, "9.0.0.0/8")))
    except ValueError as exc:
        return [f"'{key}' must be an IPv4 network like 9.0.0.0/8: {exc}"]
    return []


@check(
    "dcos.overlay_agents",
    role="master",
    params={
        "agents": P(int, default=1, help="at least this many agents (masters included)"),
        "subnet": P(str, default="9.0.0.0/8", help="the overlay's network"),
    },
    validate=lambda p: _cidr_problem(p, "subnet"),
)
def overlay_agents(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """The overlay master lists the agents, each with its own subnet and STATUS_OK."""
    data = get_json(ctx, node, "mesos_master", "/overlay-master/state", follow_leader=True)
    network = ipaddress.IPv4Network(str(params["subnet"]))
    agents = data.get("agents") if isinstance(data, dict) else None
    want = int(params["agents"])
    expected = f">= {want} agents with a /24 of {network}, all STATUS_OK"
    if not isinstance(agents, list):
        return Observation.fail(
            f"{node.name}: /overlay-master/state has no agents list "
            "(is the overlay module loaded?)",
            expected=expected,
            observed=str(data)[:120],
        )
    seen: dict[str, str] = {}
    problems = []
    for agent in agents:
        for overlay in agent.get("overlays") or []:
            subnet = str(overlay.get("subnet", ""))
            status = (overlay.get("state") or {}).get("status", "")
            try:
                inside = ipaddress.IPv4Network(subnet).subnet_of(network)
            except ValueError:
                inside = False
            if not inside:
                problems.append(f"{agent.get('ip')}: subnet {subnet!r} not in {network}")
            elif subnet in seen:
                problems.append(f"{agent.get('ip')} and {seen[subnet]} share {subnet}")
            seen[subnet] = str(agent.get("ip"))
            if status != "STATUS_OK":
                error = (overlay.get("state") or {}).get("error", "")
                problems.append(f"{agent.get('ip')}: {status or 'no status'} {error}".strip())
    observed = (
        ", ".join(f"{ip} {s}" for s, ip in sorted(seen.items(), key=lambda i: i[1])) or "none"
    )
    if len(agents) < want:
        return Observation.fail(
            f"the overlay master lists {len(agents)} agent(s), expected >= {want}",
            expected=expected,
            observed=observed,
        )
    if problems:
        return Observation.fail(
            "overlay: " + "; ".join(problems[:3]), expected=expected, observed=observed
        )
    return Observation.ok(
        f"{len(agents)} overlay agents, each with its subnet", expected=expected, observed=observed
    )


def _task_ips(task: dict[str, Any]) -> list[str]:
    return [str(a.get("ipAddress")) for a in task.get("ipAddresses") or [] if a.get("ipAddress")]


def _running(
    ctx: CheckContext, nodes: Sequence[Node], app: str
) -> list[dict[str, Any]] | Observation:
    app_id = app_path(app)
    found = _get_app(ctx, nodes, app_id)
    if isinstance(found, Observation):
        return found
    tasks = [
        t
        for t in _app_tasks(ctx, nodes, app_id, found)
        if t.get("state", "TASK_RUNNING") == "TASK_RUNNING"
    ]
    if not tasks:
        return Observation.fail(
            f"app {app_id} has no running task", expected="a running task", observed="no task"
        )
    return tasks


@check(
    "dcos.task_ip",
    role="marathon",
    scope="group",
    params={
        "app": P(str, required=True, help="Marathon app id"),
        "cidr": P(str, required=True, help="the network the task's address must be in"),
    },
    validate=lambda p: _cidr_problem(p, "cidr"),
)
def task_ip(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """Every running task of the app has an address inside the CIDR (Marathon ipAddresses)."""
    tasks = _running(ctx, nodes, params["app"])
    if isinstance(tasks, Observation):
        return tasks
    network = ipaddress.IPv4Network(str(params["cidr"]))
    expected = f"task addresses in {network}"
    shown = ", ".join(f"{t.get('host')}: {'/'.join(_task_ips(t)) or 'no address'}" for t in tasks)
    outside = [
        t for t in tasks if not any(ipaddress.IPv4Address(ip) in network for ip in _task_ips(t))
    ]
    if outside:
        return Observation.fail(
            f"{len(outside)} task(s) of {params['app']} have no address in {network}",
            expected=expected,
            observed=shown,
        )
    return Observation.ok(f"{params['app']}: {shown}", expected=expected, observed=shown)


def _container_id(ctx: CheckContext, task_id: str) -> str:
    masters = [n for n in ctx.inventory.nodes if n.has_role("master")]
    _, state = leader_json(ctx, masters, "/master/state", fallback="/master/state.json")
    for framework in (state or {}).get("frameworks") or []:
        for task in framework.get("tasks") or []:
            if task.get("id") == task_id:
                statuses = task.get("statuses") or [{}]
                status = statuses[-1].get("container_status") or {}
                return str((status.get("container_id") or {}).get("value", ""))
    return ""


REACH = """cid={cid}; to={to}
if ip netns list 2>/dev/null | grep -qw "$cid"; then
  exec ip netns exec "$cid" ping -c 2 -W 3 "$to"
fi
pid=$(docker inspect -f '{{{{.State.Pid}}}}' "mesos-$cid" 2>/dev/null || true)
if [ -z "$pid" ] || [ "$pid" = 0 ]; then echo "no network namespace for container $cid"; exit 2; fi
exec nsenter -t "$pid" -n ping -c 2 -W 3 "$to"
"""


@check(
    "dcos.tasks_reach",
    role="marathon",
    scope="group",
    needs_ssh=True,
    params={
        "source": P(str, required=True, help="the app whose task pings"),
        "target": P(str, required=True, help="the app whose task's address is pinged"),
        "across_agents": P(bool, default=True, help="the two tasks must be on different agents"),
    },
)
def tasks_reach(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A task of one app pings a task of another from inside its own network namespace."""
    sources = _running(ctx, nodes, params["source"])
    if isinstance(sources, Observation):
        return sources
    targets = _running(ctx, nodes, params["target"])
    if isinstance(targets, Observation):
        return targets
    source, target = sources[0], targets[0]
    to = next(iter(_task_ips(target)), "")
    expected = f"{params['source']} reaches {params['target']} ({to or '?'})"
    if not to:
        return Observation.fail(
            f"{params['target']} has no address", expected=expected, observed="none"
        )
    if params["across_agents"] and source.get("host") == target.get("host"):
        return Observation.fail(
            f"both tasks run on {source.get('host')}: the traffic does not cross the overlay",
            expected="tasks on two agents",
            observed=str(source.get("host")),
        )
    host = inventory_node(ctx, str(source.get("host", "")))
    if host is None or host.ssh is None:
        return Observation.skip(f"no SSH to {source.get('host')}, where {params['source']} runs")
    cid = _container_id(ctx, str(source.get("id", "")))
    if not cid:
        return Observation.fail(
            f"the Mesos master does not know the container of {source.get('id')}",
            expected=expected,
            observed="no container id",
        )
    script = REACH.format(cid=shlex.quote(cid), to=shlex.quote(to))
    result = run(ctx, host, "sh -c " + shlex.quote(script), sudo=True)
    tail = result.tail(3, 120)
    if result.exit_status != 0:
        return Observation.fail(
            f"{params['source']} on {host.name} cannot reach {to}",
            expected=expected,
            observed=f"exit {result.exit_status}: {tail}",
        )
    return Observation.ok(
        f"{params['source']} on {host.name} reaches {to} on {target.get('host')}",
        expected=expected,
        observed=tail,
    )
