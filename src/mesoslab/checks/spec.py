"""A check as a lesson declares it (kind, target, parameters, timeout, hint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckSpec:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    on: str | None = None  # role or node name; None = the kind's default role
    timeout: float | None = None  # settling time in seconds; None = the verify default
    hint: str = ""
    file: str = "<memory>"
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"
