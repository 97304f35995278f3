"""What the docker.* kinds on a node share: running the docker client there as root and
reading its JSON, with the daemon's own words when it is not running."""

from __future__ import annotations

import json
from typing import Any

from mesoslab.checks.kinds.host.common import run, unexpected
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.result import CommandResult
from mesoslab.remote.session import CheckContext

NOT_RUNNING = "Cannot connect to the Docker daemon"
NO_CLIENT = "docker: command not found"


def docker_json(ctx: CheckContext, node: Node, command: str) -> Any:
    """The JSON a ``docker …`` command prints on ``node`` (run with sudo)."""
    result = _docker(ctx, node, command)
    text = result.output
    # stdout and stderr come combined: the JSON starts at the first line that opens it
    starts = [i for i, line in enumerate(text.splitlines()) if line[:1] in ("[", "{")]
    try:
        return json.loads("\n".join(text.splitlines()[starts[0] :]) if starts else text)
    except ValueError:
        raise unexpected(result, node) from None


def docker_lines(ctx: CheckContext, node: Node, command: str) -> list[str]:
    """The non-empty lines a ``docker …`` command prints on ``node`` (run with sudo)."""
    result = _docker(ctx, node, command)
    return [line.strip() for line in result.output.splitlines() if line.strip()]


def _docker(ctx: CheckContext, node: Node, command: str) -> CommandResult:
    result = run(ctx, node, command, sudo=True)
    text = result.output
    if NOT_RUNNING in text:
        raise ProbeError(
            f"Docker is not running on {node.name} (start it: sudo systemctl start docker)",
            "Cannot connect to the Docker daemon",
        )
    if result.exit_status == 127 or NO_CLIENT in text or "docker: not found" in text:
        raise ProbeError(f"Docker is not installed on {node.name}", "no docker command")
    if result.exit_status != 0:
        raise unexpected(result, node)
    return result
