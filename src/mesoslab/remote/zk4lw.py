"""ZooKeeper four-letter words (``ruok``, ``srvr``, ``mntr``) over a raw socket, and parsers.

A four-letter word is sent on the client port; the server answers and closes the
connection. Every transport problem becomes a ProbeError with a one-line summary. The
parsers recognise the two answers that are not an error status but still mean "no data":
a word refused by the 3.5+ whitelist (``4lw.commands.whitelist``) and a server that is not
serving (no quorum). See reference/mesos-api-facts.md §2.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass

from mesoslab.remote.http import ProbeError

# Mode values printed by ``srvr`` / ``zk_server_state`` of ``mntr``.
SERVING_MODES = ("leader", "follower", "standalone", "observer")
NOT_SERVING_TEXT = "This ZooKeeper instance is not currently serving requests"

_MAX_ANSWER = 1 << 20  # a 4lw answer is a few KB; never buffer more than this
_REFUSED_RE = re.compile(
    r"^\s*(?P<word>[a-z]{4}) is not executed because it is not in the whitelist\.?", re.M
)
_MODE_RE = re.compile(r"^Mode:\s*(?P<mode>\S+)\s*$", re.M)
_VERSION_RE = re.compile(r"^Zookeeper version:\s*(?P<version>[^,\n]+)", re.M | re.I)
_ZXID_RE = re.compile(r"^Zxid:\s*(?P<zxid>0x[0-9a-fA-F]+|\d+)\s*$", re.M)
_NODE_COUNT_RE = re.compile(r"^Node count:\s*(?P<n>\d+)\s*$", re.M)
_LATENCY_RE = re.compile(r"^Latency min/avg/max:\s*(?P<latency>\S+)\s*$", re.M)
_INT_LINE = r"^{key}:\s*(?P<n>\d+)\s*$"


class FourLetterRefused(ProbeError):
    """The server refused a four-letter word because of ``4lw.commands.whitelist``."""

    def __init__(self, word: str, where: str = "") -> None:
        at = f" on {where}" if where else ""
        super().__init__(
            f"ZooKeeper{at} refused {word!r}: it is not in 4lw.commands.whitelist "
            "(ZooKeeper 3.5+ enables only srvr by default)",
            f"{word} is not executed because it is not in the whitelist",
        )
        self.word = word


class NotServing(ProbeError):
    """The server is up but does not serve requests (it has not joined a quorum)."""

    def __init__(self, where: str = "") -> None:
        at = f" on {where}" if where else ""
        super().__init__(
            f"ZooKeeper{at} is running but not serving requests: it has not joined a quorum "
            "(are a majority of the ensemble's servers up, with matching server.N lines?)",
            "not currently serving requests",
        )


class UnexpectedAnswer(ProbeError):
    """The answer is not what the word produces (wrong port, or not ZooKeeper)."""

    def __init__(self, word: str, text: str, where: str = "") -> None:
        at = f" on {where}" if where else ""
        shown = snippet(text) or "(empty)"
        super().__init__(
            f"unexpected answer to {word!r}{at}: {shown} (is this port ZooKeeper's client port?)",
            shown,
        )


@dataclass(frozen=True)
class SrvrInfo:
    """What ``srvr`` says about one server."""

    version: str  # e.g. "3.8.0-${mvngit.commit.id}" or "3.4.14-4c25d480..."
    mode: str  # leader, follower, standalone, observer, read-only
    zxid: int | None = None
    node_count: int | None = None
    latency: str = ""  # "min/avg/max" as printed
    received: int | None = None
    sent: int | None = None
    connections: int | None = None
    outstanding: int | None = None

    @property
    def serving(self) -> bool:
        return self.mode in SERVING_MODES

    @property
    def short_version(self) -> str:
        """The release number alone: ``3.8.0`` from ``3.8.0-${mvngit.commit.id}``."""
        match = re.match(r"\d+(\.\d+)*", self.version)
        return match.group(0) if match else self.version


def address_label(host: str, port: int) -> str:
    """``host:port``, with brackets for an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def send_4lw(host: str, port: int, word: str, timeout: float) -> str:
    """Send ``word`` to ZooKeeper at ``host:port`` and return the whole answer.

    The answer is read until the server closes the connection; the whole exchange is
    bounded by ``timeout`` seconds. Raises ProbeError with a precise summary when the
    server cannot be reached, does not answer in time or closes without answering.
    """
    where = address_label(host, port)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise ProbeError(
            f"cannot connect to ZooKeeper at {where}: connection refused "
            "(is zookeeper running and listening on that address and port?)",
            "connection refused",
            answered=False,
        ) from None
    except TimeoutError:
        raise ProbeError(
            f"no answer from ZooKeeper at {where} within {timeout:.1f}s "
            "(host down or unreachable, or a firewall dropping packets?)",
            "connect timeout",
            answered=False,
        ) from None
    except socket.gaierror:
        raise ProbeError(
            f"cannot connect to ZooKeeper at {where}: host name does not resolve",
            "host name does not resolve",
            answered=False,
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc) or exc.__class__.__name__
        raise ProbeError(
            f"cannot connect to ZooKeeper at {where}: {reason}", reason, answered=False
        ) from None
    chunks: list[bytes] = []
    size = 0
    try:
        sock.sendall(word.encode("ascii"))
        while size < _MAX_ANSWER:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except TimeoutError:
        got = b"".join(chunks).decode("utf-8", "replace")
        raise ProbeError(
            f"ZooKeeper at {where} accepted the connection but did not finish answering "
            f"{word!r} within {timeout:.1f}s"
            + (f" (partial answer: {snippet(got)})" if got else ""),
            "read timeout",
            answered=False,
        ) from None
    except OSError as exc:
        if not chunks:  # a reset after a complete answer is harmless; before it is not
            reason = exc.strerror or str(exc) or exc.__class__.__name__
            raise ProbeError(
                f"ZooKeeper at {where} dropped the connection before answering {word!r}: {reason}",
                reason,
                answered=False,
            ) from None
    finally:
        sock.close()
    text = b"".join(chunks).decode("utf-8", "replace")
    if not text.strip():
        raise ProbeError(
            f"ZooKeeper at {where} closed the connection without answering {word!r} "
            "(a ZooKeeper older than 3.4, or not ZooKeeper on that port?)",
            "closed without answer",
        )
    return text


