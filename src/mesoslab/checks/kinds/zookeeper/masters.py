"""The Mesos masters' leader-election znodes in ZooKeeper (``zookeeper.mesos_masters``).

The znodes are read with kazoo, imported only when the check runs (importing the catalogue
must not import it), with bounded timeouts and no endless reconnecting. A ``srvr`` to every
server first keeps dead hosts away from kazoo.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
from dataclasses import dataclass
from typing import Any

from mesoslab.checks.kinds.zookeeper.common import PORT_KEY, Probe, probe_all
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext
from mesoslab.remote.zk4lw import FourLetterRefused, address_label

MASTER_LABEL = "json.info_"  # Mesos >= 0.24: ephemeral sequential json.info_<seq> znodes

# kazoo logs every failed connection attempt at WARNING; a check reports those itself.
_kazoo_log = logging.getLogger("mesoslab.checks.kinds.zookeeper.kazoo")
_kazoo_log.setLevel(logging.ERROR)


@dataclass(frozen=True)
class _Contender:
    znode: str  # json.info_0000000017
    sequence: int
    info: dict[str, Any] | None  # MasterInfo, None when the data is not JSON
    label: str  # node name from the inventory, or hostname/ip as Mesos reports it
    endpoint: str  # host:port as Mesos reports it


def _validate_masters(params: dict[str, Any]) -> list[str]:
    out = []
    path = params.get("path", "/mesos")
    if not path.startswith("/") or (len(path) > 1 and path.endswith("/")):
        out.append(f"path must be an absolute znode path like /mesos, got {path!r}")
    for key in ("count", "min_count"):
        value = params.get(key)
        if value is not None and value < 0:
            out.append(f"{key} must not be negative, got {value}")
    return out


@check(
    "zookeeper.mesos_masters",
    service="zookeeper",
    role="zookeeper",
    scope="group",
    params={
        "path": P(str, default="/mesos", help="the znode of the masters' --zk URL"),
        "count": P(int, help="exact number of masters contending (json.info_ znodes)"),
        "min_count": P(int, help="at least this many masters contending"),
    },
    validate=_validate_masters,
)
def mesos_masters(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """Mesos masters registered in ZooKeeper: ``json.info_`` children of the path; the
    lowest sequence is the leader."""
    path: str = params["path"]
    count: int | None = params.get("count")
    min_count: int | None = params.get("min_count")
    if count is not None:
        expected = f"{count} master(s) under {path}"
    else:
        expected = f"at least {min_count if min_count is not None else 1} master(s) under {path}"

    usable, failure = _reachable(ctx, nodes)
    if failure is not None:
        return failure
    port = ctx.port(PORT_KEY)
    hosts = ",".join(address_label(n.address, port) for n in usable)
    children, datas = _read_masters(ctx, hosts, path)
    if children is None:
        return Observation.fail(
            f"no {path} znode: no master has registered with ZooKeeper "
            "(check /etc/mesos/zk on the masters)",
            expected=expected,
            observed=f"{path} does not exist",
        )
    contenders = sorted(
        (_contender(ctx, name, datas.get(name)) for name in children if _is_master(name)),
        key=lambda c: c.sequence,
    )
    n = len(contenders)
    listing = ", ".join(
        f"{c.label}" + (" (leader)" if i == 0 else "") for i, c in enumerate(contenders)
    )
    observed = f"{n} master(s)" + (f": {listing}" if contenders else "")
    if n == 0:
        others = ", ".join(sorted(children)) or "none"
        if count == 0 or (count is None and min_count == 0):
            return Observation.ok(
                f"no master contends under {path}", expected=expected, observed=observed
            )
        return Observation.fail(
            f"no master has registered under {path}: no json.info_ znodes "
            f"(children: {others}); are the mesos-master services running with --zk?",
            expected=expected,
            observed=observed,
        )
    leader = contenders[0]
    if leader.info is None:
        return Observation.fail(
            f"the leading znode {path}/{leader.znode} does not hold JSON MasterInfo",
            expected=expected,
            observed=observed,
        )
    lead = f"leader {leader.label} ({leader.endpoint}"
    version = leader.info.get("version")
    lead += f", Mesos {version})" if version else ")"
    if count is not None and n != count:
        return Observation.fail(
            f"{n} master(s) registered under {path}, expected {count}; {lead}",
            expected=expected,
            observed=observed,
        )
    if min_count is not None and n < min_count:
        return Observation.fail(
            f"only {n} master(s) registered under {path}, expected at least {min_count}; {lead}",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"{n} master(s) registered under {path}; {lead}", expected=expected, observed=observed
    )


def _reachable(ctx: CheckContext, nodes: list[Node]) -> tuple[list[Node], Observation | None]:
    """The nodes a ZooKeeper session can use, or a fail naming why none can.

    ``srvr`` first: it tells a refused connection from a server without quorum precisely,
    and keeps dead hosts away from kazoo (which would spend its whole timeout on them).
    """
    probes = probe_all(ctx, nodes)
    usable = [
        p.node
        for p in probes
        if (p.info is not None and p.info.serving) or isinstance(p.error, FourLetterRefused)
    ]
    if usable:
        return usable, None
    details = "; ".join(_why_unusable(p) for p in probes)
    return [], Observation.fail(
        f"cannot read ZooKeeper: no server is reachable and serving ({details})",
        expected="a serving ZooKeeper server",
        observed=", ".join(p.label for p in probes),
    )


def _why_unusable(probe: Probe) -> str:
    if probe.error is not None:
        return f"{probe.node.name}: {probe.error.summary}"
    mode = probe.info.mode if probe.info is not None else "?"
    return f"{probe.node.name}: mode {mode}, not serving"


def _read_masters(
    ctx: CheckContext, hosts: str, path: str
) -> tuple[list[str] | None, dict[str, bytes]]:
    """Children of ``path`` and the data of its json.info_ children (None when no path)."""
    logging.getLogger("kazoo").setLevel(max(logging.WARNING, logging.getLogger("kazoo").level))
    from kazoo.client import KazooClient
    from kazoo.exceptions import KazooException, NoNodeError
    from kazoo.handlers.threading import KazooTimeoutError

    budget = ctx.request_timeout()
    client = KazooClient(
        hosts=hosts,
        timeout=budget,  # session timeout; also kazoo's TCP connect timeout
        connection_retry={"max_tries": 1, "delay": 0.1, "max_delay": 0.5, "deadline": budget},
        command_retry=None,
        read_only=True,
        logger=_kazoo_log,
    )
    try:
        try:
            client.start(timeout=budget)
        except KazooTimeoutError:
            raise ProbeError(
                f"could not open a ZooKeeper session with {hosts} within {budget:.1f}s",
                "session not established",
            ) from None
        try:
            children = client.get_children_async(path).get(timeout=ctx.request_timeout())
        except NoNodeError:
            return None, {}
        pending = {
            name: client.get_async(f"{path}/{name}") for name in children if _is_master(name)
        }
        datas: dict[str, bytes] = {}
        for name, result in pending.items():
            try:
                data, _stat = result.get(timeout=ctx.request_timeout())
            except NoNodeError:
                continue  # that master went away between the listing and the read
            datas[name] = data or b""
        return [c for c in children if not _is_master(c) or c in datas], datas
    except KazooTimeoutError:
        raise ProbeError(
            f"ZooKeeper at {hosts} did not answer a read of {path} within "
            f"{ctx.request_timeout():.1f}s",
            "read timeout",
        ) from None
    except KazooException as exc:
        raise ProbeError(
            f"reading {path} from ZooKeeper at {hosts} failed: "
            f"{exc.__class__.__name__} {exc}".rstrip(),
            exc.__class__.__name__,
        ) from None
    finally:
        try:
            client.stop()
        finally:
            client.close()


def _is_master(name: str) -> bool:
    return name.startswith(MASTER_LABEL) and name[len(MASTER_LABEL) :].isdigit()


def _contender(ctx: CheckContext, name: str, data: bytes | None) -> _Contender:
    sequence = int(name[len(MASTER_LABEL) :])
    try:
        info = json.loads(data.decode("utf-8")) if data else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        info = None
    if not isinstance(info, dict):
        return _Contender(name, sequence, None, name, "?")
    raw_address = info.get("address")
    address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
    hostname = str(info.get("hostname") or address.get("hostname") or "")
    ip = str(address.get("ip") or _ip_from_uint32(info.get("ip")) or "")
    port = info.get("port") or address.get("port") or _port_from_pid(info.get("pid"))
    node = None
    for candidate in (hostname, ip):
        if candidate:
            node = ctx.inventory.find_host(candidate)
            if node is not None:
                break
    shown_host = hostname or ip or "?"
    endpoint = f"{ip or shown_host}:{port}" if port else (ip or shown_host)
    label = node.name if node is not None else shown_host
    return _Contender(name, sequence, info, label, endpoint)


def _ip_from_uint32(value: Any) -> str:
    """MasterInfo.ip is a uint32 in network byte order (16777343 = 127.0.0.1)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**32:
        return ""
    return socket.inet_ntoa(struct.pack("<I", value))


def _port_from_pid(pid: Any) -> int | None:
    match = re.search(r":(\d+)$", pid) if isinstance(pid, str) else None
    return int(match.group(1)) if match else None
