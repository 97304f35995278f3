"""Results of checks: what one attempt observed, and what a settled check reports."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Observation:
    """What one attempt of a check saw."""

    status: Status
    summary: str
    expected: str = ""
    observed: str = ""
    answered: bool = True  # False: nothing to judge came back (unreachable, timed out)

    @classmethod
    def ok(cls, summary: str, *, expected: str = "", observed: str = "") -> Observation:
        return cls(Status.PASS, summary, expected, observed)

    @classmethod
    def fail(
        cls, summary: str, *, expected: str = "", observed: str = "", answered: bool = True
    ) -> Observation:
        return cls(Status.FAIL, summary, expected, observed, answered)

    @classmethod
    def skip(cls, summary: str) -> Observation:
        return cls(Status.SKIP, summary)


@dataclass(frozen=True)
class CheckResult:
    """A settled check: the contract fields of ``mesoslab verify --format json``."""

    kind: str
    node: str
    status: Status
    summary: str
    expected: str
    observed: str
    hint: str
    attempts: int
    elapsed_s: float

    @property
    def passed(self) -> bool:
        return self.status is not Status.FAIL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["elapsed_s"] = round(self.elapsed_s, 2)
        return data


@dataclass(frozen=True)
class Waiting:
    """A check still settling: what its last attempt saw, and until when it may wait."""

    observation: Observation
    deadline: float  # time.monotonic() at which the check gives up

    def left(self, now: float | None = None) -> float:
        return max(0.0, self.deadline - (time.monotonic() if now is None else now))

    def line(self, now: float | None = None) -> str:
        """``saw [31000-32000] · waiting for [21000-24000, 30000-64000] · 72 s left``."""
        obs = self.observation
        parts = [f"saw {obs.observed}" if obs.observed else obs.summary]
        if obs.expected:
            parts.append(f"waiting for {obs.expected}")
        parts.append(f"{self.left(now):.0f} s left")
        return " · ".join(parts)
