"""Read the Prometheus text exposition format (what an exporter's ``/metrics`` serves).

Its own small parser: the checker must not share the twin exporter's writer, or a bug in
one would hide itself. Strict on what matters to a check (names, label pairs, escapes,
values); every malformed line is reported with its number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class ExpositionError(ValueError):
    """A line that is not valid text format; the message names the line."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_value(text: str) -> float:
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    if lowered == "nan":
        return math.nan
    return float(text)


def _labels(text: str, pos: int, number: int) -> tuple[dict[str, str], int]:
    labels: dict[str, str] = {}
    while True:
        while pos < len(text) and text[pos] == " ":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        match = _LABEL.match(text, pos)
        if match is None:
            raise ExpositionError(f"line {number}: bad label name at column {pos + 1}")
        name = match.group()
        pos = match.end()
        if text[pos : pos + 2] != '="':
            raise ExpositionError(f'line {number}: expected =" after label {name}')
        pos += 2
        value: list[str] = []
        while True:
            if pos >= len(text):
                raise ExpositionError(f"line {number}: unterminated value of label {name}")
            char = text[pos]
            if char == "\\":
                escaped = text[pos + 1 : pos + 2]
                if escaped not in _ESCAPES:
                    raise ExpositionError(f"line {number}: bad escape \\{escaped} in {name}")
                value.append(_ESCAPES[escaped])
                pos += 2
                continue
            if char == '"':
                pos += 1
                break
            value.append(char)
            pos += 1
        if name in labels:
            raise ExpositionError(f"line {number}: label {name} given twice")
        labels[name] = "".join(value)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] != "}":
            raise ExpositionError(f"line {number}: expected , or }} after label {name}")


def parse(text: str) -> list[Sample]:
    """Every sample of an exposition, in order; raises ExpositionError on a bad line."""
    samples: list[Sample] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _NAME.match(line)
        if match is None:
            raise ExpositionError(f"line {number}: no metric name: {line[:60]!r}")
        name, pos = match.group(), match.end()
        labels: dict[str, str] = {}
        if line[pos : pos + 1] == "{":
            labels, pos = _labels(line, pos + 1, number)
        rest = line[pos:].split()
        if not rest or len(rest) > 2 or line[pos : pos + 1] not in (" ", "\t"):
            raise ExpositionError(f"line {number}: expected a value after {name}")
        try:
            value = parse_value(rest[0])
        except ValueError:
            raise ExpositionError(f"line {number}: {rest[0]!r} is no number") from None
        samples.append(Sample(name, labels, value))
    return samples
