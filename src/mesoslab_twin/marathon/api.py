"""Marathon's REST API (1.4 shapes, api-facts §4) on top of :class:`.daemon.Marathon`.

``/ping``, ``/v2/info``, ``/v2/leader``, ``/v2/apps`` (GET, POST), ``/v2/apps/{id}`` (GET,
PUT, DELETE), ``/v2/apps/{id}/tasks``, ``/v2/apps/{id}/restart``, ``/v2/tasks`` (JSON or
text), ``/v2/deployments``, ``/v2/groups``, ``/v2/queue``. Every path, ``/ping`` included, is behind
the leader filter: a standby instance proxies to the leader (``X-Marathon-Via``), the leader
sets ``X-Marathon-Leader``, and with no leader known the answer is 503.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesoslab_twin import MARATHON_VERSION
from mesoslab_twin.common.httpd import BadRequest, Reply, Request, Router, json_reply, text_reply
from mesoslab_twin.common.values import number
from mesoslab_twin.common.wire import WireError, request
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon.apps import App

if TYPE_CHECKING:
    from mesoslab_twin.marathon.daemon import Marathon

NO_LEADER = "Could not determine the current leader"
LEADER_LOOKS = 11  # LeaderProxyFilter: retries = 10, looked at down to 0
LEADER_WAIT = 0.25  # its sleep(): Thread.sleep(250)


class MarathonApi:
    def __init__(self, marathon: Marathon) -> None:
        self.m = marathon

    def app_json(self, app: App, *, embed: set[str], single: bool) -> dict[str, Any]:
        data = dict(app.definition)
        for key in ("cpus", "mem", "disk"):
            data[key] = number(float(data[key]))  # Marathon prints 64, not 64.0
        data["ports"] = apps_mod.service_ports(app.definition)
        data.update(app.counts())
        data["deployments"] = [{"id": app.deployment["id"]}] if app.deployment else []
        if single or "apps.tasks" in embed or "tasks" in embed:
            data["tasks"] = [t.to_json() for t in app.tasks.values() if not t.killing]
        wants_failure = single or "apps.lastTaskFailure" in embed or "apps.failures" in embed
        if wants_failure and app.last_failure:
            data["lastTaskFailure"] = app.last_failure
        return data

    def info(self) -> dict[str, Any]:
        return {
            "name": "marathon",
            "version": MARATHON_VERSION,
            "buildref": "mesoslab-twin",
            "elected": self.m.elected,
            "leader": self.m.leader or None,
            "frameworkId": self.m.framework_id or None,
            "marathon_config": {
                "access_control_allow_origin": None,
                "checkpoint": self.m.options.get("checkpoint", "true") != "false",
                "decline_offer_duration": 120000,
                "default_network_name": None,
                "env_vars_prefix": None,
                "executor": "//cmd",
                "failover_timeout": int(float(self.m.options.get("failover_timeout", "604800"))),
                "features": [],
                "framework_name": self.m.framework_name,
                "ha": self.m.options.get("ha", "true") != "false",
                "hostname": self.m.hostname,
                "launch_token": 100,
                "launch_token_refresh_interval": 30000,
                "leader_proxy_connection_timeout_ms": 5000,
                "leader_proxy_read_timeout_ms": 10000,
                "local_port_max": self.m.local_ports[1],
                "local_port_min": self.m.local_ports[0],
                "master": self.m.master,
                "max_instances_per_offer": 5,
                "mesos_bridge_name": "mesos-bridge",
                "mesos_heartbeat_failure_threshold": 5,
                "mesos_heartbeat_interval": 15000,
                "mesos_leader_ui_url": "",
                "mesos_role": self.m.options.get("mesos_role"),
                "mesos_user": self.m.options.get("mesos_user") or getpass.getuser(),
                "min_revive_offers_interval": 5000,
                "offer_matching_timeout": 1000,
                "on_elected_prepare_timeout": 180000,
                "reconciliation_initial_delay": 15000,
                "reconciliation_interval": 600000,
                "scale_apps_initial_delay": 15000,
                "scale_apps_interval": 300000,
                "store_cache": True,
                "task_launch_confirm_timeout": 300000,
                "task_launch_timeout": 300000,
                "task_lost_expunge_initial_delay": 300000,
                "task_lost_expunge_interval": 30000,
                "task_reservation_timeout": 20000,
                "webui_url": self.m.options.get("webui_url"),
            },
            "zookeeper_config": {
                "zk": self.m.zk_url,
                "zk_compression": True,
                "zk_compression_threshold": 65536,
                "zk_connection_timeout": 10000,
                "zk_max_node_size": 1024000,
                "zk_max_versions": 50,
                "zk_session_timeout": 10000,
                "zk_timeout": 10000,
            },
            "event_subscriber": None,
            "http_config": {"http_port": self.m.port, "https_port": 8443},
        }

    # ------------------------------------------------------------------ HTTP

    def routes(self) -> Router:
        router = Router()
        router.add("GET", r"/ping", self._leader_filter(lambda r: text_reply("pong\n")))
        router.add("GET", r"/", self._leader_filter(self._index))
        router.add("GET,POST,PUT,DELETE,PATCH", r"/v2/.*", self._leader_filter(self._serve))
        return router

    def _leader_filter(self, serve: Callable[[Request], Reply]) -> Callable[[Request, Any], Reply]:
        """Marathon 1.4's LeaderProxyFilter, which covers every path (``filter("/*")``,
        ``/ping`` too): the leader serves and names itself in ``X-Marathon-Leader``; a standby
        proxies to the leader; while no other leader is known it waits (11 looks, 250 ms
        apart) and then answers 503 "Could not determine the current leader"
        (MARATHON@v1.4.12 ``api/LeaderProxyFilter.scala`` L64-108, ``MarathonRestModule.scala``
        L22)."""

        def filtered(request: Request, _match: Any) -> Reply:
            for look in range(LEADER_LOOKS):
                if self.m.elected:
                    reply = serve(request)
                    reply.headers["X-Marathon-Leader"] = f"http://{self.m.me}"
                    return reply
                if self.m.leader and self.m.leader != self.m.me:
                    return self._proxy(request)
                if look < LEADER_LOOKS - 1:
                    time.sleep(LEADER_WAIT)
            return json_reply({"message": NO_LEADER}, 503)

        return filtered

    def _index(self, request: Request) -> Reply:
        page = (
            "<!doctype html><html><head><title>Marathon (mesoslab twin)</title></head><body>"
            f"<h1>Marathon {MARATHON_VERSION} on {self.m.me}</h1><p><strong>This is the "
            "mesoslab twin, an emulation of Marathon for the rehearsal lab.</strong> Use the "
            "REST API: /v2/apps, /v2/tasks, /v2/info.</p></body></html>"
        )
        return text_reply(page, content_type="text/html; charset=utf-8")

    def _proxy(self, request: Request) -> Reply:
        try:
            answer = request_leader(self.m.leader, request)
        except WireError as exc:
            return json_reply(
                {"message": f"Could not reach the leader {self.m.leader}: {exc}"}, 502
            )
        headers = {"X-Marathon-Via": f"1.1 {self.m.me}"}
        if "x-marathon-leader" in answer.headers:
            headers["X-Marathon-Leader"] = answer.headers["x-marathon-leader"]
        return Reply(
            status=answer.status,
            body=answer.body,
            headers=headers,
            content_type=answer.headers.get("content-type", "application/json"),
        )

    def v2_routes(self) -> Router:
        """The /v2 endpoints the leader serves (each one held by a test: the route table is
        read by tests/test_twin_contract.py, which fails on a route no test covers)."""
        router = Router()
        router.add("GET", r"/v2/info", lambda r, m: json_reply(self.info()))
        router.add("GET", r"/v2/leader", lambda r, m: json_reply({"leader": self.m.leader}))
        router.add("GET", r"/v2/apps", self._list_apps)
        router.add("POST", r"/v2/apps", self._create_app)
        router.add("POST", r"/v2/apps/(.+)/restart", self._restart_app)
        router.add("GET", r"/v2/apps/(.+)/tasks", self._app_tasks)
        router.add("DELETE", r"/v2/apps/(.+)/tasks/([^/]+)", self._kill_task)
        router.add("GET", r"/v2/apps/(.+)", self._get_app)
        router.add("PUT,PATCH", r"/v2/apps/(.+)", self._put_app)
        router.add("DELETE", r"/v2/apps/(.+)", self._delete_app)
        router.add("GET", r"/v2/tasks", lambda r, m: self._tasks(r))
        router.add("GET", r"/v2/deployments", self._deployments)
        router.add("GET", r"/v2/groups", self._groups)
        router.add("GET", r"/v2/queue", self._queue)
        return router

    def _serve(self, request: Request) -> Reply:
        path = request.path.rstrip("/") or "/"
        reply = self._v2.dispatch(dataclasses.replace(request, path=path))
        if reply.status == 404 and reply.body == "":  # no such route: Marathon's JSON 404
            return json_reply({"message": f"Not found: {request.path}"}, 404)
        return reply

    @property
    def _v2(self) -> Router:
        router: Router | None = getattr(self, "_v2_router", None)
        if router is None:
            router = self._v2_router = self.v2_routes()
        return router

    def _deployment_result(self, app: App, version: str | None = None) -> Reply:
        """``{"version", "deploymentId"}``: what a change that starts a deployment answers."""
        return json_reply(
            {
                "version": version or app.definition["version"],
                "deploymentId": app.deployment["id"] if app.deployment else None,
            }
        )

    def _list_apps(self, request: Request, _m: Any) -> Reply:
        embed = set(request.query.get("embed", []))
        with self.m.lock:
            wanted = request.arg("id")
            apps = [
                self.app_json(a, embed=embed, single=False)
                for a in sorted(self.m.apps.values(), key=lambda a: a.id)
                if not wanted or wanted in a.id
            ]
        return json_reply({"apps": apps})

    def _create_app(self, request: Request, _m: Any) -> Reply:
        app = self.m.create(request.json())
        with self.m.lock:
            body = self.app_json(app, embed={"apps.tasks"}, single=False)
        return json_reply(body, 201, {"Location": f"/v2/apps{app.id}"})

    def _restart_app(self, request: Request, match: Any) -> Reply:
        return self._deployment_result(self.m.restart(match.group(1)))

    def _app_tasks(self, request: Request, match: Any) -> Reply:
        app_id = apps_mod.canonical_id(match.group(1))
        with self.m.lock:
            app = self.m.apps.get(app_id)
            if app is None:
                raise BadRequest(f"App '{app_id}' does not exist", 404)
            return json_reply({"tasks": [t.to_json() for t in app.tasks.values()]})

    def _kill_task(self, request: Request, match: Any) -> Reply:
        app_id, task_id = apps_mod.canonical_id(match.group(1)), match.group(2)
        with self.m.lock:
            app = self.m.apps.get(app_id)
            task = app.tasks.get(task_id) if app else None
            if app is None or task is None:
                raise BadRequest(f"Task '{task_id}' does not exist", 404)
            self.m._kill(task)
            if request.arg("scale") != "true":
                return json_reply({"task": task.to_json()})
            instances = max(0, int(app.definition["instances"]) - 1)
        # Marathon's killAndScale: the task is killed and the app scaled down by a
        # deployment; the answer is that deployment (AppTasksResource.deleteOne)
        scaled, _ = self.m.replace({"instances": instances}, app_id)
        return self._deployment_result(scaled)

    def _get_app(self, request: Request, match: Any) -> Reply:
        app_id = apps_mod.canonical_id(match.group(1))
        embed = set(request.query.get("embed", []))
        with self.m.lock:
            app = self.m.apps.get(app_id)
            if app is None:
                raise BadRequest(f"App '{app_id}' does not exist", 404)
            return json_reply({"app": self.app_json(app, embed=embed, single=True)})

    def _put_app(self, request: Request, match: Any) -> Reply:
        app, created = self.m.replace(request.json(), match.group(1))
        if created:
            with self.m.lock:
                return json_reply(self.app_json(app, embed=set(), single=False), 201)
        return self._deployment_result(app)

    def _delete_app(self, request: Request, match: Any) -> Reply:
        return self._deployment_result(self.m.delete(match.group(1)), apps_mod.now_iso())

    def _deployments(self, request: Request, _m: Any) -> Reply:
        with self.m.lock:
            return json_reply([a.deployment for a in self.m.apps.values() if a.deployment])

    def _groups(self, request: Request, _m: Any) -> Reply:
        with self.m.lock:
            apps = [self.app_json(a, embed=set(), single=False) for a in self.m.apps.values()]
        group = {"id": "/", "apps": apps, "groups": [], "dependencies": []}
        return json_reply({**group, "version": apps_mod.now_iso()})

    def _queue(self, request: Request, _m: Any) -> Reply:
        now = time.monotonic()
        with self.m.lock:
            queue = [
                {
                    "app": self.app_json(a, embed=set(), single=False),
                    "count": self.m._missing(a),
                    "delay": {
                        "timeLeftSeconds": max(0, int(a.delay_until - now)),
                        "overdue": a.delay_until <= now,
                    },
                    # since: when the app last changed scale (the twin keeps no queue entry
                    # time); the twin counts no offers (QueueInfoConversion's summary)
                    "since": a.definition["versionInfo"]["lastScalingAt"],
                    "processedOffersSummary": {"processedOffersCount": 0, "unusedOffersCount": 0},
                }
                for a in self.m.apps.values()
                if self.m._missing(a) > 0
            ]
        return json_reply({"queue": queue})

    def _tasks(self, request: Request) -> Reply:
        wanted = set(request.query.get("status", []))
        with self.m.lock:
            tasks = [
                t.to_json()
                for a in self.m.apps.values()
                for t in a.tasks.values()
                if not t.killing and (not wanted or t.state.removeprefix("TASK_").lower() in wanted)
            ]
        accept = request.headers.get("accept", "")
        if "text/plain" in accept and "json" not in accept:
            lines = []
            for task in tasks:
                for service, port in zip(task["servicePorts"], task["ports"], strict=False):
                    lines.append(f"{task['appId']}\t{service}\t{task['host']}:{port}")
            return text_reply("\n".join(lines) + ("\n" if lines else ""))
        return json_reply({"tasks": tasks})


def request_leader(leader: str, incoming: Request) -> Any:
    payload = None
    if incoming.body:
        try:
            payload = json.loads(incoming.body)
        except ValueError:
            payload = None
    return request(
        leader,
        incoming.method,
        incoming.raw_path,
        payload,
        timeout=10.0,
        headers={"Accept": incoming.headers.get("accept", "application/json")},
    )
