"""Nothing secret leaves the learner's machine: every string of an event is scrubbed before
it is queued.

Removed: private key blocks (PEM and OpenSSH), SSH public key material, the contents and
paths of the inventory's SSH keys, the values of environment variables whose names say they
are secret (…KEY, …TOKEN, …SECRET, …PASSWORD, …), ``name=value`` pairs that look like
credentials, and the learner's own class token. The environment itself is never sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|PWD|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
_PATTERNS = [
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.S
    ),
    re.compile(
        r"\b(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+AAAA[0-9A-Za-z+/=]+"
    ),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
]
_ASSIGNMENT = re.compile(  # password=…, token: …  (the name stays, the value goes)
    r"(?i)\b((?:password|passwd|secret|token|api[_-]?key|access[_-]?key)[\w-]*\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|\S+)"
)
_MIN_SECRET = 6  # shorter values would redact ordinary words


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {s for s in secrets if len(s) >= _MIN_SECRET}
        self.secrets = sorted(found, key=len, reverse=True)  # longest first

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            value = pattern.sub(REDACTED, value)
        return _ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, value)

    def value(self, value: Any) -> Any:
        """``value`` (JSON: dicts, lists, strings, numbers) with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def environment_secrets(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [value for name, value in env.items() if _SECRET_NAME.search(name) and value]


def key_file_secrets(paths: Iterable[str]) -> list[str]:
    """The paths of SSH keys and every long line of their contents."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        out.extend([raw, str(path)])
        try:
            if path.stat().st_size <= 64 * 1024:
                out.extend(
                    line.strip()
                    for line in path.read_text(errors="replace").splitlines()
                    if len(line.strip()) >= 16
                )
        except OSError:
            continue
    return out


def inventory_key_paths(inventory: Any) -> list[str]:
    """The SSH key paths an inventory names (``Inventory`` from mesoslab.lab.inventory)."""
    paths: list[str] = []
    for node in getattr(inventory, "nodes", ()):
        ssh = getattr(node, "ssh", None)
        if ssh is not None:
            paths.extend(p for p in (ssh.key, *ssh.extra_keys) if p)
    return paths


def redactor_for(inventory: Any = None, *, token: str = "") -> Redactor:
    secrets = environment_secrets()
    if inventory is not None:
        secrets.extend(key_file_secrets(inventory_key_paths(inventory)))
    if token:
        secrets.append(token)
    return Redactor(secrets)
