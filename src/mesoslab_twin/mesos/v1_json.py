"""The v1 API's JSON forms of Mesos messages, and the twins' own forms they come from.

Inside the twins a task id is a string, resources travel as :meth:`Amounts.to_wire` and a
status is a flat dict (:func:`.master_model.status`). The v1 APIs (include/mesos/v1/*.proto
as JSON) wrap ids in ``{"value": ...}``, list resources as ``Resource`` messages with
``scalar``/``ranges``/``set``, name agents ``agent_id``/``agent_info`` and sources and
reasons ``SOURCE_AGENT``/``REASON_AGENT_...`` (the v0 names say ``SLAVE``).
"""

from __future__ import annotations

from typing import Any

from mesoslab_twin.common.values import Amounts, Resource, parse_ranges, resource_from_json


def value(text: str) -> dict[str, str]:
    return {"value": text}


def unvalue(item: Any) -> str:
    """``{"value": "x"}`` -> ``"x"`` (a plain string passes)."""
    if isinstance(item, dict):
        return str(item.get("value", ""))
    return "" if item is None else str(item)


def time_info(seconds: float) -> dict[str, int]:
    return {"nanoseconds": int(seconds * 1e9)}


# ------------------------------------------------------------------ resources


def resources(amounts: Amounts, role: str = "*") -> list[dict[str, Any]]:
    out: list[Resource] = []
    for name, scalar in sorted(amounts.scalars.items()):
        if scalar > 0:
            out.append(Resource(name, "SCALAR", scalar=scalar, role=role))
    for name, spans in sorted(amounts.ranges.items()):
        if spans:
            out.append(Resource(name, "RANGES", ranges=spans, role=role))
    for name, items in sorted(amounts.sets.items()):
        if items:
            out.append(Resource(name, "SET", items=items, role=role))
    return [resource(r) for r in out]


def resource(res: Resource) -> dict[str, Any]:
    """One Resource as v1 JSON: ``role`` is deprecated with a default, so stout's writer
    leaves an unreserved one out (3rdparty/stout/include/stout/protobuf.hpp L849-859)."""
    data = res.to_json()
    if data.get("role") == "*":
        del data["role"]
    return data


def amounts(items: Any) -> Amounts:
    """A list of v1 ``Resource`` messages summed; raises ValueError on a malformed one."""
    if not isinstance(items, list):
        return Amounts()
    return Amounts.of([resource_from_json(item) for item in items])


def attributes(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, item in pairs:
        if isinstance(item, int | float):
            out.append({"name": name, "type": "SCALAR", "scalar": {"value": item}})
        elif isinstance(item, str) and item.startswith("["):
            spans = [{"begin": b, "end": e} for b, e in parse_ranges(item)]
            out.append({"name": name, "type": "RANGES", "ranges": {"range": spans}})
        else:
            out.append({"name": name, "type": "TEXT", "text": {"value": str(item)}})
    return out


def attribute_pairs(items: Any) -> list[list[Any]]:
    """v1 ``Attribute`` messages -> ``[[name, value], ...]`` (the twins' offer form)."""
    pairs: list[list[Any]] = []
    for item in items if isinstance(items, list) else []:
        kind = str(item.get("type", "TEXT"))
        if kind == "SCALAR":
            pairs.append([item["name"], (item.get("scalar") or {}).get("value", 0)])
        elif kind == "RANGES":
            spans = (item.get("ranges") or {}).get("range", [])
            text = ", ".join(f"{r['begin']}-{r['end']}" for r in spans)
            pairs.append([item["name"], f"[{text}]"])
        else:
            pairs.append([item["name"], (item.get("text") or {}).get("value", "")])
    return pairs


# ------------------------------------------------------------------ statuses


def _v1_name(text: str) -> str:
    return text.replace("SLAVE", "AGENT")


def status(internal: dict[str, Any], uuid: str | None = None) -> dict[str, Any]:
    """A twin status -> v1 ``TaskStatus`` (``uuid`` is base64, as JSON writes bytes)."""
    data: dict[str, Any] = {
        "task_id": value(str(internal.get("task_id", ""))),
        "state": str(internal.get("state", "")),
    }
    if internal.get("message"):
        data["message"] = str(internal["message"])
    if internal.get("source"):
        data["source"] = _v1_name(str(internal["source"]))
    if internal.get("reason"):
        data["reason"] = _v1_name(str(internal["reason"]))
    if internal.get("agent_id"):
        data["agent_id"] = value(str(internal["agent_id"]))
    if "timestamp" in internal:
        data["timestamp"] = float(internal["timestamp"])
    if uuid:
        data["uuid"] = uuid
    if "healthy" in internal:
        data["healthy"] = bool(internal["healthy"])
    labels = internal.get("labels")
    if labels:
        data["labels"] = labels if isinstance(labels, dict) else {"labels": list(labels)}
    if internal.get("container_status"):
        data["container_status"] = internal["container_status"]
    return data


def status_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 ``TaskStatus`` -> the twins' flat status (ids as strings)."""
    internal: dict[str, Any] = {
        "task_id": unvalue(data.get("task_id")),
        "state": str(data.get("state", "")),
        "timestamp": float(data.get("timestamp", 0.0) or 0.0),
    }
    for key in ("message", "source", "reason", "container_status", "healthy"):
        if key in data:
            internal[key] = data[key]
    if data.get("agent_id"):
        internal["agent_id"] = unvalue(data["agent_id"])
    labels = data.get("labels")
    if isinstance(labels, dict) and labels.get("labels"):
        internal["labels"] = list(labels["labels"])
    return internal


# ------------------------------------------------------------------ tasks and frameworks


def task_info(internal: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """A twin TaskInfo (string ids, wire resources) -> v1 ``TaskInfo``."""
    data = {k: v for k, v in internal.items() if k not in ("task_id", "agent_id", "resources")}
    data["task_id"] = value(str(internal.get("task_id", "")))
    data["agent_id"] = value(agent_id)
    data["resources"] = resources(Amounts.from_wire(internal.get("resources")))
    return data


def task_info_from_v1(data: dict[str, Any], agent_id: str) -> dict[str, Any]:
    """v1 ``TaskInfo`` -> the twins' form (what agents run). Raises ValueError."""
    internal = {
        k: v for k, v in data.items() if k not in ("task_id", "agent_id", "slave_id", "resources")
    }
    internal["task_id"] = unvalue(data.get("task_id"))
    internal["agent_id"] = agent_id
    internal["resources"] = amounts(data.get("resources")).to_wire()
    return internal


def framework_info(info: dict[str, Any]) -> dict[str, Any]:
    """The twins' FrameworkInfo (``id`` a string) -> v1 ``FrameworkInfo``."""
    data = {k: v for k, v in info.items() if k != "id"}
    if info.get("id"):
        data["id"] = value(str(info["id"]))
    data.setdefault("role", "*")
    return data


def framework_info_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    info = {k: v for k, v in data.items() if k != "id"}
    if data.get("id"):
        info["id"] = unvalue(data["id"])
    return info
