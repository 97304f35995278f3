"""The master's push to an agent that has work waiting.

A real master sends ``RunTaskMessage`` and ``KillTaskMessage`` to the agent as soon as a
framework's ACCEPT or KILL is taken (master.cpp ``_accept``/``kill``); the twin's master
queues them for the agent's next heartbeat instead. Without a push a launch would wait up to
one heartbeat interval; so the master pokes the agent (``POST /twin/agent/wake``), and the
agent heartbeats at once and takes the queued operations.

The pokes go from one thread of their own: the master's lock is never held over a network
call, and an agent that does not answer costs nothing but its own (short) timeout.
"""

from __future__ import annotations

import logging
import queue
import threading

from mesoslab_twin.common.wire import WireError, post

log = logging.getLogger("mesoslab_twin.master")

WAKE_PATH = "/twin/agent/wake"
WAKE_TIMEOUT = 1.0  # seconds; the heartbeat still takes the work if the poke is lost


class Nudger:
    def __init__(self) -> None:
        self._waiting: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def poke(self, address: str) -> None:
        """Wake the agent at ``ip:port`` soon (never blocks the caller)."""
        self._waiting.put(address)
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nudge", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            address = self._waiting.get()
            poked = {address}
            while True:  # one poke per agent for a burst of launches
                try:
                    poked.add(self._waiting.get_nowait())
                except queue.Empty:
                    break
            for each in poked:
                try:
                    post(each, WAKE_PATH, None, timeout=WAKE_TIMEOUT)
                except WireError as exc:
                    log.debug("could not wake agent %s: %s", each, exc)
