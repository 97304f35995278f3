"""Leader election and detection through the real ZooKeeper, the way Mesos does it.

Each contending master creates an ephemeral sequential znode ``<path>/json.info_<seq>``
holding its MasterInfo as JSON; the leader is the child with the lowest sequence number
(api-facts §2). Masters also join ``<path>/log_replicas`` (plain sequence numbers holding
``log-replica(1)@ip:port``), where the replicas of the replicated log find each other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import unquote

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, NoNodeError
from kazoo.retry import KazooRetry

LABEL = "json.info_"
LOG_REPLICAS = "log_replicas"

log = logging.getLogger("mesoslab_twin.zk")


def parse_zk_url(url: str) -> tuple[str, str, tuple[str, str] | None]:
    """``zk://[user:pass@]h1:2181,h2:2181/mesos`` -> (hosts, path, credentials)."""
    text = url.strip()
    if not text.startswith("zk://"):
        raise ValueError(f"Expecting 'zk://' at the beginning of the URL '{url}'")
    rest = text[len("zk://") :]
    auth = None
    if "@" in rest.split("/", 1)[0]:
        userinfo, rest = rest.split("@", 1)
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
    hosts, slash, path = rest.partition("/")
    if not hosts or not slash or not path.strip("/"):
        raise ValueError(f"Expecting a path (e.g. '/mesos') in the ZooKeeper URL '{url}'")
    return hosts, "/" + path.strip("/"), auth


class Zk:
    """A ZooKeeper session that keeps reconnecting; ``expired`` is set when a session is
    lost (its ephemeral znodes are gone)."""

    def __init__(self, url: str, session_timeout: float = 10.0) -> None:
        self.url = url
        self.hosts, self.path, auth = parse_zk_url(url)
        self.client = KazooClient(
            hosts=self.hosts,
            timeout=max(1.0, session_timeout),
            connection_retry=KazooRetry(max_tries=-1, delay=0.2, max_delay=2.0),
            command_retry=KazooRetry(max_tries=3, delay=0.1, max_delay=1.0),
            auth_data=[("digest", f"{auth[0]}:{auth[1]}")] if auth else None,
        )
        self.connected = threading.Event()
        self.expired = threading.Event()
        self.changed = threading.Event()
        self.client.add_listener(self._listen)

    def _listen(self, state: str) -> None:
        if state == KazooState.CONNECTED:
            self.connected.set()
        else:
            self.connected.clear()
            if state == KazooState.LOST:
                self.expired.set()
        self.changed.set()

    def start(self) -> None:
        self.client.start_async()

    def stop(self) -> None:
        try:
            self.client.stop()
            self.client.close()
        except Exception:  # closing a broken session must not stop an exit
            pass

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    # ------------------------------------------------------------------ reading

    def children(self, path: str, *, watch: bool = True) -> list[str]:
        try:
            if watch:
                return list(self.client.get_children(path, watch=self._fire))
            return list(self.client.get_children(path))
        except NoNodeError:
            if watch:
                with contextlib.suppress(KazooException):
                    self.client.exists(path, watch=self._fire)
            return []

    def _fire(self, _event: Any) -> None:
        self.changed.set()

    def members(self) -> list[str]:
        """The ``json.info_`` children of the path, lowest sequence first."""
        return sorted(c for c in self.children(self.path) if c.startswith(LABEL))

    def member_info(self, name: str) -> dict[str, Any] | None:
        try:
            data, _stat = self.client.get(f"{self.path}/{name}")
        except NoNodeError:
            return None
        try:
            info = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        return info if isinstance(info, dict) else None

    def leader(self) -> tuple[str, dict[str, Any]] | None:
        """(znode name, MasterInfo) of the leader: the lowest ``json.info_`` member."""
        for name in self.members():
            info = self.member_info(name)
            if info is not None:
                return name, info
        return None

    def replica_members(self) -> list[tuple[str, str]]:
        """(znode name, data) of each ``log_replicas`` child: the replicas' pids."""
        folder = f"{self.path}/{LOG_REPLICAS}"
        found = []
        for name in sorted(self.children(folder, watch=False)):
            try:
                data, _stat = self.client.get(f"{folder}/{name}")
            except NoNodeError:
                continue
            found.append((name, data.decode("utf-8", "replace")))
        return found

    # ------------------------------------------------------------------ writing

    def join(self, data: bytes) -> str:
        """Contend: create our ephemeral sequential ``json.info_`` znode; return its name."""
        created: str = self.client.create(
            f"{self.path}/{LABEL}", data, ephemeral=True, sequence=True, makepath=True
        )
        return created.rsplit("/", 1)[1]

    def get_json(self, path: str) -> Any:
        """The JSON document stored at ``path`` (None when there is none)."""
        try:
            data, _stat = self.client.get(path)
            return json.loads(data.decode("utf-8"))
        except (NoNodeError, ValueError, UnicodeDecodeError):
            return None

    def put_json(self, path: str, document: Any) -> None:
        data = json.dumps(document).encode("utf-8")
        if self.client.exists(path):
            self.client.set(path, data)
        else:
            self.client.create(path, data, makepath=True)

    def join_replicas(self, data: bytes) -> str:
        created: str = self.client.create(
            f"{self.path}/{LOG_REPLICAS}/", data, ephemeral=True, sequence=True, makepath=True
        )
        return created.rsplit("/", 1)[1]


