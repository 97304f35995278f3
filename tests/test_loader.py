from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoslab.errors import LessonError
from mesoslab.lessons.catalog import find_lesson, lesson_files, load
from mesoslab.lessons.ids import normalize_lesson_id
from mesoslab.lessons.loader import parse_lesson

GOOD = """---
id: lesson-3
title: Custom port ranges
summary: Give agents more ports.
preset: 1m-2a
builds_on: [lesson-1]
platforms: [centos7, rehearsal]
---

# Custom port ranges

Why the default range is small.

## Step 1: Write the resources file

```sh on=agent sudo
mkdir -p /etc/mesos-slave-data
```

```json
{"just": "shown"}
```

```check
- kind: host.file_exists
  on: agent
  path: /etc/mesos-slave-data/resources.conf
  hint: Did the mkdir run on every agent?
```

## Restart the agents

```sh on=agent sudo platform=centos7
systemctl restart mesos-slave
```

```sh on=agent sudo platform=rehearsal
systemctl restart mesos-slave
```

```check
- kind: mesos.agent_resources
  ports: "[21000-24000, 30000-64000]"
  timeout: 90
  hint: >-
    The agent still advertises [31000-32000]? Remove
    /var/lib/mesos/meta/slaves/latest before the restart.
- kind: mesos.leader
  hint: Is a master running?
```
"""


def parse(text: str, name: str = "03-port-ranges/lesson.md"):
    return parse_lesson(text, Path("/lessons") / name)


def test_good_lesson_loads_into_the_model() -> None:
    result = parse(GOOD)
    assert result.problems == []
    lesson = result.lesson
    assert lesson is not None
    assert (lesson.id, lesson.number, lesson.preset) == ("lesson-3", 3, "1m-2a")
    assert lesson.builds_on == ("lesson-1",)
    assert [s.title for s in lesson.steps] == ["Write the resources file", "Restart the agents"]
    first, second = lesson.steps
    assert first.actions[0].on == "agent" and first.actions[0].sudo
    assert first.actions[0].code.strip() == "mkdir -p /etc/mesos-slave-data"
    assert first.actions[0].line == 16
    assert len(first.actions) == 1  # the json block is only shown
    assert first.checks[0].line == 25 and first.checks[0].params["path"].endswith(".conf")
    assert [a.platform for a in second.actions] == ["centos7", "rehearsal"]
    assert len(second.actions_for("centos7")) == 1
    spec = second.checks[0]
    assert spec.kind == "mesos.agent_resources" and spec.timeout == 90.0 and spec.on is None
    assert "meta/slaves/latest" in spec.hint
    assert second.checks[1].line == GOOD.split("\n").index("- kind: mesos.leader") + 1


def _problems(text: str) -> list[str]:
    return [str(p) for p in parse(text).problems]


def _line_of(text: str, needle: str) -> int:
    return text.split("\n").index(needle) + 1


def test_unknown_check_kind_names_file_line_and_suggests() -> None:
    text = GOOD.replace("kind: mesos.leader", "kind: mesos.leeder")
    problems = _problems(text)
    assert problems == [
        f"/lessons/03-port-ranges/lesson.md:{_line_of(text, '- kind: mesos.leeder')}: "
        "unknown check kind 'mesos.leeder' (did you mean mesos.leader?)"
    ]


def test_missing_parameter_and_unknown_parameter() -> None:
    text = GOOD.replace("  path: /etc/mesos-slave-data/resources.conf\n", "  paht: /x\n")
    problems = _problems(text)
    assert any("unknown parameter 'paht'" in p for p in problems)
    assert any("missing parameter 'path'" in p for p in problems)
    assert all(p.startswith("/lessons/03-port-ranges/lesson.md:25:") for p in problems)


def test_missing_hint_unknown_role_bad_timeout() -> None:
    text = (
        GOOD.replace("  hint: Did the mkdir run on every agent?\n", "")
        .replace("  on: agent\n", "  on: agnet\n")
        .replace("timeout: 90", "timeout: soon")
    )
    problems = _problems(text)
    assert any("missing 'hint'" in p for p in problems)
    assert any("unknown target on: 'agnet'" in p for p in problems)
    assert any("'timeout' must be a positive number" in p for p in problems)


def test_host_check_needs_a_target() -> None:
    problems = _problems(GOOD.replace("  on: agent\n", ""))
    assert any("needs 'on:'" in p for p in problems)


