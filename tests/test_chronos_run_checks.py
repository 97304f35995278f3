"""chronos.job_succeeded, chronos.job_failed and chronos.dependency against job lists served
by a real local server (times compared as times, counts as numbers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import Status
from tests.support.fixture_server import FakeLab, load_fixture, run_check

NODES = [("master1", ["master", "chronos"])]


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab(NODES) as lab:
        yield lab


def job(name: str, **fields: Any) -> dict[str, Any]:
    base = load_fixture("chronos/scheduler_jobs_airbnb-2013.json")[0]
    return dict(base, name=name, **fields)


def serve(lab: FakeLab, *jobs: dict[str, Any]) -> None:
    lab.server("master1", "chronos").json("/scheduler/jobs", list(jobs))


def test_job_succeeded_counts_numerically_and_since_is_a_time(lab: FakeLab) -> None:
    serve(lab, job("hello", successCount="3", lastSuccess="2026-12-02T10:00:00.000+01:00"))
    ok = run_check(lab.inventory, "chronos.job_succeeded", {"name": "hello", "count": 3})
    assert ok.status is Status.PASS, ok
    assert ok.summary == "Chronos job hello succeeded 3 times"
    since = {"name": "hello", "since": "2026-12-02T08:59:59Z"}
    assert run_check(lab.inventory, "chronos.job_succeeded", since).status is Status.PASS
    late = run_check(
        lab.inventory, "chronos.job_succeeded", since | {"since": "2026-12-02T09:00:01Z"}
    )
    assert late.status is Status.FAIL
    assert late.summary.startswith("Chronos job hello has not succeeded since 2026-12-02T09:00:01")
    few = run_check(lab.inventory, "chronos.job_succeeded", {"name": "hello", "count": 4})
    assert few.summary == "Chronos job hello succeeded 3 times, expected at least 4"


def test_job_succeeded_names_similar_jobs(lab: FakeLab) -> None:
    serve(lab, job("hello-world"))
    result = run_check(lab.inventory, "chronos.job_succeeded", {"name": "hello-wrold"})
    assert result.status is Status.FAIL
    assert "similar: hello-world" in result.observed


def test_since_must_be_a_time() -> None:
    kind = catalogue()["chronos.job_succeeded"]
    assert kind.problems({"name": "x", "since": "yesterday"}) == [
        "chronos.job_succeeded: since must be an ISO 8601 time or 'step start', got 'yesterday'"
    ]


def test_job_failed_waits_for_the_retries_and_compares_times(lab: FakeLab) -> None:
    serve(lab, job("broken", errorCount=0, retries=2, lastError="", lastSuccess=""))
    early = run_check(lab.inventory, "chronos.job_failed", {"name": "broken"})
    assert early.status is Status.FAIL
    assert early.summary == (
        "Chronos job broken has errorCount 0, expected at least 1 (a failed run counts only "
        "after its 2 retries)"
    )
    serve(
        lab,
        job("broken", errorCount=1, lastError="2026-12-02T09:00:00.000Z",
            lastSuccess="2026-12-02T09:30:00.000+01:00"),
    )  # fmt: skip
    failing = run_check(lab.inventory, "chronos.job_failed", {"name": "broken", "failing": True})
    assert failing.status is Status.PASS, failing  # 09:30+01:00 is 08:30Z, before the error
    serve(
        lab,
        job("broken", errorCount=1, lastError="2026-12-02T09:00:00.000Z",
            lastSuccess="2026-12-02T09:00:01.000Z"),
    )  # fmt: skip
    healed = run_check(lab.inventory, "chronos.job_failed", {"name": "broken", "failing": True})
    assert healed.status is Status.FAIL
    assert healed.summary == "Chronos job broken succeeded after its last error"
    assert run_check(lab.inventory, "chronos.job_failed", {"name": "broken"}).passed


def test_dependency_parents_as_a_set_and_runs_in_order(lab: FakeLab) -> None:
    a = job("extract", lastSuccess="2026-12-02T09:00:00.000Z")
    b = job("load", lastSuccess="2026-12-02T09:00:05.000Z")
    child = job("report", parents=["load", "extract"], lastSuccess="2026-12-02T09:00:09.000Z")
    child.pop("schedule", None)
    serve(lab, a, b, child)
    params = {"name": "report", "parents": ["extract", "load"]}
    ok = run_check(lab.inventory, "chronos.dependency", params)
    assert ok.status is Status.PASS, ok
    assert ok.summary == "Chronos job report ran after extract, load"
    wrong = run_check(lab.inventory, "chronos.dependency", params | {"parents": ["extract"]})
    assert wrong.summary == "Chronos job report has parents extract, load, expected extract"
    serve(lab, a, dict(b, lastSuccess="2026-12-02T09:00:10.000Z"), child)
    before = run_check(lab.inventory, "chronos.dependency", params)
    assert before.status is Status.FAIL
    assert before.summary == "Chronos job report last succeeded before its parent load did"
    serve(lab, a, b, job("report"))  # a scheduled job, no parents
    scheduled = run_check(lab.inventory, "chronos.dependency", params)
    assert "is not a dependent job" in scheduled.summary
