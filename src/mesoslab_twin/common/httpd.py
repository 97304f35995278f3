"""A small threaded HTTP server for the twin daemons.

Routes are regular expressions matched against the whole path. Every answer carries
``X-Mesoslab-Twin: emulation`` and ``Server: mesoslab-twin``, so nobody mistakes a twin
for the real thing.

A reply whose body is a :class:`Stream` is written with chunked transfer encoding, one chunk
per :meth:`Stream.send`, by the request's own thread, until the stream is closed (by its
producer, by the client going away, or by the server stopping).
"""

from __future__ import annotations

import json
import queue
import re
import select
import socket
import socketserver
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mesoslab_twin import SERVER_NAME, TWIN_HEADER, TWIN_HEADER_VALUE


class BadRequest(Exception):
    """The request cannot be served; ``status`` and ``message`` say why."""

    def __init__(self, message: str, status: int = 400, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw_path: str = ""  # path with the query string, as sent
    remote: str = ""  # the client's address

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body.strip():
            raise BadRequest("Request body is empty, expected JSON")
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"Failed to parse JSON: {exc}") from None


def peer_gone(connection: socket.socket) -> bool:
    """The client closed its side of ``connection`` (readable, with nothing to read)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if not readable:
            return False
        peeked: bytes = connection.recv(1, socket.MSG_PEEK)
        return peeked == b""
    except OSError:
        return True


class Stream:
    """A response body written as it is produced (chunked), e.g. a RecordIO event stream.

    The producer calls :meth:`send` and finally :meth:`close`; ``on_close`` runs once, in the
    serving thread, after the last chunk, however the stream ended."""

    _END = b""

    def __init__(self, on_close: Callable[[], None] | None = None) -> None:
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._closed = threading.Event()
        self.on_close = on_close

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, data: bytes) -> bool:
        """Queue one chunk; False when the stream has ended."""
        if self._closed.is_set() or not data:
            return False
        self._chunks.put(data)
        return True

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._chunks.put(self._END)

    def next_chunk(self, timeout: float) -> bytes | None:
        """The next chunk, ``b""`` at the end, None when nothing came within ``timeout``."""
        try:
            return self._chunks.get(timeout=timeout)
        except queue.Empty:
            return self._END if self._closed.is_set() else None


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    # A long-lived answer (Server-Sent Events): after the status line and headers the
    # connection is handed to this callable, which writes until it returns; then it closes.
    stream: Callable[[socket.socket], None] | None = None

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data = self.body
            if self.content_type:
                headers["Content-Type"] = self.content_type
        elif isinstance(self.body, str):
            data = self.body.encode("utf-8")
            headers["Content-Type"] = self.content_type or "text/plain; charset=utf-8"
        else:
            data = json.dumps(self.body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = self.content_type or "application/json"
        return data, headers


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=body, headers=headers or {})


def text_reply(text: str, status: int = 200, content_type: str | None = None) -> Reply:
    return Reply(status=status, body=text, content_type=content_type)


Handler = Callable[[Request, "re.Match[str]"], Reply]


class Router:
    """(method, path regex) -> handler; unknown paths answer 404."""

    def __init__(self, *, libprocess: bool = False) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        # libprocess (Mesos's HTTP) splits a path on "/" and drops empty parts, so
        # "/master/state/" and "//master//state" are "/master/state"
        self.libprocess = libprocess

    def add(self, methods: str, pattern: str, handler: Handler) -> None:
        compiled = re.compile(pattern)
        for method in methods.split(","):
            self._routes.append((method.strip().upper(), compiled, handler))

    def dispatch(self, request: Request) -> Reply:
        method = "GET" if request.method == "HEAD" else request.method
        allowed = False
        path = request.path
        if self.libprocess:
            path = "/" + "/".join(part for part in path.split("/") if part)
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                allowed = True
                continue
            try:
                return handler(request, match)
            except BadRequest as exc:
                body: dict[str, Any] = {"message": exc.message}
                if exc.details is not None:
                    body["details"] = exc.details
                return json_reply(body, exc.status)
        if allowed:
            return text_reply("Method not allowed\n", 405)
        return text_reply("", 404)


class _Handler(BaseHTTPRequestHandler):
    server: TwinHTTPServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: a reply goes out as two writes (headers, then body). With Nagle on, the
    # body of every reply after the first on a kept-alive connection waited for the
    # client's delayed ACK, 40 ms each; libprocess and Jetty answer without that stall.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return SERVER_NAME

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path or "/",
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            raw_path=self.path,
            remote=str(self.client_address[0]),
        )
        try:
            reply = self.server.router.dispatch(request)
        except Exception:  # a bug in a handler: answer 500 and keep serving
            traceback.print_exc(file=sys.stderr)
            reply = text_reply("Internal error in the mesoslab twin\n", 500)
        if isinstance(reply.body, Stream):
            self._stream(reply, reply.body)
            return
        data, headers = reply.encode()
        if reply.stream is not None and self.command != "HEAD":
            self._stream_raw(reply, headers)
            return
        try:
            self.send_response(reply.status)
            self.send_header(TWIN_HEADER, TWIN_HEADER_VALUE)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(self, reply: Reply, stream: Stream) -> None:
        self.server.streams.add(stream)
        try:
            self.send_response(reply.status)
            self.send_header(TWIN_HEADER, TWIN_HEADER_VALUE)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            while True:
                chunk = stream.next_chunk(0.2)
                if chunk == b"":
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    break
                if chunk is None:
                    if self._peer_gone():
                        break
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        except OSError:
            pass  # the client went away
        finally:
            self.close_connection = True
            self.server.streams.discard(stream)
            stream.close()
            if stream.on_close is not None:
                stream.on_close()

    def _peer_gone(self) -> bool:
        return peer_gone(self.connection)

    def _stream_raw(self, reply: Reply, headers: dict[str, str]) -> None:
        """A body the handler writes to the connection itself until it ends, without
        chunks and with ``Connection: close`` (how Jetty serves Marathon's event stream)."""
        self.close_connection = True
        try:
            self.send_response(reply.status)
            self.send_header(TWIN_HEADER, TWIN_HEADER_VALUE)
            for key, value in {**headers, "Connection": "close"}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.flush()
            assert reply.stream is not None
            reply.stream(self.connection)
        except OSError:  # the client went away
            pass

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_HEAD = _serve
    do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TwinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], router: Router) -> None:
        self.router = router
        self.streams: set[Stream] = set()
        super().__init__(address, _Handler)

    def shutdown(self) -> None:
        """Stop serving; open streams end cleanly (their last chunk is written)."""
        for stream in list(self.streams):
            stream.close()
        super().shutdown()

    def server_bind(self) -> None:
        # Skip HTTPServer's reverse DNS lookup of the bound address (slow on 127.0.0.x).
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


def serve(host: str, port: int, router: Router, name: str) -> TwinHTTPServer:
    """Bind and serve in a daemon thread. Raises OSError when the address is taken."""
    server = TwinHTTPServer((host, port), router)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
    )
    thread.start()
    return server
