"""Admin Router, the DC/OS master's gateway on port 80, emulated (DCOS@HEAD
packages/adminrouter nginx.master.yaml for the paths).

* ``/dcos-metadata/dcos-version.json`` -- unauthenticated, from the dcos-metadata package;
* ``/mesos/<path>`` -> the Mesos master (:5050, the leader), e.g. ``/mesos/master/state``,
  ``/mesos/overlay-master/state``;
* ``/marathon/<path>`` and ``/service/marathon/<path>`` -> Marathon (:8080);
* ``/exhibitor/<path>`` -> Exhibitor (:8181);
* ``/system/health/v1`` -> dcos-diagnostics' unit health (answered here: the emulation has
  no dcos-diagnostics daemon) from the node's real ``systemctl is-active``.

With ``oauth_enabled: 'true'`` (DC/OS's default) everything but the version file needs a
login token and answers 401; the emulation has no login service (dcos-oauth), so the
lesson sets ``oauth_enabled: 'false'``, as the seed does.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply, serve, text_reply
from mesoslab_twin.common.process import setup_logging, wait_for_signal
from mesoslab_twin.dcos import DCOS_VERSION, EMULATION_NOTE, OPT

PORT = 80
METADATA = f"{OPT}/active/dcos-metadata/etc"
UPSTREAMS = {"mesos": 5050, "marathon": 8080, "exhibitor": 8181}
HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "x-mesoslab-twin",
    "server",
    "date",
}


def forward(host: str, port: int, request: Request, path: str, hops: int = 3) -> Reply:
    query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
    target = "/" + path.lstrip("/") + (f"?{query}" if query else "")
    headers = {k: v for k, v in request.headers.items() if k not in HOP_HEADERS}
    try:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request(request.method, target, body=request.body or None, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            got = {k.lower(): v for k, v in answer.getheaders()}
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return text_reply(f"502 Bad Gateway: {host}:{port} does not answer ({exc})\n", 502)
    if answer.status == 307 and hops and got.get("location", "").startswith("//"):
        leader = got["location"][2:].split("/", 1)[0]
        lhost, _, lport = leader.rpartition(":")
        return forward(lhost, int(lport or 5050), request, path, hops - 1)
    kept = {k.title(): v for k, v in got.items() if k not in HOP_HEADERS and k != "content-type"}
    return Reply(
        status=answer.status,
        body=data,
        headers=kept,
        content_type=got.get("content-type", "application/octet-stream"),
    )


def unit_health(root: Root) -> list[dict[str, Any]]:
    system = root.path("/etc/systemd/system")
    found = []
    for path in sorted(system.glob("dcos-*.service")):
        name = path.name
        try:
            done = subprocess.run(
                ["systemctl", "is-active", name],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            state = done.stdout.strip() or "unknown"
        except (OSError, subprocess.TimeoutExpired):
            state = "unknown"
        description = ""
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Description="):
                description = line.split("=", 1)[1]
        found.append(
            {
                "id": name,
                "name": description.split(":")[0],
                "health": 0 if state == "active" else 1,
                "output": "" if state == "active" else f"{name} is {state}",
                "description": description,
                "help": "",
            }
        )
    return found


class AdminRouter:
    def __init__(self, root: Root, ports: dict[str, int] | None = None) -> None:
        self.root = root
        self.ports = {**UPSTREAMS, **(ports or {})}
        config = json.loads(root.read(f"{OPT}/etc/dcos-config.json") or "{}")
        self.oauth = str(config.get("oauth_enabled", "true")) == "true"
        self.ip = (root.read(f"{OPT}/etc/mesos-master") or "").partition("MESOS_IP=")[2].split(
            "\n"
        )[0] or "127.0.0.1"

    def _auth(self, request: Request) -> Reply | None:
        if not self.oauth or request.headers.get("authorization"):
            return None
        return Reply(
            status=401,
            headers={"WWW-Authenticate": "oauthjwt"},
            body={
                "title": "Unauthorized",
                "description": "Authentication required "
                "(oauth_enabled is 'true'; the emulation has no login service)",
            },
        )

    def version(self, _r: Request, _m: Any) -> Reply:
        text = self.root.read(f"{METADATA}/dcos-version.json")
        if text is None:
            return text_reply("404 Not Found\n", 404)
        return Reply(body=text.encode(), content_type="application/json")

    def upstream(self, request: Request, match: Any) -> Reply:
        denied = self._auth(request)
        if denied:
            return denied
        service, rest = match.group(1), match.group(2) or "/"
        return forward(
            self.ip if service != "exhibitor" else "127.0.0.1", self.ports[service], request, rest
        )

    def health(self, request: Request, _m: Any) -> Reply:
        denied = self._auth(request)
        if denied:
            return denied
        roles = [p.name for p in self.root.path("/etc/mesosphere/roles").glob("*")]
        return json_reply(
            {
                "units": unit_health(self.root),
                "hostname": socket.gethostname(),
                "ip": self.ip,
                "dcos_version": DCOS_VERSION,
                "node_role": roles[0] if roles else "",
                "mesos_id": "",
                "dcos_diagnostics_version": "0.4.0",
            }
        )

    def index(self, _r: Request, _m: Any) -> Reply:
        return text_reply(
            f"<html><body><h1>DC/OS {DCOS_VERSION}</h1><p>{EMULATION_NOTE}: "
            "Admin Router passes /mesos/, /marathon/, /exhibitor/ on.</p></body></html>",
            content_type="text/html; charset=utf-8",
        )

    def routes(self) -> Router:
        router = Router()
        router.add("GET", r"/dcos-metadata/dcos-version\.json", self.version)
        router.add("GET", r"/system/health/v1/?", self.health)
        router.add("GET,POST,PUT,DELETE,PATCH", r"/(mesos|marathon|exhibitor)(/.*)?", self.upstream)
        router.add("GET,POST,PUT,DELETE,PATCH", r"/service/(marathon)(/.*)?", self.upstream)
        router.add("GET", r"/", self.index)
        return router


def run(root: Root, args: list[str]) -> int:
    setup_logging("adminrouter")
    port = PORT
    for arg in args:
        if arg.startswith("--port="):
            port = int(arg.split("=", 1)[1])
    router = AdminRouter(root)
    server = serve("0.0.0.0", port, router.routes(), "adminrouter")
    wait_for_signal()
    server.shutdown()
    return 0
