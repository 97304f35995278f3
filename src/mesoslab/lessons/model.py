"""The lesson model: what the loader makes of a lesson file. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mesoslab.checks.spec import CheckSpec

PLATFORMS = ("centos7", "rehearsal")
LEADING_MASTER = "leading-master"  # an action target resolved live to the leading master


@dataclass(frozen=True)
class Action:
    """A command block: run ``code`` on the nodes named by ``on``."""

    code: str
    on: str
    sudo: bool = False
    platform: str | None = None  # None = every platform
    lang: str = "sh"
    line: int = 0

    def applies_to(self, platform: str) -> bool:
        return self.platform is None or self.platform == platform


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    body: str  # the step's Markdown (heading excluded), for rendering
    actions: tuple[Action, ...]
    checks: tuple[CheckSpec, ...]
    line: int = 0

    def actions_for(self, platform: str) -> list[Action]:
        return [a for a in self.actions if a.applies_to(platform)]


@dataclass(frozen=True)
class Lesson:
    id: str  # "lesson-3"
    number: int
    title: str
    summary: str
    preset: str
    builds_on: tuple[str, ...]
    platforms: tuple[str, ...]
    path: Path
    intro: str
    steps: tuple[Step, ...]
    # Steps whose checks describe a temporary state (a failover drill that a later step
    # undoes): a whole-lesson verify reports them as skipped; `--step N` checks them.
    drill_steps: tuple[int, ...] = ()

    def step(self, number: int) -> Step | None:
        return next((s for s in self.steps if s.number == number), None)

    @property
    def counted_steps(self) -> frozenset[int]:
        """The steps that make the lesson done: every step but the drills."""
        return frozenset(s.number for s in self.steps) - frozenset(self.drill_steps)
