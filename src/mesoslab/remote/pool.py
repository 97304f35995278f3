"""SSH to lab nodes with paramiko: one client per (host, port, user), reused by every thread.

How a command travels (the checks and the provisioner only say *what* to run):

* the first command for a node connects with the node's key (``[node.ssh]``); later commands
  open a new channel on the same connection; a connection found dead before a command starts
  is rebuilt once;
* output is read while the command runs (stdout and stderr combined, as in a terminal) and
  handed line by line to ``on_output``, so a command that prints megabytes never blocks;
* every wait is bounded by the command's timeout: on expiry the channel is closed and the
  result says ``timed_out`` with the output so far (without a terminal, sshd does not signal
  the command, so it may run on until it next writes output or ends by itself);
* a caller can stop waiting: when the ``cancel`` event it passes is set, the channel is
  closed within a quarter of a second and the result says ``cancelled`` with the output so
  far (the command on the node is not signalled either, as on a timeout); so is a connect
  in progress (the TCP connect is polled, the SSH handshake's socket is shut down), and a
  wait for another thread's connect;
* connects are bounded too (TCP, banner and login each by the time left, at most 15 s),
  and threads waiting for the same node share one connect attempt and its failure;
* a connection that dies while a command runs raises :class:`ConnectionDropped`; the command
  is never re-run because it may already have changed the node.

Lab host keys change whenever a machine is rebuilt, so they are accepted and kept in memory
only; the user's ``~/.ssh/known_hosts`` is neither read nor written.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paramiko

from mesoslab.errors import ConnectionDropped, RemoteCommandError, RemoteError
from mesoslab.lab.inventory import Node, SshTarget
from mesoslab.remote.result import CommandResult
from mesoslab.remote.shell import read_command, wrap_sudo, write_command

log = logging.getLogger(__name__)

# OpenSSH allows 10 sessions per connection (MaxSessions); stay below it.
MAX_CHANNELS_PER_CONNECTION = 8
_CONNECT_CAP = 15.0  # seconds; a connect never waits longer, whatever the command timeout
_KEEPALIVE = 15  # seconds between keepalives on an idle connection
_TICK = 0.25  # longest single wait for output, so deadlines are noticed
_CHUNK = 65536

_Key = tuple[str, int, str, tuple[str, ...]]


class _InMemoryHostKeys(paramiko.MissingHostKeyPolicy):
    """Accept a lab machine's host key and remember it for this connection only."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.debug("accepted host key %s %s for %s", key.get_name(), key.fingerprint, hostname)


@dataclass
class _Connection:
    """One SSH connection (rebuilt when it dies) and the channel slots it has."""

    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: paramiko.SSHClient | None = None
    # The last failed connect (when it ended, why): threads that waited for that attempt
    # get its answer instead of queueing up one connect timeout after another.
    failure: tuple[float, RemoteError] | None = None


class _Cancelled(Exception):
    """The caller's cancel event was set while connecting (not an error to report)."""


@dataclass
class _Raw:
    """What one exec produced, before it is turned into a CommandResult."""

    stdout: bytes
    stderr: bytes
    exit_status: int
    timed_out: bool
    elapsed_s: float
    cancelled: bool = False


