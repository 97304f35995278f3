"""A minimal v1 scheduler client for tests, written from docs/scheduler-http-api.md and
docs/recordio.md (not from the twin): SUBSCRIBE keeps the connection and its RecordIO events
are read in a thread into a queue; calls are separate POSTs with the stream id."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.support.twin_lab import Answer

JSON = "application/json"


@dataclass
class Subscription:
    status: int
    headers: dict[str, str]
    framework_id: str = ""
    events: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)
    ended: threading.Event = field(default_factory=threading.Event)
    clean_end: bool = False  # the stream ended with its last chunk, not cut off
    body: bytes = b""
    conn: http.client.HTTPConnection | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stream_id(self) -> str:
        return self.headers.get("mesos-stream-id", "")

    def next(self, want: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """The next event ``want`` accepts (the others are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event is None:
                raise AssertionError(f"the stream ended; seen: {self.seen[-5:]}")
            self.seen.append(event)
            if want(event):
                return event
        raise AssertionError(f"timed out; seen: {self.seen[-5:]}")

    def none_for(self, want: Callable[[dict[str, Any]], bool], seconds: float) -> None:
        """No event ``want`` accepts comes within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if event is None:
                return
            self.seen.append(event)
            assert not want(event), f"unexpected event {event}"

    def wait_end(self, timeout: float = 15.0) -> None:
        assert self.ended.wait(timeout), "the stream did not end"

    def close(self) -> None:
        if self.conn is not None and self.conn.sock is not None:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            self.conn.close()


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("type") == kind


def update_of(task_id: str, state: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def want(event: dict[str, Any]) -> bool:
        if event.get("type") != "UPDATE":
            return False
        status = event["update"]["status"]
        return status["task_id"]["value"] == task_id and state in (None, status["state"])

    return want


def subscribe(
    url: str,
    framework_info: dict[str, Any],
    *,
    framework_id: str = "",
    headers: dict[str, str] | None = None,
) -> Subscription:
    body: dict[str, Any] = {"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info}}
    if framework_id:
        body["framework_id"] = {"value": framework_id}
        framework_info["id"] = {"value": framework_id}
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 5050, timeout=60)
    sent = {"Content-Type": JSON, "Accept": JSON, **(headers or {})}
    conn.request("POST", "/api/v1/scheduler", body=json.dumps(body), headers=sent)
    response = conn.getresponse()
    got = {k.lower(): v for k, v in response.getheaders()}
    subscription = Subscription(response.status, got, conn=conn)
    if response.status != 200:
        subscription.body = response.read()
        conn.close()
        subscription.ended.set()
        return subscription
    threading.Thread(target=_read, args=(response, subscription), daemon=True).start()
    first = subscription.next(lambda e: True, timeout=30)
    if first.get("type") == "SUBSCRIBED":
        subscription.framework_id = first["subscribed"]["framework_id"]["value"]
    return subscription


def _read(response: http.client.HTTPResponse, subscription: Subscription) -> None:
    try:
        while True:
            size = b""
            while not size.endswith(b"\n"):
                byte = response.read(1)
                if not byte:
                    subscription.clean_end = not size
                    return
                size += byte
            record = response.read(int(size))
            subscription.events.put(json.loads(record))
    except (OSError, ValueError, AttributeError, http.client.HTTPException):
        # AttributeError: http.client's reader when the test closed the connection under it
        subscription.clean_end = False
    finally:
        subscription.events.put(None)
        subscription.ended.set()


def call(
    url: str,
    subscription: Subscription,
    kind: str,
    part: dict[str, Any] | None = None,
    *,
    stream_id: str | None = None,
) -> Answer:
    """One non-SUBSCRIBE call of the subscribed framework."""
    body: dict[str, Any] = {"framework_id": {"value": subscription.framework_id}, "type": kind}
    if part is not None:
        body[kind.lower()] = part
    return post(
        url + "/api/v1/scheduler",
        body,
        {"Mesos-Stream-Id": subscription.stream_id if stream_id is None else stream_id},
    )


def post(
    url: str, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> Answer:
    """POST JSON (or ``raw`` bytes) with the given headers; redirects are not followed."""
    sent = {"Content-Type": JSON, "Accept": JSON, **(headers or {})}
    sent = {k: v for k, v in sent.items() if v}
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=30)
    try:
        data = raw if raw is not None else json.dumps(body).encode()
        conn.request("POST", parts.path, body=data, headers=sent)
        response = conn.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


__all__ = ["Subscription", "call", "of_type", "post", "subscribe", "update_of"]
