"""Marathon's REST API (1.4 shapes, api-facts §4) on top of :class:`.daemon.Marathon`.

``/ping``, ``/v2/info``, ``/v2/leader`` here; the apps in :mod:`.api_apps`, the tasks,
deployments, queue and events in :mod:`.api_tasks`, the groups in :mod:`.groups`. Every
path, ``/ping`` included, is behind the leader filter: a standby instance proxies to the
leader (``X-Marathon-Via``), the leader sets ``X-Marathon-Leader``, and with no leader known
the answer is 503.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesoslab_twin import MARATHON_VERSION, TWIN_HEADER, TWIN_HEADER_VALUE
from mesoslab_twin.common.httpd import Handler, Reply, Request, Router, json_reply, text_reply
from mesoslab_twin.common.values import number
from mesoslab_twin.common.wire import WireError, request
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon.api_apps import AppsApi
from mesoslab_twin.marathon.api_tasks import TasksApi
from mesoslab_twin.marathon.apps import App
from mesoslab_twin.marathon.deployments import AppLocked
from mesoslab_twin.marathon.events import SSE_TYPE
from mesoslab_twin.marathon.groups import GroupsApi

if TYPE_CHECKING:
    from mesoslab_twin.marathon.daemon import Marathon

NO_LEADER = "Could not determine the current leader"
LEADER_LOOKS = 11  # LeaderProxyFilter: retries = 10, looked at down to 0
LEADER_WAIT = 0.25  # its sleep(): Thread.sleep(250)


class V2Router(Router):
    """Marathon's exception mapper on top of the twin's: a locked app's 409 also names the
    deployments (MarathonExceptionMapper.scala L66-70)."""

    def add(self, methods: str, pattern: str, handler: Handler) -> None:
        def mapped(request: Request, match: Any) -> Reply:
            try:
                return handler(request, match)
            except AppLocked as exc:
                deployments = [{"id": i} for i in exc.ids]
                return json_reply({"message": exc.message, "deployments": deployments}, 409)

        super().add(methods, pattern, mapped)


class MarathonApi:
    def __init__(self, marathon: Marathon) -> None:
        self.m = marathon

    def app_json(self, app: App, embed: set[str]) -> dict[str, Any]:
        """An app as Marathon's AppInfo writes it, with what ``embed`` asks for (resolved
        by ``api_apps.resolve_embed``)."""
        data = dict(app.definition)
        for key in ("cpus", "mem", "disk"):
            data[key] = number(float(data[key]))  # Marathon prints 64, not 64.0
        data["ports"] = apps_mod.service_ports(app.definition)
        if "counts" in embed:
            data.update(app.counts())
        if "deployments" in embed:
            data["deployments"] = [{"id": d.id} for d in self.m.deployer.of([app.id])]
        if "readiness" in embed:
            data["readinessCheckResults"] = []
        if "tasks" in embed:
            data["tasks"] = [t.to_json() for t in app.tasks.values() if not t.killing]
        if "lastTaskFailure" in embed and app.last_failure:
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
            # InfoResource.scala L85-97, L120: only with --event_subscriber; the endpoints
            # are those of --http_endpoints, not the subscribers of now
            "event_subscriber": (
                {"type": "http_callback", "http_endpoints": self.m.http_endpoints or None}
                if self.m.callbacks.enabled
                else None
            ),
            "http_config": {"http_port": self.m.port, "https_port": 8443},
        }

    # ------------------------------------------------------------------ HTTP

    def routes(self) -> Router:
        router = Router()
        router.add("GET", r"/ping", self._leader_filter(lambda r: text_reply("pong\n")))
        # the UI as Marathon's WebJarServlet serves it: / and /ui redirect to /ui/
        router.add("GET", r"/", self._leader_filter(lambda r: _redirect("ui/")))
        router.add("GET", r"/ui", self._leader_filter(lambda r: _redirect("/ui/")))
        router.add("GET", r"/ui/(?:index\.html)?", self._leader_filter(self._console))
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
                    if request.headers.get("accept", "").strip() == SSE_TYPE:
                        return self._proxy_stream(request)
                    return self._proxy(request)
                if look < LEADER_LOOKS - 1:
                    time.sleep(LEADER_WAIT)
            return json_reply({"message": NO_LEADER}, 503)

        return filtered

    def _console(self, request: Request) -> Reply:
        """The read-only console (:mod:`.console`) of the leader's apps and deployments."""
        from mesoslab_twin.common.html import html_reply
        from mesoslab_twin.marathon import console

        with self.m.lock:
            found = console.view(self.m)
        return html_reply(console.render(found))

    def _proxy_stream(self, request: Request) -> Reply:
        """An event stream asked of a standby: the leader's, copied through as it comes
        (LeaderProxyFilter copies the leader's answer to the client as a stream)."""
        host, _, port = self.m.leader.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10.0)
            upstream.sendall(
                f"GET {request.raw_path} HTTP/1.1\r\nHost: {self.m.leader}\r\n"
                f"Accept: {SSE_TYPE}\r\n{TWIN_HEADER}: {TWIN_HEADER_VALUE}\r\n\r\n".encode()
            )
            answer = upstream.makefile("rb")
            status = int(answer.readline().split()[1])
            headers: dict[str, str] = {}
            while line := answer.readline().decode("latin-1").strip():
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            upstream.settimeout(None)
        except (OSError, ValueError, IndexError) as exc:
            return json_reply(
                {"message": f"Could not reach the leader {self.m.leader}: {exc}"}, 502
            )

        def copy(client: socket.socket) -> None:
            try:
                while chunk := answer.read1(65536):
                    client.sendall(chunk)
            finally:
                upstream.close()

        return Reply(
            status=status,
            headers={
                "X-Marathon-Via": f"1.1 {self.m.me}",
                "X-Marathon-Leader": headers.get("x-marathon-leader", f"http://{self.m.leader}"),
            },
            content_type=headers.get("content-type"),
            stream=copy,
        )

    def _proxy(self, request: Request) -> Reply:
        try:
            answer = request_leader(self.m.leader, request)
        except WireError as exc:
            return json_reply(
                {"message": f"Could not reach the leader {self.m.leader}: {exc}"}, 502
            )
        headers = {"X-Marathon-Via": f"1.1 {self.m.me}"}
        for name in ("X-Marathon-Leader", "Location"):  # the leader's redirects too
            if name.lower() in answer.headers:
                headers[name] = answer.headers[name.lower()]
        return Reply(
            status=answer.status,
            body=answer.body,
            headers=headers,
            content_type=answer.headers.get("content-type", "application/json"),
        )

    def v2_routes(self) -> Router:
        """The /v2 endpoints the leader serves (each one held by a test: the route table is
        read by tests/test_twin_contract.py, which fails on a route no test covers)."""
        router = V2Router()
        router.add("GET", r"/v2/info", lambda r, m: json_reply(self.info()))
        router.add("GET", r"/v2/leader", lambda r, m: json_reply({"leader": self.m.leader}))
        AppsApi(self).add_routes(router)
        TasksApi(self).add_routes(router)
        GroupsApi(self).add_routes(router)
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

    def tasks_text(self, apps: list[App]) -> Reply:
        """Tasks as ``EndpointsHelper.appsToEndpointString`` writes them (MARATHON@v1.4.12
        ``api/EndpointsHelper.scala`` L26-77): a line per app and service port, the app id
        with ``_`` for ``/`` and no leading one, the port, then ``host:port`` of each running
        task, each followed by a tab; an app with no service port has `` `` and the hosts."""
        out = []
        for app in apps:
            running = [t for t in app.tasks.values() if t.state == "TASK_RUNNING"]
            clean = app.id.strip("/").replace("/", "_")
            services = apps_mod.service_ports(app.definition)
            if not services:
                out.append(f"{clean}\t \t" + "".join(f"{t.host} " for t in running) + "\n")
            for index, service in enumerate(services):
                ends = "".join(
                    f"{t.host}:{t.ports[index] if index < len(t.ports) else 0}\t" for t in running
                )
                out.append(f"{clean}\t{service}\t{ends}\n")
        return text_reply("".join(out))


def _redirect(location: str) -> Reply:
    """WebJarServlet.sendRedirect: 302 with that (possibly relative) Location, no body."""
    return Reply(status=302, headers={"Location": location})


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
