"""``/v2/tasks``, ``/v2/deployments``, ``/v2/queue``, ``/v2/events`` and
``/v2/eventSubscriptions`` (MARATHON@v1.4.12 ``api/v2/TasksResource.scala``,
``DeploymentsResource.scala``, ``QueueResource.scala``, ``EventSubscriptionsResource.scala``).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from mesoslab_twin.common.httpd import BadRequest, Reply, Request, Router, json_reply
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon import callbacks, changes
from mesoslab_twin.marathon.api_part import ApiPart, deployment_result, flag
from mesoslab_twin.marathon.apps import MTask

if TYPE_CHECKING:
    pass

TASK_ID = re.compile(r"^(.+)[._]([^_.]+)$")  # Task.Id: "<app id, / as _>.<uuid>"


class TasksApi(ApiPart):
    def add_routes(self, router: Router) -> None:
        router.add("GET", r"/v2/tasks", self.tasks)
        router.add("POST", r"/v2/tasks/delete", self.kill)
        router.add("GET", r"/v2/deployments", self.deployments)
        router.add("DELETE", r"/v2/deployments/([^/]+)", self.cancel)
        router.add("GET", r"/v2/queue", self.queue)
        router.add("DELETE", r"/v2/queue/(.+)/delay", self.reset_delay)
        router.add("GET", r"/v2/events", lambda r, _m: self.m.events.serve(r))
        router.add("GET", r"/v2/eventSubscriptions", self.subscribers)
        router.add("POST", r"/v2/eventSubscriptions", self.subscribe)
        router.add("DELETE", r"/v2/eventSubscriptions", self.unsubscribe)

    # ------------------------------------------------------------------ tasks

    def tasks(self, request: Request, _m: Any) -> Reply:
        """JSON, or the text list of ``EndpointsHelper`` when only text/plain is accepted;
        ``status`` (also ``status[]``) keeps running or staging ones (L43-117)."""
        wanted = {s.lower() for s in request.query.get("status", [])}
        wanted |= {s.lower() for s in request.query.get("status[]", [])}
        accept = request.headers.get("accept", "")
        with self.m.lock:
            apps = sorted(self.m.apps.values(), key=lambda a: a.id)
            if "text/plain" in accept and "json" not in accept:
                return self.api.tasks_text(apps)
            tasks = [
                t.to_json()
                for a in apps
                for t in a.tasks.values()
                if not wanted or t.state.removeprefix("TASK_").lower() in wanted
            ]
        return json_reply({"tasks": tasks})

    def kill(self, request: Request, _m: Any) -> Reply:
        """``{"ids": [...]}``: kill those tasks, or with ``scale`` scale their apps down by a
        deployment; unknown ids are passed over, malformed ones refused (L119-175)."""
        scale = flag(request, "scale")
        if scale and flag(request, "wipe"):
            raise BadRequest("You cannot use scale and wipe at the same time.", 400)
        body = request.json()
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise BadRequest(
                "Invalid JSON", 400, [{"path": "/ids", "errors": ["error.path.missing"]}]
            )
        for task_id in ids:
            if not TASK_ID.match(str(task_id)):
                raise BadRequest(f"Invalid task id '{task_id}'. [{task_id}]", 400)
        with self.m.lock:
            found: dict[str, list[MTask]] = {}
            for app in self.m.apps.values():
                chosen = [t for t in app.tasks.values() if t.id in set(map(str, ids))]
                if chosen:
                    found[app.id] = chosen
            plan = changes.kill(self.m, found, scale=scale, force=flag(request, "force"))
            if plan is not None:
                return deployment_result(plan)
            killed = [t.to_json() for chosen in found.values() for t in chosen]
        return json_reply({"tasks": killed})

    # ------------------------------------------------------------------ deployments, queue

    def deployments(self, request: Request, _m: Any) -> Reply:
        with self.m.lock:
            plans = sorted(self.m.deployer.running.values(), key=lambda d: d.version)
            return json_reply([d.info_json() for d in plans])

    def cancel(self, request: Request, match: Any) -> Reply:
        """Roll back (a new deployment), or with ``force`` just stop it: 202 (L35-57)."""
        with self.m.lock:
            plan = self.m.deployer.running.get(match.group(1))
            if plan is None:
                raise BadRequest(f"DeploymentPlan {match.group(1)} does not exist", 404)
            if flag(request, "force"):
                self.m.deployer.cancel(plan)
                return Reply(status=202)
            return deployment_result(changes.rollback(self.m, plan))

    def queue(self, request: Request, _m: Any) -> Reply:
        now = time.monotonic()
        with self.m.lock:
            queue = [
                {
                    "app": self.api.app_json(a, {"counts", "deployments"}),
                    "count": self.m.missing(a),
                    "delay": {
                        "timeLeftSeconds": max(0, int(a.delay_until - now)),
                        "overdue": a.delay_until <= now,
                    },
                    # since: when the app last changed scale (the twin keeps no queue entry
                    # time); the twin counts no offers (QueueInfoConversion's summary)
                    "since": a.definition["versionInfo"]["lastScalingAt"],
                    "processedOffersSummary": {"processedOffersCount": 0, "unusedOffersCount": 0},
                }
                for a in sorted(self.m.apps.values(), key=lambda a: a.id)
                if self.m.missing(a) > 0
            ]
        return json_reply({"queue": queue})

    def reset_delay(self, request: Request, match: Any) -> Reply:
        """Launch again at once after failures (QueueResource L35-46): 204."""
        app_id = apps_mod.canonical_id(match.group(1))
        with self.m.lock:
            app = self.m.apps.get(app_id)
            if app is None or self.m.missing(app) <= 0:
                raise BadRequest(f"Application {app_id} not found in tasks queue.", 404)
            app.delay_until = 0.0
        self.m.wake()
        return Reply(status=204)

    # ------------------------------------------------------------------ event subscriptions

    def subscribers(self, request: Request, _m: Any) -> Reply:
        self.m.callbacks.require()
        return json_reply({"callbackUrls": self.m.callbacks.urls})

    def subscribe(self, request: Request, _m: Any) -> Reply:
        self.m.callbacks.require()
        url = callbacks.check_url(request.arg("callbackUrl"))
        self.m.callbacks.add(url)
        return json_reply(
            self.m.events.publish("subscribe_event", clientIp=request.remote, callbackUrl=url)
        )

    def unsubscribe(self, request: Request, _m: Any) -> Reply:
        self.m.callbacks.require()
        url = request.arg("callbackUrl") or ""
        self.m.callbacks.remove(url)
        return json_reply(
            self.m.events.publish("unsubscribe_event", clientIp=request.remote, callbackUrl=url)
        )
