"""`mesoslab lint`: the loader's problems plus cross-lesson checks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mesoslab.lessons.loader import Problem, load_lesson


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
