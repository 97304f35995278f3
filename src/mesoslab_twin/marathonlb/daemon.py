"""``python3 -m mesoslab_twin marathon-lb --marathon URL --group NAME [--sse] ...``

The options are marathon_lb.py's (``get_arg_parser``, L2093-2185); a few more, marked
"twin", let the loopback tests move the fixed ports of the head. Without ``--sse`` it
regenerates once and exits (the Docker image's ``poll`` mode: runit, here systemd, starts it
again). With ``--sse`` it follows Marathon's event stream: every ``api_post_event``,
``health_status_changed_event`` or ``status_update_event`` asks for a full regeneration
(at most one runs at a time, queued ones are merged), 300 s without one regenerates anyway,
SIGHUP regenerates, SIGUSR1 reloads the configuration as it is. In SSE mode it listens on
``--control-socket`` (a unix socket) for the ``/_mlb_signal`` services of HAProxy: a line
``HUP`` or ``USR1`` makes it send itself that signal (the real services ``pkill -f`` it).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import resource
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from mesoslab_twin.common.config import Root
from mesoslab_twin.marathonlb.haproxy_config import Layout, generate
from mesoslab_twin.marathonlb.marathon import Marathon, MarathonError
from mesoslab_twin.marathonlb.reload import Reloader
from mesoslab_twin.marathonlb.services import Resolver, resolve_host, services_of

log = logging.getLogger("mesoslab_twin.marathonlb")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="marathon-lb",
        description="Marathon HAProxy Load Balancer (mesoslab twin: an emulation)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--marathon",
        "-m",
        nargs="+",
        default=["http://master.mesos:8080"],
        help="[required] Marathon endpoint, eg. -m http://marathon1:8080",
    )
    p.add_argument(
        "--haproxy-config",
        default="/etc/haproxy/haproxy.cfg",
        help="Location of haproxy configuration",
    )
    p.add_argument(
        "--group",
        action="append",
        default=[],
        help="[required] Only generate config for apps which list the specified "
        "names. Use '*' to match all groups, including those without a group.",
    )
    p.add_argument(
        "--command", "-c", default=None, help="If set, run this command to reload haproxy."
    )
    p.add_argument(
        "--max-reload-retries",
        type=int,
        default=10,
        help="Max reload retries before failure (0: none, -1: infinite)",
    )
    p.add_argument(
        "--reload-interval",
        type=int,
        default=10,
        help="Wait this number of seconds between reload retries.",
    )
    p.add_argument(
        "--strict-mode",
        action="store_true",
        help="If set, backends are only advertised if HAPROXY_{n}_ENABLED=true.",
    )
    p.add_argument("--sse", "-s", action="store_true", help="Use Server Sent Events")
    p.add_argument(
        "--health-check",
        "-H",
        action="store_true",
        help="If set, respect Marathon's health check statuses before adding the "
        "app instance into the backend pool.",
    )
    p.add_argument(
        "--haproxy-map",
        action="store_true",
        help="Use HAProxy maps for domain name to backend mapping.",
    )
    p.add_argument(
        "--dont-bind-http-https",
        action="store_true",
        help="Don't bind to HTTP and HTTPS frontends.",
    )
    p.add_argument(
        "--ssl-certs",
        default="/etc/ssl/cert.pem",
        help="List of SSL certificates separated by comma for frontend marathon_https_in",
    )
    p.add_argument(
        "--skip-validation", action="store_true", help="Skip haproxy config file validation"
    )
    p.add_argument("--dry", "-d", action="store_true", help="Only print configuration to console")
    twin = p.add_argument_group("mesoslab twin (not in marathon-lb; for tests)")
    twin.add_argument("--stats-port", type=int, default=9090, help="port of `listen stats`")
    twin.add_argument("--http-port", type=int, default=80, help="port of marathon_http_in")
    twin.add_argument("--https-port", type=int, default=443, help="port of marathon_https_in")
    twin.add_argument("--appid-port", type=int, default=9091, help="port of marathon_http_appid_in")
    twin.add_argument(
        "--haproxy-maxconn",
        type=int,
        default=0,
        help="global maxconn (default: marathon-lb's 50000, lowered to what the open-file "
        "limit allows: HAProxy needs twice as many files)",
    )
    twin.add_argument("--haproxy-bin", default="haproxy", help="the haproxy that validates")
    twin.add_argument(
        "--control-socket",
        default="/var/run/haproxy/marathon-lb.sock",
        help="where the /_mlb_signal services of HAProxy reach this process",
    )
    return p


def hosts_resolver(root: Root) -> Resolver:
    """Resolve task hosts like the node would; with ``--root`` the root's ``/etc/hosts``
    is asked first (the loopback tests name their agents there)."""
    if str(root.base) == "/":
        return resolve_host
    names: dict[str, str] = {}
    for line in (root.read("/etc/hosts") or "").splitlines():
        fields = line.split("#", 1)[0].split()
        for name in fields[1:]:
            names.setdefault(name, fields[0])

    def resolve(host: str) -> str:
        return names.get(host) or resolve_host(host)

    return resolve


class Balancer:
    """One marathon-lb: Marathon in, HAProxy configuration and reloads out."""

    def __init__(self, root: Root, args: argparse.Namespace) -> None:
        self.args = args
        self.marathon = Marathon(args.marathon)
        certs = tuple(root.path(c) for c in args.ssl_certs.split(",") if c.strip())
        self.layout = Layout(
            config_file=root.path(args.haproxy_config),
            socket=root.path("/var/run/haproxy/socket"),
            state_dir=root.path("/var/state/haproxy"),
            control_socket=root.path(args.control_socket),
            ssl_certs=tuple(str(c) for c in certs) or ("/etc/ssl/cert.pem",),
            stats_port=args.stats_port,
            http_port=args.http_port,
            https_port=args.https_port,
            appid_port=args.appid_port,
            bind_http_https=not args.dont_bind_http_https,
            haproxy_map=args.haproxy_map,
            maxconn=args.haproxy_maxconn or fitting_maxconn(),
        )
        self.reloader = Reloader(
            root,
            self.layout,
            command=args.command,
            haproxy=args.haproxy_bin,
            skip_validation=args.skip_validation,
            reload_interval=float(args.reload_interval),
            max_reload_retries=args.max_reload_retries,
        )
        self.resolve = hosts_resolver(root)
        self._condition = threading.Condition()
        self._pending_reset = False
        self._pending_reload = False
        self.stopping = threading.Event()
        self.regenerations = 0

    def generate(self) -> str:
        services = services_of(
            self.marathon.apps(),
            health_check=self.args.health_check,
            strict_mode=self.args.strict_mode,
            resolve=self.resolve,
        )
        return generate(services, self.args.group, self.layout).text

    def regenerate(self) -> None:
        started = time.monotonic()
        try:
            services = services_of(
                self.marathon.apps(),
                health_check=self.args.health_check,
                strict_mode=self.args.strict_mode,
                resolve=self.resolve,
            )
        except MarathonError as exc:
            log.error("Connection error: %s. Marathon is %s", exc, self.marathon.current)
            return
        generated = generate(services, self.args.group, self.layout)
        self.reloader.apply(generated)
        self.regenerations += 1
        log.debug("updating tasks finished, took %.3f seconds", time.monotonic() - started)

    # ------------------------------------------------------------------ SSE mode

    def reset_from_tasks(self) -> None:
        with self._condition:
            self._pending_reset = True
            self._condition.notify()

    def reload_existing_config(self) -> None:
        with self._condition:
            self._pending_reload = True
            self._condition.notify()

    def process(self) -> None:
        """The event processor thread: one regeneration (or reload) at a time."""
        while not self.stopping.is_set():
            with self._condition:
                idle = not self._pending_reset and not self._pending_reload
                if idle and not self._condition.wait(300):
                    log.info("condition wait expired")
                    self._pending_reset = True
                reset, reload = self._pending_reset, self._pending_reload
                self._pending_reset = self._pending_reload = False
            if self.stopping.is_set():
                return
            try:
                if reset:
                    self.regenerate()
                elif reload:
                    log.info("attempting to reload existing config...")
                    config = self.layout.config_file
                    if self.reloader.validate(config):
                        self.reloader.reload(config.read_text(encoding="utf-8"))
            except Exception:
                log.exception("Unexpected error!")

    def follow_events(self) -> None:
        wait = 3.0
        while not self.stopping.is_set():
            opened = time.monotonic()
            pause = random.random() * wait
            try:
                for event in self.marathon.events(self.stopping):
                    log.info("received event of type %s", event.get("eventType"))
                    self.reset_from_tasks()
                pause = 0.0
            except (OSError, MarathonError, ValueError) as exc:
                log.error("Caught exception: %s. Reconnecting in %.1fs...", exc, pause)
                self.marathon.hosts = self.marathon.hosts[1:] + self.marathon.hosts[:1]
            if pause > 0:
                wait = min(wait * 1.5, 300.0)
                if time.monotonic() - opened > 600:
                    wait = 3.0
                self.stopping.wait(pause)

    def handle_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            log.info("received signal SIGHUP - reloading config")
            self.reset_from_tasks()
        elif signum == signal.SIGUSR1:
            log.info("received signal SIGUSR1 - reloading existing config")
            self.reload_existing_config()


SIGNALS = {"HUP": signal.SIGHUP, "USR1": signal.SIGUSR1}


def serve_control(path: Path, stopping: threading.Event) -> socket.socket | None:
    """Listen on ``path``; each connection sends ``HUP`` or ``USR1`` and gets ``OK``."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        os.chmod(path, 0o600)
        server.listen(16)
    except OSError as exc:
        log.error("cannot listen on %s: %s (/_mlb_signal will answer 500)", path, exc)
        server.close()
        return None

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)
            with contextlib.suppress(OSError):
                word = conn.makefile("r", encoding="ascii", errors="replace").readline().strip()
                if word in SIGNALS:
                    os.kill(os.getpid(), SIGNALS[word])
                    conn.sendall(b"OK\n")
                else:
                    conn.sendall(b"ERROR unknown signal\n")

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, name="control", daemon=True).start()
    return server


