"""The framework side of the twins' scheduler API (used by Marathon, Chronos, mesos-execute).

A :class:`Driver` finds the leading master (``zk://.../mesos`` or ``host:port``), registers
the framework (again with the same id after a failover), and polls: each poll is the
framework's heartbeat and returns its status updates and offers of the agents' free
resources. The framework answers offers with launches; the master checks them against the
agent's resources, so a stale offer at worst produces a TASK_ERROR/TASK_LOST update.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from mesoslab_twin.common.wire import WireError, post
from mesoslab_twin.common.zk import LeaderWatch

log = logging.getLogger("mesoslab_twin.scheduler")

Offers = list[dict[str, Any]]
Launches = list[tuple[str, list[dict[str, Any]]]]  # (agent id, task infos)


class Driver:
    def __init__(
        self,
        master: str,
        framework_info: dict[str, Any],
        *,
        framework_id: str | None = None,
        interval: float = 0.5,
        on_registered: Callable[[str, bool], None] | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        on_offers: Callable[[Offers], Launches] | None = None,
        on_tasks: Callable[[list[dict[str, Any]]], None] | None = None,
        wants_offers: Callable[[], bool] | None = None,
    ) -> None:
        self.watch = LeaderWatch(master)
        self.info = dict(framework_info)
        self.framework_id = framework_id or ""
        self.interval = interval
        self.on_registered = on_registered
        self.on_update = on_update
        self.on_offers = on_offers
        self.on_tasks = on_tasks
        self.wants_offers = wants_offers
        self.registered = False
        self.master = ""
        self.master_id = ""
        self.since = 0
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.watch.start()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.watch.stop()

    # ------------------------------------------------------------------ loop

    def _run(self) -> None:
        backoff = 0.2
        while not self.stopping.is_set():
            leader = self.watch.address()
            if leader is None:
                self.registered = False
                self.watch.changed.wait(0.5)
                self.watch.changed.clear()
                continue
            if leader != self.master:
                self.registered = False
                self.master = leader
            try:
                if not self.registered:
                    self._register()
                if self.registered:
                    self._poll()
                backoff = 0.2
            except WireError as exc:
                log.debug("master %s: %s", leader, exc)
                self.registered = False
                self.stopping.wait(backoff)
                backoff = min(2.0, backoff * 2)
                continue
            except Exception:  # a bug in the framework's callbacks must not stop it
                log.exception("scheduler loop failed; carrying on")
                self.registered = False
                self.stopping.wait(backoff)
                backoff = min(2.0, backoff * 2)
                continue
            self.wake.wait(self.interval)
            self.wake.clear()

    def _register(self) -> None:
        body = {"framework_id": self.framework_id or None, "framework_info": self.info}
        answer = post(self.master, "/twin/scheduler/register", body)
        if answer.status == 410:
            log.warning(
                "Framework %s has been removed by the master; registering anew", self.framework_id
            )
            self.framework_id = ""
            return
        if answer.status != 200:
            raise WireError(f"registration answered HTTP {answer.status}")
        data = answer.json() or {}
        again = bool(self.framework_id)
        self.framework_id = str(data.get("framework_id", ""))
        master_id = str(data.get("master_id", ""))
        if master_id != self.master_id:
            self.master_id = master_id
            self.since = 0
        self.registered = True
        log.info(
            "%s with master %s as framework %s",
            "Re-registered" if again else "Registered",
            self.master,
            self.framework_id,
        )
        if self.on_registered is not None:
            self.on_registered(self.framework_id, again)

    def _poll(self) -> None:
        want = self.wants_offers() if self.wants_offers is not None else True
        answer = post(
            self.master,
            "/twin/scheduler/poll",
            {"framework_id": self.framework_id, "since": self.since, "offers": want},
        )
        if answer.status == 404:
            self.registered = False
            return
        if answer.status != 200:
            raise WireError(f"poll answered HTTP {answer.status}")
        data = answer.json() or {}
        if str(data.get("master_id", "")) != self.master_id:
            self.master_id = str(data.get("master_id", ""))
            self.since = 0
            return
        for update in data.get("updates", []):
            if self.on_update is not None:
                self.on_update(update)
        self.since = int(data.get("seq", self.since))
        if self.on_tasks is not None:
            self.on_tasks(list(data.get("tasks", [])))
        offers = data.get("offers") or []
        if offers and self.on_offers is not None:
            for agent_id, infos in self.on_offers(offers):
                if infos:
                    self.launch(agent_id, infos)

    # ------------------------------------------------------------------ calls

    def launch(self, agent_id: str, infos: list[dict[str, Any]]) -> None:
        answer = post(
            self.master,
            "/twin/scheduler/launch",
            {"framework_id": self.framework_id, "agent_id": agent_id, "tasks": infos},
        )
        if answer.status != 200:
            raise WireError(f"launch answered HTTP {answer.status}")
        self.wake.set()

    def kill(self, task_id: str) -> bool:
        if not self.registered:
            return False
        try:
            answer = post(
                self.master,
                "/twin/scheduler/kill",
                {"framework_id": self.framework_id, "task_id": task_id},
            )
        except WireError:
            return False
        return answer.status == 200

    def teardown(self) -> None:
        if not self.registered:
            return
        with contextlib.suppress(WireError):
            post(self.master, "/twin/scheduler/teardown", {"framework_id": self.framework_id})

    def wait_registered(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.registered:
            time.sleep(0.05)
        return self.registered
