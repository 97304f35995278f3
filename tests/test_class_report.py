"""The class database, its views and `class report`: the JSON contract of issue 17, CSV and
JUnit for grading, stuck learners, schema migration, and the instructor's TUI screen."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from mesoslab.ops.classroom.events import check_json, progress_event, verify_event
from mesoslab.ops.classroom.report import render_csv, render_junit, to_json
from mesoslab.ops.classroom.store import MIGRATIONS, SCHEMA_VERSION, ClassStore, Learner
from mesoslab.ops.classroom.view import StuckRule, build_view
from tests.support.classroom import LearnerHome


def failing(step: int, observed: str = "[31000-32000]") -> list[dict[str, str]]:
    return [
        check_json(
            "mesos.agent_resources",
            "agent1",
            "fail",
            "ports differ",
            "[21000-24000]",
            observed,
            "edit resources.conf",
        )
    ]


@pytest.fixture
def store(tmp_path: Path) -> ClassStore:
    store = ClassStore(tmp_path / "class.sqlite3")
    store.ensure_class("Mesos 101")
    return store


def enrol(store: ClassStore, name: str) -> Learner:
    learner, _ = store.join(store.info().code, name)
    return learner


def test_the_json_report_is_the_contract(store: ClassStore) -> None:
    alice, bob = enrol(store, "alice"), enrol(store, "bob")
    store.add_events(alice, [verify_event("lesson-3", [(1, "pass", []), (2, "fail", failing(2))])])
    store.add_events(alice, [verify_event("lesson-3", [(2, "pass", [])])])  # latest wins
    for n in (1, 2, 3, 4):
        store.add_events(bob, [verify_event("lesson-3", [(n, "pass", [])])])
    store.add_events(bob, [verify_event("lesson-1", [(1, "skip", [])])])
    store.add_events(bob, [progress_event("lesson-4", 1)])  # no verify: no lesson entry
    doc = to_json(build_view(store))
    assert doc["class"] == "Mesos 101"
    assert [set(learner) for learner in doc["learners"]] == [{"name", "last_seen", "lessons"}] * 2
    alice_doc, bob_doc = doc["learners"]
    assert alice_doc["name"] == "alice"
    assert alice_doc["lessons"] == {
        "lesson-3": {"steps": {"1": "pass", "2": "pass"}, "passed": False}
    }
    assert bob_doc["lessons"]["lesson-3"] == {
        "steps": {"1": "pass", "2": "pass", "3": "pass", "4": "pass"},
        "passed": True,
    }
    assert bob_doc["lessons"]["lesson-1"] == {"steps": {"1": "skip"}, "passed": False}
    assert "lesson-4" not in bob_doc["lessons"]  # steps never verified are absent
    assert bob_doc["last_seen"].startswith("20") and "T" in bob_doc["last_seen"]
    json.dumps(doc)  # plain JSON all the way down


def test_csv_and_junit_say_the_same(store: ClassStore) -> None:
    alice = enrol(store, "alice")
    store.add_events(
        alice,
        [verify_event("lesson-3", [(1, "pass", []), (2, "fail", failing(2)), (3, "skip", [])])],
    )
    view = build_view(store)
    rows = list(csv.DictReader(io.StringIO(render_csv(view))))
    assert [(r["name"], r["lesson"], r["step"], r["status"]) for r in rows] == [
        ("alice", "lesson-3", "1", "pass"),
        ("alice", "lesson-3", "2", "fail"),
        ("alice", "lesson-3", "3", "skip"),
    ]
    root = ET.fromstring(render_junit(view))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "alice"
    assert [c.get("name") for c in suite.iter("testcase")] == ["step 1", "step 2", "step 3"]


def test_stuck_is_the_same_check_failing_n_times_or_m_minutes(store: ClassStore) -> None:
    alice, bob = enrol(store, "alice"), enrol(store, "bob")
    for _ in range(3):
        store.add_events(alice, [verify_event("lesson-3", [(3, "fail", failing(3))])])
    # bob fails three times too, but on a different check each time: not "the same check"
    for node in ("agent1", "agent2", "agent3"):
        check = [check_json("mesos.agent_resources", node, "fail", "x", "e", "o", "h")]
        store.add_events(bob, [verify_event("lesson-3", [(3, "fail", check)])])
    view = build_view(store, StuckRule(fails=3, minutes=10))
    stuck = [(row.name, lesson, step) for row, lesson, step, _ in view.stuck()]
    assert stuck == [("alice", "lesson-3", 3)]
    ((_, _, _, cell),) = view.stuck()
    assert cell.last_fail[0]["observed"] == "[31000-32000]" and cell.last_fail[0]["hint"]
    later = build_view(store, StuckRule(fails=99, minutes=10))
    later.now += timedelta(minutes=11)  # bob has been failing on step 3 for 11 minutes
    assert {row.name for row, *_ in later.stuck()} == {"alice", "bob"}
    store.add_events(alice, [verify_event("lesson-3", [(3, "pass", [])])])
    assert [row.name for row, *_ in build_view(store, StuckRule(3, 10)).stuck()] == []
    assert build_view(store).completion()["lesson-3"][3] == 1


def test_an_old_database_is_migrated_and_its_history_replayed(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    MIGRATIONS[0](db)  # a version-1 file, as the first mesoslab with a classroom left it
    db.execute("PRAGMA user_version = 1")
    db.execute("COMMIT")
    for key, value in {
        "name": "old",
        "code": "ABCDEF",
        "code_open": "1",
        "instructor_token": "t" * 20,
    }.items():
        db.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
    db.execute(
        "INSERT INTO learners (id, name, token_sha256, joined_at, last_seen) "
        "VALUES (1, 'alice', 'x', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
    )
    event = verify_event("lesson-3", [(1, "pass", []), (2, "fail", failing(2))])
    db.execute(
        "INSERT INTO events VALUES (1, ?, 'verify', ?, ?, 'lesson-3', NULL, ?)",
        (event.id, event.at, event.at, event.dumps()),
    )
    db.close()
    store = ClassStore(path)
    (version,) = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()
    assert version == SCHEMA_VERSION == 2
    doc = to_json(build_view(store))
    assert doc["learners"][0]["lessons"]["lesson-3"]["steps"] == {"1": "pass", "2": "fail"}
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_newer_database_is_refused_clearly(tmp_path: Path) -> None:
    from mesoslab.errors import ClassroomError

    path = tmp_path / "new.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(ClassroomError, match="newer mesoslab"):
        ClassStore(path)


def test_class_report_on_the_command_line(tmp_path: Path) -> None:
    instructor = LearnerHome("instructor", tmp_path / "instructor")
    none = instructor.mesoslab("class", "report")
    assert none.returncode == 2 and "class serve" in none.stderr  # no class here yet
    store = ClassStore(tmp_path / "instructor" / "data" / "mesoslab" / "classroom.sqlite3")
    store.ensure_class("Mesos 101")
    alice = enrol(store, "alice")
    store.add_events(alice, [verify_event("lesson-3", [(1, "pass", [])])])
    out = instructor.mesoslab("class", "report", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["learners"][0]["lessons"]["lesson-3"]["steps"] == {"1": "pass"}
    target = tmp_path / "grades.xml"
    out = instructor.mesoslab("class", "report", "--format", "junit", "-o", str(target))
    assert out.returncode == 0 and ET.parse(target).getroot().get("tests") == "1"


# ------------------------------------------------------------------ the instructor's screen


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_class_screen_shows_the_grid_and_follows_the_database(
    tmp_path: Path, anyio_backend: str
) -> None:
    from textual.widgets import Static

    from mesoslab.tui.classroom_app import ClassApp
    from mesoslab.tui.widgets.class_grid import ClassGrid

    path = tmp_path / "class.sqlite3"
    store = ClassStore(path)
    store.ensure_class("Mesos 101")
    alice, bob = enrol(store, "alice"), enrol(store, "bob")
    for _ in range(3):
        store.add_events(bob, [verify_event("lesson-3", [(3, "fail", failing(3))])])
    app = ClassApp(path, refresh=0.1)
    async with app.run_test(size=(140, 30)) as pilot:
        grid = app.screen.query_one(ClassGrid)

        async def cell(row: str, column: str) -> str:
            for _ in range(100):
                await pilot.pause(0.05)
                try:
                    return str(grid.get_cell(row, column)).strip()
                except Exception:
                    continue
            return ""

        assert await cell("bob", "lesson-3:3") == "!"  # stuck
        stuck = str(app.screen.query_one("#stuck-text", Static).render())
        assert "bob" in stuck and "[31000-32000]" in stuck
        # another process (the server) writes: the screen follows
        other = ClassStore(path)
        other.add_events(alice, [verify_event("lesson-3", [(3, "pass", [])])])
        for _ in range(100):
            if await cell("alice", "lesson-3:3") == "✔":
                break
        assert await cell("alice", "lesson-3:3") == "✔"
        assert await cell("__done__", "lesson-3:3") == "1/2"
