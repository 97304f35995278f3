"""A classroom event: what a learner's mesoslab tells the instructor, and how it is checked.

The learner builds events (:func:`verify_event`, :func:`step_run_event`, :func:`hint_event`,
:func:`progress_event`); the server parses every posted event with :func:`parse_event`,
which accepts exactly these shapes and nothing else (unknown keys, wrong types, strings or
lists over their limits are refused, so a bad body is a clear 4xx and nothing is stored).

Each event has an id made once, on the learner's machine, when it is queued: a resend after
a lost reply carries the same id and the server keeps it once.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KINDS = ("verify", "step_run", "hint", "progress")
STATUSES = ("pass", "fail", "skip")
SOURCES = ("verify", "dev check", "catch-up")

MAX_BODY_BYTES = 256 * 1024  # one POST of events
MAX_EVENTS_PER_POST = 100
MAX_EVENT_BYTES = 24 * 1024  # one event, as JSON
MAX_TEXT = 2000  # one string field (a summary, an observed value, a hint)
MAX_COMMAND = 4000  # a step's command text
MAX_OUTPUT = 8000  # a step's output, when the learner shares it
MAX_CHECKS = 60  # checks of one step in one verify
MAX_STEPS = 40  # steps of one lesson in one verify
MAX_NAME = 40  # a learner's name

_ID = re.compile(r"^[0-9a-f]{32}$")
_LESSON = re.compile(r"^lesson-[0-9]{1,2}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


class EventInvalid(ValueError):
    """A posted event is not one mesoslab makes (the server answers 422 and stores nothing)."""


@dataclass(frozen=True)
class Event:
    """One event as queued and sent. ``data`` depends on ``kind`` (see :func:`parse_event`)."""

    id: str
    kind: str
    at: str  # ISO 8601, UTC, on the learner's clock
    lesson: str | None = None
    step: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.at,
            "lesson": self.lesson,
            "step": self.step,
            "data": self.data,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_event(kind: str, lesson: str | None, step: int | None, data: dict[str, Any]) -> Event:
    return Event(uuid.uuid4().hex, kind, now_iso(), lesson, step, data)


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------ learner side: building


def check_json(
    kind: str, node: str, status: str, summary: str, expected: str, observed: str, hint: str
) -> dict[str, str]:
    return {
        "kind": clip(kind, 100),
        "node": clip(node, 100),
        "status": status,
        "summary": clip(summary),
        "expected": clip(expected),
        "observed": clip(observed),
        "hint": clip(hint),
    }


def verify_event(
    lesson: str, steps: list[tuple[int, str, list[dict[str, str]]]], source: str = "verify"
) -> Event:
    """A verify's outcome: per step its status (pass, fail, skip) and its checks."""
    body = [
        {"step": number, "status": status, "checks": checks[:MAX_CHECKS]}
        for number, status, checks in steps[:MAX_STEPS]
    ]
    only = steps[0][0] if len(steps) == 1 else None
    return new_event("verify", lesson, only, {"source": source, "steps": body})


def step_run_event(
    lesson: str, step: int, command: str, exit_status: int, nodes: list[str], output: str | None
) -> Event:
    """One command block of a step run: its text and exit status (its output only when the
    learner chose to share it)."""
    data: dict[str, Any] = {
        "command": clip(command, MAX_COMMAND),
        "exit_status": exit_status,
        "nodes": [clip(n, 100) for n in nodes[:20]],
    }
    if output is not None:
        data["output"] = output[-MAX_OUTPUT:]
    return new_event("step_run", lesson, step, data)


def hint_event(lesson: str, step: int, what: str) -> Event:
    """The learner was shown a hint or the solution of a step."""
    return new_event("hint", lesson, step, {"what": clip(what, 100)})


def progress_event(lesson: str, step: int) -> Event:
    """The learner is now on ``step`` of ``lesson``."""
    return new_event("progress", lesson, step, {})


# ------------------------------------------------------------------ server side: checking


