"""`mesoslab` end to end: real subprocesses against real loopback HTTP servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mesoslab.cli.main import main
from tests.support.fixture_server import FakeLab
from tests.support.lesson3_cluster import CUSTOM, Lesson3Cluster, write_inventory

MESOSLAB = [sys.executable, "-m", "mesoslab"]


def mesoslab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MESOSLAB, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "120"},
    )


# ------------------------------------------------------------------ commands and help


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command and subcommand under ``group`` (``("checkpoint", "save")``)."""
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


ALL_COMMANDS = list(_commands(main))


def test_the_walk_reaches_the_subcommands() -> None:
    for nested in [("checkpoint", "save"), ("checkpoint", "restore"), ("box", "build")]:
        assert nested in ALL_COMMANDS
    assert ("dev", "check") in ALL_COMMANDS and ("verify",) in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command = _command(path)
    name = " ".join(path)
    assert command.help and command.help.strip(), f"{name} has no help text"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, (name, result.output)
    assert f"Usage: main {name}" in result.output
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts[0]} has no help text"


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_the_lab_folder_is_spelled_one_way(path: tuple[str, ...]) -> None:
    """A command that acts on an existing lab takes its folder as -C DIR / --lab DIR (as
    git -C, make -C); only `init` takes a folder argument: the one it creates."""
    params = _command(path).params
    folders = [
        p
        for p in params
        if isinstance(p.type, click.Path) and not p.type.file_okay and p.name != "directory"
    ]
    for param in folders:
        assert isinstance(param, click.Option) and param.opts == ["-C", "--lab"], param
    assert all(p.name != "directory" for p in params) or path == ("init",)
    assert not any("--dir" in getattr(p, "opts", ()) for p in params)


def test_lab_commands_take_the_lab_folder() -> None:
    takes_lab = {
        path for path in ALL_COMMANDS if any(p.name == "lab" for p in _command(path).params)
    }
    assert takes_lab == {
        ("doctor",),
        ("status",),
        ("up",),
        ("provision",),
        ("halt",),
        ("destroy",),
        ("ssh",),
        ("checkpoint", "save"),
        ("checkpoint", "restore"),
        ("dev", "check"),
    }


def test_no_command_prints_help() -> None:
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0 and "verify" in result.output and "lessons" in result.output


def test_lessons_lists_lessons_1_to_4() -> None:
    out = mesoslab("lessons")
    assert out.returncode == 0, out.stderr
    for lesson_id, title in [
        ("lesson-1", "first cluster"),
        ("lesson-3", "port ranges"),
        ("lesson-4", "HA masters"),
    ]:
        line = next(line for line in out.stdout.splitlines() if lesson_id in line)
        assert title.lower() in line.lower()


def test_show_renders_a_lesson_without_front_matter() -> None:
    out = mesoslab("show", "03")
    assert out.returncode == 0, out.stderr
    assert "Custom port ranges" in out.stdout
    assert "on agent as root" in out.stdout  # command blocks say where they run
    assert "preset:" not in out.stdout  # front matter hidden
    assert "mesos.agent_resources" in out.stdout  # checks listed readably


def test_lint_is_clean_on_the_shipped_lessons() -> None:
    out = mesoslab("lint")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 problem(s)" in out.stderr


def test_lint_reports_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "03-ports" / "lesson.md"
    broken.parent.mkdir()
    source = Path(__file__).resolve().parents[1] / "lessons/03-port-ranges/lesson.md"
    text = source.read_text().replace("kind: mesos.agent_resources", "kind: mesos.agent_resource")
    broken.write_text(text)
    line = text.split("\n").index("- kind: mesos.agent_resource") + 1
    out = mesoslab("lint", str(tmp_path))
    assert out.returncode == 1
    assert f"{broken}:{line}: unknown check kind 'mesos.agent_resource'" in out.stdout


