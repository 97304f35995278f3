"""``mesos-dns -config=config.json [-v=1] [-version]`` (main.go of mesosphere/mesos-dns).

The order of main.go: read and check the configuration (any problem: an ``ERROR:`` line
and exit 1), find the masters (ZooKeeper or the ``masters`` list), reload the records on
every master change and every ``refreshSeconds``. The DNS and HTTP listeners start only
after the first successful reload (with ``-v=1`` the log says ``waiting for a reload before
serving DNS`` then ``reload occurred, serving DNS``); a failed reload keeps the records of
the last good one. With ``zk``, no leader for ``zkDetectionTimeout`` seconds (from the start,
or from the moment the leader went away) stops the process: ``master detection timed out
after 30s``.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from typing import Any, ClassVar

from mesoslab_twin.common.config import Root
from mesoslab_twin.mesosdns import MESOS_DNS_VERSION
from mesoslab_twin.mesosdns.config import Config, ConfigError, load
from mesoslab_twin.mesosdns.records import Panic, Records, StateError, generate
from mesoslab_twin.mesosdns.state import FetchError, MasterDetector, StateLoader

log = logging.getLogger("mesoslab_twin.mesosdns")

USAGE = """Usage of mesos-dns:
  -config string
    \tpath to config file (json) (default "config.json")
  -v value
    \tlog level for V logs
  -version
    \toutput the version"""
# glog's flags, accepted (and ignored but -v) as the real binary accepts them
GLOG_FLAGS = {
    "logtostderr",
    "alsologtostderr",
    "stderrthreshold",
    "log_dir",
    "vmodule",
    "log_backtrace_at",
}
GLOG_BOOLS = {"logtostderr", "alsologtostderr"}


class UsageError(Exception):
    pass


def parse_flags(args: list[str]) -> dict[str, str]:
    """Go's flag package: ``-name=value``, ``-name value``, ``--name`` alike; booleans
    take no separate value."""
    found: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.lstrip("-").partition("=")
        if name in ("h", "help"):
            raise UsageError("")
        if name not in {"config", "version", "v"} | GLOG_FLAGS:
            raise UsageError(f"flag provided but not defined: -{name}")
        if not eq and name not in {"version"} | GLOG_BOOLS:
            if i + 1 >= len(args):
                raise UsageError(f"flag needs an argument: -{name}")
            i += 1
            value = args[i]
        elif not eq:
            value = "true"
        found[name] = value
        i += 1
    return found


class GoLogFormatter(logging.Formatter):
    """``ERROR: 2006/01/02 15:04:05 message`` (Go's log package, as logging.go sets up)."""

    NAMES: ClassVar[dict[int, str]] = {
        logging.ERROR: "ERROR",
        logging.INFO: "VERBOSE",
        logging.DEBUG: "VERY VERBOSE",
    }

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(record.created))
        prefix = self.NAMES.get(record.levelno, record.levelname)
        return f"{prefix}: {stamp} {record.getMessage()}"


def setup_logs(verbosity: int) -> None:
    """Errors to stderr; verbose lines (``-v=1``) and very verbose ones (``-v=2``) to stdout."""
    log.handlers.clear()
    log.propagate = False
    errors = logging.StreamHandler(sys.stderr)
    errors.setLevel(logging.ERROR)
    errors.setFormatter(GoLogFormatter())
    log.addHandler(errors)
    if verbosity >= 1:
        verbose = logging.StreamHandler(sys.stdout)
        verbose.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
        verbose.addFilter(lambda r: r.levelno < logging.ERROR)
        verbose.setFormatter(GoLogFormatter())
        log.addHandler(verbose)
    log.setLevel(logging.DEBUG)
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)


def go_duration(seconds: int) -> str:
    """time.Duration's String for whole seconds: 30s, 1m30s, 2h0m0s."""
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s"


class MesosDns:
    def __init__(self, config: Config, version: str = MESOS_DNS_VERSION) -> None:
        self.config = config
        self.version = version
        self.loader = StateLoader(config)
        self.masters: list[str] = ["", *config.masters]
        self._records = Records()
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.reloads = 0

    def records(self) -> Records:
        with self._lock:
            return self._records

    def reload(self) -> bool:
        try:
            state = self.loader.load(self.masters)
            records = generate(state, self.config, self.masters)
        except (FetchError, StateError) as exc:
            log.error("Warning: Error generating records: %s; keeping old DNS state", exc)
            return False
        with self._lock:
            self.config.SOASerial = int(time.time()) & 0xFFFFFFFF
            self._records = records
            self.reloads += 1
        self.ready.set()
        if log.isEnabledFor(logging.DEBUG):
            for table, kind in ((records.As, "A"), (records.AAAAs, "AAAA"), (records.SRVs, "SRV")):
                for name, values in table.items():
                    for value in values:
                        log.debug("[%s]\t%s: %s", kind, name, value)
        return True


