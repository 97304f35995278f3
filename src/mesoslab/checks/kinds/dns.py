"""DNS check kinds: a name resolves, asked of a lab node's DNS server (Mesos-DNS) from the
host machine, over UDP (TCP when the answer is truncated) or TCP.

The answers are compared as sets: the distinct addresses of an A answer, the distinct
``target:port`` pairs of an SRV answer (each target resolved through the additional
section, or asked again as an A name). NXDOMAIN, REFUSED, SERVFAIL, an empty answer and no
answer at all are failures that say so.
"""

from __future__ import annotations

from typing import Any

from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation, Status
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.remote.dns import DnsAnswer, Srv, query
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext

DEFAULT_PORT = 53
PORT_KEY = "mesos_dns"  # a lab may name another DNS port in its inventory's ports

RCODE_REASONS = {
    "NXDOMAIN": "no such name in the zone (not running yet, another task or framework name, "
    "or Mesos-DNS has not reloaded since the task started)",
    "REFUSED": "the server refuses this name (outside its domain, with externalon false "
    "or no resolvers)",
    "SERVFAIL": "the server failed (a forwarded name whose resolvers did not answer?)",
}


def _validate(params: dict[str, Any]) -> list[str]:
    problems = []
    rtype = params.get("type", "A")
    if params.get("ports") is not None and rtype != "SRV":
        problems.append("'ports' applies to type SRV only")
    for key in ("count", "min_count"):
        value = params.get(key)
        if value is not None and value < 0:
            problems.append(f"{key!r} must not be negative")
    for port in params.get("ports") or []:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            problems.append(f"'ports' must be port numbers, got {port!r}")
    for host in params.get("hosts") or []:
        if not isinstance(host, str):
            problems.append(f"'hosts' must be node names, got {host!r}")
    return problems


def _label(inventory: Inventory, ip: str) -> str:
    node = inventory.find_host(ip)
    return f"{ip} ({node.name})" if node is not None else ip


def _servers(ctx: CheckContext, nodes: list[Node], server: str | None) -> list[Node]:
    if not server:
        return nodes
    found = ctx.inventory.resolve(server)
    if not found:
        raise ProbeError(
            f"no node or role named {server!r} in the inventory to ask",
            f"unknown server {server!r}",
        )
    return found


def _expected_hosts(ctx: CheckContext, names: list[str]) -> dict[str, str]:
    """address -> node name for the ``hosts`` parameter."""
    wanted: dict[str, str] = {}
    unknown = []
    for name in names:
        node = ctx.inventory.node(name)
        if node is None:
            unknown.append(name)
        else:
            wanted[node.address] = node.name
    if unknown:
        raise ProbeError(
            f"'hosts' names nodes the inventory does not have: {', '.join(unknown)}",
            "unknown node names",
        )
    return wanted


def _srv_addresses(
    ctx: CheckContext, node: Node, port: int, answer: DnsAnswer, transport: str
) -> dict[str, list[str]]:
    """target -> its addresses (from the additional section, else an A query)."""
    found: dict[str, list[str]] = {}
    for srv in answer.services:
        if srv.target in found:
            continue
        known = answer.additional.get(srv.target)
        if known:
            found[srv.target] = sorted(set(known))
            continue
        again = query(
            node.address,
            port,
            srv.target,
            "A",
            transport=transport,
            timeout=ctx.request_timeout(),
        )
        found[srv.target] = sorted(set(again.addresses))
    return found


def _srv_text(srv: Srv, addresses: dict[str, list[str]], inventory: Inventory) -> str:
    ips = addresses.get(srv.target) or []
    shown = ", ".join(_label(inventory, ip) for ip in ips) or "unresolved"
    return f"{srv.target}:{srv.port} ({shown})"


