"""What marathon-lb asks Marathon (marathon_lb.py ``Marathon``, utils.py
``CurlHttpEventStream``, L159-277):

* ``GET <marathon>/v2/apps?embed=apps.tasks`` with ``Accept: application/json`` and
  ``User-Agent: marathon-lb``, each ``--marathon`` URL in turn until one answers (the one
  that answered is asked first next time);
* ``GET <marathon>/v2/events?plan-format=light&event_type=...`` with
  ``Accept: text/event-stream``: Server-Sent Events, ``data:`` lines holding JSON; a stream
  silent for 300 s is given up and opened again.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

log = logging.getLogger("mesoslab_twin.marathonlb")

USER_AGENT = "marathon-lb"
RELEVANT_EVENTS = ("api_post_event", "health_status_changed_event", "status_update_event")
SILENCE = 300.0  # seconds without a byte before the stream is opened again (LOW_SPEED_TIME)


class MarathonError(Exception):
    """No Marathon answered; the message says what each one did."""


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url if "//" in url else "http://" + url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "localhost", parts.port, timeout=timeout)
    return conn, parts.path.rstrip("/")


class Marathon:
    def __init__(self, hosts: list[str]) -> None:
        self.hosts = list(hosts)
        self.current = self.hosts[0] if self.hosts else ""

    def apps(self) -> list[dict[str, Any]]:
        errors: list[str] = []
        for index, host in enumerate(list(self.hosts)):
            try:
                data = self._get_json(host, "/v2/apps?embed=apps.tasks")
            except (OSError, http.client.HTTPException, ValueError) as exc:
                errors.append(f"{host}: {exc}")
                log.info("Error calling GET %s/v2/apps, trying next host.", host)
                continue
            if index:
                self.hosts = self.hosts[index:] + self.hosts[:index]
            self.current = host
            apps = data.get("apps") if isinstance(data, dict) else None
            if not isinstance(apps, list):
                raise MarathonError(f"{host}/v2/apps answered no app list")
            return [a for a in apps if isinstance(a, dict)]
        raise MarathonError("; ".join(errors) or "no --marathon given")

    def _get_json(self, host: str, path: str) -> Any:
        conn, base = _connection(host, 46.0)
        try:
            log.info("Calling GET %s%s.", host, path)
            conn.request(
                "GET",
                base + path,
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                },
            )
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            return json.loads(body)
        finally:
            conn.close()

    def events(self, stop: Any) -> Iterator[dict[str, Any]]:
        """Events of the relevant types from the first Marathon that opens a stream, until
        the stream ends, falls silent for :data:`SILENCE` or ``stop`` is set."""
        host = self.hosts[0]
        self.current = host
        query = urlencode({"plan-format": "light", "event_type": RELEVANT_EVENTS}, doseq=True)
        conn, base = _connection(host, SILENCE)
        try:
            conn.request(
                "GET",
                f"{base}/v2/events?{query}",
                headers={
                    "Accept": "text/event-stream",
                    "Cache-Control": "no-cache",
                    "User-Agent": USER_AGENT,
                },
            )
            response = conn.getresponse()
            if response.status != 200:
                raise MarathonError(f"{host}/v2/events answered HTTP {response.status}")
            log.info("SSE Active, trying fetch events from %s/v2/events?%s", host, query)
            data: list[str] = []
            while not stop.is_set():
                raw = response.readline()
                if not raw:
                    return
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                    continue
                if line == "" and data:
                    text = "\n".join(data)
                    data = []
                    for part in text.split("\r\n"):
                        if not part.strip():
                            continue
                        try:
                            event = json.loads(part)
                        except json.JSONDecodeError:
                            log.warning("skipping malformed event %r", part[:200])
                            continue
                        if isinstance(event, dict):
                            yield event
        finally:
            conn.close()
