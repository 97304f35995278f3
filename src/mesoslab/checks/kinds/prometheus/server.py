"""What a Prometheus server says: its targets' health and the value of a PromQL query.

Prometheus' HTTP API (docs/querying/api.md): ``GET /api/v1/targets`` lists the active
targets with their ``labels`` (``job``, ``instance``) and ``health`` (``up``, ``down``, or
``unknown`` before the first scrape); ``GET /api/v1/query?query=EXPR`` answers
``{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {...},
"value": [<time>, "<value as text>"]}]}}``, or ``status: error`` with ``errorType`` and
``error`` (HTTP 400 for a bad expression, 422 when it cannot run, 503 on timeout).
"""

from __future__ import annotations

from typing import Any

from mesoslab.checks.fanout import first_answer
from mesoslab.checks.kinds.prometheus.compare import (
    COMPARE_PARAMS,
    matches,
    number,
    validate_compare,
    wanted,
)
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get, parse_json
from mesoslab.remote.session import CheckContext

PORT_KEY = "prometheus"


def api(
    ctx: CheckContext, nodes: list[Node], path: str, params: dict[str, str] | None = None
) -> tuple[Node, dict[str, Any]]:
    """The ``data`` of a Prometheus API answer from the first server that answers."""

    def ask(node: Node) -> dict[str, Any]:
        response = get(ctx, node, PORT_KEY, path, params=params, allow=(400, 422, 503))
        where = f"{node.name}:{ctx.port(PORT_KEY)}{path}"
        if response.status_code == 404:
            raise ProbeError(
                f"{where} answered 404: is this Prometheus (and not, say, marathon-lb's "
                "stats page on :9090)?",
                "HTTP 404",
            )
        body = parse_json(response)
        if not isinstance(body, dict) or "status" not in body:
            raise ProbeError(
                f"{where} answered JSON that is no Prometheus API answer", str(body)[:120]
            )
        if body.get("status") != "success":
            kind = body.get("errorType") or f"HTTP {response.status_code}"
            raise ProbeError(
                f"Prometheus refused the request ({kind}): {body.get('error')}",
                f"{kind}: {body.get('error')}",
            )
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    return first_answer(nodes, ask, what="Prometheus server")


def _same_instance(ctx: CheckContext, instance: str, wanted_instance: str) -> bool:
    """``agent1:9105`` is ``agent1``, ``10.0.3.52:9105`` or ``agent1:9105`` (nodes mapped
    through the inventory)."""
    if instance == wanted_instance:
        return True
    host = instance.rsplit(":", 1)[0].strip("[]")
    want_host, _, want_port = wanted_instance.rpartition(":")
    if not want_port.isdigit():
        want_host, want_port = wanted_instance, ""
    if want_port and not instance.endswith(":" + want_port):
        return False
    node, want = ctx.inventory.find_host(host), ctx.inventory.find_host(want_host)
    return node is not None and node == want


