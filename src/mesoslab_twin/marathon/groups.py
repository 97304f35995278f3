"""``/v2/groups``: apps seen as the tree of their ids (MARATHON@v1.4.12
``api/v2/GroupsResource.scala``).

A group is every path above an app's id, and each group made by ``POST`` (empty or not).
``GET`` shows ``{id, apps, groups, dependencies, version}``, nested; its apps are their
definitions, with more only for ``embed=group.apps.<x>`` (L36-40, L65-88,
``InfoEmbedResolver.scala`` L61-78). ``POST`` makes a group (409 if it or an app of that id
exists, L135-160); ``PUT`` changes one or makes it: its ``apps`` replace the group's own
apps, ``scaleBy`` multiplies every app's instances in it (rounded up), ``version`` is not
supported by the twin (L163-287). ``DELETE`` removes the group and every app in it
(L210-251). Changes answer ``{"version", "deploymentId"}`` like the apps' and are refused
while a deployment holds one of their apps, unless ``force``. The twin keeps no
``dependencies`` and no group versions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mesoslab_twin.common.httpd import BadRequest, Reply, Request, Router, json_reply
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon import changes
from mesoslab_twin.marathon.api_apps import resolve_embed
from mesoslab_twin.marathon.api_part import ApiPart, deployment_result, flag
from mesoslab_twin.marathon.changes import Edits

if TYPE_CHECKING:
    pass


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def inside(app_id: str, group: str) -> bool:
    return group == "/" or app_id.startswith(group + "/")


class GroupsApi(ApiPart):
    def add_routes(self, router: Router) -> None:
        router.add("GET", r"/v2/groups(/.+)?", self.show)
        router.add("POST", r"/v2/groups(/.+)?", self.create)
        router.add("PUT", r"/v2/groups(/.+)?", self.update)
        router.add("DELETE", r"/v2/groups(/.+)?", self.delete)

    def all_groups(self) -> set[str]:
        found = {"/"} | set(self.m.groups)
        for path in [*self.m.apps, *self.m.groups]:
            while path != "/":
                path = parent(path)
                found.add(path)
        return found

    def group_json(self, group: str, embed: set[str]) -> dict[str, Any]:
        known = self.all_groups()
        return {
            "id": group,
            "apps": [
                self.api.app_json(a, embed)
                for a in sorted(self.m.apps.values(), key=lambda a: a.id)
                if parent(a.id) == group
            ],
            "groups": [
                self.group_json(g, embed) for g in sorted(known) if g != "/" and parent(g) == group
            ],
            "dependencies": [],
            "version": self.m.root_version,
        }

    @staticmethod
    def _id(match: Any) -> str:
        return apps_mod.canonical_id(unquote(match.group(1) or "/"))

    def show(self, request: Request, match: Any) -> Reply:
        group = self._id(match)
        embeds = [e for e in request.query.get("embed", []) if e.startswith("group.apps.")]
        with self.m.lock:
            if group not in self.all_groups():
                raise BadRequest(f"Group '{group}' does not exist", 404)
            return json_reply(self.group_json(group, resolve_embed(embeds)))

    def create(self, request: Request, match: Any) -> Reply:
        body = self._body(request)
        group = self._target(match, body)
        with self.m.lock:
            if group in self.all_groups():
                raise BadRequest(
                    f"Group {group} is already created. Use PUT to change this group.", 409
                )
            if group in self.m.apps:
                raise BadRequest(f"An app with the path {group} already exists.", 409)
            plan = self._apply(group, body, force=flag(request, "force"))
        return deployment_result(plan, 201, f"/v2/groups{group}")

    def update(self, request: Request, match: Any) -> Reply:
        body = self._body(request)
        group = self._target(match, body)
        with self.m.lock:
            plan = self._apply(group, body, force=flag(request, "force"))
        return deployment_result(plan)

    def delete(self, request: Request, match: Any) -> Reply:
        group = self._id(match)
        with self.m.lock:
            if group not in self.all_groups():
                raise BadRequest(f"Group '{group}' does not exist", 404)
            edits: Edits = {a: None for a in self.m.apps if inside(a, group)}
            plan = changes.apply(self.m, edits, force=flag(request, "force"))
            self.m.groups = {g for g in self.m.groups if not (g == group or inside(g, group))}
        return deployment_result(plan)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("Invalid JSON", 400)
        if body.get("version") is not None:
            raise BadRequest("Group versions are not kept by the mesoslab twin", 422)
        return body

    def _target(self, match: Any, body: dict[str, Any]) -> str:
        base = self._id(match)
        named = body.get("id")
        if not named:
            return base
        named = str(named)
        return apps_mod.canonical_id(named if named.startswith("/") else f"{base}/{named}")

    def _apply(self, group: str, body: dict[str, Any], *, force: bool) -> Any:
        """The deployment of a group update (GroupUpdate.apply or its scaleBy)."""
        edits: Edits = {}
        if body.get("scaleBy") is not None:
            factor = float(body["scaleBy"])
            for app in self.m.apps.values():
                if inside(app.id, group):
                    definition = changes.editable(app.definition)
                    definition["instances"] = math.ceil(int(definition["instances"]) * factor)
                    edits[app.id] = apps_mod.normalize(definition, app.id)
        else:
            edits = self._group_edits(group, body)
        plan = changes.apply(self.m, edits, force=force)
        self.m.groups.add(group)
        return plan

    def _group_edits(self, group: str, body: dict[str, Any]) -> Edits:
        edits: Edits = {}
        if body.get("apps") is not None:
            given = set()
            for raw in body["apps"]:
                if not isinstance(raw, dict) or not raw.get("id"):
                    raise apps_mod.invalid("/apps", "error.path.missing")
                raw_id = str(raw["id"])
                app_id = apps_mod.canonical_id(
                    raw_id if raw_id.startswith("/") else f"{group}/{raw_id}"
                )
                existing = self.m.apps.get(app_id)
                edits[app_id] = (
                    changes.updated(existing, raw, partial=False)
                    if existing is not None
                    else apps_mod.normalize(raw, app_id)
                )
                given.add(app_id)
            for app_id in self.m.apps:  # the group's own apps not named are removed
                if parent(app_id) == group and app_id not in given:
                    edits[app_id] = None
        for sub in body.get("groups") or []:
            if isinstance(sub, dict) and sub.get("id"):
                sub_id = str(sub["id"])
                path = apps_mod.canonical_id(
                    sub_id if sub_id.startswith("/") else f"{group}/{sub_id}"
                )
                self.m.groups.add(path)
                edits.update(self._group_edits(path, sub))
        return edits
