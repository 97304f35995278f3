"""Lesson ids are a contract: lesson-1 … lesson-11; ``3``, ``03`` and ``lesson-03`` also work."""

from __future__ import annotations

import re

LESSON_COUNT = 11
_ID_RE = re.compile(r"^(?:lesson-?)?0*(\d{1,2})$", re.IGNORECASE)


def normalize_lesson_id(text: str) -> str | None:
    match = _ID_RE.match(text.strip())
    if not match:
        return None
    number = int(match.group(1))
    return f"lesson-{number}" if 1 <= number <= LESSON_COUNT else None
