"""RecordIO, the framing of Mesos's streaming HTTP responses (docs/recordio.md).

Each record is its length in bytes as decimal text, a newline, and the record itself:
``<length>\\n<bytes>``; there is no separator after the record. The master's SUBSCRIBE
answer is such a stream of JSON-encoded ``Event`` messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_HEADER = 20  # digits: a length line longer than this is not RecordIO


class RecordIOError(ValueError):
    """The bytes are not RecordIO."""


def encode(record: bytes) -> bytes:
    return b"%d\n%s" % (len(record), record)


def encode_json(message: dict[str, Any]) -> bytes:
    """One JSON message as a record (compact, ASCII only: the length counts bytes)."""
    return encode(json.dumps(message, separators=(",", ":")).encode("ascii"))


class Decoder:
    """Feed bytes as they arrive; get the complete records back."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_HEADER:
                    raise RecordIOError(f"no record length in {self._buffer[:MAX_HEADER]!r}")
                return
            header = self._buffer[:newline]
            if not header.isdigit():
                raise RecordIOError(f"record length is not a number: {header[:MAX_HEADER]!r}")
            size = int(header)
            end = newline + 1 + size
            if len(self._buffer) < end:
                return
            record = self._buffer[newline + 1 : end]
            self._buffer = self._buffer[end:]
            yield record
