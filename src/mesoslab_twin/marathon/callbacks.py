"""HTTP callback subscribers (``--event_subscriber http_callback``, deprecated in 1.4).

``/v2/eventSubscriptions``: GET lists ``{"callbackUrls": [...]}``, POST and DELETE with
``?callbackUrl=`` add and remove one and answer the ``subscribe_event`` /
``unsubscribe_event``, which is also published (MARATHON@v1.4.12
``api/v2/EventSubscriptionsResource.scala`` L28-57, ``Formats.scala`` L702-708,
``core/event/impl/callback/ActorHttpCallbackSubscriptionService.scala`` L20-25). The URLs of
``--http_endpoints`` are added at start (``core/event/EventConf.scala`` L20-23) and the list
is kept with the rest of the state. Without ``--event_subscriber http_callback`` every call
is 400 with Marathon's message (``NoopHttpCallbackSubscriptionService.scala`` L8-17).

Each event is POSTed as JSON to every subscriber; one that fails (no answer, not 2xx, or
slower than 10 s) gets nothing for 2^n seconds after its n-th failure in a row
(``HttpEventActor.scala`` L30-40, L99-144).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mesoslab_twin.common.httpd import BadRequest
from mesoslab_twin.common.wire import WireError, request

log = logging.getLogger("mesoslab_twin.marathon")

NOT_RUNNING = (
    "http event callback system is not running on this Marathon instance. "
    'Please re-start this instance with\n"--event_subscriber http_callback".'
)
SLOW_CONSUMER = 10.0  # --http_event_callback_slow_consumer_timeout (ms) / 1000


def check_url(url: str | None) -> str:
    """Marathon's ``urlIsValid`` (java.net.URL): a scheme it knows and a host."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(
            "Object is not valid",
            422,
            [{"path": "/", "errors": [f"no protocol: {url}" if url else "null"]}],
        )
    return str(url)


@dataclass
class _Subscriber:
    url: str
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    failures: int = 0
    quiet_until: float = 0.0
    gone: bool = False


class Callbacks:
    def __init__(self, enabled: bool, changed: Callable[[], None]) -> None:
        self.enabled = enabled
        self._changed = changed
        self._lock = threading.Lock()
        self._subscribers: dict[str, _Subscriber] = {}

    @property
    def urls(self) -> list[str]:
        with self._lock:
            return list(self._subscribers)

    def require(self) -> None:
        if not self.enabled:
            raise BadRequest(NOT_RUNNING, 400)

    def add(self, url: str) -> None:
        with self._lock:
            if url in self._subscribers:
                return
            subscriber = self._subscribers[url] = _Subscriber(url)
        threading.Thread(
            target=self._deliver, args=(subscriber,), name="marathon-callback", daemon=True
        ).start()
        self._changed()

    def remove(self, url: str) -> None:
        with self._lock:
            subscriber = self._subscribers.pop(url, None)
        if subscriber is not None:
            subscriber.gone = True
            self._changed()

    def send(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for every subscriber not resting after failures."""
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            subscribers = list(self._subscribers.values())
        for subscriber in subscribers:
            if now >= subscriber.quiet_until:
                subscriber.events.put(event)
            else:
                log.info("Will not send event %s to %s", event["eventType"], subscriber.url)

    def _deliver(self, subscriber: _Subscriber) -> None:
        parts = urlsplit(subscriber.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        while not subscriber.gone:
            try:
                event = subscriber.events.get(timeout=1.0)
            except queue.Empty:
                continue
            if time.monotonic() < subscriber.quiet_until:
                continue  # queued before the last failure: dropped like the others
            started = time.monotonic()
            try:
                answer = request(
                    parts.netloc,
                    "POST",
                    path,
                    event,
                    timeout=SLOW_CONSUMER,
                    headers={"Accept": "application/json"},
                )
                ok = 200 <= answer.status < 300 and time.monotonic() - started < SLOW_CONSUMER
            except WireError as exc:
                log.warning("Failed to post %s to %s: %s", event["eventType"], subscriber.url, exc)
                ok = False
            if ok:
                subscriber.failures = 0
                subscriber.quiet_until = 0.0
            else:
                subscriber.failures += 1
                subscriber.quiet_until = time.monotonic() + 2.0**subscriber.failures
