"""How a Mesos process names itself: the address it advertises (``--advertise_ip``, ``--ip``
or its resolved hostname, as libprocess does), that address as MasterInfo's ``ip`` integer,
and the fixed build time both master and agent report."""

from __future__ import annotations

import socket
import struct

BUILD_TIME = 1546300800.0  # a fixed "build" time; the twin is not a build of Mesos


def ip_as_uint32(ip: str) -> int:
    """MasterInfo.ip: the IPv4 address in network byte order read as a host integer."""
    try:
        return int(struct.unpack("<I", socket.inet_aton(ip))[0])
    except OSError:
        return 0


def advertised_ip(flags: dict[str, str], hostname: str) -> str:
    for key in ("advertise_ip", "ip"):
        value = flags.get(key, "")
        if value and value != "0.0.0.0":
            return value
    try:
        return socket.gethostbyname(hostname)
    except OSError:
        return "127.0.0.1"


def hostname_of(ip: str) -> str:
    """MasterInfo.hostname without ``--hostname``: a reverse lookup of the advertised address
    (``net::getHostname(ip)``, MESOS@1.4.0 ``src/master/master.cpp`` L334-350), falling back
    to the address itself when nothing resolves it (where Mesos would abort)."""
    try:
        return socket.gethostbyaddr(ip)[0]
    except OSError:
        return ip
