"""What the learner ran in the lesson notebooks and what came back, kept with their progress.

Stored as JSON beside the lab's progress file (``<progress file>.cells.json``), written
atomically (temporary file + rename), so reopening a lesson shows every cell's last run and
the last verify of each step. A corrupt file is set aside and reported, never fatal.
Plain Python: no Textual.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mesoslab.checks.result import CheckResult, Status
from mesoslab.files import load_json_document, write_atomic

VERSION = 1
MAX_OUTPUT_CHARS = 64 * 1024  # per node and cell: the tail is kept
MAX_SCRATCH = 20  # scratch runs kept per lesson


def cells_path_for(progress_path: Path) -> Path:
    return progress_path.with_name(progress_path.name + ".cells.json")


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class NodeOutput:
    node: str
    exit_status: int
    output: str
    error: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out and not self.error

    def describe(self) -> str:
        if self.error:
            return f"{self.node}: {self.error}"
        if self.timed_out:
            return f"{self.node}: timed out"
        if self.exit_status == -1:
            return f"{self.node}: ended without an exit status"
        return f"{self.node}: exit {self.exit_status}"


@dataclass(frozen=True)
class CellRecord:
    """One run of a cell: the exact command, where it ran, and each node's output."""

    command: str
    target: str  # the block's `on=` (a node, a role, leading-master)
    sudo: bool
    nodes: tuple[str, ...] = ()
    outputs: tuple[NodeOutput, ...] = ()
    ran_at: str = ""
    edited: bool = False  # the learner changed the lesson's command before running it
    error: str = ""  # the run could not start (no such node, leader unknown, ...)

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.outputs) and all(o.ok for o in self.outputs)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = list(self.nodes)
        data["outputs"] = [asdict(o) for o in self.outputs]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellRecord:
        outputs = tuple(
            NodeOutput(
                node=str(o.get("node", "")),
                exit_status=int(o.get("exit_status", -1)),
                output=str(o.get("output", "")),
                error=str(o.get("error", "")),
                timed_out=bool(o.get("timed_out", False)),
            )
            for o in data.get("outputs", [])
            if isinstance(o, dict)
        )
        return cls(
            command=str(data.get("command", "")),
            target=str(data.get("target", "")),
            sudo=bool(data.get("sudo", False)),
            nodes=tuple(str(n) for n in data.get("nodes", [])),
            outputs=outputs,
            ran_at=str(data.get("ran_at", "")),
            edited=bool(data.get("edited", False)),
            error=str(data.get("error", "")),
        )


def tail_text(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return "… (earlier output not kept)\n" + (cut[newline + 1 :] if newline >= 0 else cut)


def result_from_json(data: dict[str, Any]) -> CheckResult | None:
    try:
        return CheckResult(
            kind=str(data["kind"]),
            node=str(data["node"]),
            status=Status(data["status"]),
            summary=str(data.get("summary", "")),
            expected=str(data.get("expected", "")),
            observed=str(data.get("observed", "")),
            hint=str(data.get("hint", "")),
            attempts=int(data.get("attempts", 0)),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
        )
    except (KeyError, ValueError, TypeError):
        return None


@dataclass
class CellStore:
    """Cells and verify results per lesson; ``path`` None keeps them in memory only."""

    path: Path | None
    warning: str | None = None
    _data: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._data = self._load()

    def _load(self) -> dict[str, Any]:
        data = None
        if self.path is not None:
            data, self.warning = load_json_document(
                self.path,
                lambda d: isinstance(d, dict) and isinstance(d.get("lessons"), dict),
                "cell outputs file",
            )
        return data if data is not None else {"version": VERSION, "lessons": {}}

    def _lesson(self, lesson_id: str) -> dict[str, Any]:
        lesson: dict[str, Any] = self._data["lessons"].setdefault(lesson_id, {})
        for key in ("cells", "verify"):
            if not isinstance(lesson.get(key), dict):
                lesson[key] = {}
        if not isinstance(lesson.get("scratch"), list):
            lesson["scratch"] = []
        return lesson

    # ------------------------------------------------------------------ cells

    def cell(self, lesson_id: str, key: str) -> CellRecord | None:
        with self._lock:
            raw = self._lesson(lesson_id)["cells"].get(key)
        return CellRecord.from_json(raw) if isinstance(raw, dict) else None

    def put_cell(self, lesson_id: str, key: str, record: CellRecord) -> None:
        with self._lock:
            self._lesson(lesson_id)["cells"][key] = _capped(record).to_json()
            self._save()

    def scratch(self, lesson_id: str) -> list[CellRecord]:
        with self._lock:
            raw = list(self._lesson(lesson_id)["scratch"])
        return [CellRecord.from_json(r) for r in raw if isinstance(r, dict)]

    def add_scratch(self, lesson_id: str, record: CellRecord) -> None:
        with self._lock:
            runs = self._lesson(lesson_id)["scratch"]
            runs.append(_capped(record).to_json())
            del runs[:-MAX_SCRATCH]
            self._save()

    # ------------------------------------------------------------------ verify

    def checks(self, lesson_id: str, step: int) -> list[CheckResult]:
        with self._lock:
            raw = self._lesson(lesson_id)["verify"].get(str(step), [])
        results = [result_from_json(r) for r in raw if isinstance(r, dict)]
        return [r for r in results if r is not None]

    def put_checks(self, lesson_id: str, results: dict[int, list[CheckResult]]) -> None:
        with self._lock:
            verify = self._lesson(lesson_id)["verify"]
            for step, step_results in results.items():
                verify[str(step)] = [r.to_json() for r in step_results]
            self._save()

    # ------------------------------------------------------------------ file

    def _save(self) -> None:
        if self.path is not None:
            write_atomic(self.path, json.dumps(self._data, indent=1, ensure_ascii=False))


def _capped(record: CellRecord) -> CellRecord:
    outputs = tuple(
        NodeOutput(o.node, o.exit_status, tail_text(o.output), o.error, o.timed_out)
        for o in record.outputs
    )
    return CellRecord(
        command=record.command,
        target=record.target,
        sudo=record.sudo,
        nodes=record.nodes,
        outputs=outputs,
        ran_at=record.ran_at,
        edited=record.edited,
        error=record.error,
    )
