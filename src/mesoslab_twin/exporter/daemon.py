"""``mesos_exporter``: flags as Go's ``flag`` package reads them, one scrape = one poll.

Like mesos_exporter 1.1.2 (main.go): exactly one of ``-master URL`` / ``-slave URL``,
``-addr`` (default ``:9105``), ``-timeout`` (10s, per request to Mesos),
``-enableMasterState`` (true), ``-exportedTaskLabels``, ``-logLevel`` (error),
``-username``/``-password`` (or ``MESOS_EXPORTER_USERNAME``/``_PASSWORD``), ``-version``.
The TLS and strict-mode flags are accepted and have no effect here. Logs look like
logrus' text format (``level=error msg="Error fetching URL" ...``).
"""

from __future__ import annotations

import base64
import json
import platform
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from mesoslab_twin.common.httpd import Reply, Request, Router, serve, text_reply
from mesoslab_twin.common.process import wait_for_signal
from mesoslab_twin.exporter import EXPORTER_VERSION, families
from mesoslab_twin.exporter.exposition import CONTENT_TYPE, Family, render

STRING_FLAGS = {
    "addr": ":9105",
    "master": "",
    "slave": "",
    "timeout": "10s",
    "exportedTaskLabels": "",
    "exportedSlaveAttributes": "",
    "trustedCerts": "",
    "clientCert": "",
    "clientKey": "",
    "username": "",
    "password": "",
    "loginURL": "https://leader.mesos/acs/api/v1/auth/login",
    "logLevel": "error",
    "privateKey": "",
}
BOOL_FLAGS = {
    "strictMode": False,
    "skipSSLVerify": False,
    "version": False,
    "enableMasterState": True,
}
LEVELS = ("panic", "fatal", "error", "warn", "warning", "info", "debug")

USAGE = f"""Usage of mesos-exporter:
  -addr string
    \tAddress to listen on (default ":9105")
  -enableMasterState
    \tEnable collection from the master's /state endpoint (default true)
  -exportedTaskLabels string
    \tComma-separated list of task labels to include in the corresponding metric
  -logLevel string
    \tLog level (default "error")
  -master string
    \tExpose metrics from master running on this URL
  -password string
    \tPassword for authentication
  -slave string
    \tExpose metrics from slave running on this URL
  -timeout duration
    \tMaster polling timeout (default 10s)
  -username string
    \tUsername for authentication
  -version
    \tShow version
(mesoslab twin: an emulation of mesos_exporter {EXPORTER_VERSION}; the TLS and strict-mode flags
are accepted and ignored)
"""


class FlagError(Exception):
    """Go's flag package refused the command line (exit status 2, usage printed)."""


@dataclass
class Options:
    strings: dict[str, str] = field(default_factory=lambda: dict(STRING_FLAGS))
    bools: dict[str, bool] = field(default_factory=lambda: dict(BOOL_FLAGS))
    help: bool = False


