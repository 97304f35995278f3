"""Free TCP ports for the servers the tests start."""

from __future__ import annotations

import socket
from collections.abc import Iterable


def free_port(addresses: Iterable[str] = ("127.0.0.1",), avoid: Iterable[int] = ()) -> int:
    """A TCP port free on every one of ``addresses`` (a port, or the one after it, in
    ``avoid`` is skipped: ZooKeeper ensembles take port and port + 1)."""
    addresses = list(addresses)
    avoid = set(avoid)
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        if port in avoid or port + 1 in avoid:
            continue
        if all(_bindable(a, port) for a in addresses):
            return port
    raise RuntimeError(f"no port free on all of {addresses}")


def _bindable(address: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True
