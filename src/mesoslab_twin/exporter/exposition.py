"""The Prometheus text exposition format (version 0.0.4), written as client_golang writes it.

mesos_exporter serves its registry through ``promhttp.Handler()``; the registry sorts the
families by name and each family's series by their label values, and the text encoder
(prometheus/common ``expfmt/text_create.go``) writes ``# HELP``, ``# TYPE`` and one line per
series, label pairs sorted by name, values as Go's ``%v`` of a float64. A family without
series is not written at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    """One metric family: a name, its help text, its type and its series."""

    name: str
    help: str
    type: str  # "gauge" or "counter"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((dict(labels), float(value)))
        return self


def escape_help(text: str) -> str:
    """``\\`` and newline escaped (expfmt ``escapeString(v, false)``)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def escape_label(text: str) -> str:
    """``\\``, newline and ``"`` escaped (expfmt ``escapeString(v, true)``)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value: float) -> str:
    """Go's ``fmt`` ``%v`` of a float64: the shortest digits that round-trip, in exponent
    form when the exponent is below -4 or at least 6 (``1e+06``, ``2.5e-05``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    exponent += len(digit_tuple) - len(digits)  # the zeros stripped
    point = len(digits) + exponent  # digits before the decimal point
    x = point - 1
    minus = "-" if sign else ""
    if x < -4 or x >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return minus + digits + "0" * (point - len(digits))
    return f"{minus}{digits[:point]}.{digits[point:]}"


def render(families: list[Family]) -> str:
    """The whole exposition: families by name, series by label values, empty ones left out."""
    lines: list[str] = []
    for family in sorted(families, key=lambda f: f.name):
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for labels, value in sorted(family.samples, key=lambda s: _sort_key(s[0])):
            lines.append(f"{family.name}{_labels(labels)} {format_value(value)}")
    return "".join(line + "\n" for line in lines)


def _sort_key(labels: dict[str, str]) -> list[str]:
    return [labels[name] for name in sorted(labels)]


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    pairs = ",".join(f'{name}="{escape_label(labels[name])}"' for name in sorted(labels))
    return "{" + pairs + "}"
