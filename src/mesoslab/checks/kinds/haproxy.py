"""HAProxy check kinds: a marathon-lb backend has N servers UP.

marathon-lb's HAProxy serves its statistics as CSV at ``:9090/haproxy?stats;csv``
(lessons-5-10-facts §2.3): a ``# pxname,svname,...`` header, then one row per frontend,
backend and server. A server counts as up when its ``status`` is ``UP`` (also ``UP 1/3``,
going down) or ``no check`` (HAProxy routes to a server without health checks).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get_at
from mesoslab.remote.session import CheckContext

STATS_PORT = 9090
CSV_PATH = "/haproxy?stats;csv"


def parse_stats(text: str) -> list[dict[str, str]]:
    """The rows of HAProxy's stats CSV as dicts keyed by the header's column names."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# pxname,svname"):
        raise ValueError("no '# pxname,svname,...' header")
    reader = csv.DictReader(io.StringIO("\n".join([lines[0][2:], *lines[1:]])))
    return [row for row in reader if row.get("pxname")]


def backend_name(params: dict[str, Any]) -> str:
    if params.get("backend"):
        return str(params["backend"])
    app = str(params.get("app") or "").strip("/").replace("/", "_")
    return f"{app}_{params.get('service_port')}"


def _validate(params: dict[str, Any]) -> list[str]:
    if params.get("backend"):
        return []
    if params.get("app") and params.get("service_port"):
        return []
    return ["give 'backend' (e.g. web_10000) or both 'app' and 'service_port'"]


def _is_up(status: str) -> bool:
    return status.startswith("UP") or status == "no check"


def read_stats(ctx: CheckContext, node: Node, port: int) -> list[dict[str, str]]:
    where = f"{node.name}:{port}{CSV_PATH}"
    response = get_at(
        ctx,
        node,
        port,
        CSV_PATH,
        refused="is HAProxy running with marathon-lb's configuration? Its `listen stats` "
        "binds :9090",
    )
    if response.status_code != 200:
        raise ProbeError(
            f"{where} answered HTTP {response.status_code}", f"HTTP {response.status_code}"
        )
    try:
        return parse_stats(response.text)
    except ValueError as exc:
        snippet = " ".join(response.text.split())[:100]
        raise ProbeError(
            f"{where} is not HAProxy's stats CSV ({exc}): another service on that port "
            "(Prometheus also defaults to 9090)?",
            snippet,
        ) from None


@check(
    "haproxy.backend",
    role="marathon-lb",
    params={
        "backend": P(str, help="backend name, e.g. web_10000 (or give app and service_port)"),
        "app": P(str, help="Marathon app id, e.g. /web (with service_port)"),
        "service_port": P(int, help="the app's service port, e.g. 10000 (with app)"),
        "up": P(int, default=1, help="servers UP (or 'no check') the backend must have"),
        "port": P(int, default=STATS_PORT, help="port of HAProxy's stats listener"),
    },
    validate=_validate,
)
def backend(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A HAProxy backend (marathon-lb's <app>_<servicePort>) has exactly N servers up."""
    name = backend_name(params)
    want = int(params["up"])
    expected = f"backend {name} with {want} server(s) UP"
    rows = read_stats(ctx, node, int(params["port"]))
    servers = [
        r for r in rows if r["pxname"] == name and r.get("svname") not in ("FRONTEND", "BACKEND")
    ]
    if not any(r["pxname"] == name for r in rows):
        backends = sorted({r["pxname"] for r in rows if r.get("svname") == "BACKEND"} - {"stats"})
        return Observation.fail(
            f"HAProxy on {node.name} has no backend {name}",
            expected=expected,
            observed="backends: " + (", ".join(backends) or "none"),
        )
    up = [r["svname"] for r in servers if _is_up(r.get("status", ""))]
    listing = ", ".join(f"{r['svname']} {r.get('status', '?')}" for r in servers) or "no servers"
    if len(up) != want:
        return Observation.fail(
            f"backend {name} on {node.name} has {len(up)} server(s) UP, expected {want}",
            expected=expected,
            observed=listing,
        )
    return Observation.ok(
        f"backend {name} on {node.name} has {want} server(s) UP",
        expected=expected,
        observed=listing,
    )
