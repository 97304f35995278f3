"""Which lessons a lesson builds on are not done yet on this lab (from the learner's progress).

A lesson's ``builds_on`` names the lessons whose end state it starts from; they are followed
through (lesson 3 builds on 1, which builds on nothing). A lesson is done when every step
that is not a drill has passed verify on this lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mesoslab.errors import MesoslabError
from mesoslab.lessons.catalog import load
from mesoslab.lessons.model import Lesson
from mesoslab.progress import ProgressStore


@dataclass(frozen=True)
class Prerequisite:
    lesson: str
    title: str
    passed: int  # steps passed on this lab (drills not counted)
    steps: int

    @property
    def text(self) -> str:
        return f"{self.lesson} ({self.title}): {self.passed}/{self.steps} steps passed"


def unfinished_prerequisites(lesson: Lesson, progress_path: Path) -> list[Prerequisite]:
    """The lessons ``lesson`` builds on (directly or not) that are not done, in order.

    A lesson that cannot be loaded is left out: `mesoslab lint` reports it.
    """
    store = ProgressStore(progress_path)
    seen: dict[str, Lesson] = {}
    todo = list(lesson.builds_on)
    while todo:
        lesson_id = todo.pop()
        if lesson_id in seen or lesson_id == lesson.id:
            continue
        try:
            seen[lesson_id] = earlier = load(lesson_id)
        except MesoslabError:
            continue
        todo.extend(earlier.builds_on)
    unfinished = []
    for earlier in sorted(seen.values(), key=lambda item: item.number):
        counted = earlier.counted_steps
        passed = len(store.passed_steps(earlier.id) & counted)
        if passed < len(counted):
            unfinished.append(Prerequisite(earlier.id, earlier.title, passed, len(counted)))
    return unfinished
