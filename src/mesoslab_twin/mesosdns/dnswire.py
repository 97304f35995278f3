"""A small DNS message codec (RFC 1035, RFC 2782 SRV, RFC 3596 AAAA): stdlib only.

:func:`decode` never trusts its input: every length is checked against the packet, a
compression pointer must point backwards (so pointer loops cannot happen), a name holds at
most 255 octets, and anything wrong raises :class:`WireError`. :func:`encode` compresses
owner names and the names inside NS and SOA data (as miekg/dns does); SRV targets are
written in full (RFC 2782: "name compression is not to be used for this field").
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_MX = 15
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_SRV = 33
TYPE_OPT = 41
TYPE_ANY = 255
CLASS_IN = 1

TYPE_NAMES = {
    TYPE_A: "A",
    TYPE_NS: "NS",
    TYPE_CNAME: "CNAME",
    TYPE_SOA: "SOA",
    TYPE_PTR: "PTR",
    TYPE_MX: "MX",
    TYPE_TXT: "TXT",
    TYPE_AAAA: "AAAA",
    TYPE_SRV: "SRV",
    TYPE_OPT: "OPT",
    TYPE_ANY: "ANY",
}
TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
RCODE_REFUSED = 5
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

HEADER = struct.Struct("!HHHHHH")
MAX_NAME = 255
MAX_LABEL = 63
UDP_MAX = 512  # RFC 1035 4.2.1, without EDNS
TCP_MAX = 65535


class WireError(ValueError):
    """A packet that is not a well-formed DNS message."""


@dataclass
class Question:
    name: str  # absolute, with the trailing dot, case as sent
    qtype: int
    qclass: int = CLASS_IN


@dataclass
class Record:
    """A resource record. ``data`` is decoded for A, AAAA, NS, CNAME, PTR (a name), SOA
    (mname, rname, serial, refresh, retry, expire, minimum), SRV (priority, weight, port,
    target); other types keep their raw bytes."""

    name: str
    rtype: int
    ttl: int
    data: object
    rclass: int = CLASS_IN


@dataclass
class Message:
    id: int = 0
    qr: bool = False
    opcode: int = 0
    aa: bool = False
    tc: bool = False
    rd: bool = False
    ra: bool = False
    ad: bool = False
    cd: bool = False
    rcode: int = 0
    questions: list[Question] = field(default_factory=list)
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)

    @property
    def flags(self) -> int:
        return (
            (self.qr << 15)
            | ((self.opcode & 0xF) << 11)
            | (self.aa << 10)
            | (self.tc << 9)
            | (self.rd << 8)
            | (self.ra << 7)
            | (self.ad << 5)
            | (self.cd << 4)
            | (self.rcode & 0xF)
        )

    def reply(self) -> Message:
        """miekg/dns ``SetReply``: same id and opcode, QR set, RD and CD copied for a
        query, rcode NOERROR, the first question only."""
        answer = Message(id=self.id, qr=True, opcode=self.opcode)
        if self.opcode == 0:
            answer.rd, answer.cd = self.rd, self.cd
        answer.questions = self.questions[:1]
        return answer


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


# --------------------------------------------------------------------------- decoding


def _name(packet: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` and the offset just after it (after the first pointer)."""
    labels: list[str] = []
    size = 0
    end = -1
    position = offset
    lowest = offset  # a pointer must go below every place read so far: no loops
    while True:
        if position >= len(packet):
            raise WireError("name runs past the end of the packet")
        length = packet[position]
        if length & 0xC0 == 0xC0:
            if position + 1 >= len(packet):
                raise WireError("compression pointer cut short")
            target = ((length & 0x3F) << 8) | packet[position + 1]
            if end < 0:
                end = position + 2
            if target >= lowest:
                raise WireError("compression pointer does not point backwards")
            lowest = target
            position = target
            continue
        if length & 0xC0:
            raise WireError(f"unsupported label type 0x{length & 0xC0:02x}")
        position += 1
        if length == 0:
            break
        if position + length > len(packet):
            raise WireError("label runs past the end of the packet")
        size += length + 1
        if size > MAX_NAME:
            raise WireError("name longer than 255 octets")
        raw = packet[position : position + length]
        labels.append(_label_text(raw))
        position += length
    return (".".join(labels) + "."), (end if end >= 0 else position)


