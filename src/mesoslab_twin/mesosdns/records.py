"""Mesos-DNS's record generator (records/generator.go, records/chains.go,
records/labels/labels.go, records/state/state.go): a master state in, A/AAAA/SRV records out.

Names are lower-case, absolute (trailing dot). A record set maps a name to its values in
insertion order (each value once); SRV values are ``target:port``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from mesoslab_twin.mesosdns.config import Config, local_addresses

ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"
DOCKER_IP_LABEL = "Docker.NetworkSettings.IPAddress"
MESOS_IP_LABEL = "MesosContainerizer.NetworkSettings.IPAddress"


class StateError(Exception):
    """A master state Mesos-DNS cannot turn into records."""


class Panic(Exception):
    """Where the real generator panics (and the process exits): e.g. a ``masters`` entry
    that is a host name, not an IP (``rrsKindForIPStr``: ``unable to parse ip: master1``)."""


def _ip_kind(ip: str) -> str:
    try:
        return "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
    except ValueError:
        raise Panic(f"unable to parse ip: {ip}") from None


# --------------------------------------------------------------------------- labels


def _label(name: str, maxlen: int, left: str, right: str) -> str:
    mapped = []
    for char in name:
        if "A" <= char <= "Z":
            mapped.append(char.lower())
        elif "a" <= char <= "z" or "0" <= char <= "9":
            mapped.append(char)
        elif char in "-._":
            mapped.append("-")
    text = "".join(mapped).lstrip(left)
    size = min(len(text), maxlen)
    head = text[:size].rstrip(right)
    if len(head) == size:
        return head
    tail = text[size:].lstrip(right)
    return head + tail[: size - len(head)] if tail else head


def rfc1123(name: str) -> str:
    """labels.RFC1123: lower-case, ``_``/``.`` become ``-``, others dropped, 63 at most."""
    return _label(name, 63, "-", "-")


def rfc952(name: str) -> str:
    """labels.RFC952: the same with 24 characters at most and no leading digit."""
    return _label(name, 24, "-0123456789", "-")


def domain_frag(name: str, spec: Any) -> str:
    """labels.DomainFrag: each dot-separated part made a label; empty parts dropped."""
    return ".".join(part for part in (spec(p) for p in name.split(".")) if part)


def hash_string(text: str) -> str:
    """The first 5 characters of zbase32(sha1(text)) (records.hashString)."""
    digest = hashlib.sha1(text.encode()).digest()  # a name, not security
    bits = int.from_bytes(digest[:4], "big") >> 7  # the first 25 bits
    return "".join(ZBASE32[(bits >> (5 * (4 - i))) & 31] for i in range(5))


def slave_id_tail(slave_id: str) -> str:
    return slave_id.split("-")[-1].lower()


# --------------------------------------------------------------------------- state helpers


def split_pid(pid: Any) -> tuple[str, str] | None:
    """(host, port) of a libprocess pid ``name@host:port``; None when it is not one."""
    if not isinstance(pid, str) or pid.count("@") != 1:
        return None
    address = pid.split("@", 1)[1]
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host, port


def host_to_ips(host: str) -> list[str]:
    """An IP as it is, else every address the host name resolves to (net.LookupIP)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if not host:
        return []
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def port_list(ranges: Any) -> list[str]:
    """Resources.Ports: ``"[31000-31001, 31005-31005]"`` -> each port."""
    if not isinstance(ranges, str) or ranges in ("", "[]") or "[" not in ranges:
        return []
    inner = ranges.split("[", 1)[1].split("]", 1)[0]
    ports: list[str] = []
    for part in inner.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or not high.isdigit():
            continue
        ports.extend(str(p) for p in range(int(low), min(int(high), 65535) + 1))
    return ports


def _latest_running(task: dict[str, Any]) -> dict[str, Any] | None:
    best, stamp = None, -1.0
    for status in task.get("statuses") or []:
        if not isinstance(status, dict) or status.get("state") != "TASK_RUNNING":
            continue
        try:
            when = float(status.get("timestamp") or 0)
        except (TypeError, ValueError):
            when = 0.0
        if when > stamp:
            best, stamp = status, when
    return best


def _source_ips(task: dict[str, Any], source: str, slave_ips: list[str]) -> list[str]:
    if source == "host":
        return slave_ips
    status = _latest_running(task)
    if status is None:
        return []
    if source == "netinfo":
        found: list[str] = []
        container = status.get("container_status") or {}
        for info in container.get("network_infos") or [] if isinstance(container, dict) else []:
            if not isinstance(info, dict):
                continue
            addresses = info.get("ip_addresses") or []
            if addresses:
                found += [str(a.get("ip_address", "")) for a in addresses if isinstance(a, dict)]
            elif info.get("ip_address"):
                found.append(str(info["ip_address"]))
        return found
    key = DOCKER_IP_LABEL if source == "docker" else MESOS_IP_LABEL
    return [
        str(label.get("value", ""))
        for label in status.get("labels") or []
        if isinstance(label, dict) and label.get("key") == key
    ]