def run(root: Root, argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.group:
        p.error("argument --group is required: please specify at least one group name")
    balancer = Balancer(root, args)
    if args.dry:
        try:
            print(balancer.generate(), end="")
        except MarathonError as exc:
            print(f"marathon-lb: {exc}", file=sys.stderr)
            return 1
        return 0
    if not args.sse:
        balancer.regenerate()
        return 0
    return _run_sse(balancer)


def _run_sse(balancer: Balancer) -> int:
    done = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        balancer.stopping.set()
        with balancer._condition:
            balancer._condition.notify()
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, balancer.handle_signal)
    signal.signal(signal.SIGUSR1, balancer.handle_signal)
    control = serve_control(balancer.layout.control_socket, balancer.stopping)
    balancer.reset_from_tasks()  # the base data, before the first event
    threading.Thread(target=balancer.process, name="processor", daemon=True).start()
    threading.Thread(target=balancer.follow_events, name="events", daemon=True).start()
    while not done.wait(1.0):
        pass
    log.info("stopping marathon-lb")
    if control is not None:
        control.close()
        with contextlib.suppress(OSError):
            balancer.layout.control_socket.unlink()
    return 0


def fitting_maxconn(wanted: int = 50000) -> int:
    """marathon-lb's ``maxconn 50000`` needs about 100 000 open files; an LXC node inherits a
    lower hard limit (20 000 on the rehearsal host), and HAProxy then refuses to load the
    configuration ("Cannot raise FD limit"). The twin lowers it to what fits, and says so."""
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return wanted
    if hard == resource.RLIM_INFINITY or hard >= 2 * wanted + 100:
        return wanted
    fits = max(256, (hard - 100) // 2)
    log.warning("maxconn %d needs %d open files, the limit is %d: using maxconn %d",
                wanted, 2 * wanted + 100, hard, fits)  # fmt: skip
    return fits