def _one(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    name = str(params["name"]).strip()
    rtype = str(params.get("type") or "A")
    transport = str(params.get("transport") or "udp")
    port = params.get("port") or ctx.inventory.ports.get(PORT_KEY, DEFAULT_PORT)
    asked = f"{name} {rtype} @{node.name}" + (f":{port}" if port != DEFAULT_PORT else "")
    if transport != "udp":
        asked += f" ({transport.upper()})"
    count, min_count = params.get("count"), params.get("min_count")
    hosts, ports = params.get("hosts"), params.get("ports")
    wanted = _expected_hosts(ctx, list(hosts)) if hosts is not None else None
    expected_parts = [f"{rtype} answers for {name}"]
    if count is not None:
        expected_parts.append(f"exactly {count} distinct")
    if min_count is not None:
        expected_parts.append(f"at least {min_count}")
    if wanted is not None:
        expected_parts.append("on " + ", ".join(sorted(wanted.values())))
    if ports is not None:
        expected_parts.append("ports " + ", ".join(str(p) for p in sorted(set(ports))))
    expected = "; ".join(expected_parts)
    answer = query(
        node.address, int(port), name, rtype, transport=transport, timeout=ctx.request_timeout()
    )
    via = " (truncated over UDP, asked again over TCP)" if answer.transport != transport else ""
    if answer.rcode != 0:
        reason = RCODE_REASONS.get(answer.rcode_name, "")
        return Observation.fail(
            f"{asked} → {answer.rcode_name}" + (f": {reason}" if reason else ""),
            expected=expected,
            observed=answer.rcode_name,
        )
    problems: list[str] = []
    if rtype == "SRV":
        addresses = _srv_addresses(ctx, node, int(port), answer, transport)
        pairs = sorted(
            {(s.target, s.port): s for s in answer.services}.values(),
            key=lambda s: (s.target, s.port),
        )
        seen_text = ", ".join(_srv_text(s, addresses, ctx.inventory) for s in pairs)
        distinct = len(pairs)
        seen_ips = {ip for ips in addresses.values() for ip in ips}
        if ports is not None and {s.port for s in pairs} != set(ports):
            got = ", ".join(str(p) for p in sorted({s.port for s in pairs})) or "none"
            problems.append(
                f"ports {got}, expected {', '.join(str(p) for p in sorted(set(ports)))}"
            )
    else:
        unique = sorted(set(answer.addresses))
        seen_text = ", ".join(_label(ctx.inventory, ip) for ip in unique)
        distinct = len(unique)
        seen_ips = set(unique)
    if distinct == 0:
        return Observation.fail(
            f"{asked} → no {rtype} records (NOERROR, empty answer)",
            expected=expected,
            observed="empty answer",
        )
    if count is not None and distinct != count:
        problems.append(f"{distinct} distinct answers, expected exactly {count}")
    if min_count is not None and distinct < min_count:
        problems.append(f"{distinct} distinct answers, expected at least {min_count}")
    if wanted is not None and seen_ips != set(wanted):
        missing = sorted(wanted[ip] for ip in set(wanted) - seen_ips)
        extra = sorted(_label(ctx.inventory, ip) for ip in seen_ips - set(wanted))
        detail = []
        if missing:
            detail.append("missing " + ", ".join(missing))
        if extra:
            detail.append("unexpected " + ", ".join(extra))
        problems.append("; ".join(detail))
    summary = f"{asked} → {seen_text}{via}"
    if problems:
        return Observation.fail(
            summary + " (" + "; ".join(problems) + ")", expected=expected, observed=seen_text
        )
    return Observation.ok(summary, expected=expected, observed=seen_text)


@check(
    "dns.resolves",
    role="mesos-dns",
    scope="group",
    params={
        "name": P(str, required=True, help="the name to ask, e.g. web.marathon.mesos"),
        "type": P(str, default="A", choices=("A", "SRV"), help="record type: A or SRV"),
        "server": P(
            str,
            help="node or role whose address is asked (default: the check's "
            "targets, role mesos-dns)",
        ),
        "port": P(int, help="DNS port (default 53, or the inventory's mesos_dns port)"),
        "count": P(
            int, help="exactly this many distinct answers (addresses, or SRV target:port pairs)"
        ),
        "min_count": P(int, help="at least this many distinct answers"),
        "hosts": P(
            list,
            help="node names: the answers' addresses (SRV: the targets' "
            "addresses) must be exactly these nodes' inventory addresses",
        ),
        "ports": P(list, help="SRV only: the set of answered ports must be exactly these"),
        "transport": P(
            str,
            default="udp",
            choices=("udp", "tcp"),
            help="udp (TCP when truncated, as dig does) or tcp",
        ),
    },
    validate=_validate,
)
def resolves(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """A name resolves on a lab node's DNS server (Mesos-DNS), asked from the host machine.

    The A answer's addresses (or the SRV answer's targets and ports) may be required to be
    a number of distinct answers, exactly some nodes' addresses, exactly some ports."""
    servers = _servers(ctx, nodes, params.get("server"))
    if not servers:
        return Observation.fail(
            "no DNS server to ask: no node has the role mesos-dns (set 'server')",
            expected="a node to ask",
            observed="no target",
        )
    results = [_one(ctx, node, params) for node in servers]
    if len(results) == 1:
        return results[0]
    failed = [r for r in results if r.status is Status.FAIL]
    joined = "; ".join(r.summary for r in (failed or results))
    expected = results[0].expected
    observed = "; ".join(r.observed for r in results)
    if failed:
        return Observation.fail(
            joined, expected=expected, observed=observed, answered=all(r.answered for r in failed)
        )
    return Observation.ok(joined, expected=expected, observed=observed)
