"""What the ZooKeeper checks share: the client port, ``srvr`` on one node, and ``srvr`` on
every node at once with each node's failure recorded rather than raised."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext
from mesoslab.remote.zk4lw import SrvrInfo, address_label, parse_srvr, send_4lw

PORT_KEY = "zookeeper"


def server_label(ctx: CheckContext, node: Node) -> str:
    """``node (address:port)``, as the summaries name a server."""
    return f"{node.name} ({address_label(node.address, ctx.port(PORT_KEY))})"


def ask(ctx: CheckContext, node: Node, word: str) -> str:
    """The answer of ``node`` to the four-letter word ``word``."""
    return send_4lw(node.address, ctx.port(PORT_KEY), word, ctx.request_timeout())


def srvr(ctx: CheckContext, node: Node) -> SrvrInfo:
    return parse_srvr(ask(ctx, node, "srvr"), server_label(ctx, node))


@dataclass(frozen=True)
class Probe:
    """One node's ``srvr``: what it answered, or why it did not."""

    node: Node
    info: SrvrInfo | None
    error: ProbeError | None

    @property
    def label(self) -> str:
        if self.info is not None:
            return f"{self.node.name}: {self.info.mode}"
        assert self.error is not None
        return f"{self.node.name}: error: {self.error.observed}"


def probe_all(ctx: CheckContext, nodes: list[Node]) -> list[Probe]:
    """``srvr`` on every node at once; a node's failure is recorded, never raised."""

    def one(node: Node) -> Probe:
        try:
            return Probe(node, srvr(ctx, node), None)
        except ProbeError as exc:
            return Probe(node, None, exc)

    with ThreadPoolExecutor(max_workers=max(1, len(nodes)), thread_name_prefix="zk4lw") as pool:
        return list(pool.map(one, nodes))


def node_names(probes: list[Probe]) -> str:
    return ", ".join(p.node.name for p in probes)
