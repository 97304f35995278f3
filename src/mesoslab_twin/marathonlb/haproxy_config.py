"""The HAProxy configuration marathon-lb writes (MLB config.py templates, marathon_lb.py
``config()`` L460-805), for the Debian HAProxy 2.6 of the rehearsal nodes.

The head is marathon-lb's ``HAPROXY_HEAD``: ``global`` (logging, spread checks, maxconn, TLS
defaults, ``stats socket ... expose-fd listeners`` for seamless reloads, the server state
file, the Lua services), ``defaults`` and ``listen stats`` on ``0.0.0.0:9090``. Then the
``marathon_http_in`` (:80), ``marathon_http_appid_in`` (:9091) and ``marathon_https_in``
(:443) frontends unless ``--dont-bind-http-https``, then a ``frontend`` and a ``backend``
``<app>_<servicePort>`` per service.

Differences from the real head, each needed on HAProxy 2.6 or on the node:
``setenv MARATHON_LB_CONTROL`` (the signal services ask the daemon over a unix socket to
signal itself, where the real ones fork ``pkill -f``: HAProxy >= 2.2 forbids forking from Lua,
and a fork from a worker that holds connections breaks them), and the paths of the socket, state and
Lua files (the real image keeps them under ``/marathon-lb``, ``/var/run/haproxy``,
``/var/state/haproxy``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesoslab_twin.marathonlb.services import Backend, Service

LUA_FILE = Path(__file__).resolve().parent / "lua" / "marathon_lb.lua"

# The paths of ``listen stats`` answered by the Lua services of lua/marathon_lb.lua
# (config.py L78-99: ``http-request use-service lua.<name> if <acl>``).
LUA_PATHS: dict[str, str] = {
    "/_haproxy_getpids": "getpids",
    "/_haproxy_getvhostmap": "getvhostmap",
    "/_haproxy_getappmap": "getappmap",
    "/_haproxy_getconfig": "getconfig",
    "/_mlb_signal/hup": "signalmlbhup",
    "/_mlb_signal/usr1": "signalmlbusr1",
}
HEALTH_URI = "/_haproxy_health_check"  # monitor-uri
STATS_URI = "/haproxy?stats"  # HAProxy's default stats uri (``stats enable``)
METRICS_URI = "/metrics"  # prometheus-exporter (HAProxy 2.x, marathon-lb v1.15.0)

# Every path of the :9090 listener (the twin's contract test lists them).
STATS_ROUTES: tuple[str, ...] = (
    STATS_URI,
    STATS_URI + ";csv",
    HEALTH_URI,
    METRICS_URI,
    *LUA_PATHS,
)

CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-SHA256",
        "ECDHE-RSA-AES128-SHA256",
        "ECDHE-ECDSA-AES256-SHA384",
        "ECDHE-RSA-AES256-SHA384",
        "DHE-RSA-AES128-SHA256",
        "DHE-RSA-AES256-SHA256",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "AES128-SHA256",
        "AES256-SHA256",
        "!aNULL",
        "!MD5",
        "!DSS",
    )
)
DEFAULT_OPTIONS = ("dontlognull", "http-server-close", "redispatch")


@dataclass(frozen=True)
class Layout:
    """Where things are on the node and which fixed ports the head binds."""

    config_file: Path = Path("/etc/haproxy/haproxy.cfg")
    socket: Path = Path("/var/run/haproxy/socket")
    state_dir: Path = Path("/var/state/haproxy")
    control_socket: Path = Path("/var/run/haproxy/marathon-lb.sock")
    lua_file: Path = LUA_FILE
    ssl_certs: tuple[str, ...] = ("/etc/ssl/cert.pem",)
    stats_port: int = 9090
    http_port: int = 80
    https_port: int = 443
    appid_port: int = 9091
    bind_http_https: bool = True
    haproxy_map: bool = False
    maxconn: int = 50000  # global; HAProxy needs about twice as many open files
    default_options: tuple[str, ...] = DEFAULT_OPTIONS

    @property
    def domain_map(self) -> Path:
        return self.config_file.parent / "domain2backend.map"

    @property
    def app_map(self) -> Path:
        return self.config_file.parent / "app2backend.map"


@dataclass
class Generated:
    """A configuration and the map files that go with it (``--haproxy-map``)."""

    text: str
    domain_map: dict[str, str] = field(default_factory=dict)
    app_map: dict[str, str] = field(default_factory=dict)


def _clean(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9\-]", "_", text)


def head(layout: Layout) -> str:
    lines = [
        "global",
        "  log /dev/log local0",
        "  log /dev/log local1 notice",
        "  spread-checks 5",
        "  max-spread-checks 15000",
        f"  maxconn {layout.maxconn}",
        "  tune.ssl.default-dh-param 2048",
        f"  ssl-default-bind-ciphers {CIPHERS}",
        "  ssl-default-bind-options no-sslv3 no-tlsv10 no-tls-tickets",
        f"  ssl-default-server-ciphers {CIPHERS}",
        "  ssl-default-server-options no-sslv3 no-tlsv10 no-tls-tickets",
        f"  stats socket {layout.socket} expose-fd listeners",
        "  server-state-file global",
        f"  server-state-base {layout.state_dir}/",
        f"  setenv MARATHON_LB_CONTROL unix@{layout.control_socket}",
        f"  lua-load {layout.lua_file}",
        "defaults",
        "  load-server-state-from-file global",
        "  log               global",
        "  retries                   3",
        "  backlog               10000",
        f"  maxconn               {min(10000, layout.maxconn)}",
        "  timeout connect          3s",
        "  timeout client          30s",
        "  timeout server          30s",
        "  timeout tunnel        3600s",
        "  timeout http-keep-alive  1s",
        "  timeout http-request    15s",
        "  timeout queue           30s",
        "  timeout tarpit          60s",
        *(f"  option            {opt}" for opt in sorted(set(layout.default_options))),
        "listen stats",
        f"  bind 0.0.0.0:{layout.stats_port}",
        "  balance",
        "  mode http",
        "  stats enable",
        f"  http-request use-service prometheus-exporter if {{ path {METRICS_URI} }}",
        f"  monitor-uri {HEALTH_URI}",
    ]
    for path, service in LUA_PATHS.items():
        acl = service
        lines.append(f"  acl {acl} path {path}")
        lines.append(f"  http-request use-service lua.{service} if {acl}")
    return "\n".join(lines) + "\n"


def server_ids(names: Iterable[str]) -> dict[str, int]:
    """A stable HAProxy ``id`` (1..32766) per server name, so that the server state file
    still matches after a reload; a clash takes the next hash of the name."""
    taken: set[int] = set()
    out: dict[str, int] = {}
    for name in names:
        seed = name
        while True:
            digest = hashlib.sha256(seed.encode()).hexdigest()
            number = int(digest, 16) % 32767
            if number and number not in taken:
                break
            seed = f"{name} {digest}"
        taken.add(number)
        out[name] = number
    return out


def server_name(backend: Backend) -> str:
    if backend.host != backend.ip:
        return _clean(f"{backend.host}_{backend.ip}_{backend.port}")
    return _clean(f"{backend.ip}_{backend.port}")


def _check_options(check: dict[str, Any] | None, mode: str) -> tuple[list[str], str]:
    """Backend lines and the server-line suffix for the app's Marathon health check."""
    if not check:
        return [], ""
    protocol = str(check.get("protocol") or "")
    interval = int(check.get("intervalSeconds", 60))
    falls = int(check.get("maxConsecutiveFailures", 3)) + 1
    port = check.get("port")
    suffix = f" check inter {interval}s fall {falls}" + (f" port {port}" if port else "")
    if mode == "tcp" or protocol in ("TCP", "MESOS_TCP"):
        return [], suffix
    if mode == "http":
        path = check.get("path", "/")
        timeout = int(check.get("timeoutSeconds", 20))
        return [f"  option  httpchk GET {path}", f"  timeout check {timeout}s"], suffix
    return [], ""


