"""The process side of a twin daemon: logging like glog, Mesos' ``EXIT``, waiting for SIGTERM.

Shared by every daemon and kept apart from :mod:`mesoslab_twin.cli`, which imports the
daemons: a daemon importing these from the command line's module made an import circle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import sys
import threading

from mesoslab_twin.common.config import Root


def setup_logging(name: str) -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(levelname).1s%(asctime)s %(process)d {name}] %(message)s",
        datefmt="%m%d %H:%M:%S",
    )
    logging.getLogger("kazoo").setLevel(logging.WARNING)
    logging.addLevelName(logging.CRITICAL, "FATAL")  # glog's F lines


def log_to_files(root: Root, log_dir: str | None, program: str) -> None:
    """Like glog with ``--log_dir``: ``<log_dir>/<program>.INFO`` gets every line,
    ``.WARNING`` and ``.ERROR`` the serious ones (e.g. ``cat /var/log/mesos/mesos-slave.ERROR``
    after a failed start). The journal gets them too, through stderr."""
    if not log_dir:
        return
    folder = root.path(log_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for level in ("INFO", "WARNING", "ERROR"):
            handler = logging.FileHandler(folder / f"{program}.{level}", encoding="utf-8")
            handler.setLevel(getattr(logging, level))
            handler.setFormatter(logging.root.handlers[0].formatter)
            logging.root.addHandler(handler)
    except OSError as exc:
        logging.getLogger("mesoslab_twin").warning("Cannot write logs to %s: %s", folder, exc)


class Exit(Exception):
    """A daemon stops with this message and exit status 1 (Mesos' ``EXIT with status 1:
    ...``): raised where the failure is found, turned into :func:`exit_failure` at the top."""


def exit_failure(message: str) -> int:
    """Mesos' ``EXIT(EXIT_FAILURE) << message``: logged as an error; returns status 1."""
    logging.getLogger("mesoslab_twin").error("EXIT with status 1: %s", message)
    for handler in logging.root.handlers:
        handler.flush()
    return 1


class Fatal(Exception):
    """A daemon aborts with this message (Mesos' ``LOG(FATAL)``): see :func:`fatal`."""


def fatal(message: str) -> None:
    """Mesos' ``LOG(FATAL) << message``: an ``F`` line in the log, then abort (SIGABRT; systemd
    restarts the unit). No core file is left behind."""
    logging.getLogger("mesoslab_twin").critical("%s", message)
    logging.getLogger("mesoslab_twin").critical("*** Check failure stack trace: ***")
    for handler in logging.root.handlers:
        handler.flush()
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.abort()


def wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT."""
    done = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not done.wait(1.0):
        pass
