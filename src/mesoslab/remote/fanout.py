"""Run one command on many nodes at once (``mesoslab run``, provisioning)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from mesoslab.errors import ConnectionDropped, RemoteError
from mesoslab.lab.inventory import Node
from mesoslab.remote.result import CommandResult

if TYPE_CHECKING:
    from mesoslab.remote.pool import SshPool

MAX_PARALLEL = 16


def run_on_nodes(
    pool: SshPool,
    nodes: Sequence[Node],
    command: str,
    *,
    sudo: bool = False,
    timeout: float = 30.0,
    on_output: Callable[[Node, str], None] | None = None,
    max_parallel: int = MAX_PARALLEL,
    cancel: threading.Event | None = None,
) -> list[CommandResult]:
    """Run ``command`` on every node in parallel; results come back in node order.

    A node that cannot be reached (or whose connection drops) does not stop the others:
    its result has ``exit_status`` -1 and ``error`` set to the one-line reason, with any
    output it produced. ``on_output(node, line)`` is called from worker threads, possibly
    at the same time for different nodes.

    Setting ``cancel`` stops waiting on every node at once: each result comes back with
    ``cancelled`` and the output so far (a node not started yet runs nothing).
    """
    if not nodes:
        return []

    def one(node: Node) -> CommandResult:
        start = time.monotonic()
        sink = None
        if on_output is not None:

            def sink(line: str) -> None:
                on_output(node, line)

        try:
            return pool.run(
                node, command, sudo=sudo, timeout=timeout, on_output=sink, cancel=cancel
            )
        except ConnectionDropped as exc:
            return replace(exc.partial, command=command, error=str(exc))
        except RemoteError as exc:
            ssh = node.ssh
            return CommandResult(
                command=command,
                exit_status=-1,
                output="",
                node=node.name,
                host=f"{ssh.host}:{ssh.port}" if ssh is not None else "",
                elapsed_s=time.monotonic() - start,
                error=str(exc),
            )

    workers = max(1, min(max_parallel, len(nodes)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ssh-fanout") as ex:
        return list(ex.map(one, nodes))