def leader_address(info: dict[str, Any]) -> str:
    """``ip:port`` of a MasterInfo (what ``mesos-resolve`` prints)."""
    given = info.get("address")
    address: dict[str, Any] = given if isinstance(given, dict) else {}
    ip = address.get("ip") or _ip_from_pid(str(info.get("pid", "")))
    port = address.get("port") or info.get("port") or 5050
    return f"{ip}:{port}"


def _ip_from_pid(pid: str) -> str:
    return pid.rsplit("@", 1)[-1].rsplit(":", 1)[0] if "@" in pid else ""


class LeaderWatch:
    """Follows the leading master of a ``zk://`` URL, or a fixed ``host:port``.

    ``address()`` is the leader's ``ip:port`` (None while none is known); ``changed`` is
    set whenever the leader may have changed.
    """

    def __init__(self, master: str, session_timeout: float = 10.0) -> None:
        self.master = master.strip()
        self.changed = threading.Event()
        self._address: str | None = None
        self._info: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self.zk: Zk | None = None
        self._stop = threading.Event()
        if self.master.startswith("zk://"):
            self.zk = Zk(self.master, session_timeout)
        else:
            address = self.master
            if "://" in address:
                address = address.split("://", 1)[1]
            address = address.split("/", 1)[0]
            if ":" not in address:
                address += ":5050"
            self._address = address

    def start(self) -> None:
        if self.zk is None:
            return
        self.zk.start()
        threading.Thread(target=self._run, name="leader-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.zk is not None:
            self.zk.stop()

    def _run(self) -> None:
        assert self.zk is not None
        while not self._stop.is_set():
            self.zk.changed.clear()
            found = None
            if self.zk.connected.is_set():
                try:
                    found = self.zk.leader()
                except KazooException as exc:
                    log.debug("leader lookup failed: %s", exc)
                    found = None
            with self._lock:
                before = self._address
                if found is not None:
                    self._info = found[1]
                    self._address = leader_address(found[1])
                elif self.zk.connected.is_set():
                    self._info, self._address = None, None
                if self._address != before:
                    self.changed.set()
            self.zk.changed.wait(1.0)

    def address(self) -> str | None:
        with self._lock:
            return self._address

    def info(self) -> dict[str, Any] | None:
        with self._lock:
            return self._info

    def wait(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.address()
            if found:
                return found
            time.sleep(0.05)
        return self.address()
