"""The instructor's class database: one SQLite file (WAL) under $XDG_DATA_HOME/mesoslab.

The schema is versioned with ``PRAGMA user_version`` and brought up to date by
:data:`MIGRATIONS` when the file is opened (each migration in its own transaction, so a
crash leaves the file at the last complete version). Version 1: the class, its learners and
their events. Version 2: each learner's step outcomes and position, kept beside the events
so the dashboard never replays history (filled from the events already stored).

Learner tokens are kept only as SHA-256 digests; an event is stored once per (learner, id),
so a replayed or resent event is a duplicate and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mesoslab.errors import ClassroomError
from mesoslab.ops.classroom.events import Event

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class ClassInfo:
    name: str
    code: str
    code_open: bool
    instructor_token: str


@dataclass(frozen=True)
class Learner:
    id: int
    name: str


@dataclass(frozen=True)
class Accepted:
    """What became of a posted batch: ids stored now, ids the server already had."""

    stored: list[str]
    duplicates: list[str]


class JoinRefused(Exception):
    """A join the server says no to; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_code() -> str:
    """A class code people can read off a projector and type: no 0/O, 1/I/L."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(6))


# ------------------------------------------------------------------ schema and migrations


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run each statement of ``sql`` inside the open transaction (``executescript`` would
    commit it first)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE learners (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_sha256 TEXT NOT NULL UNIQUE,
            joined_at TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            left_at TEXT
        );
        CREATE TABLE events (
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            id TEXT NOT NULL,
            kind TEXT NOT NULL,
            at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            lesson TEXT,
            step INTEGER,
            body TEXT NOT NULL,
            PRIMARY KEY (learner_id, id)
        );
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE step_status (
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            lesson TEXT NOT NULL,
            step INTEGER NOT NULL,
            status TEXT NOT NULL,
            verified_at TEXT NOT NULL,
            fail_count INTEGER NOT NULL DEFAULT 0,
            failing_since TEXT,
            failing_check TEXT,
            last_fail TEXT,
            PRIMARY KEY (learner_id, lesson, step)
        );
        ALTER TABLE learners ADD COLUMN lesson TEXT;
        ALTER TABLE learners ADD COLUMN step INTEGER;
        """,
    )
    rows = db.execute(
        "SELECT learner_id, received_at, body FROM events ORDER BY received_at, rowid"
    ).fetchall()
    for learner_id, received_at, body in rows:
        _apply(db, learner_id, json.loads(body), received_at)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]
