"""Host checks of systemd units on a node: running (``systemctl is-active``) and started
at boot (``systemctl is-enabled``), or deliberately not."""

from __future__ import annotations

import re
import shlex
from typing import Any

from mesoslab.checks.kinds.host.common import LINE_WIDTH, host_check, run
from mesoslab.checks.registry import P
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.result import CommandResult
from mesoslab.remote.session import CheckContext

ACTIVE_STATES = frozenset(
    {
        "active",
        "inactive",
        "failed",
        "activating",
        "deactivating",
        "reloading",
        "unknown",
        "maintenance",
        "refreshing",
    }
)
NOT_ACTIVE_STATES = frozenset({"inactive", "failed", "unknown"})
ENABLED_STATES = frozenset({"enabled", "enabled-runtime", "alias", "generated"})
NOT_ENABLED_STATES = frozenset(
    {
        "disabled",
        "masked",
        "masked-runtime",
        "static",
        "indirect",
        "linked",
        "linked-runtime",
        "not-found",
    }
)
UNIT_FILE_STATES = ENABLED_STATES | NOT_ENABLED_STATES | {"transient", "bad"}


def _validate_unit(params: dict[str, Any]) -> list[str]:
    unit = params.get("unit", "")
    if isinstance(unit, str) and (
        not unit or unit.startswith("-") or unit != unit.strip() or " " in unit
    ):
        return [f"'unit' must be a systemd unit name like mesos-slave, got {unit!r}"]
    return []


@host_check(
    "host.service_active",
    params={
        "unit": P(str, required=True, help="systemd unit, e.g. mesos-slave"),
        "active": P(bool, default=True, help="true: must be active; false: must not be"),
    },
    validate=_validate_unit,
)
def service_active(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A systemd unit is running (``systemctl is-active``) — or, with ``active: false``, not."""
    unit: str = params["unit"]
    want = bool(params["active"])
    result = run(ctx, node, f"systemctl is-active {shlex.quote(unit)}", sudo=False)
    state = _state_word(result, ACTIVE_STATES)
    if state is None:
        return _systemctl_failed(result, node, unit, "active")
    if want:
        expected = "active"
        passed = state == "active"
    else:
        expected = "not active (inactive or failed)"
        passed = state in NOT_ACTIVE_STATES
    if passed:
        return Observation.ok(
            f"{unit} is {state} on {node.name}", expected=expected, observed=state
        )
    return Observation.fail(
        f"{unit} is {state} on {node.name}, expected {expected}", expected=expected, observed=state
    )


@host_check(
    "host.service_enabled",
    params={
        "unit": P(str, required=True, help="systemd unit, e.g. mesos-master"),
        "enabled": P(bool, default=True, help="true: starts at boot; false: does not"),
    },
    validate=_validate_unit,
)
def service_enabled(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A systemd unit starts at boot (``systemctl is-enabled``) — or, with ``enabled: false``,
    does not (disabled, masked, static or not installed)."""
    unit: str = params["unit"]
    want = bool(params["enabled"])
    result = run(ctx, node, f"systemctl is-enabled {shlex.quote(unit)}", sudo=False)
    state = _state_word(result, UNIT_FILE_STATES)
    if state is None and re.search(
        r"No such file or directory|not[- ]found|does not exist", result.output
    ):
        state = "not-found"  # systemd < 240 prints an error instead of "not-found"
    if state is None:
        return _systemctl_failed(result, node, unit, "enabled")
    if want:
        expected = "enabled"
        passed = state in ENABLED_STATES
    else:
        expected = "not enabled (disabled or masked)"
        passed = state in NOT_ENABLED_STATES
    if passed:
        return Observation.ok(
            f"{unit} is {state} on {node.name}", expected=expected, observed=state
        )
    summary = f"{unit} is {state} on {node.name}, expected {expected}"
    if state == "not-found":
        summary = f"there is no unit {unit} on {node.name} (is its package installed?)"
    elif state == "static" and want:
        summary += " (a static unit cannot be enabled: it starts when another unit needs it)"
    return Observation.fail(summary, expected=expected, observed=state)


def _state_word(result: CommandResult, words: frozenset[str]) -> str | None:
    for line in result.lines:
        word = line.strip()
        if word in words:
            return word
    return None


def _systemctl_failed(result: CommandResult, node: Node, unit: str, what: str) -> Observation:
    if result.exit_status == 127 or re.search(r"systemctl: (command )?not found", result.output):
        return Observation.fail(
            f"systemctl is not available on {node.name}: is it a systemd host?",
            expected=f"{unit} {what}",
            observed="systemctl: command not found",
        )
    reason = result.tail(1, LINE_WIDTH) or f"exit {result.exit_status} and no output"
    return Observation.fail(
        f"systemctl could not tell whether {unit} is {what} on {node.name}: {reason}",
        expected=f"{unit} {what}",
        observed=result.tail(3, LINE_WIDTH) or reason,
    )