def _label_text(raw: bytes) -> str:
    out = []
    for byte in raw:
        char = chr(byte)
        if char in ".\\" or byte < 0x21 or byte > 0x7E:
            out.append(f"\\{byte:03d}" if char not in ".\\" else "\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _need(packet: bytes, offset: int, size: int, what: str) -> None:
    if offset + size > len(packet):
        raise WireError(f"{what} runs past the end of the packet")


def _record(packet: bytes, offset: int) -> tuple[Record, int]:
    name, offset = _name(packet, offset)
    _need(packet, offset, 10, "record header")
    rtype, rclass, ttl, length = struct.unpack_from("!HHIH", packet, offset)
    offset += 10
    _need(packet, offset, length, "record data")
    end = offset + length
    data: object
    if rtype == TYPE_A:
        if length != 4:
            raise WireError("A record data is not 4 octets")
        data = str(ipaddress.IPv4Address(packet[offset:end]))
    elif rtype == TYPE_AAAA:
        if length != 16:
            raise WireError("AAAA record data is not 16 octets")
        data = str(ipaddress.IPv6Address(packet[offset:end]))
    elif rtype in (TYPE_NS, TYPE_CNAME, TYPE_PTR):
        data, after = _name(packet[:end], offset)
        if after != end:
            raise WireError("name data does not fill the record")
    elif rtype == TYPE_SOA:
        mname, after = _name(packet[:end], offset)
        rname, after = _name(packet[:end], after)
        if end - after != 20:
            raise WireError("SOA record data has the wrong length")
        data = (mname, rname, *struct.unpack_from("!IIIII", packet, after))
    elif rtype == TYPE_SRV:
        if length < 7:
            raise WireError("SRV record data too short")
        priority, weight, port = struct.unpack_from("!HHH", packet, offset)
        target, after = _name(packet[:end], offset + 6)
        if after != end:
            raise WireError("SRV target does not fill the record")
        data = (priority, weight, port, target)
    else:
        data = bytes(packet[offset:end])
    return Record(name, rtype, ttl, data, rclass), end


def decode_header(packet: bytes) -> tuple[int, int, tuple[int, int, int, int]]:
    """(id, flags, (qd, an, ns, ar counts)); raises WireError for under 12 octets."""
    if len(packet) < HEADER.size:
        raise WireError("shorter than a DNS header")
    ident, flags, qd, an, ns, ar = HEADER.unpack_from(packet, 0)
    return ident, flags, (qd, an, ns, ar)


def decode(packet: bytes) -> Message:
    ident, flags, (qd, an, ns, ar) = decode_header(packet)
    message = Message(
        id=ident,
        qr=bool(flags >> 15 & 1),
        opcode=flags >> 11 & 0xF,
        aa=bool(flags >> 10 & 1),
        tc=bool(flags >> 9 & 1),
        rd=bool(flags >> 8 & 1),
        ra=bool(flags >> 7 & 1),
        ad=bool(flags >> 5 & 1),
        cd=bool(flags >> 4 & 1),
        rcode=flags & 0xF,
    )
    offset = HEADER.size
    for _ in range(qd):
        name, offset = _name(packet, offset)
        _need(packet, offset, 4, "question")
        qtype, qclass = struct.unpack_from("!HH", packet, offset)
        offset += 4
        message.questions.append(Question(name, qtype, qclass))
    for count, section in (
        (an, message.answers),
        (ns, message.authority),
        (ar, message.additional),
    ):
        for _ in range(count):
            record, offset = _record(packet, offset)
            section.append(record)
    return message


# --------------------------------------------------------------------------- encoding


class _Writer:
    def __init__(self, compress: bool) -> None:
        self.out = bytearray()
        self.compress = compress
        self.seen: dict[str, int] = {}

    def name(self, name: str, compress: bool = True) -> None:
        labels = _labels(name)
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if self.compress and compress and suffix in self.seen:
                self.out += struct.pack("!H", 0xC000 | self.seen[suffix])
                return
            if len(self.out) < 0x3FFF:
                self.seen.setdefault(suffix, len(self.out))
            raw = labels[i].encode("ascii", "replace")
            self.out.append(len(raw))
            self.out += raw
        self.out.append(0)

    def record(self, record: Record) -> None:
        self.name(record.name)
        self.out += struct.pack("!HHI", record.rtype, record.rclass, record.ttl & 0xFFFFFFFF)
        start = len(self.out)
        self.out += b"\0\0"
        data = record.data
        if record.rtype == TYPE_A:
            self.out += ipaddress.IPv4Address(str(data)).packed
        elif record.rtype == TYPE_AAAA:
            self.out += ipaddress.IPv6Address(str(data)).packed
        elif record.rtype in (TYPE_NS, TYPE_CNAME, TYPE_PTR):
            self.name(str(data))
        elif record.rtype == TYPE_SOA:
            assert isinstance(data, tuple)
            self.name(str(data[0]))
            self.name(str(data[1]))
            self.out += struct.pack("!IIIII", *(int(v) & 0xFFFFFFFF for v in data[2:7]))
        elif record.rtype == TYPE_SRV:
            assert isinstance(data, tuple)
            self.out += struct.pack("!HHH", int(data[0]), int(data[1]), int(data[2]))
            self.name(str(data[3]), compress=False)
        else:
            self.out += bytes(data) if isinstance(data, (bytes, bytearray)) else b""
        struct.pack_into("!H", self.out, start, len(self.out) - start - 2)


def _labels(name: str) -> list[str]:
    text = name.rstrip(".")
    if not text:
        return []
    labels = text.split(".")
    for label in labels:
        if not label or len(label) > MAX_LABEL:
            raise WireError(f"bad label in {name!r}")
    return labels


def encode(message: Message, compress: bool = True) -> bytes:
    writer = _Writer(compress)
    writer.out += HEADER.pack(
        message.id & 0xFFFF,
        message.flags,
        len(message.questions),
        len(message.answers),
        len(message.authority),
        len(message.additional),
    )
    for question in message.questions:
        writer.name(question.name)
        writer.out += struct.pack("!HH", question.qtype, question.qclass)
    for section in (message.answers, message.authority, message.additional):
        for record in section:
            writer.record(record)
    return bytes(writer.out)


def fit(message: Message, limit: int, set_truncate_bit: bool = True) -> bytes:
    """Encode ``message`` within ``limit`` octets as Mesos-DNS's ``truncate`` does: over
    the limit, the TC bit is set (when ``set_truncate_bit``), the additional section is
    dropped, then answers from the end until it fits."""
    over = len(encode(message)) > limit
    message.tc = (message.tc or over) and set_truncate_bit
    packet = encode(message)
    if not over:
        return packet
    message.additional = []
    packet = encode(message)
    if len(packet) < limit:
        return packet
    answers = message.answers
    low, high = 0, len(answers)  # the fewest answers to drop so that it fits
    while low < high:
        middle = (low + high) // 2
        message.answers = answers[: len(answers) - middle]
        if len(encode(message)) < limit:
            high = middle
        else:
            low = middle + 1
    message.answers = answers[: len(answers) - low]
    packet = encode(message)
    if len(packet) > limit:  # the authority section alone is too large: header only
        message.authority = []
        packet = encode(message)
    return packet
