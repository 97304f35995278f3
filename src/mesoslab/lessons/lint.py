"""`mesoslab lint`: the loader's problems plus cross-lesson checks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mesoslab.lessons.catalog import LESSON_FILE, lesson_files
from mesoslab.lessons.loader import Problem, load_lesson

# What `mesoslab lint DIR` looks for, said when it finds nothing.
LAYOUT = f"a lesson file, a folder holding {LESSON_FILE}, or a folder of NN-slug/{LESSON_FILE}"


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


def lint_paths(paths: Iterable[Path]) -> list[Problem]:
    problems: list[Problem] = []
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
    return problems
