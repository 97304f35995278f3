"""Mesos check kinds about one framework a learner wrote (lesson 11): its state on the leading
master (active, inactive, torn down) and the offers it declined.

* ``mesos.framework`` reads ``/master/frameworks`` (``frameworks`` and
  ``completed_frameworks``, the FullFrameworkWriter objects of ``/master/state``). A framework
  whose connection dropped stays in ``frameworks`` with ``active: false`` until its
  failover_timeout; only TEARDOWN (or that timeout) moves it to ``completed_frameworks``.
* ``mesos.offers_declined`` reads ``/metrics/snapshot``. From Mesos 1.7 on the master
  publishes per-framework counters ``master/frameworks/<name, percent-encoded>/<id>/
  offers/declined`` (MESOS@1.11.0 src/master/metrics.cpp ``FrameworkMetrics``, kept for
  completed frameworks too); Mesos 1.4 to 1.6 only count DECLINE calls cluster-wide,
  ``master/messages_decline_offers`` (MESOS@1.4.0 src/master/metrics.cpp), which Marathon's
  and Chronos's declines raise as well. The check says which of the two it read.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from mesoslab.checks.kinds.mesos.common import leader_json, number_text
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.session import CheckContext

STATES = ("active", "inactive", "registered", "completed")
CLUSTER_DECLINES = "master/messages_decline_offers"


def _entries(data: Any, key: str, name: str) -> list[dict[str, Any]]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [f for f in items if isinstance(f, dict) and f.get("name") == name]


def _short(framework_id: Any) -> str:
    text = str(framework_id or "?")
    return text if len(text) <= 12 else "…" + text[-9:]


@check(
    "mesos.framework",
    service="mesos_master",
    role="master",
    scope="group",
    params={
        "name": P(str, required=True, help="framework name, e.g. lesson11-framework"),
        "state": P(
            str,
            default="active",
            choices=STATES,
            help="active (connected), inactive (disconnected, not torn down), registered "
            "(either), completed (torn down: in completed_frameworks)",
        ),
    },
)
def framework(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A framework of this name is active, inactive, registered or torn down (completed)."""
    _master, data = leader_json(ctx, nodes, "/master/frameworks", fallback="/master/state")
    name = str(params["name"])
    want = str(params.get("state", "active"))
    live = _entries(data, "frameworks", name)
    done = _entries(data, "completed_frameworks", name)
    active = [f for f in live if f.get("active", True) is not False]
    inactive = [f for f in live if f.get("active", True) is False]
    seen = (
        [f"{_short(f.get('id'))} active" for f in active]
        + [f"{_short(f.get('id'))} inactive" for f in inactive]
        + [f"{_short(f.get('id'))} completed" for f in done]
    )
    observed = f"{name}: " + (", ".join(seen) if seen else "never registered")
    expected = f"{name} {want}"
    matching = {
        "active": active,
        "inactive": inactive,
        "registered": live,
        "completed": done,
    }[want]
    if matching:
        ids = ", ".join(_short(f.get("id")) for f in matching)
        return Observation.ok(f"framework {name} is {want} ({ids})", expected=expected,
                              observed=observed)  # fmt: skip
    if not seen:
        summary = f"no framework named {name!r} on the leading master (not even completed)"
    elif want == "completed":
        summary = f"framework {name} is not torn down: it is still registered ({observed})"
    elif done and not live:
        summary = f"framework {name} was torn down (only in completed_frameworks)"
    elif want == "active":
        summary = f"framework {name} is registered but inactive (its scheduler disconnected)"
    else:
        summary = f"framework {name} is not {want}: {observed}"
    return Observation.fail(summary, expected=expected, observed=observed)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _framework_counters(metrics: dict[str, Any], name: str) -> dict[str, float]:
    """framework id -> offers/declined, from Mesos >= 1.7's per-framework metrics."""
    prefix = f"master/frameworks/{quote(name, safe='')}/"
    found: dict[str, float] = {}
    for key, value in metrics.items():
        if not (key.startswith(prefix) and key.endswith("/offers/declined")):
            continue
        number = _number(value)
        if number is not None:
            found[key[len(prefix) : -len("/offers/declined")]] = number
    return found


def _publishes_per_framework(metrics: dict[str, Any]) -> bool:
    return any(str(k).startswith("master/frameworks/") for k in metrics)


@check(
    "mesos.offers_declined",
    service="mesos_master",
    role="master",
    scope="group",
    params={
        "framework": P(str, required=True, help="framework name, e.g. lesson11-framework"),
        "min": P(int, default=1, help="at least this many declined offers"),
    },
)
def offers_declined(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """The leading master counted declined offers (GET /metrics/snapshot)."""
    # the framework's own offers/declined (Mesos >= 1.7), else the cluster-wide DECLINE
    # calls (Mesos < 1.7)
    _master, metrics = leader_json(ctx, nodes, "/metrics/snapshot")
    name = str(params["framework"])
    least = int(params.get("min", 1))
    if not isinstance(metrics, dict):
        return Observation.fail(
            "the leading master's /metrics/snapshot is not a JSON object",
            expected="a JSON object of metrics",
            observed=str(metrics)[:120],
        )
    if _publishes_per_framework(metrics):
        counters = _framework_counters(metrics, name)
        expected = f"{name}: at least {least} offers declined (offers/declined)"
        if not counters:
            return Observation.fail(
                f"the master publishes per-framework metrics but none for {name!r} (did it "
                "ever subscribe under that name?)",
                expected=expected,
                observed=f"no master/frameworks/{quote(name, safe='')}/…/offers/declined",
            )
        total = sum(counters.values())
        observed = ", ".join(f"{_short(i)}: {number_text(v)}" for i, v in counters.items())
        if total >= least:
            return Observation.ok(
                f"framework {name} declined {number_text(total)} offers", expected=expected,
                observed=observed,
            )  # fmt: skip
        return Observation.fail(
            f"framework {name} declined {number_text(total)} offers, expected at least {least}",
            expected=expected,
            observed=observed,
        )
    expected = f"at least {least} DECLINE calls ({CLUSTER_DECLINES}, cluster-wide before 1.7)"
    value = _number(metrics.get(CLUSTER_DECLINES))
    if value is None:
        return Observation.fail(
            f"the leading master's /metrics/snapshot has no number {CLUSTER_DECLINES}",
            expected=expected,
            observed=str(metrics.get(CLUSTER_DECLINES, "(absent)"))[:80],
        )
    observed = f"{CLUSTER_DECLINES} {number_text(value)}"
    note = "all frameworks together: this Mesos has no per-framework offer metrics"
    if value >= least:
        return Observation.ok(
            f"the master counted {number_text(value)} DECLINE calls ({note})",
            expected=expected,
            observed=observed,
        )
    return Observation.fail(
        f"the master counted {number_text(value)} DECLINE calls, expected at least {least} "
        f"({note})",
        expected=expected,
        observed=observed,
    )
