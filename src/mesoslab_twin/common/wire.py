"""HTTP between the twin daemons, and their own API between agent and master.

Real Mesos agents talk libprocess messages to the master; the twins use two JSON calls
instead (no real agent talks to a twin master, so nothing public is lost):

agent -> master   ``POST /twin/agent/register``   agent info + its tasks -> agent id
                  ``POST /twin/agent/heartbeat``  its tasks -> launches and kills to run

Frameworks use Mesos's public v1 scheduler API (:mod:`..mesos.scheduler`). A master that does
not lead answers these like its other leader-only endpoints (307 to the leader, or 503), and
the caller looks for the leader again.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mesoslab_twin import TWIN_HEADER, TWIN_HEADER_VALUE

# Generous: a busy machine can stall a daemon for seconds, and a call that times out costs a
# re-registration. An unreachable daemon is refused at once, not waited for.
WIRE_TIMEOUT = 10.0


class WireError(Exception):
    """The other daemon could not be reached or answered something unusable."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None


def request(
    address: str,
    method: str,
    path: str,
    payload: Any = None,
    *,
    timeout: float = WIRE_TIMEOUT,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One HTTP request to ``host:port`` (no redirects followed). Raises WireError."""
    if "//" in address:
        address = urlsplit(address).netloc
    host, _, port = address.rpartition(":")
    if not host:
        host, port = address, "80"
    body = None
    sent = {TWIN_HEADER: TWIN_HEADER_VALUE, **(headers or {})}
    if payload is not None:
        body = json.dumps(payload).encode("utf-8")
        sent["Content-Type"] = "application/json"
    try:
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise WireError(f"{address}{path}: {exc}") from None


def post(address: str, path: str, payload: Any, *, timeout: float = WIRE_TIMEOUT) -> Answer:
    return request(address, "POST", path, payload, timeout=timeout)
