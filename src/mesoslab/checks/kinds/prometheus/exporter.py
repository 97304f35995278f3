"""What an exporter serves on ``/metrics``, read directly (no Prometheus needed)."""

from __future__ import annotations

import difflib
from typing import Any

from mesoslab.checks.kinds.prometheus.compare import (
    COMPARE_PARAMS,
    matches,
    number,
    validate_compare,
    wanted,
)
from mesoslab.checks.kinds.prometheus.exposition import ExpositionError, parse
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get
from mesoslab.remote.session import CheckContext

PORT_KEY = "mesos_exporter"


def _labels_text(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


@check(
    "prometheus.metric",
    role="agent",
    params={
        "name": P(str, required=True, help="metric name, e.g. mesos_slave_registered"),
        "labels": P(dict, help="label values the series must have (others may differ)"),
        **COMPARE_PARAMS,
    },
    validate=validate_compare,
)
def metric(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """The node's mesos_exporter serves this metric on :9105/metrics (matching series
    summed) with a value that compares as asked."""
    where = f"{node.name}:{ctx.port(PORT_KEY)}/metrics"
    response = get(ctx, node, PORT_KEY, "/metrics", accept="text/plain")
    if response.status_code != 200:
        raise ProbeError(
            f"{where} answered HTTP {response.status_code}", f"HTTP {response.status_code}"
        )
    try:
        samples = parse(response.text)
    except ExpositionError as exc:
        return Observation.fail(
            f"{where} is not valid Prometheus text format: {exc}",
            expected="text exposition format",
            observed=str(exc),
        )
    name = params["name"]
    wanted_labels = {str(k): str(v) for k, v in (params.get("labels") or {}).items()}
    expected = f"{name}{_labels_text(wanted_labels) if wanted_labels else ''} {wanted(params)}"
    named = [s for s in samples if s.name == name]
    if not named:
        names = sorted({s.name for s in samples})
        close = difflib.get_close_matches(name, names, n=3)
        observed = f"{len(names)} metric names" + (
            f", similar: {', '.join(close)}" if close else ""
        )
        return Observation.fail(
            f"{where} has no metric {name}", expected=expected, observed=observed
        )
    chosen = [s for s in named if all(s.labels.get(k) == v for k, v in wanted_labels.items())]
    if not chosen:
        seen = "; ".join(_labels_text(s.labels) for s in named[:5])
        return Observation.fail(
            f"{where}: no {name} series with {_labels_text(wanted_labels)}",
            expected=expected,
            observed=seen,
        )
    total = sum(s.value for s in chosen)
    observed = "; ".join(f"{s.name}{_labels_text(s.labels)} {number(s.value)}" for s in chosen[:4])
    if not matches(total, params):
        summed = f" (sum of {len(chosen)} series)" if len(chosen) > 1 else ""
        return Observation.fail(
            f"{name} on {node.name} is {number(total)}{summed}, expected {wanted(params)}",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"{name} on {node.name} is {number(total)}", expected=expected, observed=observed
    )
