"""Where the tests find the repository, its lessons and the recorded API fixtures."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "fixtures"
LESSONS = REPO / "lessons"