class SshPool:
    """Thread-safe SSH clients for the nodes of a lab, created on first use."""

    def __init__(self, *, max_channels: int = MAX_CHANNELS_PER_CONNECTION) -> None:
        self._max_channels = max_channels
        self._lock = threading.Lock()
        self._connections: dict[_Key, _Connection] = {}

    # ------------------------------------------------------------------ public API

    def run(
        self,
        node: Node,
        command: str,
        *,
        sudo: bool = False,
        timeout: float = 30.0,
        on_output: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> CommandResult:
        """Run ``command`` on ``node`` and return its combined output and exit status.

        ``on_output`` receives each line (without its newline) as it arrives, from the
        calling thread. When ``cancel`` is set (before or while the command runs) the
        result comes back at once with ``cancelled`` and the output so far; a command not
        started yet is not started. Raises RemoteError when the node cannot be reached,
        and ConnectionDropped when the connection dies while the command runs.
        """
        target = _target(node)
        remote = wrap_sudo(command, target.user) if sudo else command
        raw = self._exec(
            node,
            target,
            remote,
            timeout=timeout,
            combine=True,
            on_output=on_output,
            shown=command,
            cancel=cancel,
        )
        return CommandResult(
            command=command,
            exit_status=raw.exit_status,
            output=raw.stdout.decode("utf-8", "replace"),
            node=node.name,
            host=_where(target),
            elapsed_s=raw.elapsed_s,
            timed_out=raw.timed_out,
            cancelled=raw.cancelled,
        )

    def read_file(
        self, node: Node, path: str, *, sudo: bool = False, timeout: float = 30.0
    ) -> bytes:
        """The bytes of ``path`` on ``node``; RemoteCommandError when it cannot be read."""
        target = _target(node)
        command = read_command(path)
        remote = wrap_sudo(command, target.user) if sudo else command
        raw = self._exec(node, target, remote, timeout=timeout, combine=False, shown=command)
        if raw.timed_out:
            raise RemoteError(
                f"reading {path} on {node.name} ({_where(target)}) did not finish within "
                f"{timeout:.1f}s"
            )
        if raw.exit_status != 0:
            reason = _last_line(raw.stderr) or f"exit status {raw.exit_status}"
            raise RemoteCommandError(
                f"cannot read {path} on {node.name}: {reason}",
                exit_status=raw.exit_status,
                stderr=raw.stderr.decode("utf-8", "replace"),
            )
        return raw.stdout

    def put_file(
        self,
        node: Node,
        path: str,
        content: bytes,
        mode: int = 0o644,
        *,
        sudo: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """Write ``content`` to ``path`` on ``node`` atomically, with permissions ``mode``."""
        target = _target(node)
        command = write_command(path, mode)
        remote = wrap_sudo(command, target.user) if sudo else command
        raw = self._exec(
            node,
            target,
            remote,
            timeout=timeout,
            combine=False,
            stdin=content,
            shown=f"write {path}",
        )
        if raw.timed_out:
            raise RemoteError(
                f"writing {path} on {node.name} ({_where(target)}) did not finish within "
                f"{timeout:.1f}s"
            )
        if raw.exit_status != 0:
            reason = _last_line(raw.stderr) or f"exit status {raw.exit_status}"
            raise RemoteCommandError(
                f"cannot write {path} on {node.name}: {reason}",
                exit_status=raw.exit_status,
                stderr=raw.stderr.decode("utf-8", "replace"),
                hint="" if sudo else "writing outside the login user's files needs sudo",
            )

    def close(self) -> None:
        """Close every connection (the pool can still be used afterwards: it reconnects)."""
        with self._lock:
            connections = list(self._connections.values())
            self._connections.clear()
        for conn in connections:
            with conn.lock:
                if conn.client is not None:
                    conn.client.close()
                    conn.client = None

    def __enter__(self) -> SshPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connections

    def _connection(self, target: SshTarget) -> _Connection:
        # One connection per login: host, port, user (and the keys offered for it).
        key = (target.host, target.port, target.user, (target.key or "", *target.extra_keys))
        with self._lock:
            conn = self._connections.get(key)
            if conn is None:
                conn = _Connection(slots=threading.BoundedSemaphore(self._max_channels))
                self._connections[key] = conn
            return conn

    def _transport(
        self,
        node: Node,
        target: SshTarget,
        conn: _Connection,
        deadline: float,
        cancel: threading.Event | None,
        stale: paramiko.Transport | None = None,
    ) -> paramiko.Transport:
        """A live transport for ``conn``: the cached one, or a new connection.

        ``stale`` is a transport that just failed: replace it unless another thread
        already has. Raises _Cancelled when ``cancel`` is set while connecting or waiting.
        """
        asked = time.monotonic()
        if not _take(conn.lock, deadline, cancel):
            raise RemoteError(
                f"no SSH connection to {node.name} ({_where(target)}) within "
                f"{max(0.0, deadline - asked):.1f}s: an earlier connection attempt is still "
                "waiting for an answer",
                hint="is the machine up and reachable?",
            )
        try:
            client = conn.client
            transport = client.get_transport() if client is not None else None
            if transport is not None and transport.is_active() and transport is not stale:
                return transport
            if conn.failure is not None and conn.failure[0] >= asked:
                failed = conn.failure[1]  # the attempt this thread waited for failed
                raise RemoteError(failed.message, hint=failed.hint)
            if client is not None:
                client.close()
            conn.client = None
            try:
                conn.client = _connect(node, target, deadline, cancel)
            except RemoteError as exc:
                conn.failure = (time.monotonic(), exc)
                raise  # (a cancelled attempt is no failure: the next waiter tries itself)
            conn.failure = None
            transport = conn.client.get_transport()
            assert transport is not None
            return transport
        finally:
            conn.lock.release()

    def _open_channel(
        self,
        node: Node,
        target: SshTarget,
        conn: _Connection,
        deadline: float,
        cancel: threading.Event | None,
    ) -> tuple[paramiko.Transport, paramiko.Channel]:
        transport = self._transport(node, target, conn, deadline, cancel)
        try:
            return transport, transport.open_session(timeout=_bounded(deadline))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            # The cached connection died between commands (machine rebooted, network
            # blip). Nothing ran yet, so reconnecting once and retrying is safe.
            log.debug("reconnecting to %s after %r", node.name, exc)
        transport = self._transport(node, target, conn, deadline, cancel, stale=transport)
        try:
            return transport, transport.open_session(timeout=_bounded(deadline))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise RemoteError(
                f"{node.name} ({_where(target)}) accepted the SSH login but refused to start "
                f"a command: {exc or exc.__class__.__name__}",
                hint="is the node overloaded or shutting down? try again",
            ) from None

    # ------------------------------------------------------------------ one command

    def _exec(
        self,
        node: Node,
        target: SshTarget,
        command: str,
        *,
        timeout: float,
        combine: bool,
        shown: str,
        on_output: Callable[[str], None] | None = None,
        stdin: bytes | None = None,
        cancel: threading.Event | None = None,
    ) -> _Raw:
        start = time.monotonic()
        deadline = start + timeout
        conn = self._connection(target)

        def nothing_ran(*, timed_out: bool) -> _Raw:
            elapsed = time.monotonic() - start
            return _Raw(b"", b"", -1, timed_out, elapsed, cancelled=not timed_out)

        try:
            if not _take(conn.slots, deadline, cancel):
                return nothing_ran(timed_out=True)  # every channel stayed busy
        except _Cancelled:
            return nothing_ran(timed_out=False)
        try:
            try:
                transport, chan = self._open_channel(node, target, conn, deadline, cancel)
            except _Cancelled:
                return nothing_ran(timed_out=False)
            try:
                return self._drive(
                    node,
                    target,
                    transport,
                    chan,
                    command,
                    shown=shown,
                    combine=combine,
                    on_output=on_output,
                    stdin=stdin,
                    start=start,
                    deadline=deadline,
                    cancel=cancel,
                )
            finally:
                chan.close()
        finally:
            conn.slots.release()

    def _drive(
        self,
        node: Node,
        target: SshTarget,
        transport: paramiko.Transport,
        chan: paramiko.Channel,
        command: str,
        *,
        shown: str,
        combine: bool,
        on_output: Callable[[str], None] | None,
        stdin: bytes | None,
        start: float,
        deadline: float,
        cancel: threading.Event | None = None,
    ) -> _Raw:
        out = bytearray()
        err = bytearray()
        lines = _LineSplitter(on_output) if on_output is not None else None
        timed_out = False
        stopped = False  # the caller's cancel event was set

        def cancelled() -> bool:
            return cancel is not None and cancel.is_set()

        def dropped() -> ConnectionDropped:
            partial = CommandResult(
                command=shown,
                exit_status=-1,
                output=bytes(out + err).decode("utf-8", "replace"),
                node=node.name,
                host=_where(target),
                elapsed_s=time.monotonic() - start,
            )
            last = partial.tail(1, 120)
            return ConnectionDropped(
                f"the SSH connection to {node.name} ({_where(target)}) dropped while running "
                f"`{_short(shown)}`; it may or may not have finished there"
                + (f" (last output: {last})" if last else ""),
                partial=partial,
                hint="mesoslab does not re-run it: check that the node is up, then run the "
                "step again",
            )

        try:
            chan.set_combine_stderr(combine)
            chan.exec_command(command)
            if stdin is not None:
                chan.settimeout(max(0.1, deadline - time.monotonic()))
                chan.sendall(stdin)
                chan.shutdown_write()
            chan.settimeout(0.0)
        except TimeoutError:
            timed_out = True
        except (paramiko.SSHException, EOFError, OSError):
            raise dropped() from None

        while not timed_out:
            if cancelled():
                stopped = True
                break
            # Read the end-of-data flag before the buffers: data always precedes EOF.
            done = chan.eof_received or chan.closed
            if chan.recv_ready():
                data = chan.recv(_CHUNK)
                out += data
                if lines is not None:
                    lines.feed(data)
                continue
            if chan.recv_stderr_ready():
                err += chan.recv_stderr(_CHUNK)
                continue
            if done:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            select.select([chan], [], [], min(_TICK, remaining))

        # Output ended: wait for the exit status (the command may still be running).
        while not timed_out and not stopped and not chan.status_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
            elif cancelled():
                stopped = True
            else:
                chan.status_event.wait(min(_TICK, remaining))
        if lines is not None:
            lines.flush()
        exit_status = -1 if timed_out or stopped else chan.exit_status
        if (
            not timed_out
            and not stopped
            and exit_status == -1
            and (not chan.eof_received or not transport.is_active())
        ):
            raise dropped()
        elapsed = time.monotonic() - start
        return _Raw(bytes(out), bytes(err), exit_status, timed_out, elapsed, cancelled=stopped)


class _LineSplitter:
    """Turn chunks of bytes into lines for a callback (UTF-8, CRLF tolerated)."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        self._callback = callback
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: list[str] = []

    def feed(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if "\n" not in text:
            self._pending.append(text)
            return
        first, *middle, last = text.split("\n")
        self._emit("".join(self._pending) + first)
        for line in middle:
            self._emit(line)
        self._pending = [last] if last else []

    def flush(self) -> None:
        rest = "".join(self._pending) + self._decoder.decode(b"", final=True)
        self._pending = []
        if rest:
            self._emit(rest)

    def _emit(self, line: str) -> None:
        self._callback(line[:-1] if line.endswith("\r") else line)


# ---------------------------------------------------------------------- connecting


def _connect(
    node: Node, target: SshTarget, deadline: float, cancel: threading.Event | None
) -> paramiko.SSHClient:
    """A logged-in client, or a RemoteError saying in one line what to do; _Cancelled
    as soon as ``cancel`` is set."""
    where = _where(target)
    keys = _key_files(node, target)
    limit = _bounded(deadline)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(_InMemoryHostKeys())
    connected = threading.Event()
    try:
        sock = _open_socket(target, limit, cancel)
        if cancel is not None:  # the handshake blocks in paramiko: end it from outside
            threading.Thread(
                target=_shut_on_cancel, args=(sock, cancel, connected), daemon=True
            ).start()
        client.connect(
            target.host,
            port=target.port,
            username=target.user,
            key_filename=keys or None,  # type: ignore[arg-type]  # a list works (paramiko docs)
            allow_agent=not keys,
            look_for_keys=not keys,
            timeout=limit,
            banner_timeout=limit,
            auth_timeout=limit,
            channel_timeout=limit,
            sock=sock,
        )
    except _Cancelled:
        client.close()
        raise
    except Exception as exc:
        client.close()
        if cancel is not None and cancel.is_set():
            raise _Cancelled from None
        raise _connect_error(node, target, keys, limit, exc) from None
    finally:
        connected.set()
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(_KEEPALIVE)
    log.debug("connected to %s at %s", node.name, where)
    return client


def _open_socket(target: SshTarget, limit: float, cancel: threading.Event | None) -> socket.socket:
    """A TCP connection to the node's sshd within ``limit`` seconds, given up as soon as
    ``cancel`` is set; failures as paramiko's own connect raises them."""
    deadline = time.monotonic() + limit
    refused: dict[tuple[str, int] | tuple[str, int, int, int], Exception] = {}
    for family, kind, proto, _, address in socket.getaddrinfo(
        target.host, target.port, type=socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address)
            while code == errno.EINPROGRESS:
                if cancel is not None and cancel.is_set():
                    raise _Cancelled
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("timed out")
                _, ready, _ = select.select([], [sock], [], min(_TICK, remaining))
                if ready:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code in (errno.ECONNREFUSED, errno.EHOSTUNREACH):
                refused[(str(address[0]), int(address[1]))] = OSError(code, os.strerror(code))
                sock.close()
                continue
            if code:
                raise OSError(code, os.strerror(code))
            sock.setblocking(True)
            return sock
        except BaseException:
            sock.close()
            raise
    raise paramiko.ssh_exception.NoValidConnectionsError(refused)


def _shut_on_cancel(sock: socket.socket, cancel: threading.Event, done: threading.Event) -> None:
    """Shut ``sock`` down when ``cancel`` is set before ``done``: paramiko's handshake,
    waiting on it, then fails at once."""
    while not done.wait(_TICK):
        if cancel.is_set():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return


def _connect_error(
    node: Node, target: SshTarget, keys: list[str], limit: float, exc: Exception
) -> RemoteError:
    where = _where(target)
    name = node.name
    check_inventory = "also check ssh.host and ssh.port of the node in the inventory"
    if isinstance(exc, paramiko.PasswordRequiredException):
        return RemoteError(
            f"the SSH key for {name} ({where}) is protected by a passphrase",
            hint="use a key without a passphrase for the lab (ssh.key in the inventory)",
        )
    if isinstance(exc, paramiko.AuthenticationException):
        with_keys = f" with key {', '.join(keys)}" if keys else " with your default keys"
        return RemoteError(
            f"SSH login to {name} as {target.user}@{where} was refused{with_keys}",
            hint="check ssh.user and ssh.key in the inventory; for a Vagrant lab "
            "`vagrant ssh-config` shows the right key",
        )
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        reasons = list(exc.errors.values())
        if reasons and all(isinstance(r, ConnectionRefusedError) for r in reasons):
            return RemoteError(
                f"cannot connect to {name} over SSH at {where}: connection refused",
                hint=f"is the machine up and sshd running? {check_inventory}",
            )
        reason = reasons[0] if reasons else exc
        return RemoteError(
            f"cannot connect to {name} over SSH at {where}: {_os_reason(reason)}",
            hint=f"is the machine up? {check_inventory}",
        )
    if isinstance(exc, TimeoutError):
        return RemoteError(
            f"no SSH answer from {name} at {where} within {limit:.1f}s",
            hint=f"is the machine running and reachable from here? {check_inventory}",
        )
    if isinstance(exc, socket.gaierror):
        return RemoteError(
            f"cannot resolve {target.host} (the SSH host of {name}): {exc.strerror or exc}",
            hint="use an IP address for ssh.host in the inventory",
        )
    if isinstance(exc, paramiko.SSHException | EOFError):
        return RemoteError(
            f"SSH handshake with {name} at {where} failed: {exc or exc.__class__.__name__}",
            hint=f"is it sshd (and not another service) that listens there? {check_inventory}",
        )
    if isinstance(exc, OSError):
        return RemoteError(
            f"cannot connect to {name} over SSH at {where}: {_os_reason(exc)}",
            hint=f"is the machine up and reachable? {check_inventory}",
        )
    return RemoteError(
        f"cannot connect to {name} over SSH at {where}: {exc.__class__.__name__}: {exc}"
    )


def _key_files(node: Node, target: SshTarget) -> list[str]:
    """The key files to offer (those that exist); [] means the user's default keys."""
    wanted = [os.path.expanduser(k) for k in (target.key, *target.extra_keys) if k]
    if not wanted:
        return []
    existing = [path for path in wanted if os.path.isfile(path)]
    if not existing:
        raise RemoteError(
            f"the SSH key for {node.name} ({_where(target)}) does not exist: {', '.join(wanted)}",
            hint="fix ssh.key in the inventory; for a Vagrant lab the key appears once the "
            "machine is up",
        )
    return existing


# ---------------------------------------------------------------------- small helpers


def _target(node: Node) -> SshTarget:
    if node.ssh is None:
        raise RemoteError(
            f"node {node.name} has no [node.ssh] in the inventory, so mesoslab cannot run "
            "commands on it",
            hint="add a [node.ssh] table (user, port, key) for it",
        )
    return node.ssh


def _where(target: SshTarget) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{host}:{target.port}"


def _take(
    lock: threading.Lock | threading.BoundedSemaphore,
    deadline: float,
    cancel: threading.Event | None,
) -> bool:
    """Take ``lock`` (a lock, or a channel slot) before ``deadline``: False when it stayed
    busy; _Cancelled when ``cancel`` is set while waiting (then nothing is held)."""
    while True:
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        remaining = deadline - time.monotonic()
        wait = max(0.0, remaining) if cancel is None else max(0.0, min(_TICK, remaining))
        if lock.acquire(timeout=wait):
            if cancel is not None and cancel.is_set():
                lock.release()
                raise _Cancelled
            return True
        if remaining <= wait:
            return False


def _bounded(deadline: float) -> float:
    """How long one connect phase may wait: the time left before ``deadline``, capped
    (at least a second, so a nearly spent deadline still gets a real try)."""
    return max(1.0, min(deadline - time.monotonic(), _CONNECT_CAP))


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or exc.__class__.__name__


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


def _short(command: str, width: int = 60) -> str:
    one_line = " ".join(command.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"
