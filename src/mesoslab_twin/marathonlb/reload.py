"""Putting a new configuration in place and reloading HAProxy, as marathon_lb.py does
(``compareWriteAndReloadConfig``, ``writeConfigAndValidate``, ``validateConfig``,
``reloadConfig``, L824-1530):

* unchanged text (and maps) -> nothing happens;
* otherwise the text goes to a temporary file beside the configuration, ``haproxy -f TMP -c``
  must accept it (unless ``--skip-validation``), then it replaces the configuration (same
  permissions); a refused one is kept as ``haproxy_tmp_conf_fail`` beside it for reading;
* before the reload the servers' state is saved through the stats socket
  (``show servers state`` -> ``<server-state-base>/global``, what the image's
  ``reload_haproxy.sh`` does with socat), so health states survive the reload;
* the reload command is ``--command`` or, found like the real one, ``reload haproxy``
  (Upstart), ``systemctl reload haproxy`` (systemd) or ``/etc/init.d/haproxy reload``;
* the real one then waits for a new HAProxy pid; the twin waits until the ``:9090``
  listener serves the new text at ``/_haproxy_getconfig`` (a new worker has loaded it), and
  runs the command again every ``--reload-interval`` seconds, at most
  ``--max-reload-retries`` times (0: never again, -1: forever).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mesoslab_twin.common.config import Root
from mesoslab_twin.marathonlb.haproxy_config import Generated, Layout, map_text

log = logging.getLogger("mesoslab_twin.marathonlb")


@dataclass
class Reloader:
    root: Root
    layout: Layout
    command: str | None = None
    haproxy: str = "haproxy"
    skip_validation: bool = False
    reload_interval: float = 10.0
    max_reload_retries: int = 10

    # ------------------------------------------------------------------ files

    def apply(self, generated: Generated) -> tuple[bool, bool]:
        """(changed, valid): write, validate and reload when the text or a map changed."""
        config = self.layout.config_file
        with_maps = self.layout.haproxy_map
        maps = {
            self.layout.domain_map: map_text(generated.domain_map) if with_maps else "",
            self.layout.app_map: map_text(generated.app_map) if with_maps else "",
        }
        running = _read(config)
        stale_maps = {p: t for p, t in maps.items() if (_read(p) or "") != t and (t or p.exists())}
        if running == generated.text and not stale_maps:
            log.debug("skipping reload: config unchanged")
            return False, True
        log.info("running config is different from generated config - reloading")
        self._prepare_dirs()
        for path, text in stale_maps.items():
            _replace(path, text)
        if not self.write_validated(generated.text):
            log.warning("skipping reload: config not valid")
            return True, False
        self.reload(generated.text)
        return True, True

    def _prepare_dirs(self) -> None:
        layout = self.layout
        for folder in (layout.socket.parent, layout.state_dir, layout.config_file.parent):
            with contextlib.suppress(OSError):
                folder.mkdir(parents=True, exist_ok=True)

    def write_validated(self, text: str) -> bool:
        config = self.layout.config_file
        fd, temp = tempfile.mkstemp(prefix=".haproxy.cfg.", dir=config.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        mode = stat.S_IMODE(config.stat().st_mode) if config.exists() else 0o644
        os.chmod(temp, mode)
        if not self.validate(Path(temp)):
            os.replace(temp, config.parent / "haproxy_tmp_conf_fail")
            return False
        os.replace(temp, config)
        return True

    def validate(self, path: Path) -> bool:
        if self.skip_validation:
            log.debug("skipping validation.")
            return True
        argv = [self.haproxy, "-f", str(path), "-c"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("cannot run %s: %s", " ".join(argv), exc)
            return False
        if done.returncode != 0:
            output = done.stdout + done.stderr
            log.error("haproxy returned non-zero when checking config:\n%s", output)
            return False
        return True

    # ------------------------------------------------------------------ reload

    def reload_command(self) -> list[str] | None:
        if self.command:
            return shlex.split(self.command)
        if self.root.path("/etc/init/haproxy.conf").is_file():
            return ["reload", "haproxy"]
        for unit in (
            "/usr/lib/systemd/system/haproxy.service",
            "/lib/systemd/system/haproxy.service",
            "/etc/systemd/system/haproxy.service",
        ):
            if self.root.path(unit).is_file():
                return ["systemctl", "reload", "haproxy"]
        if self.root.path("/etc/init.d/haproxy").is_file():
            return ["/etc/init.d/haproxy", "reload"]
        log.info("no haproxy detected. won't reload.")
        return None

    def save_server_state(self) -> None:
        """``show servers state`` through the stats socket into ``<state dir>/global``."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5.0)
                conn.connect(str(self.layout.socket))
                conn.sendall(b"show servers state\n")
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            log.debug("no server state saved (%s: %s)", self.layout.socket, exc)
            return
        with contextlib.suppress(OSError):
            _replace(self.layout.state_dir / "global", b"".join(chunks).decode(errors="replace"))

    def reload(self, text: str) -> bool:
        """Run the reload command until the listener serves ``text``; False if it never did."""
        argv = self.reload_command()
        if argv is None:
            return False
        self.save_server_state()
        log.info("reloading using %s", " ".join(argv))
        started = time.monotonic()
        retries = self.max_reload_retries
        while True:
            try:
                subprocess.run(argv, check=True, close_fds=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                log.error("unable to reload config using command %s: %s", " ".join(argv), exc)
                return False
            if self.wait_serving(text, self.reload_interval):
                log.info("reload finished, took %.3f seconds", time.monotonic() - started)
                return True
            if retries == 0:
                log.error("reload failed after %.1f seconds", time.monotonic() - started)
                return False
            retries -= 1 if retries > 0 else 0
            log.info("Still waiting for HAProxy to serve the new config; reloading again")

    def serving(self) -> str | None:
        url = f"http://127.0.0.1:{self.layout.stats_port}/_haproxy_getconfig"
        try:
            with urllib.request.urlopen(url, timeout=2.0) as answer:
                return str(answer.read().decode("utf-8", errors="replace"))
        except (OSError, ValueError):
            return None

    def wait_serving(self, text: str, within: float) -> bool:
        deadline = time.monotonic() + within
        while True:
            if self.serving() == text:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
