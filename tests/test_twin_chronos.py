"""The twin Chronos behaves like Chronos 2.5 where lesson 6 looks: real processes on
loopback (a standalone master on 127.0.0.41, an agent on 127.0.0.42, Chronos beside the
master with ``/etc/chronos/conf/failure_retry`` set to 1000 ms), jobs run as Mesos tasks.

What is held, with its source in ``docs/sources/lesson-6.md``: task names and ids
(``ChronosTask:<job>``, ``ct:<due>:<attempt>:<job>:``), retries spaced ``failure_retry``
apart before ``errorCount`` rises, no retries for a job whose last run failed, dependent jobs
after all their parents, runs missed by more than ``epsilon`` skipped, an exhausted ``R1``
job disabled (and its manual runs dropped), the 2.5 refusals and their texts, stats, graphs,
search, and what deleting a parent does to its children.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from tests.support.chronos_lab import ChronosLab, chronos_lab
from tests.support.twin_lab import wait_until

pytestmark = pytest.mark.slow

MASTER = "127.0.0.41"
AGENT = "127.0.0.42"
RETRY_MS = 1000
FUTURE = "2030-01-01T00:00:00Z"  # a start no test reaches: these jobs only run by hand


Lab = ChronosLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with chronos_lab(
        tmp_path_factory.mktemp("twin-chronos"), MASTER, AGENT, retry_ms=RETRY_MS
    ) as found:
        yield found


def scheduled(name: str, command: str, schedule: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": command, "schedule": schedule, "mem": 16, **extra}


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_job_runs_as_a_mesos_task_named_like_chronos(lab: Lab) -> None:
    answer = lab.call("POST", "/scheduler/iso8601", scheduled("hello", "echo hi", "R1//PT1M"))
    assert answer.status == 204 and answer.body == b""
    done = wait_until("hello to succeed", lambda: (j := lab.job("hello"))["successCount"] and j)
    assert done["successCount"] == 1 and done["errorCount"] == 0 and done["lastError"] == ""
    assert parse(done["lastSuccess"]).tzinfo is not None and done["lastSuccess"].endswith("Z")
    (task,) = lab.tasks("hello")
    assert re.fullmatch(r"ct:\d{13}:0:hello:", task["id"]), task["id"]
    assert task["state"] == "TASK_FINISHED"
    # the one run used the schedule up: R0 and disabled after its success (JobScheduler)
    after = wait_until("hello disabled", lambda: (j := lab.job("hello"))["disabled"] and j)
    assert after["schedule"].startswith("R0/") and after["schedule"].endswith("/PT1M")
    assert after["epsilon"] == "PT60S" and after["retries"] == 2  # the defaults
    # a manual run of a disabled job is accepted and dropped: no second task, no success
    assert lab.call("PUT", "/scheduler/job/hello").status == 204
    runs = lab.call("POST", "/scheduler/iso8601", scheduled("probe", "true", "R1//PT1M"))
    assert runs.status == 204
    wait_until("probe to succeed", lambda: lab.job("probe")["successCount"] == 1)
    assert len(lab.tasks("hello")) == 1 and lab.job("hello")["successCount"] == 1


def test_failed_runs_are_retried_failure_retry_apart_before_error_count_rises(lab: Lab) -> None:
    job = scheduled("broken", "exit 3", f"R/{FUTURE}/P1D")
    assert lab.call("POST", "/scheduler/iso8601", job).status == 204
    assert lab.call("PUT", "/scheduler/job/broken").status == 204

    def attempts() -> list[str]:
        return [t["id"] for t in lab.tasks("broken") if t["state"] == "TASK_FAILED"]

    first_two = wait_until("two failed attempts", lambda: len(attempts()) >= 2 and attempts())
    now = lab.job("broken")
    if len(attempts()) == 2:  # the third attempt has not failed yet: nothing counted
        assert now["errorCount"] == 0 and now["lastError"] == ""
    failed = wait_until("errorCount 1", lambda: (j := lab.job("broken"))["errorCount"] and j)
    ids = attempts()
    assert [int(i.split(":")[2]) for i in ids] == [0, 1, 2], ids  # retries: 2
    assert ids[:2] == first_two
    dues = [int(i.split(":")[1]) for i in ids]
    assert all(b - a >= RETRY_MS for a, b in pairwise(dues)), dues
    assert failed["errorCount"] == 1 and failed["errorsSinceLastSuccess"] == 1
    assert failed["successCount"] == 0 and failed["lastSuccess"] == ""
    assert parse(failed["lastError"]) > datetime.fromtimestamp(dues[-1] / 1000, UTC) - timedelta(
        seconds=1
    )
    # its last run failed: Chronos does not retry it again, one attempt counts at once
    assert lab.call("PUT", "/scheduler/job/broken").status == 204
    wait_until("errorCount 2", lambda: lab.job("broken")["errorCount"] == 2)
    assert len(attempts()) == 4 and attempts()[-1].split(":")[2] == "0"
    graph = lab.chronos.get("/scheduler/graph/csv", accept="text/plain").body.decode()
    assert "node,broken,failure,idle\n" in graph


def test_dependent_jobs_run_after_all_their_parents(lab: Lab) -> None:
    for name in ("extract", "load"):
        body = scheduled(name, "true", f"R/{FUTURE}/P1D")
        assert lab.call("POST", "/scheduler/iso8601", body).status == 204
    report = {"name": "report", "command": "true", "parents": ["extract", "load"], "mem": 16}
    assert lab.call("POST", "/scheduler/dependency", report).status == 204
    job = lab.job("report")
    assert job["parents"] == ["extract", "load"] and "schedule" not in job
    assert lab.call("PUT", "/scheduler/job/extract").status == 204
    wait_until("extract to succeed", lambda: lab.job("extract")["successCount"] == 1)
    assert lab.call("PUT", "/scheduler/job/extract").status == 204
    wait_until("extract again", lambda: lab.job("extract")["successCount"] == 2)
    assert lab.job("report")["successCount"] == 0  # load has not run yet
    assert lab.tasks("report") == []
    assert lab.call("PUT", "/scheduler/job/load").status == 204
    done = wait_until("report to run", lambda: (j := lab.job("report"))["successCount"] and j)
    assert done["successCount"] == 1
    for parent in ("extract", "load"):
        assert parse(done["lastSuccess"]) > parse(lab.job(parent)["lastSuccess"])
    csv = lab.chronos.get("/scheduler/graph/csv", accept="text/plain").body.decode()
    assert "link,extract,report\n" in csv and "link,load,report\n" in csv
    assert "node,report,success,idle\n" in csv
    dot = lab.chronos.get("/scheduler/graph/dot", accept="text/plain").body.decode()
    ids = dict(re.findall(r'  (\d+) \[ label="([^"]+)" \];', dot))
    number = {name: i for i, name in ids.items()}
    assert dot.startswith("digraph G {\n") and dot.endswith("}\n")
    assert f"  {number['extract']} -> {number['report']};" in dot


def test_a_run_missed_by_more_than_epsilon_is_skipped(lab: Lab) -> None:
    start = (datetime.now(UTC) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = scheduled("late", "true", f"R3/{start}/PT1H", epsilon="PT10S")
    ontime = scheduled("ontime", "true", f"R3/{start}/PT1H", epsilon="PT5M")
    assert lab.call("POST", "/scheduler/iso8601", late).status == 204
    assert lab.call("POST", "/scheduler/iso8601", ontime).status == 204
    wait_until("ontime to run", lambda: lab.job("ontime")["successCount"] == 1)
    assert lab.job("ontime")["schedule"].startswith("R2/")  # one of three used
    skipped = lab.job("late")
    assert skipped["successCount"] == 0 and lab.tasks("late") == []
    assert skipped["schedule"] == f"R3/{start}/PT1H"  # as posted: only a launched run moves it


def test_stats_search_and_manual_arguments(lab: Lab) -> None:
    body = scheduled("Nightly-Report", "echo", f"R/{FUTURE}/P1D", owner="ops@lab")
    assert lab.call("POST", "/scheduler/iso8601", body).status == 204
    assert lab.call("PUT", "/scheduler/job/Nightly-Report?arguments=two").status == 204
    wait_until("a run", lambda: lab.job("Nightly-Report")["successCount"] == 1)
    (task,) = lab.tasks("Nightly-Report")
    assert task["id"].endswith(":Nightly-Report:two")
    stat = lab.chronos.get("/scheduler/job/stat/Nightly-Report").json()
    assert set(stat) == {"histogram", "taskStatHistory"} and stat["taskStatHistory"] == []
    histogram = stat["histogram"]
    assert histogram["count"] == 1 and histogram["median"] > 0
    assert set(histogram) == {
        "75thPercentile", "95thPercentile", "98thPercentile", "99thPercentile",
        "median", "mean", "count",
    }  # fmt: skip
    found = lab.chronos.get("/scheduler/jobs/search?name=nightly").json()
    assert [j["name"] for j in found] == ["Nightly-Report"]
    by_command = lab.chronos.get("/scheduler/jobs/search?command=EXIT").json()
    assert [j["name"] for j in by_command] == ["broken"]
    assert len(lab.chronos.get("/scheduler/jobs/search?limit=2").json()) == 2
    assert lab.chronos.get("/scheduler/jobs/search?limit=many").status == 404


def test_refusals_have_the_status_and_text_of_chronos_2_5(lab: Lab) -> None:
    bad_schedule = lab.call("POST", "/scheduler/iso8601", scheduled("x", "true", "R/tomorrow/P1D"))
    assert bad_schedule.status == 400 and bad_schedule.body == b""
    no_p = lab.call("POST", "/scheduler/iso8601", scheduled("x", "true", "R//1D"))
    assert no_p.status == 400 and no_p.body == b""
    bad_name = lab.call("POST", "/scheduler/iso8601", scheduled("a:b", "true", "R//PT1H"))
    assert bad_name.status == 400
    assert bad_name.body.decode() == (
        "requirement failed: the job's name is invalid. Allowed names: '([\\w\\s\\.#_-]+)'"
    )
    orphan = {"name": "orphan", "command": "true", "parents": ["nobody"]}
    unknown = lab.call("POST", "/scheduler/dependency", orphan)
    assert unknown.status == 400
    assert unknown.body.decode() == (
        "requirement failed: Job orphan does not have all parents defined!"
    )
    empty = lab.call("POST", "/scheduler/dependency", orphan | {"parents": []})
    assert empty.status == 500 and empty.body == b""
    for method, path in (
        ("PUT", "/scheduler/job/nobody"),
        ("DELETE", "/scheduler/job/nobody"),
        ("GET", "/scheduler/job/stat/nobody"),
    ):
        answer = lab.call(method, path)
        assert (answer.status, answer.body) == (400, b"Job 'nobody' not found"), path
    assert lab.call("DELETE", "/scheduler/task/kill/nobody").status == 500
    # 2.5 takes a start years in the past (only v3.0.0 refused one over a year old) ...
    old = lab.call(
        "POST", "/scheduler/iso8601", scheduled("old", "true", "R1/2016-01-01T00:00:00Z/PT1M")
    )
    assert old.status == 204
    # ... and a time without Z (read in the server's zone) and a tz name
    local = scheduled("local", "true", f"R/{FUTURE[:-1]}/P1D", scheduleTimeZone="Europe/Paris")
    assert lab.call("POST", "/scheduler/iso8601", local).status == 204
    assert lab.job("local")["scheduleTimeZone"] == "Europe/Paris"
    assert lab.call("DELETE", "/scheduler/jobs").status == 405  # 2.x has no such call
    wait_until("probe (to give old a chance)", lambda: lab.job("probe")["successCount"] == 1)
    assert lab.job("old")["successCount"] == 0 and lab.tasks("old") == []  # R1 in the past


def test_deleting_a_scheduled_parent_hands_its_schedule_to_its_child(lab: Lab) -> None:
    parent = scheduled("daily", "true", f"R/{FUTURE}/P1D")
    assert lab.call("POST", "/scheduler/iso8601", parent).status == 204
    child = {"name": "after-daily", "command": "true", "parents": ["daily"], "mem": 16}
    assert lab.call("POST", "/scheduler/dependency", child).status == 204
    gone = lab.call("DELETE", "/scheduler/job/daily")
    assert gone.status == 204 and gone.body == b""
    names = [j["name"] for j in lab.chronos.get("/scheduler/jobs").json()]
    assert "daily" not in names
    orphaned = lab.job("after-daily")
    assert "parents" not in orphaned and orphaned["schedule"] == f"R/{FUTURE}/P1D"
    assert lab.call("DELETE", "/scheduler/job/after-daily").status == 204
    assert lab.chronos.get("/scheduler/jobs/search?name=daily").json() == []


def test_killing_a_jobs_tasks_stops_its_retries(lab: Lab) -> None:
    body = scheduled("flaky", "sleep 30; exit 1", f"R/{FUTURE}/P1D", retries=5)
    assert lab.call("POST", "/scheduler/iso8601", body).status == 204
    assert lab.call("PUT", "/scheduler/job/flaky").status == 204
    wait_until(
        "flaky running", lambda: [t for t in lab.tasks("flaky") if t["state"] == "TASK_RUNNING"]
    )
    assert lab.call("DELETE", "/scheduler/task/kill/flaky").status == 204
    killed = wait_until(
        "flaky killed", lambda: [t for t in lab.tasks("flaky") if t["state"] == "TASK_KILLED"]
    )
    assert len(killed) == 1
    # a kill is no failure: nothing counted, nothing retried (a run of another job takes
    # longer than failure_retry)
    clock = scheduled("clock", "true", f"R/{FUTURE}/P1D")
    assert lab.call("POST", "/scheduler/iso8601", clock).status == 204
    assert lab.call("PUT", "/scheduler/job/clock").status == 204
    wait_until("clock to run", lambda: lab.job("clock")["successCount"] == 1)
    job = lab.job("flaky")
    assert job["errorCount"] == 0 and job["successCount"] == 0 and job["lastError"] == ""
    assert len(lab.tasks("flaky")) == 1
