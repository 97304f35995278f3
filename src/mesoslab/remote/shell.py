"""Shell command text for remote helpers (no paramiko here: cheap to import)."""

from __future__ import annotations

import secrets
import shlex


def wrap_sudo(command: str, user: str) -> str:
    """``command`` run as root: ``sudo -n sh -c '<command>'``, or as is when ``user`` is root.

    ``-n`` makes sudo fail at once ("a password is required") instead of waiting for a
    password nobody can type.
    """
    if user == "root":
        return command
    return f"sudo -n sh -c {shlex.quote(command)}"


def read_command(path: str) -> str:
    return f"cat -- {shlex.quote(path)}"


def write_command(path: str, mode: int) -> str:
    """Write stdin to ``path`` atomically (temporary file in the same folder, then ``mv``)."""
    target = shlex.quote(path)
    tmp = shlex.quote(f"{path}.mesoslab-{secrets.token_hex(4)}")
    return (
        f"umask 077 && cat > {tmp} && chmod {mode:o} {tmp} && mv -f {tmp} {target}"
        f" || {{ rc=$?; rm -f {tmp}; exit $rc; }}"
    )
