"""The instructor's HTTP service: learners join and post events; the dashboard reads the
class live.

Built on Starlette (served by uvicorn): a small, well-kept ASGI toolkit with type hints
throughout (mypy strict stays clean), plain request/response objects we can size-limit by
hand, and streaming responses for Server-Sent Events — the whole service is a handful of
routes, so a full framework (FastAPI's validation layer, aiohttp's own server and client)
would add weight without adding anything we use. httpx, already mesoslab's HTTP client,
talks to it from the learners.

Routes (JSON bodies, ``{"error": "..."}`` on every 4xx):

``POST /api/join``     ``{"code", "name"}`` → ``{"token", "name", "class"}`` (403 wrong or
                       closed code, 409 name taken, 429 too many wrong codes)
``POST /api/events``   learner token; ``{"events": [...]}`` → ``{"stored", "duplicates"}``;
                       the whole batch is checked first: one bad event is a 422, nothing stored
``POST /api/leave``    learner token; the token stops working
``GET /dashboard``     the web dashboard (``?token=`` once, then a cookie)
``GET /api/state``     instructor token; the whole class (:mod:`.view`)
``GET /api/stream``    instructor token; Server-Sent Events: ``state`` then ``learner`` rows
``GET /api/health``    ``{"ok": true}`` (no secrets)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from mesoslab.ops.classroom.events import (
    MAX_BODY_BYTES,
    MAX_EVENTS_PER_POST,
    MAX_NAME,
    NAME_RE,
    EventInvalid,
    parse_event,
)
from mesoslab.ops.classroom.store import ClassStore, JoinRefused, Learner
from mesoslab.ops.classroom.view import StuckRule, build_view, learner_row

COOKIE = "mesoslab_class"
MAX_JOIN_BYTES = 4096
WRONG_CODES_PER_MINUTE = 20  # per client address, then 429
PING_SECONDS = 15.0
SUBSCRIBER_BACKLOG = 1000  # a dashboard further behind than this is dropped (it reconnects)


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, refused (413) past ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadRequest(413, f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BadRequest(413, f"the body is larger than {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "the body is not JSON") from None


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Hub:
    """The dashboards listening to the live stream: one queue each."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[str | None]] = set()

    def publish(self, message: str) -> None:
        for queue in list(self.queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # too far behind: end its stream; it reconnects afresh
                self.queues.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def close(self) -> None:
        for queue in list(self.queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)


class WrongCodes:
    """Wrong class codes per client address over the last minute (to stop guessing)."""

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def too_many(self, client: str) -> bool:
        window = self.seen[client]
        while window and window[0] < time.monotonic() - 60:
            window.popleft()
        return len(window) >= WRONG_CODES_PER_MINUTE

    def add(self, client: str) -> None:
        self.seen[client].append(time.monotonic())


def make_app(store: ClassStore, rule: StuckRule | None = None) -> Starlette:
    """The service for the class in ``store``."""
    rule = rule or StuckRule()
    hub = Hub()
    wrong = WrongCodes()
    page = resources.files("mesoslab.ops.classroom").joinpath("dashboard.html").read_text()

    def instructor(request: Request) -> bool:
        token = bearer(request) or request.cookies.get(COOKIE, "")
        return bool(token) and secrets.compare_digest(token, store.info().instructor_token)

    def learner(request: Request) -> Learner | None:
        token = bearer(request)
        return store.learner_for_token(token) if token else None

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "class": store.info().name})

    async def join(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        if wrong.too_many(client):
            return _error(429, "too many wrong class codes from this address: wait a minute")
        try:
            body = await read_json(request, MAX_JOIN_BYTES)
        except BadRequest as exc:
            return _error(exc.status, exc.message)
        if not isinstance(body, dict) or set(body) != {"code", "name"}:
            return _error(422, 'the body must be {"code": "...", "name": "..."}')
        code, name = body["code"], body["name"]
        if not isinstance(code, str) or not isinstance(name, str) or not NAME_RE.match(name):
            return _error(
                422,
                f"a name is 1–{MAX_NAME} letters, digits, spaces, dots, dashes or underscores, "
                "starting with a letter or digit",
            )
        try:
            joined, token = store.join(code, name)
        except JoinRefused as exc:
            if exc.status == 403:
                wrong.add(client)
            return _error(exc.status, exc.message)
        publish_learner(joined.id, [])
        return JSONResponse({"token": token, "name": joined.name, "class": store.info().name})

    def publish_learner(learner_id: int, stored: list[str]) -> None:
        row = learner_row(store, learner_id)
        if row is not None:
            message = json.dumps(
                {"learner": row.to_json(rule, datetime.now(UTC)), "events": stored},
                separators=(",", ":"),
            )
            hub.publish(f"event: learner\ndata: {message}\n\n")

    async def post_events(request: Request) -> Response:
        who = learner(request)
        if who is None:
            return _error(401, "unknown or revoked learner token: run `mesoslab class join` again")
        try:
            body = await read_json(request, MAX_BODY_BYTES)
        except BadRequest as exc:
            return _error(exc.status, exc.message)
        if (
            not isinstance(body, dict)
            or set(body) != {"events"}
            or not isinstance(body["events"], list)
        ):
            return _error(422, 'the body must be {"events": [...]}')
        raw = body["events"]
        if not 1 <= len(raw) <= MAX_EVENTS_PER_POST:
            return _error(422, f"post 1 to {MAX_EVENTS_PER_POST} events at a time")
        try:
            events = []
            for index, item in enumerate(raw):
                try:
                    events.append(parse_event(item))
                except EventInvalid as exc:
                    raise EventInvalid(f"event {index}: {exc}") from None
        except EventInvalid as exc:
            return _error(422, str(exc))
        accepted = store.add_events(who, events)
        if accepted.stored:
            publish_learner(who.id, accepted.stored)
        return JSONResponse({"stored": accepted.stored, "duplicates": accepted.duplicates})

    async def leave(request: Request) -> Response:
        who = learner(request)
        if who is None:
            return _error(401, "unknown or revoked learner token")
        store.leave(who)
        publish_learner(who.id, [])
        return JSONResponse({"left": who.name})

    async def dashboard(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:
            if not secrets.compare_digest(given, store.info().instructor_token):
                return HTMLResponse(_refused_page(), status_code=401)
            # the token goes into a cookie and out of the address bar (and off the projector)
            response = RedirectResponse("/dashboard", status_code=303)
            response.set_cookie(
                COOKIE,
                given,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        if not instructor(request):
            return HTMLResponse(_refused_page(), status_code=401)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        if not instructor(request):
            return _error(401, "the dashboard needs the instructor token `class serve` printed")
        return JSONResponse(build_view(store, rule).to_json())

    async def stream(request: Request) -> Response:
        if not instructor(request):
            return _error(401, "the dashboard needs the instructor token `class serve` printed")
        queue: asyncio.Queue[str | None] = asyncio.Queue(SUBSCRIBER_BACKLOG)
        hub.queues.add(queue)

        async def events() -> AsyncIterator[str]:
            try:
                snapshot = json.dumps(build_view(store, rule).to_json(), separators=(",", ":"))
                yield f"retry: 2000\nevent: state\ndata: {snapshot}\n\n"
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), PING_SECONDS)
                    except TimeoutError:
                        yield ": ping\n\n"
                        continue
                    if message is None:
                        return
                    yield message
            finally:
                hub.queues.discard(queue)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def home(request: Request) -> Response:
        return RedirectResponse("/dashboard")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        hub.close()

    return Starlette(
        routes=[
            Route("/api/health", health),
            Route("/api/join", join, methods=["POST"]),
            Route("/api/events", post_events, methods=["POST"]),
            Route("/api/leave", leave, methods=["POST"]),
            Route("/api/state", state),
            Route("/api/stream", stream),
            Route("/dashboard", dashboard),
            Route("/", home),
        ],
        lifespan=lifespan,
    )


def _refused_page() -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>mesoslab class</title>"
        "<body style='font:20px sans-serif;margin:3em'><h1>Instructor token needed</h1>"
        "<p>Open the dashboard address that <code>mesoslab class serve</code> printed "
        "(it ends in <code>?token=…</code>).</p>"
    )