def generate(services: list[Service], groups: Iterable[str], layout: Layout) -> Generated:
    """The whole configuration for ``services`` selected by ``groups``."""
    wanted = list(groups)
    out = Generated(head(layout))
    http_in: list[str] = []
    appid_in: list[str] = []
    https_in: list[str] = []
    frontends: list[str] = []
    backends: list[str] = []
    appid_done: set[str] = set()
    map_acl_done = False
    for service in sorted(services, key=lambda s: (s.app_id, s.service_port)):
        if not service.selected_by(wanted) or not service.enabled or not service.backends:
            continue
        name = service.backend_name
        mode = service.effective_mode()
        ssl = f" ssl crt {service.ssl_cert}" if service.ssl_cert else ""
        options = f" {service.bind_options}" if service.bind_options else ""
        frontends += [
            "",
            f"frontend {name}",
            f"  bind {service.bind_addr}:{service.service_port}{ssl}{options}",
            f"  mode {mode}",
            f"  use_backend {name}",
        ]
        if layout.bind_http_https and service.vhosts:
            acl = _clean(service.vhosts[0]) + "_" + service.app_id[1:].replace("/", "_")
            if layout.haproxy_map:
                if not map_acl_done:
                    http_in.append(
                        "  use_backend %[req.hdr(host),lower,regsub(:.*$,,),"
                        f"map({layout.domain_map})]"
                    )
                    map_acl_done = True
                for vhost in service.vhosts:
                    out.domain_map[vhost] = name
            else:
                for vhost in service.vhosts:
                    http_in.append(f"  acl host_{acl} hdr(host) -i {vhost}")
                http_in.append(f"  use_backend {name} if host_{acl}")
            for vhost in service.vhosts:
                https_in.append(f"  use_backend {name} if {{ ssl_fc_sni {vhost} }}")
        if mode == "http" and service.app_id not in appid_done:
            appid_done.add(service.app_id)
            if layout.haproxy_map:
                if not out.app_map:
                    appid_in.append(
                        f"  use_backend %[req.hdr(x-marathon-app-id),lower,map({layout.app_map})]"
                    )
                out.app_map[service.app_id] = name
            else:
                app_acl = _clean(service.app_id)
                appid_in.append(f"  acl app_{app_acl} hdr(x-marathon-app-id) -i {service.app_id}")
                appid_in.append(f"  use_backend {name} if app_{app_acl}")
        backends += ["", f"backend {name}", f"  balance {service.balance}", f"  mode {mode}"]
        if mode == "http":
            backends += [
                "  option forwardfor",
                "  http-request set-header X-Forwarded-Port %[dst_port]",
                "  http-request add-header X-Forwarded-Proto https if { ssl_fc }",
            ]
        if service.sticky:
            backends.append("  cookie mesosphere_server_id insert indirect nocache")
        check_lines, check_suffix = _check_options(service.health_check, mode)
        backends += check_lines
        ordered = sorted(service.backends, key=lambda b: (b.host, b.port))
        names = [server_name(b) for b in ordered]
        ids = server_ids(names)
        for backend, sname in zip(ordered, names, strict=True):
            cookie = ""
            if service.sticky:
                cookie = " check cookie " + hashlib.sha1(sname.encode()).hexdigest()[:10]
            backends.append(
                f"  server {sname} {backend.ip}:{backend.port} id {ids[sname]}{cookie}"
                f"{check_suffix}"
            )
    text = out.text
    if layout.bind_http_https:
        text += f"\nfrontend marathon_http_in\n  bind *:{layout.http_port}\n  mode http\n"
        text += "".join(line + "\n" for line in http_in)
    text += f"\nfrontend marathon_http_appid_in\n  bind *:{layout.appid_port}\n  mode http\n"
    text += "".join(line + "\n" for line in appid_in)
    if layout.bind_http_https:
        certs = " ".join(f"crt {c}" for c in layout.ssl_certs)
        text += f"\nfrontend marathon_https_in\n  bind *:{layout.https_port} ssl {certs}\n"
        text += "  mode http\n" + "".join(line + "\n" for line in https_in)
    text += "".join(line + "\n" for line in frontends)
    text += "".join(line + "\n" for line in backends)
    out.text = text
    return out


def map_text(entries: dict[str, str]) -> str:
    """A HAProxy map file: ``key value`` per line."""
    return "".join(f"{key} {value}\n" for key, value in sorted(entries.items()))


def backend_names(text: str) -> list[str]:
    """The ``backend`` sections of a configuration text."""
    return re.findall(r"^backend (\S+)$", text, flags=re.MULTILINE)