def parse_flags(args: list[str]) -> Options:
    """Go ``flag.FlagSet.Parse``: ``-name value``, ``-name=value``, ``--name`` alike; a
    bool flag takes no separate value; parsing stops at ``--`` or the first non-flag."""
    options = Options()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        name = arg[2:] if arg.startswith("--") else arg[1:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        name, has_value, value = name.partition("=")
        if name in ("h", "help"):
            options.help = True
            return options
        if name in BOOL_FLAGS:
            if has_value:
                parsed = _go_bool(value)
                if parsed is None:
                    raise FlagError(f'invalid boolean value "{value}" for -{name}: parse error')
                options.bools[name] = parsed
            else:
                options.bools[name] = True
            continue
        if name not in STRING_FLAGS:
            raise FlagError(f"flag provided but not defined: -{name}")
        if not has_value:
            if i >= len(args):
                raise FlagError(f"flag needs an argument: -{name}")
            value = args[i]
            i += 1
        if name == "timeout" and parse_duration(value) is None:
            raise FlagError(f'invalid value "{value}" for flag -{name}: parse error')
        options.strings[name] = value
    return options


def _go_bool(text: str) -> bool | None:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float | None:
    """Go ``time.ParseDuration`` in seconds (``10s``, ``1m30s``, ``500ms``); None if bad."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body:
        return None
    pos, total = 0, 0.0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return -total if text.startswith("-") else total


def log_line(level: str, msg: str, **fields: str) -> None:
    """logrus' text formatter: ``time=... level=... msg="..." key="value"`` (fields sorted)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    extra = "".join(f" {k}={json.dumps(v)}" for k, v in sorted(fields.items()))
    print(f'time="{stamp}" level={level} msg={json.dumps(msg)}{extra}', file=sys.stderr, flush=True)


class Exporter:
    """The registry of one exporter: polls its Mesos daemon on every scrape."""

    def __init__(self, options: Options) -> None:
        strings = options.strings
        self.mode = "master" if strings["master"] else "slave"
        self.url = (strings["master"] or strings["slave"]).rstrip("/")
        self.timeout = parse_duration(strings["timeout"]) or 10.0
        self.master_state_enabled = options.bools["enableMasterState"]
        self.task_labels = _csv(strings["exportedTaskLabels"])
        self.verbose = LEVELS.index(strings["logLevel"]) >= LEVELS.index("warn")
        username = strings["username"] or _env("MESOS_EXPORTER_USERNAME")
        password = strings["password"] or _env("MESOS_EXPORTER_PASSWORD")
        self.auth = (
            "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
            if username and password
            else ""
        )
        self.errors = 0
        self.master_state = families.MasterState()
        self.lock = threading.Lock()

    def fetch(self, endpoint: str) -> Any:
        """``httpClient.fetchAndDecode`` (common.go L249-288): None, an error logged and
        counted, when the request or the JSON decoding fails. Redirects are followed."""
        url = self.url + endpoint
        request = urllib.request.Request(
            url, headers={"User-Agent": f"mesos_exporter/{EXPORTER_VERSION}"}
        )
        if self.auth:
            request.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()  # Go does not look at the status: the body must decode
        except (OSError, ValueError) as exc:
            log_line("error", "Error fetching URL", error=f"Get {url}: {_reason(exc)}", url=url)
            self.errors += 1
            return None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            log_line("error", "Error decoding response body", error=str(exc), url=url)
            self.errors += 1
            return None

    def collect(self) -> list[Family]:
        with self.lock:
            snapshot = _numbers(self.fetch("/metrics/snapshot"))
            if self.mode == "master":
                out = families.master_snapshot(snapshot)
                if self.master_state_enabled:
                    state = self.fetch("/state")
                    out += self.master_state.families(state if isinstance(state, dict) else None)
            else:
                out = families.slave_snapshot(snapshot)
                state = self.fetch("/slave(1)/state")
                out += families.slave_state(
                    state if isinstance(state, dict) else None, self.task_labels
                )
            out += families.always(float(self.errors), platform.python_version())
            return out

    def routes(self) -> Router:
        router = Router()
        router.add("GET", r"/metrics", self._metrics)
        router.add("GET", r"/.*", self._index)  # Go's "/" pattern matches every path
        return router

    def _metrics(self, request: Request, _m: Any) -> Reply:
        return text_reply(render(self.collect()), content_type=CONTENT_TYPE)

    def _index(self, request: Request, _m: Any) -> Reply:
        page = (
            "<html>\n<head><title>Mesos Exporter</title></head>\n<body>\n"
            '<h1>Mesos Exporter</h1>\n<p><a href="/metrics">Metrics</a></p>\n'
            "<p>mesoslab twin: an emulation of mesos_exporter for the rehearsal lab.</p>\n"
            "</body>\n</html>"
        )
        return text_reply(page, content_type="text/html; charset=utf-8")


def _csv(text: str) -> list[str]:
    return [part for part in text.replace(" ", "").split(",") if part] if text else []


def _env(name: str) -> str:
    import os

    return os.environ.get(name, "")


def _numbers(data: Any) -> dict[str, float]:
    if not isinstance(data, dict):
        return {}
    return {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc)


def split_addr(addr: str) -> tuple[str, int]:
    """``:9105`` -> ("0.0.0.0", 9105); ``127.0.0.5:9105``; ``[::1]:9105``."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen tcp: address {addr}: missing port in address")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def run(args: list[str]) -> int:
    try:
        options = parse_flags(args)
    except FlagError as exc:
        print(exc, file=sys.stderr)
        print(USAGE, file=sys.stderr, end="")
        return 2
    if options.help:
        print(USAGE, file=sys.stderr, end="")
        return 0
    strings = options.strings
    if options.bools["version"]:
        print(f"mesos_exporter, version {EXPORTER_VERSION} (mesoslab twin: an emulation)")
        return 0
    if strings["master"] and strings["slave"]:
        log_line("fatal", "Only -master or -slave can be given at a time")
        return 1
    if strings["logLevel"] not in LEVELS:
        log_line("fatal", "invalid logging level", logLevel=strings["logLevel"])
        return 1
    if not strings["master"] and not strings["slave"]:
        log_line("fatal", "Either -master or -slave is required")
        return 1
    exporter = Exporter(options)
    if exporter.verbose:
        what = "master" if exporter.mode == "master" else "slave"
        log_line("info", f"Exposing {what} metrics", address=strings["addr"])
    try:
        host, port = split_addr(strings["addr"])
        server = serve(host, port, exporter.routes(), "mesos-exporter-http")
    except (OSError, ValueError) as exc:
        log_line("fatal", "listen and serve error", error=str(exc))
        return 1
    wait_for_signal()
    server.shutdown()
    return 0
