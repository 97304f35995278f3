"""What every v1 API endpoint (``/api/v1/scheduler``, ``/api/v1``) checks before the call,
with Mesos's answers (MESOS@HEAD src/master/http.cpp ``Master::Http::api`` and
``Master::Http::scheduler``; src/slave/http.cpp ``Http::api``).

The twin reads and writes JSON only: a protobuf body or an ``Accept`` that allows only
protobuf gets Mesos's 415/406 answer with a sentence saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mesoslab_twin.common.httpd import Reply, Request, text_reply

APPLICATION_JSON = "application/json"
APPLICATION_PROTOBUF = "application/x-protobuf"
TWIN_JSON_ONLY = " (the mesoslab twin reads and writes JSON only)"

_JSON_KINDS = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


@dataclass
class Call:
    """A v1 call as JSON, its ``type`` (None when absent or no known type)."""

    body: dict[str, Any]
    type: str | None


def method_not_allowed(method: str, allowed: str = "POST") -> Reply:
    # libprocess http.hpp MethodNotAllowed::constructBody
    return text_reply(
        f"405 Method Not Allowed. Expecting one of {{ '{allowed}' }}, but received '{method}'.",
        405,
    )


def parse(request: Request, types: frozenset[str], required: dict[str, list[str]]) -> Call | Reply:
    """The call in a POST body, or Mesos's answer why there is none. ``required`` maps a
    call part that is present (``subscribe``, ``kill``) to the required fields below it, as
    protobuf's ``InitializationErrorString`` lists the missing ones."""
    if request.method != "POST":
        return method_not_allowed(request.method)
    content_type = request.headers.get("content-type")
    if content_type is None:
        return text_reply("Expecting 'Content-Type' to be present", 400)
    if content_type == APPLICATION_PROTOBUF:
        return text_reply(f"Expecting 'Content-Type' of {APPLICATION_JSON}{TWIN_JSON_ONLY}", 415)
    if content_type != APPLICATION_JSON:
        return text_reply(
            f"Expecting 'Content-Type' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}", 415
        )
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        return text_reply(f"Failed to parse body into JSON: {exc}", 400)
    problem = _conversion_problem(body, required)
    if problem is not None:
        return text_reply(f"Failed to convert JSON into Call protobuf: {problem}", 400)
    kind = body.get("type")
    return Call(body, kind if kind in types else None)


def _conversion_problem(body: Any, required: dict[str, list[str]]) -> str | None:
    """stout's ``protobuf::parse`` errors for the mistakes a client makes."""
    if not isinstance(body, dict):
        return "Expecting a JSON object"
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return f"Not expecting a JSON {_JSON_KINDS.get(type(kind), 'null')} for field 'type'"
    missing: list[str] = []
    for part, fields in required.items():
        section = _lookup(body, part)
        if section is None:
            continue
        for name in fields:
            path = f"{part}.{name}"
            if any(path.startswith(m + ".") for m in missing):
                continue
            if _lookup(section, name) is None:
                missing.append(path)
    if missing:
        return "Missing required fields: " + ", ".join(missing)
    return None


def _lookup(section: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(section, dict) or key not in section:
            return None
        section = section[key]
    return section


def refuses_json(request: Request) -> Reply | None:
    """406 when the client's ``Accept`` allows no JSON (Request::acceptsMediaType)."""
    accept = request.headers.get("accept")
    if accept is None:
        return None
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if any(k in (APPLICATION_JSON, "application/*", "*/*") for k in kinds):
        return None
    suffix = TWIN_JSON_ONLY if APPLICATION_PROTOBUF in kinds else ""
    return text_reply(
        f"Expecting 'Accept' to allow '{APPLICATION_PROTOBUF}' or '{APPLICATION_JSON}'{suffix}",
        406,
    )
