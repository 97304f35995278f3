"""Stands in for a Docker image's entrypoint: the twin cannot run containers, so a Docker
task without a command runs this web server on the host ports the container would publish.

``python3 -m mesoslab_twin placeholder --image=nginx --port=31000 [--port=...]``
"""

from __future__ import annotations

import html
import os
import sys
import threading

from mesoslab_twin.common.httpd import Router, serve, text_reply


def main(args: list[str]) -> int:
    image = ""
    ports: list[int] = []
    for arg in args:
        if arg.startswith("--image="):
            image = arg.split("=", 1)[1]
        elif arg.startswith("--port="):
            ports.append(int(arg.split("=", 1)[1]))
    page = (
        "<!doctype html><html><head><title>mesoslab twin</title></head><body>"
        f"<h1>Emulated container of image {html.escape(image or '?')}</h1>"
        "<p>The mesoslab rehearsal lab cannot run Docker: this placeholder web server "
        "listens on the task's host port instead of the image's own program.</p>"
        f"<p>Task: {html.escape(os.environ.get('MESOS_TASK_ID', '?'))}</p></body></html>"
    )
    router = Router()
    router.add("GET", r"/.*", lambda r, m: text_reply(page, content_type="text/html"))
    servers = []
    for port in ports:
        try:
            servers.append(serve("0.0.0.0", port, router, f"placeholder-{port}"))
        except OSError as exc:
            print(f"cannot listen on port {port}: {exc}", file=sys.stderr)
            return 1
    print(f"placeholder for image {image!r} listening on {ports or 'no port'}", flush=True)
    threading.Event().wait()
    return 0
