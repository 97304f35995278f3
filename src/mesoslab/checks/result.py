"""Results of checks: what one attempt observed, and what a settled check reports."""

from __future__ import annotations

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
