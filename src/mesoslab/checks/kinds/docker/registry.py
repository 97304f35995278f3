"""The lab registry's catalogue over its HTTP API (Docker Registry v2: ``/v2/_catalog``,
``/v2/<name>/tags/list``), asked of the masters: the registry runs on the first one."""

from __future__ import annotations

from typing import Any

from mesoslab.checks.fanout import first_answer
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import get, parse_json
from mesoslab.remote.session import CheckContext

PORT_KEY = "docker_registry"


def _tags(ctx: CheckContext, node: Node, repository: str) -> tuple[int, list[str]]:
    """The HTTP status of the repository's tag list on this node's registry, and its tags.
    A registry that answers at all is the one to read: its refusals are the answer."""
    response = get(ctx, node, PORT_KEY, f"/v2/{repository}/tags/list", allow=(401, 403, 404))
    if response.status_code != 200:
        return response.status_code, []
    data = parse_json(response)
    tags = data.get("tags") if isinstance(data, dict) else None
    return 200, [str(t) for t in tags or []]


@check(
    "docker.registry",
    role="master",
    scope="group",
    params={
        "repository": P(str, required=True, help="repository name, e.g. nginx or library/nginx"),
        "tags": P(list, help="tags it must have, e.g. [latest, '1.22']"),
    },
)
def registry(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """The lab registry serves the repository (with these tags)."""
    repository: str = params["repository"]
    wanted = [str(t) for t in params.get("tags") or []]
    node, (status, tags) = first_answer(nodes, lambda n: _tags(ctx, n, repository), what="registry")
    where = f"{node.name}:{ctx.port(PORT_KEY)}"
    expected = repository + (f" with tags {', '.join(wanted)}" if wanted else "")
    if status == 404:
        return Observation.fail(
            f"the registry on {where} has no repository {repository}",
            expected=expected,
            observed="HTTP 404 (NAME_UNKNOWN)",
        )
    if status != 200:
        auth = " (auth is on: the lab registry runs without it)" if status in (401, 403) else ""
        return Observation.fail(
            f"the registry on {where} answered HTTP {status}{auth}",
            expected=expected,
            observed=f"HTTP {status}",
        )
    missing = [t for t in wanted if t not in tags]
    observed = f"{repository}: " + (", ".join(sorted(tags)) or "no tags")
    if missing:
        return Observation.fail(
            f"{repository} on {where} lacks tag(s) {', '.join(missing)}",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"the registry on {where} serves {expected}", expected=expected, observed=observed
    )
