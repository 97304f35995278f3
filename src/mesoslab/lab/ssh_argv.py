"""The OpenSSH command line that reaches a node of the inventory.

Used by `mesoslab ssh NODE -- COMMAND` and the TUI's ssh key. A lab's machines are
recreated with new host keys, so the host key is neither checked nor remembered (as
`vagrant ssh` does); the inventory's keys are offered and no others (``IdentitiesOnly``),
so an agent full of keys cannot use up sshd's ``MaxAuthTries`` first.
"""

from __future__ import annotations

from collections.abc import Sequence

from mesoslab.lab.inventory import SshTarget

_LAB_HOST_OPTIONS = (
    "StrictHostKeyChecking=no",
    "UserKnownHostsFile=/dev/null",
    "LogLevel=ERROR",
)


def openssh_argv(target: SshTarget, command: Sequence[str] = (), *, tty: bool = False) -> list[str]:
    """``ssh [-t] -p PORT [-i KEY…] -o … USER@HOST [-- COMMAND…]``.

    ``command`` is passed on as `ssh host cmd…` passes it: the words joined by spaces and
    run by the login shell on the node. ``tty`` asks for a terminal (``-t``), which a
    command gets only when the caller runs interactively.
    """
    argv = ["ssh"]
    if tty:
        argv.append("-t")
    argv += ["-p", str(target.port)]
    keys = [key for key in (target.key, *target.extra_keys) if key]
    for key in keys:
        argv += ["-i", key]
    if keys:
        argv += ["-o", "IdentitiesOnly=yes"]
    for option in _LAB_HOST_OPTIONS:
        argv += ["-o", option]
    argv.append(f"{target.user}@{target.host}")
    if command:
        argv += ["--", *command]
    return argv
