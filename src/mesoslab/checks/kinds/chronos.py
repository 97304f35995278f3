"""Chronos check kinds: a scheduled job exists, succeeded, failed beyond its retries, ran
after its parents.

Chronos 2.x serves its API under ``/scheduler/*``; Chronos 3 moved it to
``/v1/scheduler/*``. The check asks the 2.x path first and says when it fell back.

A ``since`` time (an ISO time or ``step start``, see :mod:`mesoslab.checks.moments`) is
compared with Chronos's own ``lastSuccess``/``lastError``, which Chronos stamps with its own
clock: the check corrects by how far that clock is from ours when the ``Date`` header of the
job list says they differ by more than a second (then with a second of slack for the
header's whole seconds), so a lab VM whose clock drifted neither passes nor fails for that.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from mesoslab.checks.fanout import first_answer
from mesoslab.checks.moments import Moment, parse_time
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.checks.values import parse_number
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get, parse_json
from mesoslab.remote.session import CheckContext

PORT_KEY = "chronos"
JOBS_PATHS = ("/scheduler/jobs", "/v1/scheduler/jobs")  # Chronos 2.x, then Chronos 3


def _jobs_response(ctx: CheckContext, node: Node) -> tuple[str, httpx.Response]:
    response = get(ctx, node, PORT_KEY, JOBS_PATHS[0])
    if response.status_code == 404:
        newer = get(ctx, node, PORT_KEY, JOBS_PATHS[1])
        if newer.status_code != 404:
            return JOBS_PATHS[1], newer
    return JOBS_PATHS[0], response


def read_jobs(ctx: CheckContext, nodes: list[Node]) -> tuple[str, list[dict[str, Any]]]:
    """The job list of the first Chronos that answers and the path it came from."""
    path, jobs, _ = read_jobs_and_clock(ctx, nodes)
    return path, jobs


def clock_ahead(response: httpx.Response) -> timedelta:
    """How far the server's clock is ahead of ours, from its ``Date`` header (zero when
    it sends none or one that does not parse)."""
    try:
        theirs = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return timedelta(0)
    if theirs is None or theirs.tzinfo is None:
        return timedelta(0)
    ours = datetime.now(theirs.tzinfo)
    ahead = theirs - ours
    return ahead if abs(ahead) > CLOCK_SLACK else timedelta(0)


CLOCK_SLACK = timedelta(seconds=1)  # a Date header has whole seconds


def read_jobs_and_clock(
    ctx: CheckContext, nodes: list[Node]
) -> tuple[str, list[dict[str, Any]], timedelta]:
    """:func:`read_jobs` and how far that Chronos's clock is ahead of ours."""
    node, (path, response) = first_answer(
        nodes, lambda n: _jobs_response(ctx, n), what="Chronos instance"
    )
    where = f"{node.name}:{ctx.port(PORT_KEY)}{path}"
    if response.status_code != 200:
        raise ProbeError(
            f"{where} answered HTTP {response.status_code}"
            + (
                " (neither /scheduler/jobs nor /v1/scheduler/jobs exists: is this Chronos?)"
                if response.status_code == 404
                else ""
            ),
            f"HTTP {response.status_code}",
        )
    data = parse_json(response)
    if not isinstance(data, list):
        raise ProbeError(
            f"{where} answered {type(data).__name__} JSON, expected a list of jobs",
            str(data)[:120],
        )
    return path, [j for j in data if isinstance(j, dict)], clock_ahead(response)


def _count(value: Any) -> int:
    try:
        return int(parse_number(value))
    except (TypeError, ValueError):
        return 0


