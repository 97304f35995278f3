"""Delivering the outbox: batches POSTed to the class server, retried with exponential
backoff (with jitter) on a dropped network, a sleeping or restarting server or a 5xx.

One sender at a time per learner, by an ``flock`` on a lock file: the TUI runs one in a
background thread; a CLI command that queued an event starts a detached
``mesoslab class send`` when no sender holds the lock (a verify never waits for the
network: see :mod:`.emit`). Answers the server gives for good are final: stored and
duplicate ids are marked sent; an event it refuses as invalid (413/422) is set aside, never
resent; a refused token stops the sender until the learner joins again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from mesoslab.ops.classroom.membership import Membership
from mesoslab.ops.classroom.outbox import Outbox
from mesoslab.ops.classroom.paths import sender_lock_path

BATCH = 100
TIMEOUT = 5.0  # seconds for one POST
BASE_BACKOFF = 0.5
MAX_BACKOFF = 30.0
LINGER = 1.0  # an empty outbox is looked at again this long before a detached sender exits
DETACHED_LIFETIME = 3600.0  # a detached sender gives up after an hour; the next event restarts it


@dataclass
class Delivery:
    """What a drain did."""

    sent: int = 0
    rejected: int = 0
    error: str = ""  # the last error, if the outbox was not emptied
    fatal: bool = False  # the server refused the token: joining again is the only way on


@dataclass(frozen=True)
class Answer:
    sent: list[str]
    rejected: list[str]
    error: str = ""
    retry: bool = False  # worth trying again later (network, 5xx, 429)
    fatal: bool = False


LOCK_PATIENCE = 0.5  # how long a new sender tries for the lock before leaving it to another


@contextlib.contextmanager
def sender_lock(path: Path | None = None, *, patience: float = LOCK_PATIENCE) -> Iterator[bool]:
    """Hold the learner's sender lock (True), or not (False: another sender has it).

    Tried again for ``patience`` seconds: a :func:`lock_holder` probe (``class status``, a
    verify deciding whether to start a sender) holds the lock for an instant, and a sender
    starting in that instant must not take it for another sender and quit."""
    path = path or sender_lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        if not _flock(fh, fcntl.LOCK_EX, patience):
            yield False
            return
        _write_pid(fh)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _flock(fh: IO[str], mode: int, patience: float) -> bool:
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fh, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def _write_pid(fh: IO[str]) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()


def lock_holder(path: Path | None = None) -> int | None:
    """The pid of the running sender, if one holds the lock.

    Probes with a shared lock, which only a sender's exclusive one refuses: probes never
    turn each other away, and the pid file is a sender's alone."""
    path = path or sender_lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        if _flock(fh, fcntl.LOCK_SH, 0.0):
            fcntl.flock(fh, fcntl.LOCK_UN)
            return None
        fh.seek(0)
        try:
            return int(fh.read().split()[0])
        except (ValueError, IndexError):
            return None


