"""``/v2/apps``: list (``embed``, ``cmd``/``id``/``label``), create, show, update, restart,
delete, versions, and the tasks of an app (MARATHON@v1.4.12 ``api/v2/AppsResource.scala``,
``AppVersionsResource.scala``, ``AppTasksResource.scala``, ``InfoEmbedResolver.scala``).

Every answer to a change that starts a deployment is :func:`.api_part.deployment_result`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mesoslab_twin.common.httpd import BadRequest, Reply, Request, Router, json_reply
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon import changes, versions
from mesoslab_twin.marathon.api_part import ApiPart, deployment_result, flag
from mesoslab_twin.marathon.apps import App, MTask
from mesoslab_twin.marathon.changes import unknown_app

if TYPE_CHECKING:
    pass

# What each ``embed`` value adds, with or without its "group.apps.", "apps." or "app." prefix
# (InfoEmbedResolver.scala L12-59).
EMBEDS = {
    "tasks": {"tasks", "deployments"},
    "failures": {"tasks", "lastTaskFailure", "deployments"},
    "deployments": {"deployments"},
    "readiness": {"readiness"},
    "lastTaskFailure": {"lastTaskFailure"},
    "counts": {"counts"},
    "taskStats": {"taskStats"},
}
PREFIXES = ("group.apps.", "apps.", "app.")
LIST_EMBEDS = {"counts", "deployments"}  # always on a list (AppsResource L57-59)
SHOW_EMBEDS = {"counts", "tasks", "lastTaskFailure", "deployments"}  # always on one (L115-118)


def resolve_embed(values: list[str]) -> set[str]:
    embeds: set[str] = set()
    for value in values:
        prefix = next((p for p in PREFIXES if value.startswith(p)), "")
        embeds |= EMBEDS.get(value[len(prefix) :], set())
    return embeds


def label_selector(selector: str) -> list[tuple[str, str, list[str]]]:
    """Marathon's label selector (``LabelSelectorParsers``): comma-separated terms
    ``key``, ``key==v``, ``key!=v``, ``key in (a, b)``, ``key notin (a, b)``, all to hold."""
    terms = []
    for term in re.findall(r"[^,(]+(?:\([^)]*\))?", selector):
        found = re.fullmatch(r"\s*([^=!\s]+)\s*(?:(==|!=|\bin\b|\bnotin\b)\s*(.*?))?\s*", term)
        if found is None:
            raise BadRequest(f"Invalid label selector: {selector}", 400)
        key, operator, value = found.group(1), found.group(2) or "exists", found.group(3) or ""
        values = [v.strip() for v in value.strip("()").split(",")] if value else []
        terms.append((key, operator, values))
    return terms


def _labels_match(labels: dict[str, Any], terms: list[tuple[str, str, list[str]]]) -> bool:
    for key, operator, values in terms:
        value = labels.get(key)
        held = {
            "exists": value is not None,
            "==": value is not None and [str(value)] == values,
            "!=": value is None or [str(value)] != values,
            "in": value is not None and str(value) in values,
            "notin": value is None or str(value) not in values,
        }[operator]
        if not held:
            return False
    return True


class AppsApi(ApiPart):
    def add_routes(self, router: Router) -> None:
        router.add("GET", r"/v2/apps", self.index)
        router.add("POST", r"/v2/apps", self.create)
        router.add("PUT", r"/v2/apps", self.replace_many)
        router.add("PATCH", r"/v2/apps", self.patch_many)
        router.add("GET", r"/v2/apps/(.+)/versions/([^/]+)", self.version)
        router.add("GET", r"/v2/apps/(.+)/versions", self.versions)
        router.add("POST", r"/v2/apps/(.+)/restart", self.restart)
        router.add("GET", r"/v2/apps/(.+)/tasks", self.tasks)
        router.add("DELETE", r"/v2/apps/(.+)/tasks", self.kill_many)
        router.add("DELETE", r"/v2/apps/(.+)/tasks/([^/]+)", self.kill_one)
        router.add("GET", r"/v2/apps/(.+)", self.show)
        router.add("PUT", r"/v2/apps/(.+)", self.replace)
        router.add("PATCH", r"/v2/apps/(.+)", self.patch)
        router.add("DELETE", r"/v2/apps/(.+)", self.delete)

    def _app(self, raw_id: str) -> App:
        app_id = apps_mod.canonical_id(unquote(raw_id))
        app = self.m.apps.get(app_id)
        if app is None:
            raise unknown_app(app_id)
        return app

    # ------------------------------------------------------------------ reading

    def index(self, request: Request, _m: Any) -> Reply:
        embed = resolve_embed(request.query.get("embed", [])) | LIST_EMBEDS
        cmd, wanted, label = request.arg("cmd"), request.arg("id"), request.arg("label")
        terms = label_selector(label) if label else []
        with self.m.lock:
            apps = [
                self.api.app_json(a, embed)
                for a in sorted(self.m.apps.values(), key=lambda a: a.id)
                if (not cmd or cmd.lower() in str(a.definition.get("cmd") or "").lower())
                and (not wanted or wanted.lower() in a.id.lower())
                and _labels_match(a.definition.get("labels") or {}, terms)
            ]
        return json_reply({"apps": apps})

    def show(self, request: Request, match: Any) -> Reply:
        embed = resolve_embed(request.query.get("embed", [])) | SHOW_EMBEDS
        raw = unquote(match.group(1))
        with self.m.lock:
            if raw == "*" or raw.endswith("/*"):  # every app under a group (L120-143)
                group = apps_mod.canonical_id(raw[:-1])
                inside = [
                    self.api.app_json(a, embed)
                    for a in sorted(self.m.apps.values(), key=lambda a: a.id)
                    if group == "/" or a.id.startswith(group + "/")
                ]
                return json_reply({"*": inside})
            return json_reply({"app": self.api.app_json(self._app(raw), embed)})

    def versions(self, request: Request, match: Any) -> Reply:
        with self.m.lock:
            app = self._app(match.group(1))
            return json_reply({"versions": versions.listing(app.versions)})

    def version(self, request: Request, match: Any) -> Reply:
        wanted = unquote(match.group(2))
        if versions.parse(wanted) is None:  # Timestamp(String) throws: 422 (ExceptionMapper)
            raise BadRequest(f'Invalid format: "{wanted}"', 422)  # Joda's DateTime.parse
        with self.m.lock:
            app = self._app(match.group(1))
            definition = versions.find(app.versions, wanted)
            if definition is None:
                raise unknown_app(app.id, wanted)
            return json_reply(definition)

    def tasks(self, request: Request, match: Any) -> Reply:
        with self.m.lock:
            app = self._app(match.group(1))
            if "text/plain" in request.headers.get(
                "accept", ""
            ) and "json" not in request.headers.get("accept", ""):
                return self.api.tasks_text([app])
            return json_reply({"tasks": [t.to_json() for t in app.tasks.values()]})

    # ------------------------------------------------------------------ changes

    def create(self, request: Request, _m: Any) -> Reply:
        app, plan = changes.create(self.m, request.json())
        with self.m.lock:
            changes.post_event(self.m, app, request.remote, request.path)
            body = self.api.app_json(app, set())
        body.update(
            {"tasksStaged": 0, "tasksRunning": 0, "tasksHealthy": 0, "tasksUnhealthy": 0}
        )  # AppsResource L92-97: zero counts, no tasks, the new deployment
        body.update({"tasks": [], "deployments": [{"id": plan.id}]})
        headers = {"Location": f"/v2/apps{app.id}", "Marathon-Deployment-Id": plan.id}
        return json_reply(body, 201, headers)

    def replace(self, request: Request, match: Any) -> Reply:
        return self._update(request, match, partial=flag(request, "partialUpdate", True))

    def patch(self, request: Request, match: Any) -> Reply:
        return self._update(request, match, partial=True, create_missing=False)

    def replace_many(self, request: Request, _m: Any) -> Reply:
        return self._update_many(request, partial=flag(request, "partialUpdate", True))

    def patch_many(self, request: Request, _m: Any) -> Reply:
        return self._update_many(request, partial=True, create_missing=False)

    def _update_many(
        self, request: Request, *, partial: bool, create_missing: bool = True
    ) -> Reply:
        """A JSON array of apps, each updated (or made): one deployment for all
        (AppsResource L215-234, L323-339)."""
        body = request.json()
        if not isinstance(body, list) or not all(isinstance(a, dict) for a in body):
            raise BadRequest("Invalid JSON", 400)
        with self.m.lock:
            edits: changes.Edits = {}
            for raw in body:
                app_id = apps_mod.canonical_id(str(raw.get("id") or ""))
                existing = self.m.apps.get(app_id)
                if existing is not None:
                    edits[app_id] = changes.updated(existing, raw, partial)
                elif create_missing and "version" not in raw:
                    edits[app_id] = apps_mod.normalize(raw, app_id)
                else:
                    raise unknown_app(app_id)
            plan = changes.apply(self.m, edits, force=flag(request, "force"))
        return deployment_result(plan)

    def _update(
        self, request: Request, match: Any, *, partial: bool, create_missing: bool = True
    ) -> Reply:
        app, plan, created = changes.update(
            self.m,
            request.json(),
            unquote(match.group(1)),
            force=flag(request, "force"),
            partial=partial,
            create_missing=create_missing,
        )
        with self.m.lock:
            changes.post_event(self.m, app, request.remote, request.path)
        if created:  # L303-309: 201 and the deployment
            return deployment_result(plan, 201, f"/v2/apps{app.id}")
        return deployment_result(plan)

    def restart(self, request: Request, match: Any) -> Reply:
        plan = changes.restart(self.m, unquote(match.group(1)), force=flag(request, "force"))
        return deployment_result(plan)

    def delete(self, request: Request, match: Any) -> Reply:
        # force is true by default here (AppsResource L240)
        plan = changes.delete(self.m, unquote(match.group(1)), force=flag(request, "force", True))
        return deployment_result(plan)

    def kill_one(self, request: Request, match: Any) -> Reply:
        task_id = unquote(match.group(2))
        return self._kill(request, match, lambda t: t.id == task_id, one=task_id)

    def kill_many(self, request: Request, match: Any) -> Reply:
        host = request.arg("host")
        return self._kill(request, match, lambda t: host is None or host in ("*", t.host))

    def _kill(self, request: Request, match: Any, pick: Any, one: str | None = None) -> Reply:
        scale = flag(request, "scale")
        if scale and flag(request, "wipe"):
            raise BadRequest("You cannot use scale and wipe at the same time.", 400)
        with self.m.lock:
            app = self._app(match.group(1))
            chosen: list[MTask] = [t for t in app.tasks.values() if pick(t)]
            if one is not None and not chosen and not scale:
                raise BadRequest(f"Task '{one}' does not exist", 404)
            plan = changes.kill(self.m, {app.id: chosen}, scale=scale, force=flag(request, "force"))
            if plan is not None:
                return deployment_result(plan)
            killed = [t.to_json() for t in chosen]
        return json_reply({"task": killed[0]} if one is not None else {"tasks": killed})
