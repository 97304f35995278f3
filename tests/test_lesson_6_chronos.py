"""Lesson 6's own jobs (read from the lesson file, not copied) against a loopback twin master,
agent and Chronos, checked with the lesson's own check blocks: each step's checks fail
before its requests and pass after, with ``since: step start`` the time the step began; the
lesson's `look` helper runs and shows the job and its Mesos tasks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mesoslab.lessons.loader import load_lesson
from mesoslab.lessons.model import Lesson
from mesoslab.lessons.verify import verify_lesson
from tests.support.chronos_lab import ChronosLab, chronos_lab
from tests.support.paths import REPO
from tests.support.twin_lab import wait_until

pytestmark = pytest.mark.slow

LESSON = REPO / "lessons" / "06-scheduled-jobs" / "lesson.md"
MASTER, AGENT = "127.0.0.61", "127.0.0.62"
RETRY_MS = 2000  # the lesson's 60 s, shortened for the test (/etc/chronos/conf/failure_retry)


def lesson_text() -> str:
    return LESSON.read_text(encoding="utf-8")


def job_file(name: str) -> dict[str, Any]:
    """The job document the lesson writes to ~/lesson6/<name>.json, its TOMORROW filled in
    as the lesson's sed does."""
    match = re.search(rf"cat > ~/lesson6/{re.escape(name)}\.json <<'EOF'\n(.*?)\nEOF\n",
                      lesson_text(), re.S)  # fmt: skip
    assert match, f"the lesson writes no {name}.json"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    doc: dict[str, Any] = json.loads(match.group(1).replace("TOMORROW", tomorrow))
    return doc


def inline_job(name: str) -> dict[str, Any]:
    """A job the lesson posts inline (``-d '{"name": "<name>", ...}'``)."""
    match = re.search(rf"-d '(\{{\"name\": \"{re.escape(name)}\".*?\}})'", lesson_text())
    assert match, f"the lesson posts no inline job {name}"
    doc: dict[str, Any] = json.loads(match.group(1))
    return doc


@dataclass
class Lab(ChronosLab):
    lesson: Lesson

    def verify(self, step: int, started: datetime, timeout: float | None = None) -> Any:
        return verify_lesson(
            self.lesson,
            self.twins.inventory(),
            step=step,
            timeout=timeout,
            started={step: started},
        ).steps[0]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    loaded = load_lesson(LESSON)
    assert loaded.ok, loaded.problems
    assert loaded.lesson is not None
    with chronos_lab(tmp_path_factory.mktemp("lesson6"), MASTER, AGENT, retry_ms=RETRY_MS) as base:
        yield Lab(base.twins, base.master, base.agent, base.chronos, loaded.lesson)


def step(lab: Lab, number: int, requests: list[tuple[str, str, Any]]) -> None:
    """Before: the step's checks fail (briefly); the requests, each answered 204; after:
    the checks pass, compared with the time the requests began."""
    before = lab.verify(number, datetime.now(UTC), timeout=1.0)
    assert not before.passed, [r.summary for r in before.results]
    began = datetime.now(UTC)
    for method, path, body in requests:
        answer = lab.call(method, path, body)
        assert answer.status == 204, (method, path, answer.status, answer.body)
    after = lab.verify(number, began)
    assert after.passed, [(r.summary, r.observed) for r in after.results if not r.passed]


def test_the_lessons_steps_fail_before_and_pass_after(lab: Lab) -> None:
    step(lab, 1, [("POST", "/scheduler/iso8601", job_file("hello"))])
    hello = next(j for j in lab.call("GET", "/scheduler/jobs").json() if j["name"] == "hello")
    assert re.fullmatch(r"R/.*/PT10S", hello["schedule"]), hello["schedule"]  # for ever
    step(
        lab,
        2,
        [
            ("POST", "/scheduler/iso8601", job_file("report")),
            ("PUT", "/scheduler/job/report", None),
        ],
    )
    step(
        lab,
        3,
        [
            ("POST", "/scheduler/iso8601", job_file("broken")),
            ("PUT", "/scheduler/job/broken", None),
        ],
    )
    step(
        lab,
        4,
        [
            ("POST", "/scheduler/dependency", job_file("report-mail")),
            ("PUT", "/scheduler/job/report", None),
        ],
    )
    refused = lab.call("POST", "/scheduler/iso8601", inline_job("db:backup"))
    assert refused.status == 400
    assert refused.body.decode() in lesson_text()  # the text the lesson shows
    assert lab.call("POST", "/scheduler/iso8601", inline_job("stale")).status == 204
    # the horizon trap the lesson shows: R5//PT10S runs once, then is disabled
    assert lab.call("POST", "/scheduler/iso8601", inline_job("burst")).status == 204
    burst = wait_until("burst disabled", lambda: (j := lab.job("burst"))["disabled"] and j)
    time.sleep(11)  # its second planned run is due and dropped
    assert lab.job("burst")["successCount"] == 1 and burst["schedule"].startswith("R0/")
    hello = dict(lab.job("hello"), disabled=True)  # what look --json | sed posts back
    step(
        lab,
        5,
        [
            ("DELETE", "/scheduler/job/stale", None),
            ("POST", "/scheduler/iso8601", inline_job("once")),
            ("POST", "/scheduler/iso8601", hello),
        ],
    )
    kept = lab.job("hello")
    assert kept["disabled"] and kept["successCount"] >= hello["successCount"] >= 2
    # the whole lesson holds afterwards (what a later lesson's dev check looks at first),
    # with no step start on record
    whole = verify_lesson(lab.lesson, lab.twins.inventory())
    assert whole.passed, [
        (s.step, r.summary) for s in whole.steps for r in s.results if not r.passed
    ]


def test_a_success_from_before_the_step_does_not_count(lab: Lab) -> None:
    """A step start after hello's last success (the learner began step 1 again): step 1
    fails until hello succeeds after it."""
    later = verify_lesson(
        lab.lesson, lab.twins.inventory(), step=1, timeout=1.0,
        started={1: datetime.now(UTC) + timedelta(seconds=5)},
    )  # fmt: skip
    assert not later.passed
    (report,) = later.steps
    summary = next(r.summary for r in report.results if r.kind == "chronos.job_succeeded")
    assert "since the step's start" in summary


def test_the_look_helper_shows_jobs_and_their_tasks(lab: Lab) -> None:
    match = re.search(r"cat >> ~/lesson6/look <<'EOF'\n(.*?)\nEOF\n", lesson_text(), re.S)
    assert match, "the lesson writes no look helper"
    source = match.group(1).replace("http://master1:4400", lab.chronos.url)
    source = source.replace("http://master1:5050", lab.master.url)
    wait_until("hello ran", lambda: lab.job("hello")["successCount"])
    out = subprocess.run(
        [sys.executable, "-c", source, "hello"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    first, *tasks = out.stdout.splitlines()
    assert first.startswith("hello ") and " ok " in first and "PT10S" in first, first
    assert tasks and all(re.match(r"  mesos task ct:\d+:0:hello: +TASK_", t) for t in tasks)
    listed = subprocess.run(
        [sys.executable, "-c", source, "--json", "hello"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(listed.stdout)["name"] == "hello"
    assert '"disabled": ' in listed.stdout  # what the lesson's sed changes