def task_ips(task: dict[str, Any], sources: list[str], slave_ips: list[str]) -> list[str]:
    """Task.IPs: the addresses of the first source (in ``IPSources`` order) that has any."""
    for source in sources:
        ips = []
        for text in _source_ips(task, source, slave_ips):
            try:
                ips.append(str(ipaddress.ip_address(text)))
            except ValueError:
                continue
        if ips:
            return ips
    return []


# --------------------------------------------------------------------------- records


class RecordSet(dict[str, dict[str, None]]):
    """name -> values (a dict used as an ordered set)."""

    def add(self, name: str, value: str) -> bool:
        if not value:
            return False
        values = self.setdefault(name, {})
        if value in values:
            return False
        values[value] = None
        return True

    def first(self, name: str) -> str | None:
        return next(iter(self.get(name, {})), None)

    def to_json(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.items()}


@dataclass
class Records:
    As: RecordSet = field(default_factory=RecordSet)
    AAAAs: RecordSet = field(default_factory=RecordSet)
    SRVs: RecordSet = field(default_factory=RecordSet)
    slave_ips: dict[str, list[str]] = field(default_factory=dict)
    frameworks: list[dict[str, Any]] = field(default_factory=list)  # /v1/enumerate

    def insert(self, name: str, value: str, kind: str) -> bool:
        table = {"A": self.As, "AAAA": self.AAAAs, "SRV": self.SRVs}[kind]
        return table.add(name, value)

    def insert_ip(self, name: str, ip: str) -> bool:
        return self.insert(name, ip, kind_for_ip(ip))

    def enumerate_json(self) -> dict[str, Any]:
        return {"frameworks": self.frameworks}

    def count(self) -> int:
        return sum(len(v) for t in (self.As, self.AAAAs, self.SRVs) for v in t.values())


def kind_for_ip(ip: str) -> str:
    try:
        return "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
    except ValueError:
        return "A"


def generate(state: Any, config: Config, masters: list[str]) -> Records:
    """records.InsertState: every record of a master state."""
    if not isinstance(state, dict):
        raise StateError("the master's state is not a JSON object")
    leader = state.get("leader")
    if not isinstance(leader, str) or not leader:
        raise StateError("empty master")
    spec = rfc952 if config.EnforceRFC952 else rfc1123
    domain = config.Domain
    records = Records()
    frameworks = [f for f in state.get("frameworks") or [] if isinstance(f, dict)]
    slaves = [s for s in state.get("slaves") or [] if isinstance(s, dict)]
    _framework_records(records, frameworks, domain, spec)
    _slave_records(records, slaves, domain, spec)
    _listener_record(records, config.Listener, config.SOAMname)
    _master_records(records, domain, masters, leader)
    sources = list(config.IPSources or [])
    for framework in frameworks:
        entry: dict[str, Any] = {"tasks": [], "name": str(framework.get("name", ""))}
        records.frameworks.append(entry)
        for task in framework.get("tasks") or []:
            if not isinstance(task, dict):
                continue
            slave_ips = records.slave_ips.get(str(task.get("slave_id", "")))
            if slave_ips is not None and task.get("state") == "TASK_RUNNING":
                _task_records(records, task, framework, domain, spec, sources, slave_ips, entry)
    return records


def _framework_records(
    records: Records, frameworks: list[dict[str, Any]], domain: str, spec: Any
) -> None:
    for framework in frameworks:
        pid = split_pid(framework.get("pid"))
        host, port = pid if pid else (str(framework.get("hostname", "")), "")
        ips = host_to_ips(host)
        if not ips:
            continue
        name = f"{domain_frag(str(framework.get('name', '')), spec)}.{domain}."
        for ip in ips:
            records.insert_ip(name, ip)
        if port:
            records.insert(f"_framework._tcp.{name}", f"{name}:{port}", "SRV")


def _slave_records(records: Records, slaves: list[dict[str, Any]], domain: str, spec: Any) -> None:
    name = f"slave.{domain}."
    for slave in slaves:
        pid = split_pid(slave.get("pid"))
        ips: list[str] = []
        if pid is not None:
            for ip in host_to_ips(pid[0]):
                records.insert_ip(name, ip)
                ips.append(ip)
            if ips:
                records.insert(f"_slave._tcp.{domain}.", f"{name}:{pid[1]}", "SRV")
        if not ips:
            host = pid[0] if pid else str(slave.get("hostname", ""))
            ips.append(domain_frag(host, spec))
        records.slave_ips[str(slave.get("id", ""))] = ips


def _listener_record(records: Records, listener: str, ns: str) -> None:
    if listener == "0.0.0.0":
        for ip in local_addresses():
            if not ipaddress.ip_address(ip).is_loopback:
                records.insert_ip(ns, ip)
    elif listener == "127.0.0.1":
        records.insert(ns, "127.0.0.1", "A")
    else:
        records.insert_ip(ns, listener)


def _split(address: str) -> tuple[str, str] | None:
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return (host, rest[1:]) if rest.startswith(":") else None
    host, colon, port = address.partition(":")
    return (host, port) if colon else None