@check(
    "chronos.job",
    role="chronos",
    scope="group",
    params={
        "name": P(str, required=True, help="exact job name"),
        "succeeded": P(bool, default=False, help="the job has succeeded at least once"),
        "min_success": P(int, help="successCount at least this"),
        "disabled": P(bool, help="the job is disabled (true) or enabled (false)"),
    },
)
def job(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A Chronos job with this exact name exists (and has succeeded, is disabled)."""
    path, jobs = read_jobs(ctx, nodes)
    name = params["name"]
    via = " (Chronos 3 API /v1/scheduler/jobs)" if path != JOBS_PATHS[0] else ""
    succeeded = bool(params.get("succeeded"))
    min_success = params.get("min_success")
    expected = f"job {name}"
    if succeeded:
        expected += " that has succeeded"
    if min_success is not None:
        expected += f" with successCount >= {min_success}"
    disabled = params.get("disabled")
    if disabled is not None:
        expected += ", disabled" if disabled else ", enabled"
    found = next((j for j in jobs if j.get("name") == name), None)
    if found is None:
        names = [str(j.get("name")) for j in jobs if j.get("name")]
        close = difflib.get_close_matches(name, names, n=3)
        observed = f"no job named {name} among {len(names)} jobs"
        if close:
            observed += f" (similar: {', '.join(close)})"
        elif names:
            observed += f" ({', '.join(names[:5])}{' …' if len(names) > 5 else ''})"
        return Observation.fail(
            f"Chronos has no job named {name!r}{via}", expected=expected, observed=observed
        )
    successes = _count(found.get("successCount"))
    errors = _count(found.get("errorCount"))
    last_success = str(found.get("lastSuccess") or "")
    last_error = str(found.get("lastError") or "")
    observed = (
        f"successCount {successes}, errorCount {errors}, lastSuccess {last_success or 'never'}"
    )
    if last_error:
        observed += f", lastError {last_error}"
    if found.get("disabled") is True:
        observed += ", disabled"
    problems = []
    if succeeded and successes < 1 and not last_success:
        problems.append("has never succeeded")
    if min_success is not None and successes < min_success:
        problems.append(f"succeeded {successes} times, expected at least {min_success}")
    if disabled is not None and (found.get("disabled") is True) != disabled:
        problems.append("is not disabled" if disabled else "is disabled")
    if problems:
        return Observation.fail(
            f"Chronos job {name} " + "; ".join(problems) + via,
            expected=expected,
            observed=observed,
        )
    detail = f", succeeded {successes} times" if succeeded or min_success is not None else ""
    if disabled is not None:
        detail += ", disabled" if disabled else ", enabled"
    return Observation.ok(
        f"Chronos job {name} exists{detail}{via}", expected=expected, observed=observed
    )


# ------------------------------------------------ lesson 6: runs, failures, dependencies


def _time(text: Any) -> datetime | None:
    """A Chronos time (``2013-03-15T13:02:14.243Z``, ``+01:00`` offsets); None when empty or
    unreadable."""
    return parse_time(text)


@dataclass(frozen=True)
class _Found:
    """One attempt's view: the job asked for (None: there is none), every job, the
    failing observation when the job is missing, and how far Chronos's clock is ahead."""

    job: dict[str, Any] | None
    jobs: list[dict[str, Any]]
    missing: Observation | None
    ahead: timedelta

    def on_their_clock(self, since: Moment | None) -> datetime | None:
        """``since`` as Chronos's clock reads it (None: no bound); when the clocks differ,
        less a second of slack for the ``Date`` header's whole seconds."""
        if since is None or since.when is None:
            return None
        if not self.ahead:
            return since.when
        return since.when + self.ahead - CLOCK_SLACK


def _find(ctx: CheckContext, nodes: list[Node], name: str) -> _Found:
    """The job named ``name`` and all jobs, or a failing Observation naming similar jobs."""
    _, jobs, ahead = read_jobs_and_clock(ctx, nodes)
    found = next((j for j in jobs if j.get("name") == name), None)
    if found is not None:
        return _Found(found, jobs, None, ahead)
    names = [str(j.get("name")) for j in jobs if j.get("name")]
    close = difflib.get_close_matches(name, names, n=3)
    observed = f"no job named {name} among {len(names)} jobs"
    if close:
        observed += f" (similar: {', '.join(close)})"
    missing = Observation.fail(
        f"Chronos has no job named {name!r}", expected=f"job {name}", observed=observed
    )
    return _Found(None, jobs, missing, ahead)


def _since_text(since: Moment | None, what: str) -> str:
    if since is None:
        return ""
    return f", {what} at or after {since}{since.unknown_note}"


def _state(job: dict[str, Any]) -> str:
    parts = [
        f"successCount {_count(job.get('successCount'))}",
        f"errorCount {_count(job.get('errorCount'))}",
        f"lastSuccess {job.get('lastSuccess') or 'never'}",
        f"lastError {job.get('lastError') or 'never'}",
    ]
    if job.get("disabled") is True:
        parts.append("disabled")
    if job.get("schedule"):
        parts.append(f"schedule {job['schedule']}")
    return ", ".join(parts)


SINCE_HELP = "ISO 8601 time or 'step start': the last {} must not be before it"


@check(
    "chronos.job_succeeded",
    role="chronos",
    scope="group",
    params={
        "name": P(str, required=True, help="exact job name"),
        "count": P(int, default=1, help="successCount at least this"),
        "since": P(str, moment=True, help=SINCE_HELP.format("success")),
    },
)
def job_succeeded(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A Chronos job succeeded at least ``count`` times (and last after ``since``)."""
    name, count = params["name"], int(params.get("count") or 1)
    found = _find(ctx, nodes, name)
    if found.job is None:
        assert found.missing is not None
        return found.missing
    job = found.job
    since: Moment | None = params.get("since")
    expected = f"job {name} with successCount >= {count}" + _since_text(since, "last success")
    observed = _state(job)
    successes = _count(job.get("successCount"))
    last = _time(job.get("lastSuccess"))
    if successes < count:
        return Observation.fail(
            f"Chronos job {name} succeeded {successes} times, expected at least {count}",
            expected=expected,
            observed=observed,
        )
    bound = found.on_their_clock(since)
    if bound is not None and (last is None or last < bound):
        return Observation.fail(
            f"Chronos job {name} has not succeeded since {since}",
            expected=expected,
            observed=observed + _clock_note(found),
        )
    return Observation.ok(
        f"Chronos job {name} succeeded {successes} times", expected=expected, observed=observed
    )


def _clock_note(found: _Found) -> str:
    if not found.ahead:
        return ""
    seconds = found.ahead.total_seconds()
    side = "ahead of" if seconds > 0 else "behind"
    return f" (Chronos's clock is {abs(seconds):.0f}s {side} ours)"


@check(
    "chronos.job_failed",
    role="chronos",
    scope="group",
    params={
        "name": P(str, required=True, help="exact job name"),
        "count": P(int, default=1, help="errorCount at least this (counted after the retries)"),
        "failing": P(bool, default=False, help="its last error is later than its last success"),
        "since": P(str, moment=True, help=SINCE_HELP.format("error")),
    },
)
def job_failed(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A Chronos job failed beyond its retries at least ``count`` times, or is failing."""
    name, count = params["name"], int(params.get("count") or 1)
    failing = bool(params.get("failing"))
    found = _find(ctx, nodes, name)
    if found.job is None:
        assert found.missing is not None
        return found.missing
    job = found.job
    since: Moment | None = params.get("since")
    expected = f"job {name} with errorCount >= {count}"
    if failing:
        expected += " and lastError after lastSuccess"
    expected += _since_text(since, "last error")
    observed = _state(job)
    errors = _count(job.get("errorCount"))
    if errors < count:
        retries = _count(job.get("retries"))
        return Observation.fail(
            f"Chronos job {name} has errorCount {errors}, expected at least {count} "
            f"(a failed run counts only after its {retries} retries)",
            expected=expected,
            observed=observed,
        )
    last_error, last_success = _time(job.get("lastError")), _time(job.get("lastSuccess"))
    bound = found.on_their_clock(since)
    if bound is not None and (last_error is None or last_error < bound):
        return Observation.fail(
            f"Chronos job {name} has not failed beyond its retries since {since}",
            expected=expected,
            observed=observed + _clock_note(found),
        )
    if failing and (
        last_error is None or (last_success is not None and last_success >= last_error)
    ):
        return Observation.fail(
            f"Chronos job {name} succeeded after its last error",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"Chronos job {name} failed {errors} times", expected=expected, observed=observed
    )


@check(
    "chronos.job_absent",
    role="chronos",
    scope="group",
    params={"name": P(str, required=True, help="exact job name")},
)
def job_absent(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """No Chronos job has this exact name (it was deleted, or never posted)."""
    name = params["name"]
    found = _find(ctx, nodes, name)
    expected = f"no job named {name}"
    if found.job is not None:
        return Observation.fail(
            f"Chronos still has a job named {name!r}",
            expected=expected,
            observed=_state(found.job),
        )
    return Observation.ok(
        f"Chronos has no job named {name!r}",
        expected=expected,
        observed=f"{len(found.jobs)} other jobs",
    )


@check(
    "chronos.dependency",
    role="chronos",
    scope="group",
    params={
        "name": P(str, required=True, help="exact name of the dependent job"),
        "parents": P(list, required=True, help="the job's parents (any order)"),
        "ran_after": P(bool, default=True, help="its last success is later than each parent's"),
    },
)
def dependency(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A dependent Chronos job has exactly these parents and succeeded after each of them."""
    name = params["name"]
    wanted = sorted({str(p) for p in params["parents"]})
    found = _find(ctx, nodes, name)
    if found.job is None:
        assert found.missing is not None
        return found.missing
    job, jobs = found.job, found.jobs
    expected = f"job {name} with parents {', '.join(wanted)}"
    if params.get("ran_after", True):
        expected += ", last success after each parent's"
    have = job.get("parents")
    if not isinstance(have, list):
        return Observation.fail(
            f"Chronos job {name} is not a dependent job (it has a schedule, no parents)",
            expected=expected,
            observed=_state(job),
        )
    parents = sorted({str(p) for p in have})
    observed = f"parents {', '.join(parents) or 'none'}; {_state(job)}"
    if parents != wanted:
        return Observation.fail(
            f"Chronos job {name} has parents {', '.join(parents)}, expected {', '.join(wanted)}",
            expected=expected,
            observed=observed,
        )
    if not params.get("ran_after", True):
        return Observation.ok(
            f"Chronos job {name} depends on {', '.join(wanted)}",
            expected=expected,
            observed=observed,
        )
    mine = _time(job.get("lastSuccess"))
    if mine is None:
        return Observation.fail(
            f"Chronos job {name} has never succeeded", expected=expected, observed=observed
        )
    by_name = {str(j.get("name")): j for j in jobs}
    for parent in wanted:
        theirs = _time((by_name.get(parent) or {}).get("lastSuccess"))
        if theirs is None:
            return Observation.fail(
                f"parent {parent} of Chronos job {name} has never succeeded",
                expected=expected,
                observed=observed,
            )
        observed += f"; {parent} lastSuccess {theirs.isoformat()}"
        if mine <= theirs:
            return Observation.fail(
                f"Chronos job {name} last succeeded before its parent {parent} did",
                expected=expected,
                observed=observed,
            )
    return Observation.ok(
        f"Chronos job {name} ran after {', '.join(wanted)}", expected=expected, observed=observed
    )
