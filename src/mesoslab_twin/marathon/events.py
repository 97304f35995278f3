"""Marathon's event bus: ``GET /v2/events`` (Server-Sent Events) and the HTTP callbacks.

Every event is a JSON object with its own fields and ``eventType`` and ``timestamp``
(MARATHON@v1.4.12 ``core/event/Events.scala``, written by ``api/v2/json/Formats.scala``
L580-700). A stream is opened with ``Accept: text/event-stream`` (Jetty's
``EventSourceServlet.doGet`` answers nothing else; a plain GET is HTTP 405); each event is
``event: <eventType>`` and ``data: <json>`` and a blank line, a lone CRLF every 10 s keeps
the connection open (Jetty's heart beat), and the body ends when the connection closes
(``Connection: close``, no chunking). ``event_type`` (repeatable) keeps only those types
(``HttpEventStreamServlet.scala`` L23-39). A new stream first gets its own
``event_stream_attached``, and a closed one sends ``event_stream_detached`` to the others
(``HttpEventStreamHandleActor.scala`` L23-33).
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mesoslab_twin.common.httpd import Reply, Request, peer_gone, text_reply
from mesoslab_twin.marathon.versions import format_ms

log = logging.getLogger("mesoslab_twin.marathon")

HEART_BEAT = 10.0  # seconds: Jetty EventSourceServlet's default heartBeatPeriod
SSE_TYPE = "text/event-stream"


@dataclass
class Listener:
    remote: str
    types: frozenset[str]
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def wants(self, event_type: str) -> bool:
        return not self.types or event_type in self.types


class EventBus:
    """Publishes each event to the open streams and to ``on_event`` (the callbacks)."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.on_event: list[Callable[[dict[str, Any]], None]] = []

    def publish(self, event_type: str, **fields: Any) -> dict[str, Any]:
        stamp = format_ms(int(time.time() * 1000))
        event = {**fields, "eventType": event_type, "timestamp": stamp}
        with self._lock:
            listeners = [x for x in self._listeners if x.wants(event_type)]
        for listener in listeners:
            listener.events.put(event)
        for deliver in self.on_event:
            deliver(event)
        return event

    def attach(self, remote: str, types: frozenset[str]) -> Listener:
        listener = Listener(remote, types)
        with self._lock:
            self._listeners.append(listener)
        self.publish("event_stream_attached", remoteAddress=remote)
        return listener

    def detach(self, listener: Listener) -> None:
        with self._lock:
            if listener not in self._listeners:
                return
            self._listeners.remove(listener)
        self.publish("event_stream_detached", remoteAddress=listener.remote)

    @property
    def streams(self) -> int:
        with self._lock:
            return len(self._listeners)

    # ------------------------------------------------------------------ /v2/events

    def serve(self, request: Request) -> Reply:
        if request.headers.get("accept", "").strip() != SSE_TYPE:
            return text_reply("HTTP method GET is not supported by this URL\n", 405)
        if request.method == "HEAD":
            return Reply(content_type=f"{SSE_TYPE};charset=utf-8")
        types = frozenset(request.query.get("event_type", []))
        listener = self.attach(request.remote, types)

        def write(connection: socket.socket) -> None:
            try:
                self._pump(listener, connection)
            finally:
                self.detach(listener)

        return Reply(
            status=200,
            body=b"",
            content_type=f"{SSE_TYPE};charset=utf-8",
            headers={"Cache-Control": "no-cache"},
            stream=write,
        )

    def _pump(self, listener: Listener, connection: socket.socket) -> None:
        last_write = time.monotonic()
        while not self.stopping.is_set():
            try:
                event = listener.events.get(timeout=0.25)
            except queue.Empty:
                if peer_gone(connection):
                    return
                if time.monotonic() - last_write >= HEART_BEAT:
                    connection.sendall(b"\r\n")
                    last_write = time.monotonic()
                continue
            data = json.dumps(event, separators=(",", ":"))
            connection.sendall(f"event: {event['eventType']}\ndata: {data}\n\n".encode())
            last_write = time.monotonic()
