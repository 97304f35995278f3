"""The learner's outbox: every event is written here (SQLite, WAL, synchronous=FULL)
before anyone tries to send it, so a killed mesoslab, a dropped network or a restarted
server loses nothing. An event leaves the outbox only when the server has answered for it
(stored, or already had it); a resend after a lost answer carries the same id.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mesoslab.ops.classroom.events import Event, now_iso
from mesoslab.ops.classroom.paths import outbox_path

KEEP_SENT = 2000  # sent events kept for `class status` history; older ones are pruned


@dataclass(frozen=True)
class OutboxStats:
    queued: int
    sent: int
    rejected: int
    last_error: str
    last_sent_at: str
    last_attempt_at: str


class Outbox:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or outbox_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")  # a queued event survives a power cut
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, queued_at TEXT NOT NULL, "
            "sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, rejected TEXT)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, event: Event) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (id, body, queued_at) VALUES (?, ?, ?)",
            (event.id, event.dumps(), now_iso()),
        )

    def pending(self, limit: int) -> list[tuple[str, str]]:
        """(id, JSON body) of the oldest events not sent yet."""
        rows = self._db.execute(
            "SELECT id, body FROM outbox WHERE sent_at IS NULL AND rejected IS NULL "
            "ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def attempted(self, ids: list[str]) -> None:
        self._in(ids, "UPDATE outbox SET attempts = attempts + 1 WHERE id IN ({})")
        self._set("last_attempt_at", now_iso())

    def sent(self, ids: list[str]) -> None:
        now = now_iso()
        self._in(ids, "UPDATE outbox SET sent_at = ? WHERE id IN ({})", now)
        self._set("last_sent_at", now)
        self._set("last_error", "")
        self._db.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND seq <= "
            "(SELECT seq FROM outbox WHERE sent_at IS NOT NULL ORDER BY seq DESC "
            "LIMIT 1 OFFSET ?)",
            (KEEP_SENT,),
        )

    def rejected(self, ids: list[str], reason: str) -> None:
        """The server refused these for good (it will refuse them again): keep, never resend."""
        self._in(ids, "UPDATE outbox SET rejected = ? WHERE id IN ({})", reason)

    def error(self, text: str) -> None:
        self._set("last_error", text)

    def stats(self) -> OutboxStats:
        queued, sent, rejected = self._db.execute(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL AND rejected IS NULL), "
            "count(*) FILTER (WHERE sent_at IS NOT NULL), "
            "count(*) FILTER (WHERE rejected IS NOT NULL) FROM outbox"
        ).fetchone()
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        return OutboxStats(
            queued,
            sent,
            rejected,
            meta.get("last_error", ""),
            meta.get("last_sent_at", ""),
            meta.get("last_attempt_at", ""),
        )

    def _in(self, ids: list[str], sql: str, *first: str) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            self._db.execute(sql.format(marks), (*first, *ids))

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def remove_outbox(path: Path | None = None) -> None:
    path = path or outbox_path()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
