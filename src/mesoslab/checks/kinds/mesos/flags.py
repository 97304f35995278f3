"""Mesos flag checks (``mesos.master_flag``, ``mesos.agent_flag``): GET /flags and compare
meaning, not text (durations, sets, numbers, port ranges)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mesoslab.checks.kinds.mesos.common import get_json_or_none, number_text
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.checks.values import (
    format_ranges,
    parse_duration,
    parse_number,
    parse_ranges,
    parse_set,
    ports_from_resources_flag,
)
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext

MODES = ("text", "set", "duration", "number", "ranges")
SET_FLAGS = frozenset({"containerizers", "isolation", "image_providers"})
CASELESS_SET_FLAGS = frozenset({"image_providers"})  # Mesos upper-cases each token
NUMBER_FLAGS = frozenset({"quorum", "port"})
DURATION_SUFFIXES = ("_timeout", "_delay", "_interval", "_duration")
# Endpoints that show the flags, newest first: /flags (>= 0.26), then the state document.
FLAG_PATHS = ("/flags", "/state", "/state.json")

FLAG_PARAMS = {
    "flag": P(str, required=True, help="flag name without --, e.g. containerizers"),
    "equals": P(str, int, float, bool, list, help="expected value"),
    "absent": P(bool, help="true: the flag must be unset; false: it must be set"),
    "as": P(str, choices=MODES, help="how to compare (default: chosen from the flag name)"),
}


def validate_flag_params(params: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    flag = str(params.get("flag", ""))
    if flag.startswith("-"):
        problems.append(f"write the flag name without dashes: {flag.lstrip('-')!r}")
    has_equals, has_absent = "equals" in params, "absent" in params
    if has_equals == has_absent:
        problems.append("give exactly one of 'equals' or 'absent'")
        return problems
    if has_equals:
        wanted = params["equals"]
        mode = comparison_mode(flag.lstrip("-"), None, wanted, params.get("as"))
        if isinstance(wanted, list) and mode != "set":
            problems.append("a list in 'equals' is only meaningful with as: set")
        else:
            try:
                _parse(mode, flag, wanted, expected=True)
            except ValueError as exc:
                problems.append(f"'equals' cannot be compared as {mode}: {exc}")
    return problems


def comparison_mode(flag: str, actual: str | None, wanted: Any, explicit: str | None) -> str:
    """How to compare a flag: the ``as`` parameter, else chosen from the flag and values."""
    if explicit:
        return explicit
    if flag in SET_FLAGS or isinstance(wanted, list):
        return "set"
    if flag == "resources":
        return "text"
    if flag.endswith(DURATION_SUFFIXES):
        return "duration"
    if flag in NUMBER_FLAGS or (isinstance(wanted, int | float) and not isinstance(wanted, bool)):
        return "number"
    if (
        isinstance(wanted, str)
        and _is_duration(wanted)
        and (actual is None or _is_duration(actual))
    ):
        return "duration"
    return "text"


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def _parse(mode: str, flag: str, value: Any, *, expected: bool) -> Any:
    """The comparable form of a value; raises ValueError when it does not parse."""
    if mode == "set":
        items = (
            frozenset(str(v).strip() for v in value)
            if isinstance(value, list)
            else parse_set(str(value))
        )
        if flag in CASELESS_SET_FLAGS:
            items = frozenset(i.lower() for i in items)
        return items
    if mode == "duration":
        return parse_duration(str(value))
    if mode == "number":
        return parse_number(value)
    if mode == "ranges":
        if flag == "resources" and not expected:
            ports = ports_from_resources_flag(str(value))
            if ports is None:
                raise ValueError("the resources flag sets no ports")
            return ports
        return parse_ranges(str(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _show(mode: str, value: Any) -> str:
    if mode == "set":
        return "{" + ", ".join(sorted(value)) + "}"
    if mode == "duration":
        return f"{number_text(value)}secs"
    if mode == "number":
        return number_text(value)
    if mode == "ranges":
        return format_ranges(value)
    return repr(value)


def _wanted_text(wanted: Any) -> str:
    if isinstance(wanted, list):
        return ",".join(map(str, wanted))
    if isinstance(wanted, bool):
        return "true" if wanted else "false"
    return str(wanted).strip()


def _snippet(text: str, limit: int = 300) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def read_flags(ctx: CheckContext, node: Node, port_key: str) -> tuple[dict[str, Any], str]:
    """The flags of the Mesos process on ``node`` and the path they came from."""
    for path in FLAG_PATHS:
        data = get_json_or_none(ctx, node, port_key, path)
        if data is None:
            continue
        flags = data.get("flags") if isinstance(data, dict) else None
        if isinstance(flags, dict):
            return flags, path
        raise ProbeError(
            f"{node.name}:{ctx.port(port_key)}{path} has no 'flags' object",
            _snippet(str(data), 120),
        )
    raise ProbeError(
        f"{node.name}:{ctx.port(port_key)} serves none of {', '.join(FLAG_PATHS)} (HTTP 404)",
        "HTTP 404",
    )


def flag_check(
    ctx: CheckContext, node: Node, params: dict[str, Any], port_key: str, what: str
) -> Observation:
    flag = str(params["flag"]).lstrip("-")
    flags, _path = read_flags(ctx, node, port_key)
    present = flag in flags
    actual = "" if flags.get(flag) is None else str(flags.get(flag))
    observed = _snippet(actual) if present else "(absent)"
    short = _snippet(actual, 80)  # for the one-line summary
    where = f"{what} {node.name}" + (f":{params['port']}" if params.get("port") else "")
    if "absent" in params:
        if params["absent"]:
            if not present:
                return Observation.ok(
                    f"{where}: --{flag} is not set", expected="(absent)", observed=observed
                )
            return Observation.fail(
                f"{where}: --{flag} is set to {short!r}, expected it unset",
                expected="(absent)",
                observed=observed,
            )
        if present:
            return Observation.ok(f"{where}: --{flag} is set", expected="(set)", observed=observed)
        return Observation.fail(
            f"{where}: --{flag} is not set", expected="(set)", observed=observed
        )
    wanted = params["equals"]
    mode = comparison_mode(flag, actual if present else None, wanted, params.get("as"))
    wanted_text = _wanted_text(wanted)
    expected = f"{wanted_text} (compared as {mode})" if mode != "text" else wanted_text
    if not present:
        return Observation.fail(
            f"{where}: --{flag} is not set, expected {wanted_text}",
            expected=expected,
            observed=observed,
        )
    try:
        want = _parse(mode, flag, wanted, expected=True)
    except ValueError as exc:
        return Observation.fail(
            f"the check's expected value cannot be compared as {mode}: {exc}",
            expected=expected,
            observed=observed,
        )
    try:
        have = _parse(mode, flag, actual, expected=False)
    except ValueError as exc:
        return Observation.fail(
            f"{where}: --{flag}={short!r} cannot be read as {mode}: {exc}",
            expected=expected,
            observed=observed,
        )
    same: Callable[[Any, Any], bool] = (
        (lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b)))
        if mode in ("duration", "number")
        else (lambda a, b: a == b)
    )
    if same(have, want):
        note = "" if mode == "text" else f" (same {mode} as {wanted_text})"
        return Observation.ok(
            f"{where}: --{flag}={short}{note}", expected=expected, observed=observed
        )
    detail = "" if mode == "text" else f" ({_show(mode, have)} vs {_show(mode, want)})"
    return Observation.fail(
        f"{where}: --{flag} is {short!r}, expected {wanted_text}{detail}",
        expected=expected,
        observed=observed,
    )


@check(
    "mesos.master_flag",
    service="mesos_master",
    role="master",
    params=FLAG_PARAMS,
    validate=validate_flag_params,
)
def master_flag(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A Mesos master flag (GET /flags) has a value, compared by meaning, or is unset."""
    return flag_check(ctx, node, params, "mesos_master", "master")


@check(
    "mesos.agent_flag",
    service="mesos_agent",
    role="agent",
    params=FLAG_PARAMS,
    validate=validate_flag_params,
)
def agent_flag(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A Mesos agent flag (GET /flags) has a value, compared by meaning, or is unset."""
    return flag_check(ctx, node, params, "mesos_agent", "agent")