def refused_word(text: str) -> str | None:
    """The word a whitelist refusal names, or None when ``text`` is not a refusal."""
    match = _REFUSED_RE.search(text)
    return match.group("word") if match else None


def is_not_serving(text: str) -> bool:
    return NOT_SERVING_TEXT in text


def check_answer(word: str, text: str, where: str = "") -> None:
    """Raise FourLetterRefused or NotServing when ``text`` is one of those answers."""
    refused = refused_word(text)
    if refused is not None:
        raise FourLetterRefused(refused, where)
    if is_not_serving(text):
        raise NotServing(where)


def parse_srvr(text: str, where: str = "") -> SrvrInfo:
    """Parse the answer to ``srvr`` (or ``stat``); lines are found by name, not position."""
    check_answer("srvr", text, where)
    mode = _MODE_RE.search(text)
    if mode is None:
        raise UnexpectedAnswer("srvr", text, where)
    version = _VERSION_RE.search(text)
    zxid = _ZXID_RE.search(text)
    node_count = _NODE_COUNT_RE.search(text)
    latency = _LATENCY_RE.search(text)
    return SrvrInfo(
        version=version.group("version").strip() if version else "",
        mode=mode.group("mode"),
        zxid=int(zxid.group("zxid"), 0) if zxid else None,
        node_count=int(node_count.group("n")) if node_count else None,
        latency=latency.group("latency") if latency else "",
        received=_int_line(text, "Received"),
        sent=_int_line(text, "Sent"),
        connections=_int_line(text, "Connections"),
        outstanding=_int_line(text, "Outstanding"),
    )


def parse_mntr(text: str, where: str = "") -> dict[str, str]:
    """Parse the answer to ``mntr``: ``zk_<key>\\t<value>`` lines into ``{key: value}``.

    Keys keep their ``zk_`` prefix (``zk_server_state``); values stay text (3.5+ prints
    some as floats), so callers convert what they compare.
    """
    check_answer("mntr", text, where)
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        key, sep, value = line.partition("\t")
        if not sep:
            key, _, value = line.partition(" ")
        if key.startswith("zk_"):
            out[key] = value.strip()
    if not out:
        raise UnexpectedAnswer("mntr", text, where)
    return out


def snippet(text: str, limit: int = 120) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _int_line(text: str, key: str) -> int | None:
    match = re.search(_INT_LINE.format(key=re.escape(key)), text, re.M)
    return int(match.group("n")) if match else None
