"""DC/OS through Admin Router: ``/dcos-metadata/dcos-version.json`` and
``/system/health/v1`` (api-facts §8: ``health`` is an int, 0 = healthy)."""

from __future__ import annotations

from typing import Any

from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import get_json
from mesoslab.remote.session import CheckContext

PORT_KEY = "dcos_adminrouter"


@check("dcos.version", role="master", params={"version": P(str, help="the exact version")})
def version(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """Admin Router serves /dcos-metadata/dcos-version.json (optionally of one version)."""
    data = get_json(ctx, node, PORT_KEY, "/dcos-metadata/dcos-version.json")
    found = data.get("version") if isinstance(data, dict) else None
    wanted = params.get("version")
    expected = f"version {wanted}" if wanted else "a DC/OS version"
    if not isinstance(found, str) or not found:
        return Observation.fail(
            f"{node.name}: dcos-version.json has no version",
            expected=expected,
            observed=str(data)[:120],
        )
    if wanted and found != wanted:
        return Observation.fail(
            f"{node.name} runs DC/OS {found}, not {wanted}", expected=expected, observed=found
        )
    bootstrap = str(data.get("bootstrap-id", ""))[:12]
    return Observation.ok(
        f"{node.name} runs DC/OS {found} (bootstrap {bootstrap})", expected=expected, observed=found
    )


@check(
    "dcos.unit_health",
    role="master",
    params={"units": P(list, help="unit ids that must be listed, e.g. dcos-mesos-master.service")},
)
def unit_health(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """Every DC/OS unit of the node is healthy in /system/health/v1 (health 0)."""
    data = get_json(ctx, node, PORT_KEY, "/system/health/v1")
    listed = data.get("units") if isinstance(data, dict) else None
    if not isinstance(listed, list) or not listed:
        return Observation.fail(
            f"{node.name}: /system/health/v1 lists no units",
            expected="the node's dcos-* units",
            observed=str(data)[:120],
        )
    health = {str(u.get("id")): u.get("health") for u in listed if isinstance(u, dict)}
    missing = [u for u in params.get("units") or [] if u not in health]
    sick = sorted(u for u, h in health.items() if h != 0)
    expected = "every unit health 0" + (
        f", including {', '.join(params['units'])}" if params.get("units") else ""
    )
    if missing:
        return Observation.fail(
            f"{node.name}: {', '.join(missing)} not among the DC/OS units",
            expected=expected,
            observed=", ".join(sorted(health)),
        )
    if sick:
        return Observation.fail(
            f"{node.name}: unhealthy: {', '.join(sick)}",
            expected=expected,
            observed=", ".join(f"{u}={health[u]}" for u in sick),
        )
    return Observation.ok(
        f"{node.name}: {len(health)} DC/OS units healthy",
        expected=expected,
        observed=", ".join(sorted(health)),
    )
