"""Mesos values as the twin needs them: port ranges, resources, attributes and durations.

Formats follow reference/mesos-api-facts.md §0 and §3: ranges print as
``[21000-24000, 30000-64000]``, sets as ``{a, b}``, durations with the largest unit that
divides them evenly (``300secs`` -> ``5mins``), resources from ``--resources`` in the text
form ``cpus:2;ports:[21000-24000]`` or as a JSON array of Resource objects.

Kept apart from ``mesoslab/checks/values.py`` on purpose: the checker must not share the
emulator's parser, or an emulator bug could hide itself (both sides would read a wrong value
the same wrong way).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Any

Ranges = tuple[tuple[int, int], ...]

DEFAULT_PORTS: Ranges = ((31000, 32000),)  # src/slave/constants.hpp DEFAULT_PORTS
STANDARD_SCALARS = ("disk", "mem", "gpus", "cpus")  # always printed, 0 when absent


# ------------------------------------------------------------------ ranges


def normalize_ranges(spans: list[tuple[int, int]] | Ranges) -> Ranges:
    merged: list[list[int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return tuple((b, e) for b, e in merged)


def parse_ranges(text: str) -> Ranges:
    """``[21000-24000,30000-64000]`` (spaces allowed) -> ((21000, 24000), (30000, 64000))."""
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise ValueError(f"Expecting one or more \"ranges\" in '{text}'")
    spans: list[tuple[int, int]] = []
    for part in body[1:-1].split(","):
        part = part.strip()
        if not part:
            continue
        begin, _, end = part.partition("-")
        try:
            b, e = int(begin), int(end or begin)
        except ValueError:
            raise ValueError(f"Failed to parse range '{part}' in '{text}'") from None
        if e < b:
            raise ValueError(f"Range '{part}' ends before it begins")
        spans.append((b, e))
    return normalize_ranges(spans)


def format_ranges(ranges: Ranges) -> str:
    return "[" + ", ".join(f"{b}-{e}" for b, e in ranges) + "]"


def subtract_ranges(ranges: Ranges, taken: Ranges) -> Ranges:
    result: list[tuple[int, int]] = []
    for begin, end in ranges:
        pieces = [(begin, end)]
        for tb, te in taken:
            next_pieces = []
            for pb, pe in pieces:
                if te < pb or tb > pe:
                    next_pieces.append((pb, pe))
                    continue
                if pb < tb:
                    next_pieces.append((pb, tb - 1))
                if te < pe:
                    next_pieces.append((te + 1, pe))
            pieces = next_pieces
        result.extend(pieces)
    return normalize_ranges(result)


def ranges_contain(ranges: Ranges, port: int) -> bool:
    return any(b <= port <= e for b, e in ranges)


def ports_as_ranges(ports: list[int]) -> Ranges:
    return normalize_ranges([(p, p) for p in ports])


def range_size(ranges: Ranges) -> int:
    return sum(e - b + 1 for b, e in ranges)


# ------------------------------------------------------------------ resources


@dataclass
class Resource:
    """One Mesos Resource: a scalar, ranges or a set, optionally reserved for a role."""

    name: str
    kind: str  # SCALAR | RANGES | SET
    scalar: float = 0.0
    ranges: Ranges = ()
    items: tuple[str, ...] = ()
    role: str = "*"

    def to_json(self) -> dict[str, Any]:
        """The Resource as Mesos writes it in JSON (and in a ``--resources`` file)."""
        data: dict[str, Any] = {"name": self.name, "type": self.kind, "role": self.role}
        if self.kind == "SCALAR":
            data["scalar"] = {"value": number(self.scalar)}
        elif self.kind == "RANGES":
            data["ranges"] = {"range": [{"begin": b, "end": e} for b, e in self.ranges]}
        else:
            data["set"] = {"item": list(self.items)}
        return data


def resource_to_wire(res: Resource) -> dict[str, Any]:
    return {
        "name": res.name,
        "kind": res.kind,
        "scalar": res.scalar,
        "ranges": [list(r) for r in res.ranges],
        "items": list(res.items),
        "role": res.role,
    }


def resource_from_wire(data: dict[str, Any]) -> Resource:
    return Resource(
        name=str(data["name"]),
        kind=str(data.get("kind", "SCALAR")),
        scalar=float(data.get("scalar", 0.0)),
        ranges=normalize_ranges([(int(a), int(b)) for a, b in data.get("ranges", [])]),
        items=tuple(str(i) for i in data.get("items", [])),
        role=str(data.get("role", "*")),
    )


def number(value: float) -> int | float:
    """4.0 -> 4 (how Mesos 1.4 writes integral numbers), 0.5 stays 0.5."""
    return int(value) if float(value).is_integer() else round(float(value), 6)


def _value_of(name: str, role: str, text: str) -> Resource:
    text = text.strip()
    if text.startswith("["):
        return Resource(name, "RANGES", ranges=parse_ranges(text), role=role)
    if text.startswith("{"):
        items = tuple(i.strip() for i in text.strip("{}").split(",") if i.strip())
        return Resource(name, "SET", items=items, role=role)
    try:
        return Resource(name, "SCALAR", scalar=float(text), role=role)
    except ValueError:
        raise ValueError(f"Failed to parse resource '{name}' value '{text}'") from None


def _tokens(text: str, delimiter: str) -> list[str]:
    """stout's ``strings::tokenize``: split on the delimiter, empty pieces dropped."""
    return [piece for piece in text.split(delimiter) if piece]


