"""`mesoslab lint`: the loader's problems plus cross-lesson checks, and warnings.

A problem fails the lint (exit status 1); a warning is said but does not: a lesson without
its sources file (``<lessons dir>/../docs/sources/<lesson id>.md``, the source of each
claim and command of the lesson) is worth fixing, not worth failing CI for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mesoslab.lessons.catalog import LESSON_FILE, lesson_files
from mesoslab.lessons.loader import Problem, load_lesson

# What `mesoslab lint DIR` looks for, said when it finds nothing.
LAYOUT = f"a lesson file, a folder holding {LESSON_FILE}, or a folder of NN-slug/{LESSON_FILE}"


@dataclass(frozen=True)
class LintWarning(Problem):
    """Something to fix that does not fail ``mesoslab lint``."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: warning: {self.message}"


@dataclass
class Linted:
    """What linting found: problems fail the lint, warnings do not."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[LintWarning] = field(default_factory=list)


def sources_file(lesson_file: Path, lesson_id: str) -> Path:
    """Where the sources of a lesson live: ``<lessons dir>/../docs/sources/<id>.md``, the
    lessons dir being the folder that holds the lesson's ``NN-slug/`` folder."""
    lessons = lesson_file.resolve().parent.parent
    return lessons.parent / "docs" / "sources" / f"{lesson_id}.md"


def lesson_targets(target: Path) -> list[Path]:
    """The lesson files ``target`` names: itself (a file), its own ``lesson.md`` (a lesson's
    folder), or every ``NN-slug/lesson.md`` in it (a folder of lessons, in lesson order,
    then any other ``*/lesson.md`` so that a misnamed folder is linted, not skipped)."""
    if target.is_file():
        return [target]
    own = target / LESSON_FILE
    if own.is_file():
        return [own]
    files = [entry.path for entry in lesson_files(target)]
    files.extend(sorted(p for p in target.glob(f"*/{LESSON_FILE}") if p not in files))
    return files


def lint_paths(paths: Iterable[Path]) -> Linted:
    """Load each lesson once: its own problems, the cross-lesson ones, and the warnings."""
    linted = Linted()
    problems = linted.problems
    seen_ids: dict[str, Path] = {}
    for path in paths:
        result = load_lesson(path)
        problems.extend(result.problems)
        lesson = result.lesson
        if lesson is None:
            continue
        if lesson.id in seen_ids:
            problems.append(
                Problem(str(path), 1, f"{lesson.id} is also defined in {seen_ids[lesson.id]}")
            )
        seen_ids[lesson.id] = path
        if lesson.id in lesson.builds_on:
            problems.append(Problem(str(path), 1, f"{lesson.id} builds on itself"))
        for step in lesson.steps:
            for platform in lesson.platforms:
                if not step.actions_for(platform) and any(a.platform for a in step.actions):
                    problems.append(
                        Problem(
                            str(path),
                            step.line,
                            f"step {step.number} has platform-specific commands but none for "
                            f"{platform}",
                        )
                    )
        wanted = sources_file(path, lesson.id)
        if not wanted.is_file():
            linted.warnings.append(
                LintWarning(
                    str(path),
                    1,
                    f"{lesson.id} has no sources file: write {wanted} (for each claim and "
                    "each command the learner runs, the source it rests on)",
                )
            )
    return linted
