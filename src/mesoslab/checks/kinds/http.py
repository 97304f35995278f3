"""HTTP check kinds: a GET on a node's port answers as expected, and spreads over backends."""

from __future__ import annotations

from typing import Any

from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get_at
from mesoslab.remote.session import CheckContext

EVERY_STATUS = range(100, 600)  # the check itself judges the status, 5xx included


def _validate(params: dict[str, Any]) -> list[str]:
    problems = []
    port = params.get("port")
    if not isinstance(port, int) or not 0 < port < 65536:
        problems.append(f"port must be a TCP port, got {port!r}")
    path = params.get("path", "/")
    if not str(path).startswith("/"):
        problems.append(f"path must start with /, got {path!r}")
    distinct = params.get("distinct_bodies")
    requests = params.get("requests", 10)
    if distinct is not None and (distinct < 1 or distinct > requests):
        problems.append(f"distinct_bodies must be between 1 and requests ({requests})")
    return problems


@check(
    "http.get",
    role="agent",
    params={
        "port": P(int, required=True, help="TCP port on the node, e.g. a service port 10000"),
        "path": P(str, default="/", help="path to GET"),
        "status": P(int, default=200, help="HTTP status every answer must have"),
        "body_contains": P(str, help="text every answer's body must contain"),
        "distinct_bodies": P(int, help="at least this many different bodies among the answers"),
        "requests": P(int, default=10, help="how many GETs to send"),
    },
    validate=_validate,
)
def get(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """GET http://<node>:<port><path> answers the status (and text); with distinct_bodies,
    the answers of `requests` GETs spread over at least that many backends."""
    port = int(params["port"])
    path = str(params.get("path", "/"))
    want_status = int(params.get("status", 200))
    contains = params.get("body_contains")
    distinct = params.get("distinct_bodies")
    count = int(params.get("requests", 10)) if distinct is not None else 1
    where = f"{node.name}:{port}{path}"
    expected = f"HTTP {want_status}"
    if contains:
        expected += f" with {contains!r} in the body"
    if distinct is not None:
        expected += f", at least {distinct} different bodies in {count} requests"
    bodies: list[str] = []
    for _ in range(count):
        try:
            # a fresh connection per request: a load balancer picks a backend per connection
            response = get_at(
                ctx,
                node,
                port,
                path,
                allow=EVERY_STATUS,
                headers={"Connection": "close"},
                refused="is the load balancer running, and is this the app's service port?",
            )
        except ProbeError as exc:
            return Observation.fail(
                exc.summary, expected=expected, observed=exc.observed, answered=exc.answered
            )
        body = response.text.strip()
        if response.status_code != want_status:
            return Observation.fail(
                f"GET {where} answered HTTP {response.status_code}, expected {want_status}",
                expected=expected,
                observed=f"HTTP {response.status_code}: {' '.join(body.split())[:100]}",
            )
        if contains and contains not in response.text:
            return Observation.fail(
                f"GET {where} answered without {contains!r}",
                expected=expected,
                observed=" ".join(body.split())[:120],
            )
        bodies.append(body)
    different = sorted(set(bodies))
    shown = ", ".join(" ".join(b.split())[:40] for b in different[:6])
    if distinct is not None and len(different) < distinct:
        return Observation.fail(
            f"{count} GETs on {where} got {len(different)} different answer(s), "
            f"expected at least {distinct}",
            expected=expected,
            observed=shown,
        )
    summary = f"GET {where} answered HTTP {want_status}"
    if distinct is not None:
        summary += f" from {len(different)} different backends in {count} requests"
    return Observation.ok(summary, expected=expected, observed=shown)
