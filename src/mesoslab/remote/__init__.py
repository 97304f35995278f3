"""How a request travels to a lab node: commands over SSH (paramiko, :mod:`.pool`), HTTP
probes (:mod:`.http`), ZooKeeper four-letter words (:mod:`.zk4lw`) and the Session that
shares their clients (:mod:`.session`). Used by the checks, the lab status and the TUI.

Importing this package is cheap: paramiko is imported only with :mod:`mesoslab.remote.pool`
(``SshPool`` below is loaded on first access), so ``mesoslab --help`` never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesoslab.errors import ConnectionDropped, RemoteCommandError
from mesoslab.remote.fanout import run_on_nodes
from mesoslab.remote.result import CommandResult
from mesoslab.remote.shell import wrap_sudo

if TYPE_CHECKING:
    from mesoslab.remote.pool import SshPool

__all__ = [
    "CommandResult",
    "ConnectionDropped",
    "RemoteCommandError",
    "SshPool",
    "run_on_nodes",
    "wrap_sudo",
]


def __getattr__(name: str) -> Any:
    if name == "SshPool":
        from mesoslab.remote.pool import SshPool

        return SshPool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