def parse_resources(text: str) -> list[Resource]:
    """``--resources`` as Mesos reads it (MESOS@1.4.0 ``src/common/resources.cpp``
    ``Resources::fromString`` L756-765): a JSON array of Resource objects if the text parses
    as one, otherwise the text form ``name(role):value;...`` -- so JSON that does not parse
    is refused by the text parser, with its message. Raises ValueError."""
    try:
        items = json.loads(text)
    except ValueError:
        items = None
    if isinstance(items, list):
        return [resource_from_json(item) for item in items]
    resources = []
    for token in _tokens(text, ";"):
        pair = _tokens(token, ":")
        if len(pair) != 2:
            raise ValueError(f"Bad value for resources, missing or extra ':' in {token}")
        head = pair[0]
        role = "*"
        if "(" in head:
            opened, closed = head.find("("), head.find(")")
            if closed < opened:
                raise ValueError(f"Bad value for resources, mismatched parentheses in {token}")
            role = head[opened + 1 : closed].strip()
            head = head[:opened]
        name = head.strip()
        if not name:
            raise ValueError("Empty resource name")  # Resources::validate
        resources.append(_value_of(name, role, pair[1]))
    return resources


def resource_from_json(item: Any) -> Resource:
    if not isinstance(item, dict) or "name" not in item:
        raise ValueError(f"Not a Resource object: {item!r}")
    name = str(item["name"])
    kind = str(item.get("type", "SCALAR")).upper()
    role = str(item.get("role", "*"))
    if kind == "SCALAR":
        return Resource(name, kind, scalar=float(item.get("scalar", {}).get("value", 0)), role=role)
    if kind == "RANGES":
        spans = [(int(r["begin"]), int(r["end"])) for r in item.get("ranges", {}).get("range", [])]
        return Resource(name, kind, ranges=normalize_ranges(spans), role=role)
    if kind == "SET":
        return Resource(name, kind, items=tuple(item.get("set", {}).get("item", [])), role=role)
    raise ValueError(f"Unknown resource type '{kind}' for '{name}'")


def detected_resources(work_dir: str) -> list[Resource]:
    """What the agent detects when ``--resources`` does not say: CPUs, memory, disk."""
    cpus = float(os.cpu_count() or 1)
    mem_mb = _total_memory_mb()
    mem = mem_mb - 1024 if mem_mb >= 2048 else mem_mb / 2
    try:
        disk_mb = shutil.disk_usage(work_dir if os.path.isdir(work_dir) else "/").total / 2**20
    except OSError:
        disk_mb = 10240.0
    disk = disk_mb - 5120 if disk_mb >= 10240 else disk_mb / 2
    return [
        Resource("cpus", "SCALAR", scalar=cpus),
        Resource("mem", "SCALAR", scalar=float(int(mem))),
        Resource("disk", "SCALAR", scalar=float(int(disk))),
    ]


def _total_memory_mb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 2048.0


def agent_resources(flag: str | None, work_dir: str) -> list[Resource]:
    """The agent's total resources: the flag, plus detected cpus/mem/disk and the default
    ports when the flag does not name them (ports given replace the default entirely)."""
    given = parse_resources(flag) if flag else []
    names = {r.name for r in given}
    result = list(given)
    for detected in detected_resources(work_dir):
        if detected.name not in names:
            result.append(detected)
    if "ports" not in names:
        result.append(Resource("ports", "RANGES", ranges=DEFAULT_PORTS))
    return result


