"""How a check attempt travels: the clients shared by one verify run (HTTP, SSH) and one
attempt's deadline-bounded view of them. The HTTP probe (:mod:`.http`) and the ZooKeeper
four-letter words (:mod:`.zk4lw`) take a CheckContext."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mesoslab.lab.inventory import Inventory, Node

if TYPE_CHECKING:
    import httpx

    from mesoslab.remote.pool import SshPool

# One attempt never waits longer than this for a single request, so a check keeps
# retrying (and a dead host is noticed) well within its settling timeout.
ATTEMPT_TIMEOUT = 5.0


class Session:
    """Clients shared by every check of one verify run (thread-safe, created lazily)."""

    def __init__(self, inventory: Inventory, *, attempt_timeout: float = ATTEMPT_TIMEOUT) -> None:
        self.inventory = inventory
        self.attempt_timeout = attempt_timeout  # cap on one request of one attempt
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._ssh: SshPool | None = None

    @property
    def http(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                import httpx

                self._http = httpx.Client(
                    follow_redirects=False,
                    headers={"User-Agent": "mesoslab-verify"},
                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                    trust_env=False,  # lab addresses must never go through a proxy
                    verify=False,  # lab APIs are plain http: skip loading the CA bundle
                )
            return self._http

    @property
    def ssh(self) -> SshPool:
        with self._lock:
            if self._ssh is None:
                from mesoslab.remote.pool import SshPool

                self._ssh = SshPool()
            return self._ssh

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None
            if self._ssh is not None:
                self._ssh.close()
                self._ssh = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class CheckContext:
    """Handed to a check function for one attempt."""

    session: Session
    deadline: float  # time.monotonic() by which the attempt must be over
    cache: dict[str, Any] = field(default_factory=dict)
    # a check's own `port`: its service answers on another port than the inventory's
    # (e.g. a second cluster beside the lab's own)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def inventory(self) -> Inventory:
        return self.session.inventory

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def request_timeout(self) -> float:
        """Timeout for one request: bounded by the attempt cap and the deadline."""
        return max(0.2, min(self.session.attempt_timeout, self.remaining()))

    def port(self, key: str) -> int:
        return self.ports.get(key) or self.inventory.ports[key]

    def at_port(self, key: str, port: int | None) -> CheckContext:
        """This attempt with the service ``key`` on ``port`` (unchanged when None)."""
        if port is None:
            return self
        return replace(self, ports={**self.ports, key: port})

    def base_url(self, node: Node, port_key: str) -> str:
        return self.url_at(node, self.port(port_key))

    def url_at(self, node: Node, port: int) -> str:
        """``http://<node>:<port>`` (an IPv6 address in brackets)."""
        return f"http://{_host_for_url(node.address)}:{port}"


def _host_for_url(address: str) -> str:
    return f"[{address}]" if ":" in address else address
