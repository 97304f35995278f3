"""`mesoslab class serve`: the bind address, the lines the instructor shows, uvicorn.

The default address is the classroom interface: the address of the interface the default
route leaves by (the network learners share with the instructor), never 0.0.0.0 unless the
instructor asks for it with ``--bind``. The socket is bound before anything is printed, so a
port in use is a clear error and a printed join line always works.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from mesoslab.errors import ClassroomError
from mesoslab.ops.classroom.store import ClassInfo, ClassStore
from mesoslab.ops.classroom.view import StuckRule

DEFAULT_PORT = 8765
_PROBE = ("192.0.2.1", 9)  # TEST-NET-1: a UDP connect only picks the route, sends nothing


def classroom_address() -> str:
    """The address of the default route's interface (127.0.0.1 when there is no route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_PROBE)
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@dataclass(frozen=True)
class Announcement:
    """What `class serve` prints for the room."""

    base_url: str
    join_line: str
    dashboard_url: str
    instructor_token: str
    code_open: bool


def announce(info: ClassInfo, host: str, port: int, tls: bool) -> Announcement:
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = classroom_address()  # the address learners can type
    base = f"{'https' if tls else 'http'}://{shown}:{port}"
    return Announcement(
        base,
        f"mesoslab class join {base} --code {info.code} --name NAME",
        f"{base}/dashboard?token={info.instructor_token}",
        info.instructor_token,
        info.code_open,
    )


def qr_text(text: str) -> str:
    """``text`` as a QR code drawn with block characters (for a terminal on a projector)."""
    import io

    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out, compact=True, border=2)
    return out.getvalue()


def bind_socket(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        raise ClassroomError(
            f"--bind {host!r} is not an IP address", hint="give one, e.g. --bind 192.168.1.20"
        ) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ClassroomError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="is another `class serve` running? choose another --port or --bind",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def check_tls(cert: Path | None, key: Path | None) -> None:
    if (cert is None) != (key is None):
        raise ClassroomError("TLS needs both --tls-cert and --tls-key")
    if cert is None or key is None:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ClassroomError(
            f"cannot use the TLS certificate {cert} with key {key}: {exc}"
        ) from None


def run_server(
    store: ClassStore,
    sock: socket.socket,
    *,
    rule: StuckRule,
    cert: Path | None = None,
    key: Path | None = None,
) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn handles both and closes the streams)."""
    import uvicorn

    from mesoslab.ops.classroom.server import make_app

    config = uvicorn.Config(
        make_app(store, rule),
        log_level="warning",
        access_log=False,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        timeout_graceful_shutdown=2,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