@dataclass
class Amounts:
    """Resources summed by name (all roles together): what allocation works with."""

    scalars: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, Ranges] = field(default_factory=dict)
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: list[Resource]) -> Amounts:
        amounts = cls()
        for res in resources:
            amounts.add(res)
        return amounts

    def add(self, res: Resource) -> None:
        if res.kind == "SCALAR":
            self.scalars[res.name] = self.scalars.get(res.name, 0.0) + res.scalar
        elif res.kind == "RANGES":
            self.ranges[res.name] = normalize_ranges(self.ranges.get(res.name, ()) + res.ranges)
        else:
            self.sets[res.name] = tuple(sorted(set(self.sets.get(res.name, ())) | set(res.items)))

    def minus(self, other: Amounts) -> Amounts:
        result = Amounts(dict(self.scalars), dict(self.ranges), dict(self.sets))
        for name, value in other.scalars.items():
            result.scalars[name] = max(0.0, result.scalars.get(name, 0.0) - value)
        for name, spans in other.ranges.items():
            result.ranges[name] = subtract_ranges(result.ranges.get(name, ()), spans)
        for name, items in other.sets.items():
            result.sets[name] = tuple(i for i in result.sets.get(name, ()) if i not in items)
        return result

    def plus(self, other: Amounts) -> Amounts:
        result = Amounts(dict(self.scalars), dict(self.ranges), dict(self.sets))
        for name, value in other.scalars.items():
            result.scalars[name] = result.scalars.get(name, 0.0) + value
        for name, spans in other.ranges.items():
            result.ranges[name] = normalize_ranges(result.ranges.get(name, ()) + spans)
        for name, items in other.sets.items():
            result.sets[name] = tuple(sorted(set(result.sets.get(name, ())) | set(items)))
        return result

    def contains(self, other: Amounts) -> bool:
        for name, value in other.scalars.items():
            if value > self.scalars.get(name, 0.0) + 1e-9:
                return False
        for name, spans in other.ranges.items():
            if subtract_ranges(spans, self.ranges.get(name, ())):
                return False
        return all(set(items) <= set(self.sets.get(name, ())) for name, items in other.sets.items())

    def to_json(self) -> dict[str, Any]:
        """The object Mesos prints for resources: cpus/gpus/mem/disk always, ranges as text."""
        data: dict[str, Any] = {name: 0 for name in STANDARD_SCALARS}
        for name, value in self.scalars.items():
            data[name] = number(round(value, 6))
        for name, spans in self.ranges.items():
            if spans:
                data[name] = format_ranges(spans)
        for name, items in self.sets.items():
            if items:
                data[name] = "{" + ", ".join(items) + "}"
        return data

    def to_text(self) -> str:
        """How Mesos 1.4 prints Resources in messages: ``cpus(*):1; ports(*):[31000-31000]``."""
        parts = [f"{n}(*):{number(v)}" for n, v in sorted(self.scalars.items()) if v > 0]
        parts += [f"{n}(*):{format_ranges(r)}" for n, r in sorted(self.ranges.items()) if r]
        parts += [f"{n}(*):{{{','.join(i)}}}" for n, i in sorted(self.sets.items()) if i]
        return "; ".join(parts)

    def to_wire(self) -> dict[str, Any]:
        """A JSON form that survives a round trip (ranges as lists) for the twin's own API."""
        return {
            "scalars": self.scalars,
            "ranges": {k: [list(r) for r in v] for k, v in self.ranges.items()},
            "sets": {k: list(v) for k, v in self.sets.items()},
        }

    @classmethod
    def from_wire(cls, data: Any) -> Amounts:
        if not isinstance(data, dict):
            return cls()
        return cls(
            {str(k): float(v) for k, v in (data.get("scalars") or {}).items()},
            {
                str(k): normalize_ranges([(int(a), int(b)) for a, b in v])
                for k, v in (data.get("ranges") or {}).items()
            },
            {str(k): tuple(str(i) for i in v) for k, v in (data.get("sets") or {}).items()},
        )


def resources_by_role(resources: list[Resource]) -> dict[str, Amounts]:
    roles: dict[str, Amounts] = {}
    for res in resources:
        roles.setdefault(res.role, Amounts()).add(res)
    return roles


# ------------------------------------------------------------------ attributes


def parse_attributes(text: str) -> list[tuple[str, Any]]:
    """``rack:abc;level:2;r:[1-5]`` -> [("rack", "abc"), ("level", 2), ("r", "[1-5]")].

    Scalar attributes become numbers, ranges stay their printed string; set values are
    rejected as Mesos does ("Bad type for attribute").
    """
    result: list[tuple[str, Any]] = []
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"Invalid attribute key:value pair '{part}'")
        value = value.strip()
        if value.startswith("{"):
            raise ValueError(f"Bad type for attribute {name.strip()}: sets are not supported")
        if value.startswith("["):
            result.append((name.strip(), format_ranges(parse_ranges(value))))
            continue
        try:
            result.append((name.strip(), number(float(value))))
        except ValueError:
            result.append((name.strip(), value))
    return result


# ------------------------------------------------------------------ durations

_DURATION_UNITS = (  # stout/duration.hpp, largest first
    ("weeks", 7 * 24 * 3600 * 10**9),
    ("days", 24 * 3600 * 10**9),
    ("hrs", 3600 * 10**9),
    ("mins", 60 * 10**9),
    ("secs", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")


def parse_duration_ns(text: str) -> int:
    """``5mins`` -> nanoseconds; the units stout accepts (ns, us, ms, secs, mins, hrs,
    days, weeks). Raises ValueError with stout's wording for anything else."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"Invalid duration '{text}'")
    units = dict(_DURATION_UNITS)
    if match.group(2) not in units:
        raise ValueError(f"Unknown duration unit '{match.group(2)}'")
    return round(float(match.group(1)) * units[match.group(2)])


def format_duration(ns: int) -> str:
    """Nanoseconds as Mesos prints them: the largest unit that divides evenly."""
    if ns == 0:
        return "0ns"
    for unit, size in _DURATION_UNITS:
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def normalize_duration(text: str) -> str:
    return format_duration(parse_duration_ns(text))


def duration_seconds(text: str) -> float:
    return parse_duration_ns(text) / 1e9
