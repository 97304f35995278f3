"""Chronos check kinds: a scheduled job exists (and has succeeded).

Chronos 2.x serves its API under ``/scheduler/*``; Chronos 3 moved it to
``/v1/scheduler/*``. The check asks the 2.x path first and says when it fell back.
"""

from __future__ import annotations

import difflib
from typing import Any

import httpx

from mesoslab.checks.fanout import first_answer
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
    return path, [j for j in data if isinstance(j, dict)]


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
    },
)
def job(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A Chronos job with this exact name exists (and has succeeded)."""
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
    if problems:
        return Observation.fail(
            f"Chronos job {name} " + "; ".join(problems) + via,
            expected=expected,
            observed=observed,
        )
    detail = f", succeeded {successes} times" if succeeded or min_success is not None else ""
    return Observation.ok(
        f"Chronos job {name} exists{detail}{via}", expected=expected, observed=observed
    )