def test_lint_warns_about_a_lesson_without_its_sources_file(tmp_path: Path) -> None:
    lesson = tmp_path / "lessons" / "03-ports" / "lesson.md"
    lesson.parent.mkdir(parents=True)
    source = Path(__file__).resolve().parents[1] / "lessons/03-port-ranges/lesson.md"
    lesson.write_text(source.read_text())
    wanted = tmp_path / "docs" / "sources" / "lesson-3.md"
    for target in (tmp_path / "lessons", lesson.parent, lesson):
        out = mesoslab("lint", str(target))
        assert out.returncode == 0, out.stdout + out.stderr  # a warning does not fail
        assert f"{lesson}:1: warning: lesson-3 has no sources file: write {wanted}" in (out.stdout)
        assert "1 lesson file(s), 0 problem(s), 1 warning(s)" in out.stderr
    wanted.parent.mkdir(parents=True)
    wanted.write_text("# Sources of lesson 3\n")
    out = mesoslab("lint", str(tmp_path / "lessons"))
    assert out.returncode == 0
    assert "warning" not in out.stdout
    assert "1 lesson file(s), 0 problem(s), 0 warning(s)" in out.stderr


def test_lint_with_problems_and_warnings_fails_for_the_problems(tmp_path: Path) -> None:
    lesson = tmp_path / "03-ports" / "lesson.md"
    lesson.parent.mkdir()
    source = Path(__file__).resolve().parents[1] / "lessons/03-port-ranges/lesson.md"
    lesson.write_text(source.read_text().replace("kind: mesos.agent_resources", "kind: nope"))
    out = mesoslab("lint", str(tmp_path))
    assert out.returncode == 1
    assert "warning: lesson-3 has no sources file" in out.stdout
    assert "unknown check kind 'nope'" in out.stdout


def test_checks_lists_the_catalogue() -> None:
    out = mesoslab("checks")
    assert out.returncode == 0
    for kind in (
        "mesos.agent_resources",
        "zookeeper.mode",
        "host.file_contains",
        "marathon.app_running",
        "chronos.job",
    ):
        assert kind in out.stdout


# ------------------------------------------------------------------ verify end to end


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Lesson3Cluster, Path]]:
    nodes = [("master1", ["master", "marathon"]), ("agent1", ["agent"]), ("agent2", ["agent"])]
    with FakeLab(nodes) as lab, socket.socket() as web:
        web.bind(("127.0.0.2", 0))  # the app's task on agent1 really listens
        web.listen()
        port = web.getsockname()[1]
        if not 30000 <= port <= 64000:  # keep the task port inside the custom range
            web.close()
            web = socket.socket()
            web.bind(("127.0.0.2", 21001))
            web.listen()
            port = 21001
        inventory = write_inventory(lab, tmp_path / "inv.toml")
        yield Lesson3Cluster(lab, port), inventory


