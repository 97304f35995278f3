"""HTTP probes for checks: every transport problem becomes a ProbeError with a precise summary.

Connection refused, timeouts, 5xx, 401, a 307 from a non-leading master, malformed JSON or
an HTML page where JSON was expected: each is described in one line a learner can act on.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import httpx

from mesoslab.lab.inventory import Node
from mesoslab.remote.session import CheckContext


class ProbeError(Exception):
    """A probe could not observe what it asked for; ``summary`` says why in one line."""

    def __init__(self, summary: str, observed: str = "", *, answered: bool = True) -> None:
        super().__init__(summary)
        self.summary = summary
        self.observed = observed or summary
        self.answered = answered  # False: no answer came back (unreachable, timed out)


def get(
    ctx: CheckContext,
    node: Node,
    port_key: str,
    path: str,
    *,
    accept: str = "application/json",
    params: dict[str, str] | None = None,
    allow: Collection[int] = (),
) -> httpx.Response:
    """GET ``path`` on a node's service; raise ProbeError for anything but a usable answer.

    3xx responses are returned as they are (the caller decides what a redirect means); so
    are the statuses in ``allow`` (e.g. 503 from ``/master/redirect`` means "no leader").
    """
    url = ctx.base_url(node, port_key) + path
    return _request(ctx, "GET", url, accept=accept, params=params, allow=allow)


def get_at(
    ctx: CheckContext,
    node: Node,
    port: int,
    path: str,
    *,
    accept: str = "*/*",
    allow: Collection[int] = (),
    headers: dict[str, str] | None = None,
    refused: str = "",
) -> httpx.Response:
    """GET ``path`` on a port of a node that no inventory key names (an app's service port,
    a stats listener), with the same error handling as :func:`get`; ``refused`` says what
    to look at when nothing listens there."""
    url = ctx.url_at(node, port) + path
    return _request(ctx, "GET", url, accept=accept, allow=allow, headers=headers, refused=refused)


def _request(
    ctx: CheckContext,
    method: str,
    url: str,
    *,
    accept: str,
    params: dict[str, str] | None = None,
    allow: Collection[int] = (),
    headers: dict[str, str] | None = None,
    refused: str = "",
) -> httpx.Response:
    timeout = ctx.request_timeout()
    where = _short(url)
    try:
        response = ctx.session.http.request(
            method,
            url,
            headers={"Accept": accept, **(headers or {})},
            params=params,
            timeout=timeout,
        )
    except httpx.ConnectTimeout:
        raise ProbeError(
            f"no answer from {where} within {timeout:.1f}s (host down or unreachable?)",
            "connect timeout",
            answered=False,
        ) from None
    except httpx.ConnectError as exc:
        reason = _connect_reason(exc)
        if refused and reason.startswith("connection refused"):
            reason = f"connection refused ({refused})"
        raise ProbeError(f"cannot connect to {where}: {reason}", reason, answered=False) from None
    except httpx.TimeoutException:
        raise ProbeError(
            f"{where} accepted the connection but did not answer within {timeout:.1f}s",
            "read timeout",
            answered=False,
        ) from None
    except httpx.HTTPError as exc:
        raise ProbeError(
            f"HTTP request to {where} failed: {exc}", str(exc), answered=False
        ) from None
    if response.status_code in allow:
        return response
    if response.status_code >= 500:
        body = _snippet(response.text)
        raise ProbeError(
            f"{where} answered HTTP {response.status_code}" + (f": {body}" if body else ""),
            f"HTTP {response.status_code}",
        )
    if response.status_code == 401:
        raise ProbeError(
            f"{where} answered 401: HTTP authentication is enabled; mesoslab reads without "
            "credentials",
            "HTTP 401",
        )
    return response


def get_json(
    ctx: CheckContext,
    node: Node,
    port_key: str,
    path: str,
    *,
    follow_leader: bool = False,
    params: dict[str, str] | None = None,
) -> Any:
    """GET JSON from a node. With ``follow_leader`` a 307 from a non-leading Mesos master is
    followed to the leader (its Location host mapped through the inventory)."""
    response = get(ctx, node, port_key, path, params=params)
    hops = 0
    while response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("location", "")
        if not follow_leader or hops >= 2 or not location:
            raise ProbeError(
                f"{_short(str(response.url))} answered {response.status_code} "
                f"(redirect to {location or 'nowhere'}): not the leading master",
                f"HTTP {response.status_code} -> {location}",
            )
        hops += 1
        url = leader_url(ctx, location, path, port_key)
        try:
            response = _request(ctx, "GET", url, accept="application/json", params=params)
        except ProbeError as exc:
            # Say that the node asked did answer, and that it is the leader that does not.
            leader = split_location(location)[0] or location
            raise ProbeError(
                f"{_short(str(response.url))} redirected to the leader {leader}: {exc.summary}",
                f"leader {leader}: {exc.observed}",
            ) from None
    if response.status_code != 200:
        raise ProbeError(
            f"{_short(str(response.url))} answered HTTP {response.status_code}"
            + (f": {_snippet(response.text)}" if response.text.strip() else ""),
            f"HTTP {response.status_code}",
        )
    return parse_json(response)


def leader_url(ctx: CheckContext, location: str, path: str, port_key: str) -> str:
    """Absolute URL for a Mesos redirect Location (``//host:port/path``, scheme-less).

    The host is the leader's hostname as Mesos knows it; map it to an inventory address
    because it may not resolve from where the checks run.
    """
    host, port = split_location(location)
    node = ctx.inventory.find_host(host)
    address = node.address if node is not None else host
    if ":" in address:
        address = f"[{address}]"
    target_path = urlsplit(location if "//" in location else "//" + location).path
    if not target_path or target_path == "/":
        target_path = path
    return f"http://{address}:{port or ctx.port(port_key)}{target_path}"


def split_location(location: str) -> tuple[str, int | None]:
    """``//master2:5050/master/state`` -> ("master2", 5050)."""
    if "//" not in location:
        location = "//" + location
    parts = urlsplit(location)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port


def parse_json(response: httpx.Response) -> Any:
    where = _short(str(response.url))
    text = response.text
    ctype = response.headers.get("content-type", "")
    stripped = text.lstrip()
    if "html" in ctype or stripped[:1] == "<":
        raise ProbeError(
            f"{where} answered an HTML page where JSON was expected "
            "(wrong port, or a proxy/login page in the way?)",
            _snippet(text),
        )
    if not stripped:
        raise ProbeError(f"{where} answered an empty body where JSON was expected", "empty body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProbeError(
            f"{where} answered malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            _snippet(text),
        ) from None


def _connect_reason(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused (is the service running and listening on that port?)"
    if "no route" in text:
        return "no route to host (is the node up?)"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "host name does not resolve"
    return str(exc) or exc.__class__.__name__


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _snippet(text: str, limit: int = 120) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
