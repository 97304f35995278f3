"""What the parts of Marathon's /v2 API share: their place on the :class:`.api.MarathonApi`,
Boolean query parameters, and the answer of a change that starts a deployment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply

if TYPE_CHECKING:
    from mesoslab_twin.marathon.api import MarathonApi
    from mesoslab_twin.marathon.daemon import Marathon
    from mesoslab_twin.marathon.deployments import Deployment


class ApiPart:
    """Some /v2 routes and their handlers, served by ``api``'s Marathon."""

    def __init__(self, api: MarathonApi) -> None:
        self.api = api

    @property
    def m(self) -> Marathon:
        return self.api.m

    def add_routes(self, router: Router) -> None:
        raise NotImplementedError


def flag(request: Request, name: str, default: bool = False) -> bool:
    """A Boolean query parameter as JAX-RS reads it ("true" in any case)."""
    value = request.arg(name)
    return default if value is None else value.strip().lower() == "true"


def deployment_result(plan: Deployment, status: int = 200, location: str = "") -> Reply:
    """``{"version", "deploymentId"}`` and the ``Marathon-Deployment-Id`` header
    (MARATHON@v1.4.12 ``api/RestResource.scala`` L41-45, L94)."""
    headers = {"Marathon-Deployment-Id": plan.id}
    if location:
        headers["Location"] = location
    return json_reply({"version": plan.version, "deploymentId": plan.id}, status, headers)
