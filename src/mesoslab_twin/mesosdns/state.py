"""Where Mesos-DNS reads the cluster from: the leading master, found in ZooKeeper (``zk``)
or among the ``masters``, and its ``GET /master/state`` (records/state/client/cli.go,
detect/masters.go, main.go).

The masters list is ``[leader, others...]``; an empty first entry means "no leader known",
and then each listed master is asked in turn. A master that answers with another leader's
pid is left for that leader (same port), as ``LoadMasterStateFailover`` does.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from mesoslab_twin.mesosdns.config import Config

log = logging.getLogger("mesoslab_twin.mesosdns")


class FetchError(Exception):
    pass


def _split(address: str) -> tuple[str, str]:
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest.lstrip(":")
    host, colon, port = address.partition(":")
    if not colon:
        raise FetchError(f'unable to parse proto from "{address}"')
    return host, port


def _join(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class StateLoader:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.scheme = "https" if config.MesosHTTPSOn else "http"

    def fetch(self, ip: str, port: str) -> dict[str, Any]:
        """LoadMasterState: ``GET http://ip:port/master/state`` as JSON."""
        url = f"{self.scheme}://{_join(ip, port)}/master/state"
        request = urllib.request.Request(
            url, headers={"Content-Type": "application/json", "User-Agent": "Mesos-DNS"}
        )
        if self.config.MesosAuthentication == "basic":
            pair = f"{self.config.MesosCredentials.Principal}:{self.config.MesosCredentials.Secret}"
            request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=self.config.StateTimeoutSeconds) as answer:
                body = answer.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()  # Mesos-DNS does not look at the status, only at the body
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise FetchError(f"Get {url}: {reason}") from None
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FetchError(f"invalid JSON from {url}: {exc}") from None
        if not isinstance(data, dict):
            raise FetchError(f"{url} answered JSON that is not an object")
        return data

    def fetch_following(self, ip: str, port: str) -> dict[str, Any]:
        """LoadMasterStateFailover: ask ``ip``; if it names another leader, ask that one."""
        state = self.fetch(ip, port)
        leader = state.get("leader")
        if not isinstance(leader, str) or not leader:
            raise FetchError("fetched state does not contain leader information")
        parts = leader.split("@")
        if len(parts) != 2:
            raise FetchError("Invalid leader address: " + leader)
        leader_ip = _split(parts[1])[0]
        if leader_ip != ip:
            log.debug("Warning: master changed to %s", leader_ip)
            return self.fetch(leader_ip, port)
        return state

    def load(self, masters: list[str]) -> dict[str, Any]:
        """LoadMasterStateTryAll: the leader first (when known), then each other master."""
        if not masters:
            raise FetchError("no masters given to fetch state.json")
        leader, rest = masters[0], masters[1:]
        error: Exception = FetchError("No more masters eligible for state query")
        if leader:
            try:
                return self.fetch_following(*_split(leader))
            except FetchError as exc:
                say_error(f"Failed to fetch state from leader. Error:  {exc}")
                if not rest:
                    raise
                error = exc
        for master in rest:
            try:
                return self.fetch_following(*_split(master))
            except FetchError as exc:
                say_error(f"Failed to fetch state - trying next one. Error:  {exc}")
                error = exc
        raise error


def say_error(message: str) -> None:
    log.error("%s", message)


class MasterDetector:
    """Follows the masters in ZooKeeper (``json.info_`` znodes under the ``zk`` path) and
    calls ``changed([leader, others...])`` on every change."""

    def __init__(self, url: str, changed: Callable[[list[str]], None]) -> None:
        from mesoslab_twin.common.zk import Zk

        self.zk = Zk(url, 10.0)
        self.changed = changed
        self.stop_event = threading.Event()
        self.last: list[str] | None = None

    def start(self) -> None:
        self.zk.start()
        threading.Thread(target=self._run, name="mesos-dns-zk", daemon=True).start()

    def stop(self) -> None:
        self.stop_event.set()
        self.zk.stop()

    def _members(self) -> list[str]:
        from mesoslab_twin.common.zk import leader_address

        found = []
        for name in self.zk.members():
            info = self.zk.member_info(name)
            if info is not None:
                found.append(leader_address(info))
        return found

    def _run(self) -> None:
        from kazoo.exceptions import KazooException

        while not self.stop_event.is_set():
            self.zk.changed.clear()
            if self.zk.connected.is_set():
                try:
                    members = self._members()
                except KazooException as exc:
                    log.debug("master detection: %s", exc)
                    members = None
                if members is not None:
                    ordered = members[:1] or [""]
                    ordered += [m for m in members[1:] if m != ordered[0]]
                    if ordered != self.last:
                        self.last = ordered
                        self.changed(ordered)
            self.zk.changed.wait(1.0)
