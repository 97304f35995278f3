"""Exhibitor's cluster status on a DC/OS master's :8181, over the node's real ZooKeeper.

``GET /exhibitor/v1/cluster/status`` -> ``[{"code": 3, "description": "serving",
"hostname": <master>, "isLeader": true}]`` per master (DCOS@1.10.0 dcos_internal_utils/
exhibitor.py): ``code`` 3 serving, 1 down. The real Exhibitor also writes ZooKeeper's
configuration and restarts it; here Debian's ``zookeeper`` unit runs ZooKeeper and this
daemon only reports it, asking each master's ZooKeeper ``srvr``."""

from __future__ import annotations

import json
import socket
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply, serve, text_reply
from mesoslab_twin.common.process import setup_logging, wait_for_signal

PORT = 8181


def srvr(host: str, port: int = 2181, timeout: float = 2.0) -> str:
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(b"srvr")
            chunks = []
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return ""


def member(host: str, answer: str) -> dict[str, Any]:
    mode = next(
        (line.split(":", 1)[1].strip() for line in answer.splitlines() if line.startswith("Mode:")),
        "",
    )
    if not mode:
        return {"code": 1, "description": "down", "hostname": host, "isLeader": False}
    return {
        "code": 3,
        "description": "serving",
        "hostname": host,
        "isLeader": mode in ("leader", "standalone"),
    }


def status(masters: list[str]) -> list[dict[str, Any]]:
    return [member(m, srvr(m)) for m in masters]


def routes(masters: list[str]) -> Router:
    router = Router()

    def cluster(_r: Request, _m: Any) -> Reply:
        return json_reply(status(masters))

    router.add("GET", r"/exhibitor/v1/cluster/status", cluster)
    router.add("GET", r"/", lambda r, m: text_reply("Exhibitor (mesoslab twin: status only)\n"))
    return router


def run(root: Root, _args: list[str]) -> int:
    setup_logging("exhibitor")
    masters = [str(m) for m in json.loads(root.read("/opt/mesosphere/etc/master_list") or "[]")]
    server = serve("0.0.0.0", PORT, routes(masters), "exhibitor")
    wait_for_signal()
    server.shutdown()
    return 0
