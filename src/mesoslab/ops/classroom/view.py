"""What the instructor sees, built from the class database: learners × lessons/steps, who
is stuck (with the last failed check's expected/observed/hint) and how many learners
finished each step. The dashboard, the TUI screen and ``class report`` all read this.

A learner is stuck on a step when the same check failed there ``fails`` times in a row or
has kept failing for ``minutes`` minutes (both counted from the verifies the server
received, on the server's clock).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mesoslab.errors import LessonError
from mesoslab.ops.classroom.store import ClassStore


@dataclass(frozen=True)
class StuckRule:
    fails: int = 3
    minutes: float = 10.0


@dataclass
class StepCell:
    status: str  # pass | fail | skip
    verified_at: str
    fail_count: int = 0
    failing_since: str | None = None
    last_fail: list[dict[str, str]] = field(default_factory=list)

    def stuck(self, rule: StuckRule, now: datetime) -> bool:
        if self.status != "fail":
            return False
        if self.fail_count >= rule.fails:
            return True
        since = _parse(self.failing_since)
        return since is not None and (now - since).total_seconds() >= rule.minutes * 60


@dataclass
class LearnerRow:
    id: int
    name: str
    joined_at: str
    last_seen: str
    left: bool
    lesson: str | None  # where the learner is now
    step: int | None
    steps: dict[str, dict[int, StepCell]] = field(default_factory=dict)  # lesson -> step -> cell

    def passed(self, lesson: str, counted: frozenset[int]) -> bool:
        cells = self.steps.get(lesson, {})
        return bool(counted) and all(
            cells.get(n) is not None and cells[n].status == "pass" for n in counted
        )

    def to_json(self, rule: StuckRule, now: datetime) -> dict[str, Any]:
        stuck = [
            {
                "lesson": lesson,
                "step": number,
                "fail_count": cell.fail_count,
                "failing_since": cell.failing_since,
                "checks": cell.last_fail,
            }
            for lesson, cells in sorted(self.steps.items(), key=lambda kv: _lesson_number(kv[0]))
            for number, cell in sorted(cells.items())
            if cell.stuck(rule, now)
        ]
        return {
            "name": self.name,
            "joined_at": self.joined_at,
            "last_seen": self.last_seen,
            "left": self.left,
            "lesson": self.lesson,
            "step": self.step,
            "steps": {
                lesson: {
                    str(n): {
                        "status": c.status,
                        "fail_count": c.fail_count,
                        "failing_since": c.failing_since,
                    }
                    for n, c in sorted(cells.items())
                }
                for lesson, cells in self.steps.items()
            },
            "stuck": stuck,
        }


@dataclass(frozen=True)
class LessonColumn:
    id: str
    title: str
    steps: tuple[tuple[int, str], ...]  # (number, title)
    counted: frozenset[int]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "steps": [{"step": n, "title": t} for n, t in self.steps],
            "counted": sorted(self.counted),
        }


@dataclass
class ClassView:
    name: str
    code: str
    code_open: bool
    rule: StuckRule
    now: datetime
    lessons: list[LessonColumn]
    learners: list[LearnerRow]

    def completion(self) -> dict[str, dict[int, int]]:
        """lesson -> step -> how many (present) learners passed it."""
        out: dict[str, dict[int, int]] = {}
        for column in self.lessons:
            out[column.id] = {
                n: sum(
                    1
                    for row in self.learners
                    if not row.left
                    and (cell := row.steps.get(column.id, {}).get(n)) is not None
                    and cell.status == "pass"
                )
                for n, _ in column.steps
            }
        return out

    def stuck(self) -> list[tuple[LearnerRow, str, int, StepCell]]:
        return [
            (row, lesson, number, cell)
            for row in self.learners
            if not row.left
            for lesson, cells in row.steps.items()
            for number, cell in sorted(cells.items())
            if cell.stuck(self.rule, self.now)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.name,
            "code_open": self.code_open,
            "now": self.now.isoformat(timespec="milliseconds"),
            "stuck_rule": {"fails": self.rule.fails, "minutes": self.rule.minutes},
            "lessons": [c.to_json() for c in self.lessons],
            "learners": [r.to_json(self.rule, self.now) for r in self.learners],
            "completion": {
                lesson: {str(n): count for n, count in steps.items()}
                for lesson, steps in self.completion().items()
            },
        }


def build_view(store: ClassStore, rule: StuckRule | None = None) -> ClassView:
    info = store.info()
    rows = _rows(store)
    return ClassView(
        info.name,
        info.code,
        info.code_open,
        rule or StuckRule(),
        datetime.now(UTC),
        lesson_columns(rows),
        rows,
    )


def learner_row(store: ClassStore, learner_id: int) -> LearnerRow | None:
    """One learner's row, fresh from the database (what the live stream sends)."""
    found = _rows(store, learner_id)
    return found[0] if found else None


def _rows(store: ClassStore, learner_id: int | None = None) -> list[LearnerRow]:
    rows = {
        r[0]: LearnerRow(r[0], r[1], r[2], r[3], r[4] is not None, r[5], r[6])
        for r in store.learner_rows(learner_id)
    }
    for owner, lesson, number, status, verified, count, since, last in store.step_rows(learner_id):
        row = rows.get(owner)
        if row is not None:
            row.steps.setdefault(lesson, {})[number] = StepCell(
                status, verified, count, since, json.loads(last) if last else []
            )
    return list(rows.values())


def lesson_columns(rows: Any) -> list[LessonColumn]:
    """The lessons any learner has reached, in lesson order, with their steps."""
    ids: set[str] = set()
    for row in rows:
        ids.update(row.steps)
        if row.lesson:
            ids.add(row.lesson)
    return [lesson_column(i) for i in sorted(ids, key=_lesson_number)]


@functools.lru_cache(maxsize=64)
def lesson_column(lesson_id: str) -> LessonColumn:
    """A lesson's steps from the catalog (a lesson this mesoslab lacks: the steps seen)."""
    from mesoslab.lessons.catalog import load

    try:
        lesson = load(lesson_id)
    except LessonError:
        return LessonColumn(lesson_id, lesson_id, (), frozenset())
    return LessonColumn(
        lesson.id,
        lesson.title,
        tuple((s.number, s.title) for s in lesson.steps),
        lesson.counted_steps,
    )


def _lesson_number(lesson_id: str) -> int:
    tail = lesson_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
