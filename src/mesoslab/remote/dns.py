"""DNS queries from the host machine to a lab node (stdlib only: dnspython is not a
dependency of mesoslab). One question, A or SRV, over UDP or TCP, bounded by a timeout.

A UDP answer with the TC bit set is asked again over TCP, as ``dig`` does. Transport
problems (no answer in time, connection refused, a packet that is not DNS) raise
ProbeError with a one-line summary; a DNS answer, whatever its rcode, is returned.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import struct
import time
from dataclasses import dataclass, field

from mesoslab.remote.http import ProbeError

TYPES = {"A": 1, "NS": 2, "SOA": 6, "AAAA": 28, "SRV": 33}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


@dataclass(frozen=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str  # absolute, lower-case


@dataclass
class DnsAnswer:
    rcode: int
    authoritative: bool
    truncated: bool
    transport: str  # the transport that brought this answer
    addresses: list[str] = field(default_factory=list)  # A / AAAA answers
    services: list[Srv] = field(default_factory=list)  # SRV answers
    additional: dict[str, list[str]] = field(default_factory=dict)  # name -> A/AAAA
    authority_types: list[int] = field(default_factory=list)

    @property
    def rcode_name(self) -> str:
        return RCODES.get(self.rcode, f"RCODE{self.rcode}")


class _Malformed(Exception):
    pass


def encode_query(name: str, qtype: int, ident: int) -> bytes:
    labels = [label for label in name.strip().rstrip(".").split(".") if label]
    out = bytearray(struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0))  # RD set
    for label in labels:
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if not 0 < len(raw) <= 63:
            raise ValueError(f"bad label {label!r} in {name!r}")
        out += bytes([len(raw)]) + raw
    out += b"\0" + struct.pack("!HH", qtype, 1)
    return bytes(out)


def _name(packet: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    lowest = offset
    jumps = 0
    while True:
        if offset >= len(packet):
            raise _Malformed("name past the end")
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(packet):
                raise _Malformed("cut pointer")
            target = ((length & 0x3F) << 8) | packet[offset + 1]
            if target >= lowest or jumps > 64:
                raise _Malformed("bad pointer")
            if end < 0:
                end = offset + 2
            lowest, offset, jumps = target, target, jumps + 1
            continue
        offset += 1
        if length == 0:
            break
        if length > 63 or offset + length > len(packet):
            raise _Malformed("bad label")
        labels.append(packet[offset : offset + length].decode("ascii", "replace").lower())
        offset += length
    return ".".join(labels) + ".", end if end >= 0 else offset


def decode_answer(packet: bytes, ident: int, transport: str) -> DnsAnswer:
    if len(packet) < 12:
        raise _Malformed("shorter than a DNS header")
    got, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", packet, 0)
    if got != ident or not flags & 0x8000:
        raise _Malformed("not the answer to this query")
    answer = DnsAnswer(
        rcode=flags & 0xF,
        authoritative=bool(flags & 0x0400),
        truncated=bool(flags & 0x0200),
        transport=transport,
    )
    offset = 12
    for _ in range(qd):
        _, offset = _name(packet, offset)
        offset += 4
    for section, count in ((0, an), (1, ns), (2, ar)):
        for _ in range(count):
            owner, offset = _name(packet, offset)
            if offset + 10 > len(packet):
                raise _Malformed("record past the end")
            rtype, _rclass, _ttl, length = struct.unpack_from("!HHIH", packet, offset)
            offset += 10
            data = packet[offset : offset + length]
            if len(data) != length:
                raise _Malformed("record data past the end")
            ip = None
            if rtype == 1 and length == 4:
                ip = str(ipaddress.IPv4Address(data))
            elif rtype == 28 and length == 16:
                ip = str(ipaddress.IPv6Address(data))
            if section == 0:
                if ip is not None:
                    answer.addresses.append(ip)
                elif rtype == 33 and length >= 7:
                    priority, weight, port = struct.unpack_from("!HHH", data, 0)
                    target, _ = _name(packet[: offset + length], offset + 6)
                    answer.services.append(Srv(priority, weight, port, target))
            elif section == 1:
                answer.authority_types.append(rtype)
            elif ip is not None:
                answer.additional.setdefault(owner, []).append(ip)
            offset += length
    return answer


def _udp(host: str, port: int, query: bytes, ident: int, deadline: float) -> bytes:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        sock.send(query)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            packet = sock.recv(65535)
            if len(packet) >= 2 and struct.unpack_from("!H", packet)[0] == ident:
                return packet


def _tcp(host: str, port: int, query: bytes, deadline: float) -> bytes:
    left = max(0.05, deadline - time.monotonic())
    with socket.create_connection((host, port), timeout=left) as sock:
        sock.sendall(struct.pack("!H", len(query)) + query)

        def read(size: int) -> bytes:
            data = bytearray()
            while len(data) < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(size - len(data))
                if not chunk:
                    raise ConnectionResetError("closed before the whole answer")
                data += chunk
            return bytes(data)

        (size,) = struct.unpack("!H", read(2))
        return read(size)


def query(
    host: str, port: int, name: str, rtype: str, *, transport: str = "udp", timeout: float = 3.0
) -> DnsAnswer:
    """Ask ``host:port`` for ``name`` (``rtype`` A or SRV...). Raises ProbeError when no
    DNS answer comes back."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    ident = secrets.randbelow(0x10000)
    try:
        packet = encode_query(name, TYPES[rtype], ident)
    except (ValueError, UnicodeError) as exc:
        raise ProbeError(f"cannot ask for {name!r}: {exc}", str(exc)) from None
    deadline = time.monotonic() + timeout
    used = transport
    try:
        if transport == "udp":
            raw = _udp(host, port, packet, ident, deadline)
            if len(raw) >= 4 and raw[2] & 0x02:  # truncated: ask again over TCP, like dig
                used = "tcp"
                raw = _tcp(host, port, packet, deadline)
        else:
            raw = _tcp(host, port, packet, deadline)
        return decode_answer(raw, ident, used)
    except TimeoutError:
        raise ProbeError(
            f"no DNS answer from {where} over {used.upper()} within {timeout:.1f}s "
            "(is the DNS server running and listening on that address and port?)",
            "timeout",
            answered=False,
        ) from None
    except ConnectionRefusedError:
        raise ProbeError(
            f"DNS server at {where} refused the {used.upper()} query: nothing listens there "
            "(Mesos-DNS serves only after its first successful reload)",
            "connection refused",
            answered=False,
        ) from None
    except _Malformed as exc:
        raise ProbeError(f"{where} answered something that is not DNS: {exc}", str(exc)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc) or exc.__class__.__name__
        raise ProbeError(
            f"cannot ask {where} over {used.upper()}: {reason}", reason, answered=False
        ) from None