def _master_records(records: Records, domain: str, masters: list[str], leader: str) -> None:
    if "@" not in leader:
        return
    leader_address = leader.split("@")[1]
    split = _split(leader_address)
    if split is None:
        return
    ip, port = split
    _ip_kind(ip)
    records.insert_ip(f"leader.{domain}.", ip)
    every = f"master.{domain}."
    records.insert_ip(every, ip)
    target = f"leader.{domain}.:{port}"
    records.insert(f"_leader._tcp.{domain}.", target, "SRV")
    records.insert(f"_leader._udp.{domain}.", target, "SRV")
    leader_indexed = False
    index = 0
    for master in masters:
        parts = _split(master)
        if parts is None:
            continue
        master_ip = parts[0]
        _ip_kind(master_ip)
        if master != leader_address and not records.insert_ip(every, master_ip):
            continue
        if master == leader_address and leader_indexed:
            continue
        records.insert_ip(f"master{index}.{domain}.", master_ip)
        index += 1
        if master == leader_address:
            leader_indexed = True
    if not leader_indexed:
        records.insert_ip(f"master{index}.{domain}.", ip)


def _discovery_name(task: dict[str, Any]) -> str:
    discovery = task.get("discovery")
    return str(discovery.get("name") or "") if isinstance(discovery, dict) else ""


def _discovery_ports(task: dict[str, Any]) -> list[dict[str, Any]]:
    discovery = task.get("discovery")
    if not isinstance(discovery, dict):
        return []
    ports = discovery.get("ports")
    found = ports.get("ports") if isinstance(ports, dict) else None
    return [p for p in found or [] if isinstance(p, dict)]


def _task_records(
    records: Records,
    task: dict[str, Any],
    framework: dict[str, Any],
    domain: str,
    spec: Any,
    sources: list[str],
    slave_ips: list[str],
    enum_framework: dict[str, Any],
) -> None:
    enum_task: dict[str, Any] = {
        "name": str(task.get("name", "")),
        "id": str(task.get("id", "")),
        "records": None,
    }
    enum_framework["tasks"].append(enum_task)
    ips = task_ips(task, sources, slave_ips)
    base = {
        "id_hash": hash_string(str(task.get("id", ""))),
        "slave": slave_id_tail(str(task.get("slave_id", ""))),
    }
    discovery = _discovery_name(task)
    if discovery:
        # the generator does this twice: with the raw name (legacy), then the label
        for name in (discovery, spec(discovery)):
            _context_records(
                records, task, framework, domain, spec, name, base, ips, slave_ips, enum_task, True
            )
    else:
        _context_records(
            records,
            task,
            framework,
            domain,
            spec,
            spec(str(task.get("name", ""))),
            base,
            ips,
            slave_ips,
            enum_task,
            False,
        )


def _context_records(
    records: Records,
    task: dict[str, Any],
    framework: dict[str, Any],
    domain: str,
    spec: Any,
    task_name: str,
    base: dict[str, str],
    ips: list[str],
    slave_ips: list[str],
    enum_task: dict[str, Any],
    has_discovery: bool,
) -> None:
    fname = domain_frag(str(framework.get("name", "")), spec)
    tail = f".{domain}."
    canonical = f"{task_name}-{base['id_hash']}-{base['slave']}.{fname}"
    arec = f"{task_name}.{fname}"

    def add(name: str, value: str, kind: str) -> None:
        if records.insert(name, value, kind):
            if enum_task["records"] is None:
                enum_task["records"] = []
            enum_task["records"].append({"name": name, "host": value, "rtype": kind})

    for ip in ips:
        add(arec + tail, ip, kind_for_ip(ip))
        add(canonical + tail, ip, kind_for_ip(ip))
    for slave_ip in slave_ips:
        add(f"{arec}.slave{tail}", slave_ip, kind_for_ip(slave_ip))
        add(f"{canonical}.slave{tail}", slave_ip, kind_for_ip(slave_ip))
    subdomains = ["slave"] if has_discovery else ["slave", ""]
    slave_host = f"{canonical}.slave{tail}"
    resources = task.get("resources") if isinstance(task.get("resources"), dict) else {}
    for host_port in port_list((resources or {}).get("ports")):
        for proto in ("tcp", "udp"):
            for sub in subdomains:
                name = f"_{task_name}._{proto}.{fname}" + (f".{sub}" if sub else "")
                add(name + tail, f"{slave_host}:{host_port}", "SRV")
    if not has_discovery:
        return
    for port in _discovery_ports(task):
        number = port.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            number = 0
        target = f"{canonical}{tail}:{number}"
        protocol = spec(str(port.get("protocol") or ""))
        protos = [protocol] if protocol else ["tcp", "udp"]
        names = [f"_{task_name}._{p}.{fname}" for p in protos]
        port_name = spec(str(port.get("name") or ""))
        if port_name:
            names += [f"_{port_name}.{n}" for n in names]
        for name in names:
            add(name + tail, target, "SRV")
