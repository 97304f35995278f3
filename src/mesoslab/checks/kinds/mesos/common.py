"""Helpers shared by the Mesos check kinds: which port a node's Mesos listens on, asking
the leading master, naming hosts the way the inventory does, comparing versions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mesoslab.checks.fanout import first_answer
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get_json
from mesoslab.remote.session import CheckContext

_PID_RE = re.compile(r"@([^:@]+):(\d+)$")


def mesos_port_key(node: Node) -> str:
    """The port key of the Mesos process on ``node``: a master's, else an agent's."""
    if node.has_role("master") or not node.has_role("agent"):
        return "mesos_master"
    return "mesos_agent"


def get_json_or_none(
    ctx: CheckContext, node: Node, port_key: str, path: str, *, follow_leader: bool = False
) -> Any:
    """Like get_json, but None when the endpoint does not exist (HTTP 404: older versions)."""
    try:
        return get_json(ctx, node, port_key, path, follow_leader=follow_leader)
    except ProbeError as exc:
        if exc.observed == "HTTP 404":
            return None
        raise


def leader_json(
    ctx: CheckContext, masters: Sequence[Node], path: str, fallback: str | None = None
) -> tuple[Node, Any]:
    """JSON of ``path`` from the leading master: asked on the first master that answers
    (a non-leader's 307 is followed); ``fallback`` is tried when ``path`` answers 404."""

    def ask(node: Node) -> Any:
        if fallback is None:
            return get_json(ctx, node, "mesos_master", path, follow_leader=True)
        data = get_json_or_none(ctx, node, "mesos_master", path, follow_leader=True)
        if data is None:
            data = get_json(ctx, node, "mesos_master", fallback, follow_leader=True)
        return data

    return first_answer(masters, ask, what="master")


def host_of_pid(pid: str) -> str:
    """``slave(1)@10.0.2.121:5051`` -> ``10.0.2.121`` ("" when it is not a PID)."""
    match = _PID_RE.search(pid or "")
    return match.group(1) if match else ""


def inventory_node(ctx: CheckContext, *hosts: str) -> Node | None:
    """The inventory node any of ``hosts`` (hostnames or IPs from an API) refers to."""
    for host in hosts:
        if host:
            node = ctx.inventory.find_host(host)
            if node is not None:
                return node
    return None


def version_tuple(text: str) -> tuple[int, ...]:
    """``"1.4.0-rc1"`` -> (1, 4, 0); raises ValueError when there is no number."""
    head = str(text).strip().lstrip("vV").split("-", 1)[0].split("+", 1)[0]
    parts = re.findall(r"\d+", head)
    if not parts:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in parts)


def version_at_least(version: str, minimum: str) -> bool:
    have, want = version_tuple(version), version_tuple(minimum)
    width = max(len(have), len(want))
    return have + (0,) * (width - len(have)) >= want + (0,) * (width - len(want))


def number_text(value: float) -> str:
    """4.0 -> "4", 0.5 -> "0.5": how a learner writes numbers."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
