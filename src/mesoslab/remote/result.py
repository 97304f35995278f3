"""What a remote command produced (the errors that carry one are in :mod:`mesoslab.errors`).

This module stays free of paramiko so that importing :mod:`mesoslab.remote` is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a stopped command's result says. Without a terminal sshd does not signal the command
# when its channel closes, so it is honest about what may still be happening on the node.
STOPPED = (
    "stopped by you (the command may still be running on the node until it next writes output)"
)


@dataclass(frozen=True)
class CommandResult:
    """One command run on one node.

    ``output`` is stdout and stderr combined, as the learner would see them in a terminal.
    ``exit_status`` is -1 when no exit status came back: the command timed out, was stopped
    (``cancelled``), was killed by a signal, or (in a fan-out result) could not be started
    (``error`` says why).
    """

    command: str
    exit_status: int
    output: str
    node: str  # inventory node name
    host: str  # "host:port" it ran on
    elapsed_s: float
    timed_out: bool = False
    error: str = ""  # set by run_on_nodes when the command could not run at all
    cancelled: bool = False  # the caller stopped waiting for it (its cancel event was set)

    @property
    def ok(self) -> bool:
        return (
            self.exit_status == 0 and not self.timed_out and not self.cancelled and not self.error
        )

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()

    def tail(self, count: int = 5, width: int = 200) -> str:
        """The last ``count`` non-empty lines, each cut to ``width`` characters."""
        lines = [line.rstrip() for line in self.output.splitlines() if line.strip()]
        return "\n".join(_cut(line, width) for line in lines[-count:])

    def describe(self) -> str:
        """One line: how the command ended."""
        if self.error:
            return f"{self.node}: {self.error}"
        if self.cancelled:
            return f"{self.node}: {STOPPED}"
        if self.timed_out:
            return f"{self.node}: timed out after {self.elapsed_s:.1f}s"
        if self.exit_status == -1:
            return f"{self.node}: ended without an exit status (killed by a signal?)"
        return f"{self.node}: exit {self.exit_status}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
