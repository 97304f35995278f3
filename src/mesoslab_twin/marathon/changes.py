"""Changes of apps through the API: each one is a new version and starts a deployment.

Create (POST), update (PUT/PATCH: a partial update by default, ``?partialUpdate=false``
replaces; ``{"version": v}`` rolls back to a kept version), restart, delete, kill and scale
(MARATHON@v1.4.12 ``api/v2/AppsResource.scala`` L76-106, L190-378;
``api/v2/AppTasksResource.scala`` L147-207), and the changes of groups. Every change is
refused while a deployment holds one of its apps, unless ``force`` (deleting an app is
forced by default, AppsResource L236-251). Creates and updates publish ``api_post_event``
(L380-381). A rollback of a deployment (``DELETE /v2/deployments/{id}``) is a forced change
back to the plan's originals (``api/v2/DeploymentsResource.scala`` L35-57).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesoslab_twin.common.httpd import BadRequest
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon import deployments, versions
from mesoslab_twin.marathon.apps import App, MTask
from mesoslab_twin.marathon.deployments import Change, Deployment

if TYPE_CHECKING:
    from mesoslab_twin.marathon.daemon import Marathon

Edits = dict[str, dict[str, Any] | None]  # app id -> its new definition (None: remove it)


def unknown_app(app_id: str, version: str | None = None) -> BadRequest:
    suffix = f" in version {version}" if version else ""
    return BadRequest(f"App '{app_id}' does not exist{suffix}", 404)


def editable(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition without what Marathon sets on each version."""
    return {k: v for k, v in definition.items() if k not in ("version", "versionInfo", "ports")}


def apply(
    m: Marathon, edits: Edits, *, force: bool, restart: frozenset[str] = frozenset()
) -> Deployment:
    """Make the edits (normalized definitions) one new version and deploy them; the apps
    in ``restart`` get a new configuration version even when nothing else changed."""
    with m.lock:
        m.deployer.check(edits, force)
        before = m.deployer.snapshot()
        stamp = versions.new_version()
        changes: dict[str, Change] = {}
        for app_id, definition in edits.items():
            app = m.apps.get(app_id)
            original = app.definition if app is not None else None
            if definition is None:
                if app is not None:
                    _remove(m, app)
                changes[app_id] = (original, None)
                continue
            if (
                original is None
                or app_id in restart
                or deployments.config_changed(original, definition)
            ):
                config_stamp = stamp
            else:
                config_stamp = original["versionInfo"]["lastConfigChangeAt"]
            changes[app_id] = (original, _install(m, definition, stamp, config_stamp).definition)
        plan = m.deployer.begin(stamp, changes, before)
    m.wake()
    return plan


def _install(m: Marathon, definition: dict[str, Any], stamp: str, config_stamp: str) -> App:
    definition["version"] = stamp
    definition["versionInfo"] = {"lastScalingAt": stamp, "lastConfigChangeAt": config_stamp}
    m.assign_ports(definition)
    app = m.apps.get(definition["id"])
    if app is None:
        app = m.apps[definition["id"]] = App(definition=definition)
    else:
        app.definition = definition
        app.delay_until = 0.0
        app.failures = 0
    versions.record(app.versions, definition)
    return app


def _remove(m: Marathon, app: App) -> None:
    del m.apps[app.id]
    for task in app.tasks.values():
        m.kill(task)
        m.zombies[task.id] = task


def post_event(m: Marathon, app: App, remote: str, uri: str) -> None:
    m.events.publish("api_post_event", clientIp=remote, uri=uri, appDefinition=app.definition)


def create(m: Marathon, raw: Any, app_id: str | None = None) -> tuple[App, Deployment]:
    definition = apps_mod.normalize(raw, app_id)
    with m.lock:
        if definition["id"] in m.apps:
            raise BadRequest(f"An app with id [{definition['id']}] already exists.", 409)
        plan = apply(m, {definition["id"]: definition}, force=False)
        return m.apps[definition["id"]], plan


def update(
    m: Marathon, raw: Any, app_id: str, *, force: bool, partial: bool, create_missing: bool
) -> tuple[App, Deployment, bool]:
    """PUT/PATCH of one app: (app, deployment, created)."""
    app_id = apps_mod.canonical_id(app_id)
    if not isinstance(raw, dict):
        raise BadRequest("Invalid JSON: expected an object", 400)
    with m.lock:
        existing = m.apps.get(app_id)
        if existing is None:
            if not create_missing or "version" in raw:
                raise unknown_app(app_id)
            app, plan = create(m, raw, app_id)
            return app, plan, True
        definition = updated(existing, raw, partial)
        plan = apply(m, {app_id: definition}, force=force)
        return m.apps[app_id], plan, False


def updated(app: App, raw: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The definition an update of ``app`` with ``raw`` makes (normalized)."""
    if "version" in raw:  # a rollback to a kept version (updateOrRollback, L358-367)
        kept = versions.find(app.versions, str(raw["version"]))
        if kept is None:
            raise unknown_app(app.id, str(raw["version"]))
        merged = editable(kept)
    elif partial:
        merged = editable(app.definition)
        if "portDefinitions" in raw or "ports" in raw:
            merged.pop("portDefinitions", None)
        merged.update(raw)
    else:
        merged = dict(raw)
    return apps_mod.normalize(editable(merged), app.id)


def restart(m: Marathon, app_id: str, *, force: bool) -> Deployment:
    """A new version of the same definition: every task is replaced
    (``AppDefinition.markedForRestarting``, AppsResource L260-281)."""
    app_id = apps_mod.canonical_id(app_id)
    with m.lock:
        app = m.apps.get(app_id)
        if app is None:
            raise unknown_app(app_id)
        return apply(
            m, {app_id: editable(app.definition)}, force=force, restart=frozenset({app_id})
        )


def delete(m: Marathon, app_id: str, *, force: bool) -> Deployment:
    app_id = apps_mod.canonical_id(app_id)
    with m.lock:
        if app_id not in m.apps:
            raise unknown_app(app_id)
        return apply(m, {app_id: None}, force=force)


def kill(
    m: Marathon, tasks: dict[str, list[MTask]], *, scale: bool, force: bool
) -> Deployment | None:
    """Kill the tasks (by app id); with ``scale`` their apps are scaled down by as many by
    one deployment (``TaskKiller.killAndScale``), else Marathon replaces them."""
    with m.lock:
        if scale:
            m.deployer.check(tasks, force)
        for app_tasks in tasks.values():
            for task in app_tasks:
                m.kill(task)
        if not scale:
            return None
        edits: Edits = {}
        for app_id, app_tasks in tasks.items():
            definition = editable(m.apps[app_id].definition)
            definition["instances"] = max(0, int(definition["instances"]) - len(app_tasks))
            edits[app_id] = apps_mod.normalize(definition, app_id)
        return apply(m, edits, force=True)


def rollback(m: Marathon, plan: Deployment) -> Deployment:
    """Go back to the state before ``plan``, by a new (forced) deployment."""
    with m.lock:
        m.deployer.cancel(plan)
        edits: Edits = {
            app_id: None if original is None else apps_mod.normalize(editable(original), app_id)
            for app_id, (original, _) in plan.changes.items()
        }
        return apply(m, edits, force=True)
