"""Numbers compared as a lesson author asks: ``equals`` (with a ``tolerance``), ``min``, ``max``."""

from __future__ import annotations

from typing import Any

from mesoslab.checks.registry import P, Param

COMPARE_PARAMS: dict[str, Param] = {
    "equals": P(float, help="the value must equal this (within tolerance)"),
    "min": P(float, help="the value must be at least this"),
    "max": P(float, help="the value must be at most this"),
    "tolerance": P(float, default=0.0, help="allowed difference for equals (default 0)"),
}


def validate_compare(params: dict[str, Any]) -> list[str]:
    problems = []
    if params.get("equals") is not None and (
        params.get("min") is not None or params.get("max") is not None
    ):
        problems.append("give either equals or min/max, not both")
    low, high = params.get("min"), params.get("max")
    if low is not None and high is not None and low > high:
        problems.append(f"min {low} is greater than max {high}")
    tolerance = params.get("tolerance")
    if tolerance is not None and tolerance < 0:
        problems.append(f"tolerance must not be negative, got {tolerance}")
    return problems


def wanted(params: dict[str, Any]) -> str:
    """``= 2``, ``>= 1``, ``between 0 and 4``, ``any value``."""
    equals, low, high = params.get("equals"), params.get("min"), params.get("max")
    tolerance = float(params.get("tolerance") or 0.0)
    if equals is not None:
        return f"= {number(equals)}" + (f" ± {number(tolerance)}" if tolerance else "")
    if low is not None and high is not None:
        return f"between {number(low)} and {number(high)}"
    if low is not None:
        return f">= {number(low)}"
    if high is not None:
        return f"<= {number(high)}"
    return "any value"


def matches(value: float, params: dict[str, Any]) -> bool:
    equals, low, high = params.get("equals"), params.get("min"), params.get("max")
    tolerance = float(params.get("tolerance") or 0.0)
    if value != value:  # NaN matches nothing
        return False
    if equals is not None and abs(value - float(equals)) > tolerance:
        return False
    if low is not None and value < float(low):
        return False
    return not (high is not None and value > float(high))


def number(value: float) -> str:
    """``2`` for 2.0, ``0.25`` for 0.25: numbers as people write them."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"
