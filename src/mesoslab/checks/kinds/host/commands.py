"""Host checks that run something on a node: a command's exit status and output, and
whether a TCP port is listening (``ss -ltn``, or /proc/net/tcp where there is no ss)."""

from __future__ import annotations

import re
from typing import Any

from mesoslab.checks.kinds.host.common import (
    FIRST_LINES,
    LINE_WIDTH,
    cut,
    host_check,
    regex_problem,
    run,
    unexpected,
)
from mesoslab.checks.registry import P
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.result import CommandResult
from mesoslab.remote.session import CheckContext

_PORTS_SHOWN = 40


def _validate_command(params: dict[str, Any]) -> list[str]:
    problems = regex_problem("output", params.get("output"))
    if isinstance(params.get("command"), str) and not params["command"].strip():
        problems.append("'command' is empty")
    return problems


def _validate_port(params: dict[str, Any]) -> list[str]:
    port = params.get("port")
    if isinstance(port, int) and not 0 < port < 65536:
        return [f"'port' must be between 1 and 65535, got {port}"]
    return []


# ---------------------------------------------------------------------- check kinds


@host_check(
    "host.command",
    params={
        "command": P(str, required=True, help="shell command run on the node"),
        "exit": P(int, default=0, help="expected exit status (default 0)"),
        "output": P(str, help="regular expression the combined output must match"),
        "sudo": P(bool, default=False, help="run as root (sudo -n)"),
    },
    validate=_validate_command,
)
def command(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A command on the node exits with the expected status (and its output matches)."""
    cmd: str = params["command"]
    want_exit = int(params["exit"])
    pattern: str | None = params.get("output")
    result = run(ctx, node, cmd, sudo=bool(params["sudo"]))
    refused = _sudo_refusal(result) if params["sudo"] else None
    if refused:
        return Observation.fail(
            f"sudo on {node.name} refused to run `{cut(cmd, 60)}`: {refused}",
            expected="passwordless sudo for the SSH user",
            observed=refused,
        )
    tail = result.tail(FIRST_LINES, LINE_WIDTH)
    observed = f"exit {result.exit_status}" + (f"\n{tail}" if tail else "")
    expected = f"exit {want_exit}" + (f", output matching /{pattern}/" if pattern else "")
    shown = cut(" ".join(cmd.split()), 60)
    if result.exit_status != want_exit:
        return Observation.fail(
            f"`{shown}` on {node.name} exited {result.exit_status}, expected {want_exit}",
            expected=expected,
            observed=observed,
        )
    if pattern and re.search(pattern, result.output, re.MULTILINE) is None:
        return Observation.fail(
            f"the output of `{shown}` on {node.name} does not match /{pattern}/",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"`{shown}` on {node.name} exited {want_exit}", expected=expected, observed=observed
    )


@host_check(
    "host.port_listening",
    params={
        "port": P(int, required=True, help="TCP port"),
        "listening": P(bool, default=True, help="true: something listens; false: nothing"),
    },
    validate=_validate_port,
)
def port_listening(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """Something listens on a TCP port of the node (``ss -ltn``, or /proc/net/tcp without ss)."""
    port = int(params["port"])
    want = bool(params["listening"])
    result = run(
        ctx,
        node,
        "if command -v ss >/dev/null 2>&1; then echo mesoslab:ss; ss -ltn; "
        "else echo mesoslab:proc; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi",
        sudo=False,
    )
    ports = listening_ports(result.output)
    if ports is None:
        raise unexpected(result, node)
    observed = "listening: " + format_ports(ports)
    expected = f"port {port} listening" if want else f"nothing on port {port}"
    if (port in ports) == want:
        state = "something listens" if want else "nothing listens"
        return Observation.ok(
            f"{state} on TCP port {port} on {node.name}", expected=expected, observed=observed
        )
    if want:
        return Observation.fail(
            f"nothing listens on TCP port {port} on {node.name}",
            expected=expected,
            observed=observed,
        )
    return Observation.fail(
        f"something listens on TCP port {port} on {node.name}", expected=expected, observed=observed
    )


# ---------------------------------------------------------------------- helpers


def _sudo_refusal(result: CommandResult) -> str | None:
    for line in result.lines:
        if line.startswith("sudo:") and re.search(
            r"password is required|not in the sudoers|terminal is required|command not found",
            line,
        ):
            return line.strip()
    return None


def listening_ports(output: str) -> set[int] | None:
    """TCP ports in LISTEN state from ``ss -ltn`` or /proc/net/tcp{,6} output after the
    ``mesoslab:ss`` / ``mesoslab:proc`` marker; None when neither marker is there."""
    lines = output.splitlines()
    for marker, parse in (("mesoslab:ss", _ports_from_ss), ("mesoslab:proc", _ports_from_proc)):
        if marker in lines:
            return parse(lines[lines.index(marker) + 1 :])
    return None


def _ports_from_ss(lines: list[str]) -> set[int]:
    ports: set[int] = set()
    for line in lines:
        tokens = line.split()
        # State Recv-Q Send-Q Local:Port Peer:Port (State is missing in some versions)
        for i in range(len(tokens) - 2):
            if tokens[i].isdigit() and tokens[i + 1].isdigit():
                port = tokens[i + 2].rsplit(":", 1)[-1]
                if port.isdigit():
                    ports.add(int(port))
                break
    return ports


def _ports_from_proc(lines: list[str]) -> set[int]:
    ports: set[int] = set()
    for line in lines:
        tokens = line.split()
        # sl local_address rem_address st ...; state 0A is LISTEN
        if len(tokens) > 3 and tokens[0].endswith(":") and tokens[3] == "0A":
            try:
                ports.add(int(tokens[1].rsplit(":", 1)[1], 16))
            except (IndexError, ValueError):
                continue
    return ports


def format_ports(ports: set[int]) -> str:
    if not ports:
        return "none"
    ordered = sorted(ports)
    shown = ", ".join(map(str, ordered[:_PORTS_SHOWN]))
    if len(ordered) > _PORTS_SHOWN:
        shown += f", … ({len(ordered) - _PORTS_SHOWN} more)"
    return shown
