"""The part of YAML a DC/OS ``genconf/config.yaml`` uses, read without PyYAML (not on the
nodes): ``key: scalar``, ``key:`` followed by ``- item`` lines, flow lists ``[a, b]``,
quoted scalars, comments and the ``---`` marker. Anything else (nested mappings, anchors)
is refused with the line number: the emulation does not read it."""

from __future__ import annotations

import re
from typing import Any

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:(?:\s+(.*))?$")


class YamlError(ValueError):
    pass


def _strip_comment(text: str) -> str:
    out, quote = [], ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            break
        out.append(ch)
    return "".join(out).rstrip()


def scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [scalar(part) for part in inner.split(",")] if inner else []
    if text in ("true", "True", "yes"):
        return True
    if text in ("false", "False", "no"):
        return False
    if text in ("", "~", "null"):
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def loads(text: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        if line[0].isspace() or line.startswith("-"):
            item = line.strip()
            if current is None or not item.startswith("-"):
                raise YamlError(f"line {number}: nested mappings are not read by the emulation")
            value = data.get(current)
            if value is None:
                value = data[current] = []
            if not isinstance(value, list):
                raise YamlError(f"line {number}: {current} already has a value")
            value.append(scalar(item[1:]))
            continue
        match = _KEY.match(line)
        if not match:
            raise YamlError(f"line {number}: expected 'key: value', got {raw.strip()!r}")
        key, rest = match.group(1), match.group(2)
        if key in data:
            raise YamlError(f"line {number}: duplicate key {key}")
        data[key] = scalar(rest) if rest else None
        current = key
    return data
