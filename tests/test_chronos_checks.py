"""The chronos.job check against the real recorded job list, served by a real local server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mesoslab.checks.result import Status
from tests.support.fixture_server import FakeLab, Reply, load_fixture, run_check

NODES = [("master1", ["master", "chronos"]), ("master2", ["master", "chronos"])]
JOB = "create_airbed_dump_table_payment2s"  # successCount 278 in the fixture


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab(NODES) as lab:
        yield lab


def jobs() -> list[dict[str, Any]]:
    return load_fixture("chronos/scheduler_jobs_airbnb-2013.json")


def serve_jobs(lab: FakeLab, body: Any, path: str = "/scheduler/jobs") -> None:
    for _, srv in lab.servers("chronos"):
        srv.json(path, body)


def test_job_exists_and_succeeded(lab: FakeLab) -> None:
    serve_jobs(lab, jobs())
    result = run_check(
        lab.inventory, "chronos.job", {"name": JOB, "succeeded": True, "min_success": 278}
    )
    assert result.status is Status.PASS, result
    assert result.summary == f"Chronos job {JOB} exists, succeeded 278 times"
    assert result.observed.startswith(
        "successCount 278, errorCount 13, lastSuccess 2013-02-25T17:30:08.710Z"
    )


def test_job_min_success_not_reached(lab: FakeLab) -> None:
    serve_jobs(lab, jobs())
    result = run_check(lab.inventory, "chronos.job", {"name": JOB, "min_success": 279})
    assert result.status is Status.FAIL
    assert "succeeded 278 times, expected at least 279" in result.summary


def test_job_never_succeeded(lab: FakeLab) -> None:
    data = jobs()
    data.append(
        dict(data[0], name="hello", successCount=0, errorCount=0, lastSuccess="", lastError="")
    )
    serve_jobs(lab, data)
    exists = run_check(lab.inventory, "chronos.job", {"name": "hello"})
    assert exists.status is Status.PASS, exists
    result = run_check(lab.inventory, "chronos.job", {"name": "hello", "succeeded": True})
    assert result.status is Status.FAIL
    assert result.summary == "Chronos job hello has never succeeded"
    assert result.observed == "successCount 0, errorCount 0, lastSuccess never"


def test_job_name_must_match_exactly(lab: FakeLab) -> None:
    serve_jobs(lab, jobs())
    result = run_check(lab.inventory, "chronos.job", {"name": "create_airbed_dump_table"})
    assert result.status is Status.FAIL
    assert result.summary == "Chronos has no job named 'create_airbed_dump_table'"
    assert result.observed.startswith("no job named create_airbed_dump_table among 235 jobs")
    assert "similar: create_airbed_dump_table_" in result.observed


def test_job_from_chronos_3_path(lab: FakeLab) -> None:
    serve_jobs(lab, jobs(), path="/v1/scheduler/jobs")
    result = run_check(lab.inventory, "chronos.job", {"name": JOB})
    assert result.status is Status.PASS, result
    assert "Chronos 3 API /v1/scheduler/jobs" in result.summary


def test_job_neither_path_exists(lab: FakeLab) -> None:
    result = run_check(lab.inventory, "chronos.job", {"name": JOB})
    assert result.status is Status.FAIL
    assert "answered HTTP 404" in result.summary
    assert "is this Chronos?" in result.summary


def test_job_list_must_be_an_array(lab: FakeLab) -> None:
    serve_jobs(lab, {"jobs": jobs()})
    result = run_check(lab.inventory, "chronos.job", {"name": JOB})
    assert result.status is Status.FAIL
    assert "expected a list of jobs" in result.summary


def test_job_asks_the_next_chronos(lab: FakeLab) -> None:
    lab.server("master1", "chronos").stop()
    lab.server("master2", "chronos").json("/scheduler/jobs", jobs())
    result = run_check(lab.inventory, "chronos.job", {"name": JOB})
    assert result.status is Status.PASS, result


def test_job_no_chronos_answers(lab: FakeLab) -> None:
    lab.server("master1", "chronos").stop()
    lab.server("master2", "chronos").route("/scheduler/jobs", Reply(500, "Internal error"))
    result = run_check(lab.inventory, "chronos.job", {"name": JOB})
    assert result.status is Status.FAIL
    assert result.summary == (
        "no Chronos instance answered: master1: connection refused; master2: HTTP 500"
    )
