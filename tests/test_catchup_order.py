"""Catch-up applies the earlier lessons of the lesson's own preset, in order: lesson 4 needs
3m-3a, so a 1m-2a lesson after it must not pull it in (the lab would be refused)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mesoslab.errors import UsageError
from mesoslab.lessons.catalog import lessons_dir
from mesoslab.ops.catchup import lessons_through


def _ids(through: str) -> list[str]:
    return [lesson.id for lesson in lessons_through(through)]


def test_the_shipped_lessons_catch_up_along_their_preset() -> None:
    assert _ids("lesson-3") == ["lesson-1", "lesson-2", "lesson-3"]
    assert _ids("4") == ["lesson-4"]  # 3m-3a: no earlier lesson is written for it


def test_a_later_lesson_skips_the_lessons_of_another_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in lessons_dir().iterdir():
        if folder.name[:2] in ("01", "02", "03", "04"):
            shutil.copytree(folder, tmp_path / folder.name)
    text = (lessons_dir() / "03-port-ranges" / "lesson.md").read_text()
    (tmp_path / "05-later").mkdir()
    (tmp_path / "05-later" / "lesson.md").write_text(text.replace("id: lesson-3", "id: lesson-5"))
    monkeypatch.setenv("MESOSLAB_LESSONS", str(tmp_path))
    assert _ids("lesson-5") == ["lesson-1", "lesson-2", "lesson-3", "lesson-5"]
    with pytest.raises(UsageError, match="lesson-6 is not written yet"):
        lessons_through("lesson-6")
    with pytest.raises(UsageError, match="unknown lesson 'lesson-12'"):
        lessons_through("lesson-12")
