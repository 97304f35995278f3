"""Compare meaning, not text: durations, port ranges, sets and numbers as Mesos prints them.

Kept apart from the twin's ``mesoslab_twin/common/values.py`` on purpose: the checker must
not share the emulator's parser, or an emulator bug could hide itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "secs": 1.0,
    "sec": 1.0,
    "s": 1.0,
    "mins": 60.0,
    "min": 60.0,
    "m": 60.0,
    "hrs": 3600.0,
    "hr": 3600.0,
    "h": 3600.0,
    "days": 86400.0,
    "day": 86400.0,
    "d": 86400.0,
    "weeks": 604800.0,
    "week": 604800.0,
    "w": 604800.0,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in a Mesos duration string: ``600secs`` == ``10mins`` == 600.0."""
    match = _DURATION_RE.match(str(text).lower())
    if not match or match.group(2) not in _DURATION_UNITS:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 10mins, 600secs)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


Ranges = tuple[tuple[int, int], ...]

_RANGE_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_ranges(text: str) -> Ranges:
    """``"[21000-24000, 30000-64000]"`` -> ((21000, 24000), (30000, 64000)), merged and sorted.

    Accepts Mesos' printed form, the flag form without spaces, a bare ``21000-24000`` and
    single ports (``[31915-31915]`` or ``31915``).
    """
    body = str(text).strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if not body.strip():
        return ()
    spans: list[tuple[int, int]] = []
    for part in body.split(","):
        match = _RANGE_RE.match(part)
        if not match:
            raise ValueError(f"not a port range: {part.strip()!r} in {text!r}")
        begin = int(match.group(1))
        end = int(match.group(2) or begin)
        if end < begin:
            raise ValueError(f"range {begin}-{end} ends before it begins in {text!r}")
        spans.append((begin, end))
    return normalize_ranges(spans)


def normalize_ranges(spans: list[tuple[int, int]]) -> Ranges:
    merged: list[list[int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return tuple((b, e) for b, e in merged)


def format_ranges(ranges: Ranges) -> str:
    """The way Mesos prints ranges: ``[21000-24000, 30000-64000]``."""
    return "[" + ", ".join(f"{b}-{e}" for b, e in ranges) + "]"


def ranges_contain(ranges: Ranges, port: int) -> bool:
    return any(b <= port <= e for b, e in ranges)


def parse_set(text: str, sep: str = ",") -> frozenset[str]:
    """``"docker,mesos"`` -> {"docker", "mesos"}; also takes Mesos' ``{a, b}`` set form."""
    body = str(text).strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    return frozenset(item.strip() for item in body.split(sep) if item.strip())


def parse_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    return float(str(value).strip())


def ports_from_resources_flag(value: str) -> Ranges | None:
    """The ``ports`` of an agent ``--resources`` flag value (JSON array or ``a:b;c:d`` text).

    Returns None when the flag does not set ports.
    """
    text = value.strip()
    if text.startswith("["):
        items = json.loads(text)
        spans: list[tuple[int, int]] = []
        found = False
        for item in items:
            if isinstance(item, dict) and item.get("name") == "ports":
                found = True
                for rng in item.get("ranges", {}).get("range", []):
                    spans.append((int(rng["begin"]), int(rng["end"])))
        return normalize_ranges(spans) if found else None
    for part in text.split(";"):
        name, _, val = part.partition(":")
        if name.split("(")[0].strip() == "ports":
            return parse_ranges(val)
    return None


def image_matches(reference: str, wanted: str) -> bool:
    """``wanted`` names the image ``reference``: ``nginx`` is ``nginx:latest`` and
    ``docker.io/library/nginx:latest``; a registry prefix must match when given."""
    return normalize_image(reference) == normalize_image(wanted)


def normalize_image(name: str) -> str:
    name = name.strip()
    if "@" in name:
        return name
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name
