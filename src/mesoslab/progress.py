"""Per-lab progress: which lesson steps passed verify, and when.

Written atomically (temp file + rename), so a crash or Ctrl-C never leaves half a file. A
corrupt file is set aside (renamed ``*.corrupt-<time>``) and reported, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mesoslab.files import load_json_document, write_atomic
from mesoslab.lessons.verify import VerifyReport

VERSION = 1


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mesoslab"


def progress_path_for_inventory(inventory_path: str | Path) -> Path:
    """Progress of a lab given by an inventory file lives in the user's state folder."""
    resolved = str(Path(inventory_path).expanduser().resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:12]
    return state_dir() / "progress" / f"{Path(resolved).stem}-{digest}.json"


class ProgressStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.warning: str | None = None  # set when a corrupt file was set aside
        self._data = self._load()

    def _load(self) -> dict[str, Any]:
        data, self.warning = load_json_document(
            self.path,
            lambda d: isinstance(d, dict) and isinstance(d.get("lessons"), dict),
            "progress file",
        )
        return data if data is not None else {"version": VERSION, "lessons": {}}

    def steps(self, lesson_id: str) -> dict[int, dict[str, Any]]:
        raw = self._data["lessons"].get(lesson_id, {}).get("steps", {})
        out: dict[int, dict[str, Any]] = {}
        for key, value in raw.items():
            if isinstance(value, dict) and str(key).isdigit():
                out[int(key)] = value
        return out

    def passed_steps(self, lesson_id: str) -> set[int]:
        return {n for n, v in self.steps(lesson_id).items() if v.get("passed")}

    def skipped_steps(self, lesson_id: str) -> set[int]:
        """Steps whose last verify skipped every check (not passed, not failed)."""
        return {
            n for n, v in self.steps(lesson_id).items() if v.get("skipped") and not v.get("passed")
        }

    def record(self, report: VerifyReport) -> None:
        """Remember each verified step's outcome and save at once."""
        lesson = self._data["lessons"].setdefault(report.lesson, {"steps": {}})
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for step in report.steps:
            if step.results and all(r.kind == "drill" for r in step.results):
                continue  # a drill step not checked this time: keep what we knew
            entry = lesson["steps"].setdefault(str(step.step), {})
            entry["passed"] = step.done
            if step.skipped:
                entry["skipped"] = True
            else:
                entry.pop("skipped", None)
            entry["verified_at"] = now
            if step.done:
                entry.setdefault("first_passed_at", now)
        self.save()

    def record_start(self, lesson_id: str, step: int, when: datetime) -> None:
        """Remember when the step's commands began (what its checks' ``step start`` means)
        and save at once. Kept apart from the verify outcomes: running is not verifying."""
        lesson = self._data["lessons"].setdefault(lesson_id, {"steps": {}})
        if not isinstance(lesson.get("started"), dict):
            lesson["started"] = {}
        lesson["started"][str(step)] = when.astimezone(UTC).isoformat()
        self.save()

    def starts(self, lesson_id: str) -> dict[int, datetime]:
        """When each step's commands last began, for the steps where that is on record."""
        raw = self._data["lessons"].get(lesson_id, {}).get("started", {})
        out: dict[int, datetime] = {}
        for key, value in raw.items() if isinstance(raw, dict) else ():
            try:
                when = datetime.fromisoformat(str(value))
            except ValueError:
                continue
            if str(key).isdigit():
                out[int(key)] = when if when.tzinfo else when.replace(tzinfo=UTC)
        return out

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self._data, indent=2, sort_keys=True))