def test_bad_yaml_in_check_block_points_at_the_line() -> None:
    text = GOOD.replace('  ports: "[21000-24000, 30000-64000]"', "  ports: [21000: : ]]")
    problems = parse(text).problems
    assert problems[0].line == _line_of(text, "  ports: [21000: : ]]")
    assert "not valid YAML" in problems[0].message
    assert len(problems) == 1


def test_bad_front_matter_yaml() -> None:
    text = GOOD.replace("title: Custom port ranges", "title: [unclosed")
    result = parse(text)
    assert result.lesson is None
    assert any("front matter is not valid YAML" in str(p) for p in result.problems)


def test_front_matter_values_checked() -> None:
    text = GOOD.replace("preset: 1m-2a", "preset: 9m").replace("id: lesson-3", "id: lesson-4")
    text = text.replace("summary: Give agents more ports.", "summary: x\ncolour: blue")
    problems = _problems(text)
    assert any(":6: 'preset' must be one of 1m-2a, 3m-3a" in p for p in problems)
    assert any("id lesson-4 does not match folder 03-port-ranges" in p for p in problems)
    assert any("unknown front matter key 'colour'" in p for p in problems)


def test_step_without_checks_and_bad_command_target() -> None:
    text = GOOD.replace("```sh on=agent sudo\nmkdir", "```sh on=agents sudo\nmkdir")
    head, _, _ = text.partition("```check\n- kind: host.file_exists")
    text = head + "\n## Restart the agents" + text.split("## Restart the agents", 1)[1]
    problems = _problems(text)
    assert any("unknown target on=agents" in p for p in problems)
    assert any("step 1 (Write the resources file) has no checks" in p for p in problems)


def test_missing_front_matter_and_no_steps() -> None:
    problems = _problems("# Just a title\n\nSome text.\n")
    assert any(":1: missing front matter" in p for p in problems)
    assert any("the lesson has no steps" in p for p in problems)


def test_step_number_in_heading_must_match() -> None:
    problems = _problems(GOOD.replace("## Step 1: Write", "## Step 2: Write"))
    assert any("heading says step 2 but it is step 1" in p for p in problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_loader_never_crashes_on_arbitrary_text(text: str) -> None:
    result = parse(text)
    assert result.lesson is not None or result.problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 40), st.text(max_size=20))
def test_loader_never_crashes_on_mangled_lessons(start: int, length: int, junk: str) -> None:
    text = GOOD[:start] + junk + GOOD[start + length :]
    result = parse(text)
    for problem in result.problems:
        assert problem.file.endswith("lesson.md") and problem.line >= 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lesson-3", "lesson-3"),
        ("3", "lesson-3"),
        ("03", "lesson-3"),
        ("lesson-03", "lesson-3"),
        ("10", "lesson-10"),
        ("11", "lesson-11"),
        ("12", None),
        ("0", None),
        ("lesson", None),
        ("three", None),
    ],
)
def test_lesson_ids(text: str, expected: str | None) -> None:
    assert normalize_lesson_id(text) == expected


def test_shipped_lessons_are_found_and_load_cleanly() -> None:
    entries = lesson_files()
    ids = [e.id for e in entries]
    assert ids[:4] == ["lesson-1", "lesson-2", "lesson-3", "lesson-4"]
    for entry in entries:
        lesson = load(entry.id)
        assert lesson.steps and all(step.checks for step in lesson.steps)


def test_unknown_lesson_is_a_lesson_error() -> None:
    with pytest.raises(LessonError, match="unknown lesson 'twelve'"):
        find_lesson("twelve")
    with pytest.raises(LessonError, match="unknown lesson"):
        find_lesson("lesson-12")


def test_on_key_is_not_a_yaml_boolean() -> None:
    lesson = parse(GOOD).lesson
    assert lesson is not None
    assert lesson.steps[0].checks[0].on == "agent"


def test_lint_finds_the_lesson_of_a_lesson_folder_and_of_a_folder_of_lessons(
    tmp_path: Path,
) -> None:
    from mesoslab.lessons.lint import lesson_targets

    one = tmp_path / "03-ports"
    one.mkdir()
    (one / "lesson.md").write_text("---\n---\n")
    stray = tmp_path / "ports-draft"
    stray.mkdir()
    (stray / "lesson.md").write_text("---\n---\n")
    assert lesson_targets(one) == [one / "lesson.md"]
    assert lesson_targets(one / "lesson.md") == [one / "lesson.md"]
    assert lesson_targets(tmp_path) == [one / "lesson.md", stray / "lesson.md"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert lesson_targets(empty) == []