def _log_config(config: Config) -> None:
    log.info('config loaded from "%s"', config.File)
    log.info("Mesos-DNS configuration:")
    for label, value in (
        ("Masters", ", ".join(config.masters)),
        ("Zookeeper", config.Zk),
        ("ZookeeperDetectionTimeout", config.ZkDetectionTimeout),
        ("RefreshSeconds", config.RefreshSeconds),
        ("Domain", config.Domain),
        ("Listener", config.Listener),
        ("HTTPListener", config.HTTPListener),
        ("Port", config.Port),
        ("DnsOn", config.DNSOn),
        ("TTL", config.TTL),
        ("Resolvers", ", ".join(config.Resolvers or [])),
        ("ExternalOn", config.ExternalOn),
        ("SOAMname", config.SOAMname),
        ("SOARname", config.SOARname),
        ("RecurseOn", config.RecurseOn),
        ("HttpPort", config.HTTPPort),
        ("HttpOn", config.HTTPOn),
        ("ConfigFile", config.File),
        ("IPSources", config.IPSources),
        ("EnumerationOn", config.EnumerationOn),
    ):
        log.info("   - %s: %s", label, str(value).lower() if isinstance(value, bool) else value)


def _fatal(message: str) -> int:
    log.error("%s", message)
    return 1


def run(root: Root, args: list[str]) -> int:
    try:
        flags = parse_flags(args)
    except UsageError as exc:
        if str(exc):
            print(exc, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 0 if not str(exc) else 2
    if flags.get("version", "false") not in ("false", "0"):
        print(MESOS_DNS_VERSION)
        return 0
    try:
        verbosity = int(flags.get("v", "0"))
    except ValueError:
        print(
            f'invalid value "{flags["v"]}" for flag -v: strconv.ParseInt: parsing '
            f'"{flags["v"]}": invalid syntax',
            file=sys.stderr,
        )
        print(USAGE, file=sys.stderr)
        return 2
    setup_logs(verbosity)
    path = flags.get("config", "config.json")
    if path.startswith("/"):
        path = str(root.path(path))
    try:
        config = load(path)
    except ConfigError as exc:
        return _fatal(str(exc))
    _log_config(config)
    if config.RefreshSeconds <= 0:
        return _fatal("panic: non-positive interval for NewTicker")
    return serve(config)


def serve(config: Config) -> int:
    daemon = MesosDns(config)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        events.put(("stop", None))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def launch() -> None:
        """main.go's two goroutines: wait for the first reload, then serve."""
        if config.DNSOn:
            log.info("waiting for a reload before serving DNS")
        if config.HTTPOn:
            log.info("waiting for a reload before serving HTTP")
        while not daemon.ready.wait(0.2):
            if stop.is_set():
                return
        try:
            if config.DNSOn:
                log.info("reload occurred, serving DNS")
                from mesoslab_twin.mesosdns.server import DnsServer, Resolver

                resolver = Resolver(config, daemon.records)
                try:
                    DnsServer(resolver, config.Listener, config.Port).start()
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    events.put(
                        (
                            "error",
                            f'failed to setup "udp" server: listen udp '
                            f"{config.Listener}:{config.Port}: bind: {reason.lower()}",
                        )
                    )
                    return
            if config.HTTPOn:
                log.info("reload occurred, serving HTTP")
                from mesoslab_twin.common.httpd import serve as serve_http
                from mesoslab_twin.mesosdns.http import MesosDnsHttp

                routes = MesosDnsHttp(daemon.version, config, daemon.records).routes()
                try:
                    serve_http(config.HTTPListener, config.HTTPPort, routes, "mesos-dns-http")
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                    events.put(
                        (
                            "error",
                            f"failed to setup http server: listen tcp "
                            f"{config.HTTPListener}:{config.HTTPPort}: bind: {reason.lower()}",
                        )
                    )
        except Exception as exc:  # a listener that cannot start ends the process
            events.put(("error", str(exc)))

    threading.Thread(target=launch, name="mesos-dns-launch", daemon=True).start()

    detector = None
    if config.Zk:
        log.info("Starting master detector for ZK  %s", config.Zk)
        try:
            detector = MasterDetector(config.Zk, lambda m: events.put(("masters", m)))
            detector.start()
        except ValueError as exc:
            return _fatal(f"failed to create master detector: {exc}")
    else:
        events.put(("masters", list(config.masters)))
    try:
        return _loop(daemon, config, events)
    except Panic as exc:  # util.HandleCrash: log the panic, exit 1
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        print(f'{stamp} Recovered from panic: "{exc}" ({exc})', file=sys.stderr, flush=True)
        return 1
    finally:
        stop.set()
        if detector is not None:
            detector.stop()


def _loop(daemon: MesosDns, config: Config, events: queue.Queue[tuple[str, Any]]) -> int:
    """main.go's select loop: ticks, master changes, listener errors, signals. A reload's
    Panic goes up to the caller."""
    zk_timeout = config.ZkDetectionTimeout
    deadline: float | None = time.monotonic() + zk_timeout
    next_tick = time.monotonic() + config.RefreshSeconds
    while True:
        now = time.monotonic()
        if deadline is not None and now >= deadline and zk_timeout > 0:
            return _fatal(f"master detection timed out after {go_duration(zk_timeout)}")
        if now >= next_tick:
            while next_tick <= now:  # a ticker drops the ticks it could not deliver
                next_tick += config.RefreshSeconds
            daemon.reload()
            continue
        wait = next_tick - now
        if deadline is not None and zk_timeout > 0:
            wait = min(wait, max(0.0, deadline - now))
        try:
            kind, value = events.get(timeout=max(0.01, wait))
        except queue.Empty:
            continue
        if kind == "stop":
            return 0
        if kind == "error":
            return _fatal(str(value))
        if kind == "masters":
            masters = list(value)
            leaderless = not masters or not masters[0]
            deadline = time.monotonic() + zk_timeout if leaderless else None
            log.info("new masters detected: %s", "[" + " ".join(masters) + "]")
            daemon.masters = masters
            daemon.reload()