assert len(MIGRATIONS) == SCHEMA_VERSION


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; the version it was at before."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found > SCHEMA_VERSION:
        raise ClassroomError(
            f"the class database is of a newer mesoslab (schema {found}, this one knows "
            f"{SCHEMA_VERSION})",
            hint="upgrade mesoslab, or point XDG_DATA_HOME elsewhere for a new class",
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        with db:  # one transaction per migration
            db.execute("BEGIN")
            MIGRATIONS[version - 1](db)
            db.execute(f"PRAGMA user_version = {version}")
    return int(found)


def _apply(db: sqlite3.Connection, learner_id: int, event: dict[str, Any], received: str) -> None:
    """What one stored event changes in a learner's step outcomes and position."""
    lesson, step, kind = event.get("lesson"), event.get("step"), event["kind"]
    if kind == "verify" and step is None and event["data"]["steps"]:
        # a whole-lesson verify: the learner is at its first failing step (else its last)
        steps = event["data"]["steps"]
        failing = [s["step"] for s in steps if s["status"] == "fail"]
        step = min(failing) if failing else max(s["step"] for s in steps)
    if lesson is not None and step is not None:
        db.execute(
            "UPDATE learners SET lesson = ?, step = ? WHERE id = ?", (lesson, step, learner_id)
        )
    if kind != "verify" or lesson is None:
        return
    for s in event["data"]["steps"]:
        number, status = s["step"], s["status"]
        old = db.execute(
            "SELECT fail_count, failing_since, failing_check FROM step_status "
            "WHERE learner_id = ? AND lesson = ? AND step = ?",
            (learner_id, lesson, number),
        ).fetchone()
        if status != "fail":
            db.execute(
                "INSERT OR REPLACE INTO step_status (learner_id, lesson, step, status, "
                "verified_at, fail_count) VALUES (?, ?, ?, ?, ?, 0)",
                (learner_id, lesson, number, status, received),
            )
            continue
        failed = [c for c in s["checks"] if c["status"] == "fail"]
        check = f"{failed[0]['kind']} [{failed[0]['node']}]" if failed else ""
        count, since = 1, received
        if old is not None and old[0] > 0 and old[2] == check:
            count, since = old[0] + 1, old[1]  # the same check failing again
        db.execute(
            "INSERT OR REPLACE INTO step_status (learner_id, lesson, step, status, verified_at, "
            "fail_count, failing_since, failing_check, last_fail) "
            "VALUES (?, ?, ?, 'fail', ?, ?, ?, ?, ?)",
            (learner_id, lesson, number, received, count, since, check, json.dumps(failed)),
        )


# ------------------------------------------------------------------ the store


class ClassStore:
    """The class database. Thread-safe: one connection behind a lock (SQLite serialises
    writers anyway, and every operation here is a short transaction)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if fresh:
                os.chmod(path, 0o600)  # it holds the instructor's token
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA foreign_keys = ON")
            migrate(self._db)
        except sqlite3.DatabaseError as exc:
            raise ClassroomError(
                f"cannot open the class database {path}: {exc}",
                hint="move the file aside to start a new class",
            ) from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def _set_meta(self, items: dict[str, str]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", items.items()
            )

    # -- the class

    def ensure_class(self, name: str | None = None) -> ClassInfo:
        """The class in this file, made on first use (code and instructor token drawn);
        ``name`` renames it."""
        if self._meta("instructor_token") is None:
            self._set_meta(
                {
                    "name": name or "mesoslab workshop",
                    "code": new_code(),
                    "code_open": "1",
                    "instructor_token": secrets.token_urlsafe(24),
                    "created_at": now_iso(),
                }
            )
        elif name:
            self._set_meta({"name": name})
        return self.info()

    def info(self) -> ClassInfo:
        token = self._meta("instructor_token")
        if token is None:
            raise ClassroomError(
                f"no class in {self.path} yet", hint="start one with `mesoslab class serve`"
            )
        return ClassInfo(
            self._meta("name") or "",
            self._meta("code") or "",
            self._meta("code_open") == "1",
            token,
        )

    def rotate_code(self) -> str:
        code = new_code()
        self._set_meta({"code": code, "code_open": "1"})
        return code

    def set_code_open(self, is_open: bool) -> None:
        self._set_meta({"code_open": "1" if is_open else "0"})

    # -- learners

    def join(self, code: str, name: str) -> tuple[Learner, str]:
        """Register ``name`` with the class code; the learner and its token (shown once)."""
        info = self.info()
        if not info.code_open:
            raise JoinRefused(403, "the class is closed to new learners: ask the instructor")
        if not secrets.compare_digest(code.strip().upper(), info.code):
            raise JoinRefused(403, "wrong class code: check the join line the instructor shows")
        token = secrets.token_urlsafe(32)
        now = now_iso()
        with self._lock, self._db:
            self._db.execute("BEGIN")
            taken = self._db.execute(
                "SELECT left_at FROM learners WHERE name = ?", (name,)
            ).fetchone()
            if taken is not None and taken[0] is None:
                raise JoinRefused(409, f"the name {name!r} is taken in this class: choose another")
            if taken is not None:  # someone who left joins again under the same name
                self._db.execute(
                    "UPDATE learners SET token_sha256 = ?, left_at = NULL, last_seen = ? "
                    "WHERE name = ?",
                    (token_digest(token), now, name),
                )
            else:
                self._db.execute(
                    "INSERT INTO learners (name, token_sha256, joined_at, last_seen) "
                    "VALUES (?, ?, ?, ?)",
                    (name, token_digest(token), now, now),
                )
            (learner_id,) = self._db.execute(
                "SELECT id FROM learners WHERE name = ?", (name,)
            ).fetchone()
        return Learner(learner_id, name), token

    def learner_for_token(self, token: str) -> Learner | None:
        rows = self._query(
            "SELECT id, name FROM learners WHERE token_sha256 = ? AND left_at IS NULL",
            (token_digest(token),),
        )
        return Learner(rows[0][0], rows[0][1]) if rows else None

    def leave(self, learner: Learner) -> None:
        """The learner's token stops working; what it sent stays for the report."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE learners SET left_at = ? WHERE id = ?", (now_iso(), learner.id)
            )

    # -- events

    def add_events(self, learner: Learner, events: list[Event]) -> Accepted:
        """Store the events not stored before (by id) and apply them, in one transaction."""
        stored: list[str] = []
        duplicates: list[str] = []
        received = now_iso()
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for event in events:
                body = event.to_json()
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO events (learner_id, id, kind, at, received_at, "
                    "lesson, step, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        learner.id,
                        event.id,
                        event.kind,
                        event.at,
                        received,
                        event.lesson,
                        event.step,
                        json.dumps(body, separators=(",", ":")),
                    ),
                )
                if cursor.rowcount == 0:
                    duplicates.append(event.id)
                    continue
                stored.append(event.id)
                _apply(self._db, learner.id, body, received)
            self._db.execute(
                "UPDATE learners SET last_seen = ? WHERE id = ?", (received, learner.id)
            )
        return Accepted(stored, duplicates)

    def event_count(self, learner_name: str | None = None) -> int:
        if learner_name is None:
            return int(self._query("SELECT count(*) FROM events")[0][0])
        return int(
            self._query(
                "SELECT count(*) FROM events JOIN learners ON learners.id = learner_id "
                "WHERE learners.name = ?",
                (learner_name,),
            )[0][0]
        )

    def event_ids(self, learner_name: str) -> list[str]:
        rows = self._query(
            "SELECT events.id FROM events JOIN learners ON learners.id = learner_id "
            "WHERE learners.name = ? ORDER BY events.rowid",
            (learner_name,),
        )
        return [r[0] for r in rows]

    def data_version(self) -> int:
        """Changes when another connection commits (the TUI polls this)."""
        return int(self._query("PRAGMA data_version")[0][0])

    # -- what the views read

    def learner_rows(self, learner_id: int | None = None) -> list[tuple[Any, ...]]:
        """(id, name, joined_at, last_seen, left_at, lesson, step) of every learner (or one)."""
        sql = "SELECT id, name, joined_at, last_seen, left_at, lesson, step FROM learners"
        if learner_id is not None:
            return self._query(sql + " WHERE id = ?", (learner_id,))
        return self._query(sql + " ORDER BY name COLLATE NOCASE")

    def step_rows(self, learner_id: int | None = None) -> list[tuple[Any, ...]]:
        """(learner_id, lesson, step, status, verified_at, fail_count, failing_since,
        last_fail) of every step outcome (of one learner)."""
        sql = (
            "SELECT learner_id, lesson, step, status, verified_at, fail_count, failing_since, "
            "last_fail FROM step_status"
        )
        if learner_id is None:
            return self._query(sql)
        return self._query(sql + " WHERE learner_id = ?", (learner_id,))

    def last_events(self, learner_id: int, limit: int = 5) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT body, received_at FROM events WHERE learner_id = ? ORDER BY rowid DESC LIMIT ?",
            (learner_id, limit),
        )
        return [{**json.loads(body), "received_at": received} for body, received in rows]
