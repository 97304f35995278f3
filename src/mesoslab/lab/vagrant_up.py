"""Run a long Vagrant command (``vagrant up``) with live output and cancellation.

python-vagrant's streaming reads stdout only and can neither be cancelled nor time out, so
long runs use their own subprocess:

* ``VAGRANT_NO_COLOR=1``; stdout and stderr merged and read line by line; every line goes
  to ``on_line(machine, line)`` from the calling thread, ``machine`` being the machine named
  by Vagrant's ``==> name:`` / ``    name:`` prefix ("" for other lines);
* the process runs in its own session (process group), so cancelling reaches Vagrant and
  everything it started: SIGINT first (Vagrant then cleans up like after Ctrl-C in a
  terminal), SIGTERM after ``grace`` seconds, SIGKILL last; the group is gone when this
  returns or raises (also when ``on_line`` raises);
* a failure raises LabError naming the failing machine(s) with the last lines of output.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import io
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mesoslab.errors import LabCancelled, LabError

OnLine = Callable[[str, str], None]

TAIL_LINES = 10
_MACHINE_PREFIX = re.compile(r"^(?:==> |    )([A-Za-z0-9][A-Za-z0-9._-]*): ?(.*)$")
# "An error occurred while executing the action on the 'master1' machine."
_ERROR_MACHINE = re.compile(r"on the '([^']+)'\s+machine", re.IGNORECASE)
_POLL = 0.1
_AFTER_EXIT = 1.0  # seconds to read output still buffered after the process exited


def split_machine_line(line: str, machines: Iterable[str] | None = None) -> tuple[str, str]:
    """``(machine, message)`` of one Vagrant output line; machine is "" when none is named.

    With ``machines``, only those names count (so ``    Note: something`` is not taken for
    a machine called "Note").
    """
    match = _MACHINE_PREFIX.match(line)
    if match is None:
        return "", line
    name = match.group(1)
    if machines is not None and name not in set(machines):
        return "", line
    return name, match.group(2)


@dataclass
class UpOutcome:
    """What a finished run produced (for the error message and the tests)."""

    returncode: int
    lines: list[str] = field(default_factory=list)
    machines_seen: list[str] = field(default_factory=list)


def run_streaming(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    machines: Sequence[str],
    on_line: OnLine | None,
    cancel: threading.Event | None,
    grace: float = 30.0,
    term_grace: float = 5.0,
    keep: int = 400,
    on_start: Callable[[int], None] | None = None,
    action: str = "vagrant up",
) -> UpOutcome:
    """Run ``command`` and stream its lines; return when its whole process group is gone.

    Raises LabCancelled when ``cancel`` is set or the caller gets KeyboardInterrupt (after
    stopping the processes: SIGINT, ``grace`` seconds, SIGTERM, ``term_grace`` seconds,
    SIGKILL). ``on_start`` receives the process id (= its process group id).
    """
    proc = subprocess.Popen(
        list(command),
        cwd=str(cwd),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run = _Run(proc, machines, on_line, keep)
    if on_start is not None:
        on_start(proc.pid)
    try:
        finished = run.follow(cancel)
    except KeyboardInterrupt:
        finished = False
    except BaseException:  # on_line failed: never leave Vagrant running unwatched
        run.stop(grace, term_grace)
        raise
    if not finished:
        run.stop(grace, term_grace)
        hint = (
            "the lab may be half built: run `mesoslab up` again to finish it, or "
            "`mesoslab destroy` to remove it"
            if action == "vagrant up"
            else "nothing half-done was kept; run it again when you are ready"
        )
        raise LabCancelled(
            f"{action} was cancelled; it and every process it started were stopped",
            hint=hint,
            machines=tuple(run.seen),
            details=tuple(list(run.tail)[-TAIL_LINES:]),
        )
    _kill_group(proc.pid)  # whatever Vagrant left behind in its group
    run.reader.join(timeout=5)
    run.drain()
    return UpOutcome(returncode=proc.returncode, lines=list(run.tail), machines_seen=run.seen)


class _Run:
    """One running Vagrant process: its output queue, the lines kept, the machines seen."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        machines: Sequence[str],
        on_line: OnLine | None,
        keep: int,
    ) -> None:
        self.proc = proc
        self.machines = list(machines)
        self.on_line = on_line
        self.tail: collections.deque[str] = collections.deque(maxlen=keep)
        self.seen: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.eof = False
        self.reader = threading.Thread(
            target=_read_lines, args=(proc, self.lines), name=f"vagrant-{proc.pid}", daemon=True
        )
        self.reader.start()

    def follow(self, cancel: threading.Event | None) -> bool:
        """Hand lines to on_line until the process ends (True) or ``cancel`` is set."""
        exited_at: float | None = None
        while not self.eof:
            if cancel is not None and cancel.is_set():
                return False
            if exited_at is None and self.proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None and time.monotonic() - exited_at > _AFTER_EXIT:
                break  # a child still holds the output open; it is killed with the group
            try:
                line = self.lines.get(timeout=_POLL)
            except queue.Empty:
                continue
            self._dispatch(line)
        while self.proc.poll() is None:  # output closed; the exit status is on its way
            if cancel is not None and cancel.wait(_POLL):
                return False
        return True

    def drain(self) -> None:
        """Dispatch the lines already read (e.g. Vagrant's clean-up messages)."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                self._dispatch(line)

    def _dispatch(self, line: str | None) -> None:
        if line is None:
            self.eof = True
            return
        self.tail.append(line)
        machine, _ = split_machine_line(line, self.machines)
        if machine and machine not in self.seen:
            self.seen.append(machine)
        if self.on_line is not None:
            self.on_line(machine, line)

    def stop(self, grace: float, term_grace: float) -> None:
        """Stop the process and its group: SIGINT (Vagrant's graceful Ctrl-C) and up to
        ``grace`` seconds for Vagrant to clean up and exit, then SIGTERM, then SIGKILL for
        the process and whatever it left in its group."""
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, term_grace)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while self.proc.poll() is None and time.monotonic() < deadline:
                self.drain()
                time.sleep(_POLL)
        _kill_group(pgid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.reader.join(timeout=5)
        self.drain()


def _read_lines(proc: subprocess.Popen[bytes], out: queue.Queue[str | None]) -> None:
    """Reader thread: decode the child's output into lines (CR-separated progress too)."""
    assert proc.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    stream = proc.stdout
    assert isinstance(stream, io.BufferedReader)  # Popen(bufsize=-1) in binary mode
    try:
        while True:
            chunk = stream.read1(65536)
            if not chunk:
                break
            pending += decoder.decode(chunk)
            *complete, pending = re.split(r"\r\n|\n|\r", pending)
            for line in complete:
                if line.strip():
                    out.put(line.rstrip())
        pending += decoder.decode(b"", final=True)
        if pending.strip():
            out.put(pending.rstrip())
    except (OSError, ValueError):
        pass
    finally:
        out.put(None)
        with contextlib.suppress(OSError):
            stream.close()


def _kill_group(pgid: int, wait: float = 2.0) -> None:
    """SIGKILL every process left in the group and wait (briefly) until none runs."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        if not _group_running(pgid) or time.monotonic() >= deadline:
            return
        time.sleep(0.02)


def _group_running(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting for init to reap
    them do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def failure_error(
    outcome: UpOutcome, requested: Sequence[str], action: str = "vagrant up"
) -> LabError:
    """A LabError for a failed run: the failing machines and the last lines of output."""
    failing = failing_machines(outcome, requested)
    tail = tuple(outcome.lines[-TAIL_LINES:])
    where = f" on {', '.join(failing)}" if failing else ""
    last = "; its last lines follow" if tail else "; it printed nothing"
    return LabError(
        f"{action} failed{where} (exit status {outcome.returncode}){last}",
        hint="fix the problem shown, then run `mesoslab up` again (machines that are "
        "already up are kept)",
        machines=tuple(failing),
        details=tail,
    )


def failing_machines(outcome: UpOutcome, requested: Sequence[str]) -> list[str]:
    """The machines a failed run names: in Vagrant's error text, else the last one busy."""
    known = set(requested) | set(outcome.machines_seen)
    named: dict[str, None] = {}
    for line in outcome.lines:
        for match in _ERROR_MACHINE.finditer(line):
            if match.group(1) in known or not known:
                named.setdefault(match.group(1))
    if named:
        return list(named)
    for line in reversed(outcome.lines):
        machine, _ = split_machine_line(line, known or None)
        if machine:
            return [machine]
    return []
