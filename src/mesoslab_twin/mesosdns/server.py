"""Mesos-DNS's DNS side (resolver/resolver.go): the Mesos domain answered from the records,
everything else forwarded to ``resolvers`` (or a ``zoneResolvers`` zone's), over UDP and TCP
on ``listener:port``.

A query that cannot be decoded gets FORMERR (when its header can be read), a response
(QR set) or a packet under 12 octets is dropped, a query without a question gets
SERVFAIL: as miekg/dns's server does. Nothing a client sends can stop the listeners.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mesoslab_twin.mesosdns import dnswire as w
from mesoslab_twin.mesosdns.config import Config, normalize_resolver
from mesoslab_twin.mesosdns.records import Records

log = logging.getLogger("mesoslab_twin.mesosdns")

TCP_READ_TIMEOUT = 2.0  # miekg/dns: the first read of a connection
TCP_IDLE_TIMEOUT = 8.0  # then between queries
TCP_MAX_QUERIES = 128
MAX_PENDING_FORWARDS = 512  # a flood of outside names is dropped beyond this, not queued


class ForwardError(Exception):
    """No resolver to forward to (REFUSED), as exchanger.ForwardError."""


class Resolver:
    """Answers DNS queries from the current records (``records`` is swapped whole)."""

    def __init__(self, config: Config, records: Callable[[], Records]) -> None:
        self.config = config
        self.records = records
        self.domain = config.Domain + "."
        self.rng = random.Random()
        zones = config.ZoneResolvers if config.ExternalOn else {}
        self.zone_forwarders = {z.lower().rstrip(".") + ".": list(r) for z, r in zones.items()}
        self.default_forwarder = list(config.Resolvers or []) if config.ExternalOn else []

    # ------------------------------------------------------------------ dispatch

    def answer(self, packet: bytes, transport: str) -> bytes | None:
        """The reply to one packet (None: send nothing)."""
        try:
            ident, _flags, _counts = w.decode_header(packet)
        except w.WireError:
            return None
        try:
            query = w.decode(packet)
        except w.WireError:
            formerr = w.Message(id=ident, qr=True, rcode=w.RCODE_FORMERR)
            return w.encode(formerr)
        if query.qr:
            return None
        if not query.questions:
            failed = query.reply()
            failed.rcode = w.RCODE_SERVFAIL
            return w.encode(failed)
        name = query.questions[0].name.lower()
        if self.in_domain(name):
            return self.mesos(query, transport)
        return self.forward(query, packet, transport)

    def in_domain(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)

    def limit(self, transport: str) -> int:
        # maxMsgSize looks for EDNS0 in the reply, which never has it: 512 over UDP
        return w.UDP_MAX if transport == "udp" else w.TCP_MAX

    # ------------------------------------------------------------------ the Mesos domain

    def mesos(self, query: w.Message, transport: str) -> bytes:
        reply = query.reply()
        reply.aa = True
        reply.ra = self.config.RecurseOn
        question = query.questions[0]
        name = question.name.lower().replace(".*", "")
        records = self.records()
        qtype = question.qtype
        if qtype in (w.TYPE_SRV, w.TYPE_ANY):
            self._srv(records, name, question.name, reply)
        if qtype in (w.TYPE_A, w.TYPE_ANY):
            self._addresses(records.As, name, w.TYPE_A, reply)
        if qtype in (w.TYPE_AAAA, w.TYPE_ANY):
            self._addresses(records.AAAAs, name, w.TYPE_AAAA, reply)
        if qtype in (w.TYPE_SOA, w.TYPE_ANY):
            reply.authority.append(self.soa(question.name))
        if qtype in (w.TYPE_NS, w.TYPE_ANY):
            reply.authority.append(
                w.Record(question.name, w.TYPE_NS, self.config.TTL, self.config.SOAMname)
            )
        if reply.answers:
            self.rng.shuffle(reply.answers)
        elif qtype not in (w.TYPE_SOA, w.TYPE_NS, w.TYPE_SRV):
            known = name in records.SRVs or name in records.As or name in records.AAAAs
            reply.rcode = w.RCODE_NOERROR if known else w.RCODE_NXDOMAIN
            reply.authority.append(self.soa(question.name))
        return w.fit(reply, self.limit(transport), self.config.SetTruncateBit)

    def soa(self, name: str) -> w.Record:
        c = self.config
        data = (c.SOAMname, c.SOARname, c.SOASerial, c.SOARefresh, c.SOARetry, c.SOAExpire, c.TTL)
        return w.Record(name, w.TYPE_SOA, c.TTL, data)

    def _addresses(
        self, table: dict[str, dict[str, None]], name: str, rtype: int, reply: w.Message
    ) -> None:
        for ip in table.get(name, {}):
            reply.answers.append(w.Record(name, rtype, self.config.TTL, ip))

    def _srv(self, records: Records, name: str, asked: str, reply: w.Message) -> None:
        added: set[tuple[str, int]] = set()
        for value in records.SRVs.get(name, {}):
            host, _, port = value.rpartition(":")
            if not port.isdigit():
                continue
            reply.answers.append(
                w.Record(
                    asked,
                    w.TYPE_SRV,
                    self.config.TTL,
                    (0, self.config.SRVRecordDefaultWeight, int(port), host),
                )
            )
            for table, rtype in ((records.As, w.TYPE_A), (records.AAAAs, w.TYPE_AAAA)):
                first = table.first(host)
                if first is not None and (host, rtype) not in added:
                    added.add((host, rtype))
                    reply.additional.append(w.Record(host, rtype, self.config.TTL, first))

    # ------------------------------------------------------------------ forwarding

    def resolvers_for(self, name: str) -> list[str]:
        best = ""
        for zone in self.zone_forwarders:
            if (name == zone or name.endswith("." + zone)) and len(zone) > len(best):
                best = zone
        return self.zone_forwarders[best] if best else self.default_forwarder

    def forward(self, query: w.Message, packet: bytes, transport: str) -> bytes:
        resolvers = self.resolvers_for(query.questions[0].name.lower())
        try:
            if not resolvers:
                raise ForwardError("no resolvers")
            answer = None
            for resolver in resolvers:
                try:
                    answer = exchange(
                        packet,
                        normalize_resolver(resolver),
                        transport,
                        float(self.config.Timeout or 5),
                    )
                    break
                except (OSError, w.WireError, ValueError) as exc:
                    log.error("%s", exc)
            if answer is None:
                raise OSError("every resolver failed")
        except ForwardError:
            return self._failed(query, w.RCODE_REFUSED)
        except OSError:
            return self._failed(query, w.RCODE_SERVFAIL)
        limit = self.limit(transport)
        if len(answer) <= limit:
            return answer
        try:
            message = w.decode(answer)
        except w.WireError:
            return self._failed(query, w.RCODE_SERVFAIL)
        for record in message.additional:
            if record.rtype == w.TYPE_OPT:
                limit = max(limit, record.rclass)  # the EDNS0 size of the upstream reply
        return w.fit(message, limit, self.config.SetTruncateBit)

    def _failed(self, query: w.Message, rcode: int) -> bytes:
        reply = query.reply()
        reply.rcode = rcode
        return w.encode(reply)


def exchange(packet: bytes, address: str, transport: str, timeout: float) -> bytes:
    """One query to ``host:port`` over UDP or TCP; the answer's id must match."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if transport == "udp":
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.connect((host, int(port)))
            sock.send(packet)
            while True:
                answer = sock.recv(65535)
                if answer[:2] == packet[:2]:
                    return answer
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(packet)) + packet)
        size = struct.unpack("!H", _read_exact(sock, 2))[0]
        return _read_exact(sock, size)


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed mid-message")
        data += chunk
    return bytes(data)