class Sender:
    def __init__(
        self,
        member: Membership,
        outbox: Outbox,
        *,
        timeout: float = TIMEOUT,
        batch: int = BATCH,
        base_backoff: float = BASE_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        client: httpx.Client | None = None,
    ) -> None:
        self.member = member
        self.outbox = outbox
        self.batch = batch
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.client = client or httpx.Client(timeout=timeout, verify=tls_verify())

    def close(self) -> None:
        self.client.close()

    def post(self, bodies: list[tuple[str, str]]) -> Answer:
        """POST one batch; what the server's answer (or its silence) means for each id."""
        ids = [event_id for event_id, _ in bodies]
        payload = '{"events":[' + ",".join(body for _, body in bodies) + "]}"
        try:
            response = self.client.post(
                f"{self.member.url.rstrip('/')}/api/events",
                content=payload.encode(),
                headers={
                    "Authorization": f"Bearer {self.member.token}",
                    "Content-Type": "application/json",
                },
            )
        except httpx.HTTPError as exc:
            return Answer([], [], f"cannot reach {self.member.url}: {_reason(exc)}", retry=True)
        if response.status_code == 200:
            try:
                answer = response.json()
                done = set(answer["stored"]) | set(answer["duplicates"])
            except (ValueError, KeyError, TypeError):
                return Answer([], [], "the server's answer was not understood", retry=True)
            return Answer([i for i in ids if i in done], [])
        message = server_error(response)
        if response.status_code in (401, 403):
            return Answer(
                [],
                [],
                f"the class server refused your token ({message}): join again with "
                "`mesoslab class join`",
                fatal=True,
            )
        if response.status_code in (413, 422) and len(ids) == 1:
            return Answer([], ids, f"the server refused an event: {message}")
        if response.status_code in (413, 422):
            return Answer([], [], f"the server refused a batch: {message}")  # split it
        return Answer(
            [], [], f"the class server answered {response.status_code}: {message}", retry=True
        )

    def drain(
        self,
        *,
        deadline: float | None = None,
        stop: threading.Event | None = None,
        linger: float = 0.0,
    ) -> Delivery:
        """Send until the outbox is empty (and stays empty for ``linger`` s), ``deadline``
        (time.monotonic()) passes, ``stop`` is set or the token is refused."""
        result = Delivery()
        backoff = self.base_backoff
        size = self.batch
        idle_since: float | None = None
        while True:
            if stop is not None and stop.is_set():
                return result
            if deadline is not None and time.monotonic() >= deadline:
                return result
            bodies = self.outbox.pending(size)
            if not bodies:
                result.error = ""
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= linger:
                    return result
                _wait(stop, min(0.2, linger))
                continue
            idle_since = None
            self.outbox.attempted([i for i, _ in bodies])
            answer = self.post(bodies)
            self.outbox.sent(answer.sent)
            result.sent += len(answer.sent)
            if answer.rejected:
                self.outbox.rejected(answer.rejected, answer.error)
                result.rejected += len(answer.rejected)
            if answer.fatal:
                self.outbox.error(answer.error)
                result.error, result.fatal = answer.error, True
                return result
            if answer.sent or answer.rejected:
                backoff, size = self.base_backoff, self.batch
                continue
            if not answer.retry:  # a batch refused whole: find the bad event one by one
                size = 1
                continue
            self.outbox.error(answer.error)
            result.error = answer.error
            pause = backoff * random.uniform(0.8, 1.2)
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - time.monotonic()))
            _wait(stop, pause)
            backoff = min(backoff * 2, self.max_backoff)


def _wait(stop: threading.Event | None, seconds: float) -> None:
    if stop is not None:
        stop.wait(seconds)
    else:
        time.sleep(seconds)


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def server_error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))[:300] or response.reason_phrase
    except (ValueError, AttributeError):
        return response.reason_phrase


def tls_verify() -> bool | str:
    """A class served with a self-signed certificate: MESOSLAB_CLASS_CA names its CA file."""
    ca = os.environ.get("MESOSLAB_CLASS_CA")
    return ca if ca else True


def spawn_detached_sender() -> bool:
    """Start ``mesoslab class send --background`` on its own, unless a sender runs already.
    Never raises: a sender that cannot start leaves the events queued for the next one."""
    try:
        if lock_holder() is not None:
            return False
        subprocess.Popen(
            [sys.executable, "-m", "mesoslab", "class", "send", "--background"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the learner's terminal does not stop it
            close_fds=True,
        )
        return True
    except OSError:
        return False


class BackgroundSender:
    """The TUI's sender: a daemon thread that drains the outbox whenever it is nudged (and
    every ``poll`` seconds, for events other mesoslab commands queued), holding the sender
    lock only while it sends. On :meth:`stop` anything still queued is left to a detached
    sender, so closing the app loses nothing."""

    def __init__(self, *, poll: float = 2.0) -> None:
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mesoslab-class-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=TIMEOUT + 1)
        try:
            with Outbox() as box:
                queued = box.stats().queued
        except Exception:
            return
        if queued:
            spawn_detached_sender()

    def _run(self) -> None:
        from mesoslab.ops.classroom.membership import load_membership

        while not self._stop.is_set():
            member = load_membership()
            if member is not None:
                try:
                    with sender_lock() as mine, Outbox() as box:
                        if mine:
                            sender = Sender(member, box)
                            try:
                                sender.drain(stop=self._stop)
                            finally:
                                sender.close()
                except Exception:
                    pass
            self._wake.wait(self.poll)
            self._wake.clear()
