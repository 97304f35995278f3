"""Chronos 2.5's REST API (api-facts §5) on top of :class:`.daemon.Chronos`.

Everything under ``/scheduler`` (``ChronosRestModule``): ``GET jobs`` (an array),
``GET jobs/search?name=&command=&any=&limit=&offset=``, ``POST|PUT iso8601`` and
``POST|PUT dependency`` (204), ``PUT job/<name>[?arguments=]`` (run now, 204),
``DELETE job/<name>`` (204), ``GET job/stat/<name>``, ``DELETE task/kill/<name>`` (204),
``GET graph/csv`` and ``graph/dot`` (text/plain); and ``/leader``, ``/ping``.

Refusals are 2.x's: 400 with the exception's text (``requirement failed: ...``) or with an
empty body (a schedule that does not parse), 500 with an empty body where Chronos fails
outside its IllegalArgumentException handlers. Resources that produce JSON send their plain
text messages as ``application/json``, as Jersey does with a String entity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mesoslab_twin import CHRONOS_VERSION
from mesoslab_twin.chronos.jobs import JobError
from mesoslab_twin.common.httpd import BadRequest, Reply, Request, Router, json_reply, text_reply

if TYPE_CHECKING:
    from collections.abc import Callable

    from mesoslab_twin.chronos.daemon import Chronos

JSON = "application/json"


def _refusal(exc: JobError) -> Reply:
    return Reply(status=exc.status, body=exc.text.encode("utf-8"), content_type=JSON)


class ChronosApi:
    def __init__(self, chronos: Chronos) -> None:
        self.c = chronos

    def routes(self) -> Router:
        router = Router()
        add = router.add
        add("GET", r"/ping", lambda r, m: text_reply("pong\n"))
        add("GET", r"/leader", lambda r, m: json_reply({"leader": self.c.me}))
        add("GET", r"/", self._index)
        add("GET", r"/scheduler/jobs", self._list)
        add("GET", r"/scheduler/jobs/search", self._search)
        add("POST,PUT", r"/scheduler/iso8601", self._guard(self._iso8601))
        add("POST,PUT", r"/scheduler/dependency", self._guard(self._dependency))
        add("GET", r"/scheduler/job/stat/([^/]+)", self._guard(self._stat))
        add("PUT", r"/scheduler/job/([^/]+)", self._guard(self._run))
        add("DELETE", r"/scheduler/job/([^/]+)", self._guard(self._delete))
        add("DELETE", r"/scheduler/task/kill/([^/]+)", self._guard(self._kill))
        add("GET", r"/scheduler/graph/csv", lambda r, m: text_reply(self.c.graph_csv()))
        add("GET", r"/scheduler/graph/dot", lambda r, m: text_reply(self.c.graph_dot()))
        return router

    @staticmethod
    def _guard(handler: Callable[[Request, Any], Reply]) -> Callable[[Request, Any], Reply]:
        def guarded(request: Request, match: Any) -> Reply:
            try:
                return handler(request, match)
            except JobError as exc:
                return _refusal(exc)

        return guarded

    def _index(self, request: Request, _m: Any) -> Reply:
        page = (
            "<!doctype html><html><head><title>Chronos (mesoslab twin)</title></head><body>"
            f"<h1>Chronos {CHRONOS_VERSION} on {self.c.me}</h1><p><strong>This is the mesoslab "
            "twin, an emulation of Chronos for the rehearsal lab.</strong> Use the REST API: "
            "/scheduler/jobs, /scheduler/iso8601.</p></body></html>"
        )
        return text_reply(page, content_type="text/html; charset=utf-8")

    def _list(self, request: Request, _m: Any) -> Reply:
        return json_reply(self.c.job_list())

    def _search(self, request: Request, _m: Any) -> Reply:
        """JobManagementResource.search: substrings, any case; ``any`` rescues a job that
        ``name``/``command`` excluded; at most ``limit`` (10) from ``offset`` (0)."""
        name = (request.arg("name") or "").lower()
        command = (request.arg("command") or "").lower()
        anything = (request.arg("any") or "").lower()
        try:
            limit = int(request.arg("limit") or 10)
            offset = int(request.arg("offset") or 0)
        except ValueError:
            raise BadRequest("limit and offset must be numbers", status=404) from None
        found = []
        for job in self.c.job_list():
            valid = not (name and name not in job["name"].lower())
            valid = valid and not (command and command not in job["command"].lower())
            if not valid and anything:
                valid = anything in job["name"].lower() or anything in job["command"].lower()
            if valid:
                found.append(job)
        return json_reply(found[offset : offset + limit])

    def _iso8601(self, request: Request, _m: Any) -> Reply:
        self.c.put_scheduled(_body(request))
        return Reply(status=204)

    def _dependency(self, request: Request, _m: Any) -> Reply:
        self.c.put_dependent(_body(request))
        return Reply(status=204)

    def _run(self, request: Request, match: Any) -> Reply:
        self.c.run_now(unquote(match.group(1)), request.arg("arguments"))
        return Reply(status=204)

    def _delete(self, request: Request, match: Any) -> Reply:
        self.c.delete(unquote(match.group(1)))
        return Reply(status=204)

    def _kill(self, request: Request, match: Any) -> Reply:
        self.c.kill_tasks(unquote(match.group(1)))
        return Reply(status=204)

    def _stat(self, request: Request, match: Any) -> Reply:
        return json_reply(self.c.stat(unquote(match.group(1))))


def _body(request: Request) -> Any:
    """The posted JSON; a body Jackson cannot read is refused with 400 by Jersey."""
    try:
        return request.json()
    except BadRequest:
        raise JobError(400) from None