class DnsServer:
    """The UDP and TCP listeners. Domain queries are answered at once by the listener;
    forwarded ones go to a pool of workers (each waits up to ``timeout`` on a resolver)."""

    def __init__(self, resolver: Resolver, host: str, port: int) -> None:
        self.resolver = resolver
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.udp = socket.socket(family, socket.SOCK_DGRAM)
        self.tcp = socket.socket(family, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp.bind((host, port))  # OSError when taken: the caller reports it
        self.tcp.bind((host, port))
        self.tcp.listen(128)
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dns-forward")
        self.pending = threading.BoundedSemaphore(MAX_PENDING_FORWARDS)
        self.stopping = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._serve_udp, name="dns-udp", daemon=True).start()
        threading.Thread(target=self._serve_tcp, name="dns-tcp", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        for sock in (self.udp, self.tcp):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _reply_udp(self, packet: bytes, client: tuple[Any, ...]) -> None:
        try:
            answer = self.resolver.answer(packet, "udp")
            if answer is not None:
                self.udp.sendto(answer, client)
        except Exception:  # a bug must not stop the listener
            log.exception("failed to answer a UDP query")

    def _serve_udp(self) -> None:
        while not self.stopping.is_set():
            try:
                packet, client = self.udp.recvfrom(65535)
            except OSError:
                if self.stopping.is_set():
                    return
                continue
            if len(packet) < w.HEADER.size:
                continue
            if self._local(packet):
                self._reply_udp(packet, client)
            elif self.pending.acquire(blocking=False):
                try:
                    self.pool.submit(self._forward_udp, packet, client)
                except RuntimeError:  # shut down meanwhile
                    self.pending.release()

    def _forward_udp(self, packet: bytes, client: tuple[Any, ...]) -> None:
        try:
            self._reply_udp(packet, client)
        finally:
            self.pending.release()

    def _local(self, packet: bytes) -> bool:
        """Whether the packet is answered without forwarding (cheap look at the name)."""
        try:
            query = w.decode(packet)
        except w.WireError:
            return True
        if not query.questions:
            return True
        return self.resolver.in_domain(query.questions[0].name.lower())

    def _serve_tcp(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _client = self.tcp.accept()
            except OSError:
                if self.stopping.is_set():
                    return
                continue
            threading.Thread(
                target=self._connection, args=(connection,), name="dns-tcp-conn", daemon=True
            ).start()

    def _connection(self, connection: socket.socket) -> None:
        with connection:
            timeout = TCP_READ_TIMEOUT
            for _ in range(TCP_MAX_QUERIES):
                try:
                    connection.settimeout(timeout)
                    size = struct.unpack("!H", _read_exact(connection, 2))[0]
                    packet = _read_exact(connection, size)
                except (OSError, struct.error):
                    return
                try:
                    answer = self.resolver.answer(packet, "tcp")
                except Exception:
                    log.exception("failed to answer a TCP query")
                    return
                if answer is None:
                    continue
                try:
                    connection.sendall(struct.pack("!H", len(answer)) + answer)
                except OSError:
                    return
                timeout = TCP_IDLE_TIMEOUT
