"""What every host check shares: registration (no default role, needs ``[node.ssh]``),
running a command or reading a file over the session's SshPool within the attempt's
request timeout, and the wording of an unexpected answer.

Paths and unit names are shell-quoted by the kinds. Each kind makes one attempt and
returns an Observation; a transport problem is a ProbeError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mesoslab.checks.registry import Param, check
from mesoslab.errors import RemoteCommandError
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.result import CommandResult
from mesoslab.remote.session import CheckContext

FIRST_LINES = 10
LINE_WIDTH = 160


def host_check(
    name: str,
    *,
    params: dict[str, Param],
    validate: Callable[[dict[str, Any]], list[str]] | None = None,
    role: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a kind that runs on each node over SSH: on the nodes ``on:`` names (host.*
    kinds have no default ``role``), skipped on a node without ``[node.ssh]``."""
    return check(name, role=role, needs_ssh=True, params=params, validate=validate)


def run(ctx: CheckContext, node: Node, cmd: str, *, sudo: bool) -> CommandResult:
    """``cmd`` on ``node``; a ProbeError when it does not finish within the request timeout."""
    timeout = ctx.request_timeout()
    result = ctx.session.ssh.run(node, cmd, sudo=sudo, timeout=timeout)
    if result.timed_out:
        raise ProbeError(
            f"`{cut(' '.join(cmd.split()), 60)}` on {node.name} did not finish within "
            f"{timeout:.1f}s",
            "timed out" + (f"; output so far: {result.tail(1, 100)}" if result.output else ""),
            answered=False,
        )
    return result


def read_text(ctx: CheckContext, node: Node, path: str, *, sudo: bool) -> str:
    """The content of ``path`` on ``node``; a ProbeError naming why it cannot be read."""
    try:
        data = ctx.session.ssh.read_file(node, path, sudo=sudo, timeout=ctx.request_timeout())
    except RemoteCommandError as exc:
        reason = _last(exc.stderr) or f"exit status {exc.exit_status}"
        if "No such file or directory" in exc.stderr:
            raise ProbeError(f"{path} does not exist on {node.name}", reason) from None
        raise ProbeError(f"cannot read {path} on {node.name}: {reason}", reason) from None
    return data.decode("utf-8", "replace")


def unexpected(result: CommandResult, node: Node) -> ProbeError:
    """The error for an answer a check cannot make sense of."""
    observed = result.tail(3, LINE_WIDTH) or f"exit {result.exit_status} and no output"
    return ProbeError(
        f"unexpected answer from {node.name}: {result.tail(1, 100) or 'no output'}", observed
    )


def regex_problem(name: str, pattern: Any) -> list[str]:
    """The problem with parameter ``name`` when it is not a valid regular expression."""
    if not isinstance(pattern, str):
        return []
    try:
        re.compile(pattern)
    except re.error as exc:
        return [f"{name!r} is not a valid regular expression: {exc}"]
    return []


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _last(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