@check(
    "prometheus.target",
    role="master",
    scope="group",
    params={
        "job": P(str, required=True, help="job_name of the scrape config"),
        "instance": P(
            str, help="one target: host:port, or a node name (default: every target of the job)"
        ),
        "health": P(
            str, default="up", choices=("up", "down"), help="health every matching target must have"
        ),
        "count": P(int, help="the job has exactly this many targets"),
    },
)
def target(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """Prometheus (on the check's node, default the master) scrapes the job's targets with
    this health (GET /api/v1/targets)."""
    _node, data = api(ctx, nodes, "/api/v1/targets", {"state": "active"})
    job, health = params["job"], params.get("health", "up")
    instance = params.get("instance")
    active = [t for t in data.get("activeTargets") or [] if isinstance(t, dict)]

    def labels(t: dict[str, Any]) -> dict[str, str]:
        found = t.get("labels")
        return found if isinstance(found, dict) else {}

    of_job = [t for t in active if labels(t).get("job") == job]
    expected = f"job {job}" + (f" target {instance}" if instance else "") + f" {health}"
    if not of_job:
        jobs = sorted({str(labels(t).get("job")) for t in active})
        return Observation.fail(
            f"Prometheus has no target of job {job!r}",
            expected=expected,
            observed="jobs: " + (", ".join(jobs) if jobs else "none"),
        )
    count = params.get("count")
    if count is not None and len(of_job) != count:
        return Observation.fail(
            f"job {job} has {len(of_job)} targets, expected {count}",
            expected=f"{count} targets",
            observed=", ".join(str(labels(t).get("instance")) for t in of_job),
        )
    chosen = of_job
    if instance:
        chosen = [
            t for t in of_job if _same_instance(ctx, str(labels(t).get("instance")), instance)
        ]
        if not chosen:
            return Observation.fail(
                f"job {job} has no target {instance}",
                expected=expected,
                observed=", ".join(str(labels(t).get("instance")) for t in of_job),
            )
    seen = []
    wrong = []
    for t in chosen:
        name = str(labels(t).get("instance"))
        state = str(t.get("health") or "unknown")
        error = str(t.get("lastError") or "")
        seen.append(f"{name} {state}" + (f" ({error})" if error else ""))
        if state != health:
            wrong.append((name, state, error))
    observed = "; ".join(seen)
    if wrong:
        name, state, error = wrong[0]
        why = "not scraped yet" if state == "unknown" else state
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        return Observation.fail(
            f"{job} target {name} is {why}, expected {health}{more}"
            + (f": {error}" if error else ""),
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"job {job}: {len(chosen)} target{'s' if len(chosen) != 1 else ''} {health}",
        expected=expected,
        observed=observed,
    )


def _sample_value(value: Any) -> float | None:
    """``[1435781451.781, "1"]`` -> 1.0 (sample values are strings in the API)."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    try:
        return float(value[1])
    except (TypeError, ValueError):
        return None


def _series_name(metric: Any) -> str:
    if not isinstance(metric, dict):
        return "{}"
    name = str(metric.get("__name__", ""))
    pairs = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{pairs}}}" if pairs or not name else name


@check(
    "prometheus.query",
    role="master",
    scope="group",
    params={
        "expr": P(str, required=True, help="PromQL expression (an instant query)"),
        **COMPARE_PARAMS,
        "each": P(bool, default=False, help="every series must match (default: their sum)"),
    },
    validate=validate_compare,
)
def query(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A PromQL query on Prometheus (GET /api/v1/query) returns a value that compares as
    asked; a vector's series are summed unless each must match; no series is a fail."""
    expr = params["expr"]
    _node, data = api(ctx, nodes, "/api/v1/query", {"query": expr})
    kind = data.get("resultType")
    result = data.get("result")
    expected = f"{expr} {wanted(params)}" + (" for every series" if params.get("each") else "")
    if kind == "scalar":
        series = [("scalar", _sample_value(result))]
    elif kind == "vector" and isinstance(result, list):
        series = [
            (_series_name(s.get("metric")), _sample_value(s.get("value")))
            for s in result
            if isinstance(s, dict)
        ]
    else:
        return Observation.fail(
            f"{expr} gives a {kind or 'strange'} result, expected an instant vector or scalar"
            + (" (drop the [range] selector)" if kind == "matrix" else ""),
            expected=expected,
            observed=str(kind),
        )
    if not series:
        return Observation.fail(
            f"{expr} returns no series (not scraped yet, or a wrong metric name or label value?)",
            expected=expected,
            observed="empty result",
        )
    values = [(name, v) for name, v in series if v is not None]
    if len(values) != len(series):
        return Observation.fail(
            f"{expr}: a sample value is no number", expected=expected, observed=str(result)[:120]
        )
    shown = "; ".join(f"{name} {number(v)}" for name, v in values[:6])
    if len(values) > 6:
        shown += f"; … {len(values) - 6} more"
    if params.get("each"):
        bad = [(name, v) for name, v in values if not matches(v, params)]
        if bad:
            return Observation.fail(
                f"{expr}: {bad[0][0]} is {number(bad[0][1])}, expected {wanted(params)}"
                + (f" ({len(bad) - 1} more series off)" if len(bad) > 1 else ""),
                expected=expected,
                observed=shown,
            )
        return Observation.ok(
            f"{expr}: all {len(values)} series {wanted(params)}",
            expected=expected,
            observed=shown,
        )
    total = sum(v for _name, v in values)
    summed = f" (sum of {len(values)} series)" if len(values) > 1 else ""
    if not matches(total, params):
        return Observation.fail(
            f"{expr} is {number(total)}{summed}, expected {wanted(params)}",
            expected=expected,
            observed=shown,
        )
    return Observation.ok(f"{expr} is {number(total)}{summed}", expected=expected, observed=shown)
