from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mesoslab.checks.result import CheckResult, Status
from mesoslab.lessons.verify import StepReport, VerifyReport
from mesoslab.progress import ProgressStore, progress_path_for_inventory


def result(status: Status) -> CheckResult:
    return CheckResult("mesos.leader", "master", status, "s", "", "", "", 1, 0.1)


def report(*passed: bool) -> VerifyReport:
    return VerifyReport(
        "lesson-3",
        "Ports",
        [
            StepReport(i + 1, f"step {i + 1}", [result(Status.PASS if ok else Status.FAIL)])
            for i, ok in enumerate(passed)
        ],
    )


def test_record_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    ProgressStore(path).record(report(True, False, True))
    store = ProgressStore(path)
    assert store.warning is None
    assert store.passed_steps("lesson-3") == {1, 3}
    assert store.passed_steps("lesson-1") == set()
    ProgressStore(path).record(report(True, True, False))
    assert ProgressStore(path).passed_steps("lesson-3") == {1, 2}


def test_corrupt_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"lessons": {"lesson-3": ')
    store = ProgressStore(path)
    assert store.warning is not None and "corrupt" in store.warning
    aside = list(tmp_path.glob("p.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text().startswith('{"lessons"')
    store.record(report(True))
    assert json.loads(path.read_text())["lessons"]["lesson-3"]["steps"]["1"]["passed"] is True


def test_failed_write_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.json"
    ProgressStore(path).record(report(True))
    before = path.read_text()

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        ProgressStore(path).record(report(False))
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temp file left behind


def test_progress_path_is_per_inventory(tmp_path: Path) -> None:
    a = progress_path_for_inventory(tmp_path / "a" / "inv.toml")
    b = progress_path_for_inventory(tmp_path / "b" / "inv.toml")
    assert a != b and a.parent == b.parent and a.name.startswith("inv-")


def test_a_step_whose_checks_all_skipped_is_not_done(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    skipped = StepReport(1, "s", [result(Status.SKIP), result(Status.SKIP)])
    mixed = StepReport(2, "m", [result(Status.SKIP), result(Status.PASS)])
    assert skipped.passed and skipped.skipped and not skipped.done  # exit 0, yet not done
    assert mixed.passed and not mixed.skipped and mixed.done
    assert not StepReport(3, "empty").skipped
    ProgressStore(path).record(VerifyReport("lesson-3", "Ports", [skipped, mixed]))
    store = ProgressStore(path)
    assert store.passed_steps("lesson-3") == {2}
    assert store.skipped_steps("lesson-3") == {1}
    entry = store.steps("lesson-3")[1]
    assert entry["passed"] is False and entry["skipped"] is True
    assert "first_passed_at" not in entry
    # once a check of it really passes, it is done and no longer skipped
    store.record(report(True))
    assert store.passed_steps("lesson-3") == {1, 2}
    assert store.skipped_steps("lesson-3") == set()
    assert "first_passed_at" in ProgressStore(path).steps("lesson-3")[1]