def test_verify_lesson_3_passes_on_the_custom_range(cluster: tuple[Lesson3Cluster, Path]) -> None:
    _, inventory = cluster
    out = mesoslab(
        "verify", "lesson-3", "--inventory", str(inventory), "--format", "json", "--timeout", "3"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["lesson"] == "lesson-3" and doc["passed"] is True
    assert [s["step"] for s in doc["steps"]] == [1, 2, 3, 4]
    statuses = {(c["kind"], c["node"]): c["status"] for s in doc["steps"] for c in s["checks"]}
    assert statuses[("mesos.agent_resources", "agent1")] == "pass"
    assert statuses[("marathon.task_ports", "marathon")] == "pass"
    assert statuses[("host.file_json_equals", "agent2")] == "skip"  # no [node.ssh]
    check = doc["steps"][2]["checks"][0]
    assert set(check) == {
        "kind",
        "node",
        "status",
        "summary",
        "expected",
        "observed",
        "hint",
        "attempts",
        "elapsed_s",
    }
    # every check of step 2 is a host check, and no node has [node.ssh]: it only skipped.
    # That is no failure (exit 0, "passed": DESIGN §4) but not done either.
    step_2 = doc["steps"][1]
    assert step_2["passed"] is True and {c["status"] for c in step_2["checks"]} == {"skip"}
    # progress was recorded for this lab: 3 steps done, the skipped one not
    out = mesoslab("lessons", "--inventory", str(inventory))
    line = next(line for line in out.stdout.splitlines() if "lesson-3" in line)
    assert "3/4 (1 skipped)" in line and "✔" not in line, line
    text = mesoslab("verify", "lesson-3", "--inventory", str(inventory), "--timeout", "3")
    assert text.returncode == 0, text.stdout + text.stderr
    assert f"Step 2: {step_2['title']} — skipped" in text.stdout


def test_verify_lesson_3_fails_on_the_default_range(cluster: tuple[Lesson3Cluster, Path]) -> None:
    lab, inventory = cluster
    lab.serve("[31000-32000]")
    out = mesoslab(
        "verify",
        "3",
        "--step",
        "3",
        "--inventory",
        str(inventory),
        "--format",
        "json",
        "--timeout",
        "1",
    )
    assert out.returncode == 1, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["passed"] is False and [s["step"] for s in doc["steps"]] == [3]
    failed = [c for c in doc["steps"][0]["checks"] if c["status"] == "fail"]
    assert {c["node"] for c in failed} == {"agent1", "agent2"}
    for check in failed:
        assert check["observed"] == "[31000-32000]"
        assert check["expected"] == CUSTOM
        assert "meta/slaves/latest" in check["hint"]
        assert check["attempts"] >= 1


def test_verify_text_shows_expected_observed_and_hint(
    cluster: tuple[Lesson3Cluster, Path],
) -> None:
    lab, inventory = cluster
    lab.serve("[31000-32000]")
    out = mesoslab("verify", "lesson-03", "-s", "3", "-i", str(inventory), "--timeout", "1")
    assert out.returncode == 1
    assert "observed: [31000-32000]" in out.stdout
    assert f"expected: {CUSTOM}" in out.stdout
    assert "hint: The agent still advertises [31000-32000]" in out.stdout
    assert "FAILED" in out.stdout


def test_verify_junit_is_readable_xml(cluster: tuple[Lesson3Cluster, Path]) -> None:
    lab, inventory = cluster
    lab.serve("[31000-32000]")
    out = mesoslab("verify", "3", "-i", str(inventory), "--format", "junit", "--timeout", "1")
    assert out.returncode == 1
    root = ET.fromstring(out.stdout)
    assert root.tag == "testsuites"
    assert len(root.findall("testsuite")) == 4
    failures = root.findall(".//failure")
    assert int(root.get("failures", "0")) == len(failures) >= 2
    assert any("observed: [31000-32000]" in (f.text or "") for f in failures)


def test_verify_dead_cluster_fails_with_reasons_not_tracebacks(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.toml"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: connections are refused
    inventory.write_text(
        '[[node]]\nname = "master1"\naddress = "127.0.0.1"\nroles = ["master", "marathon"]\n'
        '[[node]]\nname = "agent1"\naddress = "127.0.0.1"\nroles = ["agent"]\n'
        f"[ports]\nmesos_master = {port}\nmesos_agent = {port}\nmarathon = {port}\n"
    )
    out = mesoslab("verify", "3", "-i", str(inventory), "--format", "json", "--timeout", "1")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    doc = json.loads(out.stdout)
    summaries = [c["summary"] for s in doc["steps"] for c in s["checks"] if c["status"] == "fail"]
    assert summaries and all("refused" in s for s in summaries), summaries


@pytest.mark.parametrize(
    ("inventory_text", "args", "message"),
    [
        (
            '[[node]]\nname = "m"\naddress = "10.0.0.1"\nroles = ["mastr"]\n',
            ["3"],
            "unknown role 'mastr'",
        ),
        (None, ["3"], "does not exist"),
        (
            '[[node]]\nname = "m"\naddress = "10.0.0.1"\nroles = ["master"]\n',
            ["12"],
            "unknown lesson '12'",
        ),
        (
            '[[node]]\nname = "m"\naddress = "10.0.0.1"\nroles = ["master"]\n',
            ["3", "--step", "9"],
            "lesson-3 has no step 9",
        ),
    ],
)
def test_verify_usage_errors_exit_2_with_one_line(
    tmp_path: Path, inventory_text: str | None, args: list[str], message: str
) -> None:
    inventory = tmp_path / "inv.toml"
    if inventory_text is not None:
        inventory.write_text(inventory_text)
    out = mesoslab("verify", *args, "--inventory", str(inventory))
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_verify_without_any_lab_says_what_to_do(tmp_path: Path) -> None:
    out = mesoslab("verify", "3", cwd=tmp_path)
    assert out.returncode == 2
    assert "--inventory FILE" in out.stderr


def test_drill_step_is_skipped_by_a_whole_lesson_verify(tmp_path: Path) -> None:
    from mesoslab.lab.inventory import Inventory, Node
    from mesoslab.lessons.catalog import load
    from mesoslab.lessons.verify import plan_lesson

    lesson = load("lesson-4")
    assert lesson.drill_steps == (5,)
    inventory = Inventory(nodes=(Node("master1", "127.0.0.1", ("master", "zookeeper")),))
    whole = {pc.step for pc in plan_lesson(lesson, inventory)}
    assert 5 not in whole and 6 in whole
    assert {pc.step for pc in plan_lesson(lesson, inventory, 5)} == {5}


def test_a_drill_step_does_not_count_towards_done(tmp_path: Path) -> None:
    from mesoslab.checks.result import CheckResult, Status
    from mesoslab.lessons.verify import StepReport, VerifyReport
    from mesoslab.progress import ProgressStore, progress_path_for_inventory
    from mesoslab.tui.screens.lessons import lesson_rows

    inventory = tmp_path / "inv.toml"
    inventory.write_text(
        '[[node]]\nname = "master1"\naddress = "127.0.0.1"\nroles = ["master"]\n',
        encoding="utf-8",
    )
    progress = progress_path_for_inventory(inventory)
    ok = CheckResult("mesos.leader", "master1", Status.PASS, "ok", "", "", "", 1, 0.1)
    passed = [StepReport(n, f"step {n}", [ok]) for n in (1, 2, 3, 4, 6)]  # not drill step 5
    ProgressStore(progress).record(VerifyReport("lesson-4", "HA masters", passed))
    rows, _ = lesson_rows(progress)
    row = next(r for r in rows if r.id == "lesson-4")
    assert (row.passed, row.steps, row.drills) == (5, 5, 1)
    out = mesoslab("lessons", "-i", str(inventory), cwd=tmp_path)
    line = next(line for line in out.stdout.splitlines() if "lesson-4" in line)
    assert "6 (drill: 5)" in line and "5/5 ✔" in line, out.stdout


def test_verify_watch_waits_until_the_cluster_converges(
    cluster: tuple[Lesson3Cluster, Path],
) -> None:
    lab, inventory = cluster
    lab.serve("[31000-32000]")
    proc = subprocess.Popen(
        [
            *MESOSLAB,
            "verify",
            "3",
            "-s",
            "3",
            "-i",
            str(inventory),
            "--watch",
            "--format",
            "json",
            "--timeout",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3)  # still failing: watch keeps going
        lab.serve(CUSTOM)  # the learner fixes the agents
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    doc = json.loads(out)  # one JSON document: the final one
    assert doc["passed"] is True


def test_lint_of_a_lesson_folder_finds_its_lesson_and_an_empty_one_says_what_it_wanted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "my-lesson"
    folder.mkdir()
    source = Path(__file__).resolve().parents[1] / "lessons/03-port-ranges/lesson.md"
    (folder / "lesson.md").write_text(source.read_text())
    out = mesoslab("lint", str(folder))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 lesson file(s), 0 problem(s)" in out.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    out = mesoslab("lint", str(empty))
    assert out.returncode == 1
    assert f"0 lesson files in {empty}: give a lesson file, a folder holding lesson.md" in (
        out.stderr
    )