def parse_event(raw: object) -> Event:
    """The event ``raw`` (decoded JSON) describes, or :class:`EventInvalid` saying why not."""
    obj = _object(raw, "event", {"id", "kind", "at", "lesson", "step", "data"}, {"id", "kind"})
    event_id = _string(obj, "id", 32)
    if not _ID.match(event_id):
        raise EventInvalid("id must be 32 lowercase hex digits")
    kind = _string(obj, "kind", 20)
    if kind not in KINDS:
        raise EventInvalid(f"kind must be one of {', '.join(KINDS)}")
    at = _string(obj, "at", 40)
    try:
        datetime.fromisoformat(at)
    except ValueError:
        raise EventInvalid("at must be an ISO 8601 time") from None
    lesson = obj.get("lesson")
    if lesson is not None and (not isinstance(lesson, str) or not _LESSON.match(lesson)):
        raise EventInvalid("lesson must be lesson-N")
    step = obj.get("step")
    if step is not None:
        step = _int(step, "step", 1, 999)
    data = obj.get("data", {})
    if kind != "progress" or data:
        data = _DATA[kind](data)
    if kind != "verify" and (lesson is None or step is None):
        raise EventInvalid(f"a {kind} event names its lesson and step")
    if kind == "verify" and lesson is None:
        raise EventInvalid("a verify event names its lesson")
    event = Event(event_id, kind, at, lesson, step, data)
    if len(event.dumps().encode()) > MAX_EVENT_BYTES:
        raise EventInvalid(f"an event is at most {MAX_EVENT_BYTES} bytes")
    return event


def _verify_data(raw: object) -> dict[str, Any]:
    obj = _object(raw, "data", {"source", "steps"}, {"steps"})
    source = obj.get("source", "verify")
    if source not in SOURCES:
        raise EventInvalid(f"data.source must be one of {', '.join(SOURCES)}")
    steps = _list(obj, "steps", MAX_STEPS)
    out = []
    for item in steps:
        s = _object(item, "step", {"step", "status", "checks"}, {"step", "status", "checks"})
        status = s["status"]
        if status not in STATUSES:
            raise EventInvalid("a step's status is pass, fail or skip")
        checks = []
        for c in _list(s, "checks", MAX_CHECKS):
            keys = {"kind", "node", "status", "summary", "expected", "observed", "hint"}
            check = _object(c, "check", keys, keys)
            if check["status"] not in STATUSES:
                raise EventInvalid("a check's status is pass, fail or skip")
            checks.append({k: _string(check, k, MAX_TEXT) for k in sorted(keys)})
        out.append({"step": _int(s["step"], "step", 1, 999), "status": status, "checks": checks})
    return {"source": source, "steps": out}


def _step_run_data(raw: object) -> dict[str, Any]:
    obj = _object(
        raw, "data", {"command", "exit_status", "nodes", "output"}, {"command", "exit_status"}
    )
    data: dict[str, Any] = {
        "command": _string(obj, "command", MAX_COMMAND),
        "exit_status": _int(obj["exit_status"], "exit_status", -1, 255),
        "nodes": [_text(n, "nodes[]", 100) for n in _list(obj, "nodes", 20, required=False)],
    }
    if "output" in obj:
        data["output"] = _string(obj, "output", MAX_OUTPUT)
    return data


def _hint_data(raw: object) -> dict[str, Any]:
    obj = _object(raw, "data", {"what"}, {"what"})
    return {"what": _string(obj, "what", 100)}


def _progress_data(raw: object) -> dict[str, Any]:
    _object(raw, "data", set(), set())
    return {}


_DATA = {
    "verify": _verify_data,
    "step_run": _step_run_data,
    "hint": _hint_data,
    "progress": _progress_data,
}


def _object(raw: object, what: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise EventInvalid(f"{what} must be a JSON object")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise EventInvalid(f"{what} has unknown field(s): {', '.join(map(str, unknown))}")
    missing = sorted(required - set(raw))
    if missing:
        raise EventInvalid(f"{what} lacks {', '.join(missing)}")
    return raw


def _string(obj: dict[str, Any], key: str, limit: int) -> str:
    return _text(obj.get(key), key, limit)


def _text(value: object, key: str, limit: int) -> str:
    if not isinstance(value, str):
        raise EventInvalid(f"{key} must be a string")
    if len(value) > limit:
        raise EventInvalid(f"{key} is longer than {limit} characters")
    return value


def _int(value: object, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EventInvalid(f"{key} must be a whole number from {low} to {high}")
    return value


def _list(obj: dict[str, Any], key: str, limit: int, *, required: bool = True) -> list[Any]:
    value = obj.get(key, None if required else [])
    if not isinstance(value, list):
        raise EventInvalid(f"{key} must be a list")
    if len(value) > limit:
        raise EventInvalid(f"{key} has more than {limit} entries")
    return value
