"""Where lessons live and how an id becomes a loaded lesson."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mesoslab.errors import LessonError
from mesoslab.lessons.ids import LESSON_COUNT, normalize_lesson_id
from mesoslab.lessons.loader import LoadResult, load_lesson
from mesoslab.lessons.model import Lesson

LESSON_FILE = "lesson.md"


def lessons_dir() -> Path:
    """The lesson content folder: $MESOSLAB_LESSONS, the checkout's ``lessons/`` (editable
    install), or the copy shipped inside the package."""
    env = os.environ.get("MESOSLAB_LESSONS")
    if env:
        return Path(env).expanduser()
    package = Path(__file__).resolve().parents[1]
    checkout = package.parents[1] / "lessons"
    if checkout.is_dir():
        return checkout
    return package / "_lessons"


@dataclass(frozen=True)
class LessonEntry:
    id: str
    path: Path


def lesson_files(root: Path | None = None) -> list[LessonEntry]:
    """Every ``NN-slug/lesson.md`` under ``root``, in lesson order."""
    root = root or lessons_dir()
    entries: list[LessonEntry] = []
    if not root.is_dir():
        return entries
    for folder in sorted(root.iterdir()):
        prefix = folder.name.split("-", 1)[0]
        lesson_id = normalize_lesson_id(prefix) if prefix.isdigit() else None
        file = folder / LESSON_FILE
        if lesson_id and file.is_file():
            entries.append(LessonEntry(lesson_id, file))
    return sorted(entries, key=lambda e: int(e.id.split("-")[1]))


def find_lesson(text: str, root: Path | None = None) -> Path:
    """The file of the lesson named by ``text`` (``lesson-3``, ``3``, ``03``) or a path."""
    candidate = Path(text)
    if candidate.suffix == ".md" and candidate.is_file():
        return candidate
    lesson_id = normalize_lesson_id(text)
    if lesson_id is None:
        raise LessonError(
            f"unknown lesson {text!r}: use lesson-1 … lesson-{LESSON_COUNT} (or 1, 03)"
        )
    for entry in lesson_files(root):
        if entry.id == lesson_id:
            return entry.path
    raise LessonError(
        f"{lesson_id} is not written yet (no lessons/NN-slug/{LESSON_FILE} for it in "
        f"{root or lessons_dir()})",
        hint="`mesoslab lessons` lists the lessons there are",
    )


def load(text: str, root: Path | None = None) -> Lesson:
    """Load a lesson strictly: any problem in the file is a LessonError listing them all."""
    result: LoadResult = load_lesson(find_lesson(text, root))
    if result.lesson is None or result.problems:
        first = result.problems[0] if result.problems else "cannot load lesson"
        more = (
            f" (and {len(result.problems) - 1} more; run `mesoslab lint`)"
            if len(result.problems) > 1
            else ""
        )
        raise LessonError(f"{first}{more}", problems=[str(p) for p in result.problems])
    return result.lesson
