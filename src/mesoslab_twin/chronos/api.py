"""Chronos 2.x's REST API (api-facts §5) on top of :class:`.daemon.Chronos`.

``GET /scheduler/jobs`` (an array), ``/scheduler/jobs/search``, ``POST|PUT
/scheduler/iso8601`` and ``/scheduler/dependency`` (204), ``PUT /scheduler/job/<name>`` (run
now), ``DELETE /scheduler/job/<name>``, ``DELETE /scheduler/task/kill/<name>``,
``/scheduler/graph/csv``, ``/leader``, ``/ping``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mesoslab_twin import CHRONOS_VERSION
from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply, text_reply

if TYPE_CHECKING:
    from mesoslab_twin.chronos.daemon import Chronos


class ChronosApi:
    def __init__(self, chronos: Chronos) -> None:
        self.c = chronos

    def routes(self) -> Router:
        router = Router()
        router.add("GET", r"/ping", lambda r, m: text_reply("pong\n"))
        router.add("GET", r"/leader", lambda r, m: json_reply({"leader": self.c.me}))
        router.add("GET", r"/", self._index)
        router.add("GET", r"/scheduler/jobs", self._list)
        router.add("GET", r"/scheduler/jobs/search", self._search)
        router.add("DELETE", r"/scheduler/jobs", self._delete_all)
        router.add("POST,PUT", r"/scheduler/iso8601", self._iso8601)
        router.add("POST,PUT", r"/scheduler/dependency", self._dependency)
        router.add("PUT", r"/scheduler/job/(.+)", self._run)
        router.add("DELETE", r"/scheduler/job/(.+)", self._delete)
        router.add("DELETE", r"/scheduler/task/kill/(.+)", self._kill)
        router.add("GET", r"/scheduler/graph/csv", self._graph)
        return router

    def _index(self, request: Request, _m: Any) -> Reply:
        page = (
            "<!doctype html><html><head><title>Chronos (mesoslab twin)</title></head><body>"
            f"<h1>Chronos {CHRONOS_VERSION} on {self.c.me}</h1><p><strong>This is the mesoslab "
            "twin, an emulation of Chronos for the rehearsal lab.</strong> Use the REST API: "
            "/scheduler/jobs, /scheduler/iso8601.</p></body></html>"
        )
        return text_reply(page, content_type="text/html; charset=utf-8")

    def _list(self, request: Request, _m: Any) -> Reply:
        with self.c.lock:
            return json_reply([self.c.ordered(j) for j in self.c.jobs.values()])

    def _search(self, request: Request, _m: Any) -> Reply:
        name = (request.arg("name") or request.arg("any") or "").lower()
        limit = int(request.arg("limit", "10") or 10)
        offset = int(request.arg("offset", "0") or 0)
        with self.c.lock:
            found = [self.c.ordered(j) for j in self.c.jobs.values() if name in j["name"].lower()]
        return json_reply(found[offset : offset + limit])

    def _iso8601(self, request: Request, _m: Any) -> Reply:
        self.c.put_job(request.json(), dependent=False)
        return Reply(status=204)

    def _dependency(self, request: Request, _m: Any) -> Reply:
        self.c.put_job(request.json(), dependent=True)
        return Reply(status=204)

    def _run(self, request: Request, match: Any) -> Reply:
        self.c.run_now(match.group(1))
        return Reply(status=204)

    def _delete(self, request: Request, match: Any) -> Reply:
        self.c.delete(match.group(1))
        return Reply(status=204)

    def _delete_all(self, request: Request, _m: Any) -> Reply:
        with self.c.lock:
            self.c.jobs.clear()
            self.c.queue.clear()
        self.c._dirty.set()
        return Reply(status=204)

    def _kill(self, request: Request, match: Any) -> Reply:
        name = match.group(1)
        with self.c.lock:
            tasks = [t for t, entry in self.c.running.items() if entry[0] == name]
        for task_id in tasks:
            if self.c.driver is not None:
                self.c.driver.kill(task_id)
        return Reply(status=204)

    def _graph(self, request: Request, _m: Any) -> Reply:
        lines = []
        with self.c.lock:
            busy = {entry[0] for entry in self.c.running.values()}
            queued = {entry[0] for entry in self.c.queue}
            for job in self.c.jobs.values():
                if not job.get("lastSuccess") and not job.get("lastError"):
                    last = "fresh"
                elif job.get("lastSuccess", "") >= job.get("lastError", ""):
                    last = "success"
                else:
                    last = "failure"
                now = (
                    "running"
                    if job["name"] in busy
                    else "queued"
                    if job["name"] in queued
                    else "idle"
                )
                lines.append(f"node,{job['name']},{last},{now}")
                for parent in job.get("parents") or []:
                    lines.append(f"link,{parent},{job['name']}")
        return text_reply("\n".join(lines) + ("\n" if lines else ""))
