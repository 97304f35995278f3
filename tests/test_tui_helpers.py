"""The TUI's plain-Python helpers (no Textual): the cells store, the notebook split of a
step, which lab the app opens, and make_app's ways in. (The TUI tests' shared parts are in
tests/support/tui.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mesoslab.lab.inventory import Inventory
from mesoslab.lessons.catalog import load
from mesoslab.tui.app import make_app
from mesoslab.tui.cells import CellRecord, CellStore, NodeOutput, cells_path_for
from mesoslab.tui.context import LabContext, resolve_context
from mesoslab.tui.notebook import CELL, CHECKS, PROSE, step_segments
from tests.support.tui import test_lessons

__all__ = ["test_lessons"]  # a fixture used by name

# ---------------------------------------------------------------------- plain-Python parts


def test_step_segments_put_cells_and_checks_where_the_blocks_were(test_lessons: Path) -> None:
    lesson = load("lesson-3")
    step3 = lesson.steps[2]
    kinds = [s.kind for s in step_segments(step3, "centos7")]
    assert kinds == [PROSE, CELL, CHECKS]
    cell = next(s for s in step_segments(step3, "rehearsal") if s.kind == CELL)
    assert cell.action is not None and cell.action.platform == "rehearsal"
    assert cell.index == 1 and cell.cell_key(3) == "step3.cell1"  # keys differ per platform
    prose = step_segments(lesson.steps[0], "centos7")[0]
    assert prose.text == "Ask both agents for their ports:"
    assert "```" not in "".join(s.text for s in step_segments(lesson.steps[1], "centos7"))


def test_cell_store_keeps_runs_and_checks_atomically(tmp_path: Path) -> None:
    path = cells_path_for(tmp_path / "progress" / "inv-abc.json")
    assert path.name == "inv-abc.json.cells.json"
    store = CellStore(path)
    record = CellRecord(
        command="echo hi",
        target="agent",
        sudo=True,
        nodes=("agent1", "agent2"),
        outputs=(NodeOutput("agent1", 0, "hi\n"), NodeOutput("agent2", 1, "x" * 100_000)),
        ran_at="2026-01-01T00:00:00+00:00",
        edited=True,
    )
    store.put_cell("lesson-3", "step1.cell0", record)
    store.add_scratch("lesson-3", record)
    again = CellStore(path)
    kept = again.cell("lesson-3", "step1.cell0")
    assert kept is not None and kept.command == "echo hi" and kept.edited and not kept.ok
    assert kept.outputs[0].output == "hi\n"
    assert len(kept.outputs[1].output) < 70_000  # the tail is kept, not all of it
    assert again.scratch("lesson-3")[0].nodes == ("agent1", "agent2")
    assert not list(path.parent.glob(".*"))  # no temporary file left behind


def test_a_corrupt_cells_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "cells.json"
    path.write_text("{not json", encoding="utf-8")
    store = CellStore(path)
    assert store.warning and "corrupt" in store.warning
    assert store.cell("lesson-1", "step1.cell0") is None
    assert list(tmp_path.glob("cells.json.corrupt-*"))


def test_context_prefers_the_inventory_then_the_lab_then_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesoslab.lab.init import write_lab

    monkeypatch.chdir(tmp_path)
    empty = resolve_context()
    assert not empty.has_lab and empty.folder == tmp_path
    lab = tmp_path / "lab"
    write_lab(lab, platform="rehearsal")
    ctx = resolve_context(lab_dir=lab)
    assert ctx.has_vms and ctx.rehearsal and ctx.platform == "rehearsal"
    assert isinstance(ctx.inventory, Inventory) and len(ctx.inventory.nodes) == 3
    assert ctx.label.startswith("rehearsal lab lab")
    inventory = tmp_path / "inv.toml"
    inventory.write_text('[[node]]\nname = "m1"\naddress = "10.0.0.1"\nroles = ["master"]\n')
    os.chdir(lab)
    explicit = resolve_context(inventory=str(inventory))
    assert not explicit.has_vms and explicit.label == "inventory inv.toml"
    assert explicit.platform == "centos7" and not explicit.rehearsal  # it does not say
    # the lab's own inventory file, named explicitly: the lab's platform, no VM actions
    (lab / ".mesoslab").mkdir()
    (lab / ".mesoslab" / "inventory.toml").write_text(inventory.read_text())
    own = resolve_context(inventory=str(lab / ".mesoslab" / "inventory.toml"))
    assert not own.has_vms and own.platform == "rehearsal" and own.rehearsal
    assert resolve_context(lab_dir=tmp_path / "nowhere").folder == tmp_path / "nowhere"


def test_make_app_takes_a_resolved_context_or_finds_one(tmp_path: Path) -> None:
    context = LabContext(folder=tmp_path / "nowhere")
    assert make_app(context=context, pace_gc=False).context is context  # nothing looked up
    found = make_app(tmp_path / "mylab", pace_gc=False).context  # as the CLI calls it
    assert found.folder == (tmp_path / "mylab").resolve() and not found.has_lab
    with pytest.raises(TypeError):
        make_app(tmp_path, context=context)
