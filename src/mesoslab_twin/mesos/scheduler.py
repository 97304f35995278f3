"""The framework side of Mesos's v1 scheduler HTTP API (used by Marathon, Chronos, mesos-execute).

A :class:`Driver` finds the leading master (``zk://.../mesos`` or ``host:port``), SUBSCRIBEs
(again with the same framework id after a failover) and reads the master's RecordIO event
stream in a thread of its own, while its loop answers the events: OFFERS are handed to
``on_offers`` and answered at once (ACCEPT with the launches it returns, DECLINE for the
rest), UPDATEs go to ``on_update`` and are acknowledged when they carry a uuid, and every few
seconds an implicit RECONCILE gives ``on_tasks`` the master's view of the live tasks.
``wants_offers`` turning false or true becomes SUPPRESS or REVIVE. The framework sees the
twins' own forms (ids as strings, resources as :meth:`Amounts.to_wire`); this module turns
them into the v1 JSON and back.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from mesoslab_twin import TWIN_HEADER, TWIN_HEADER_VALUE
from mesoslab_twin.common.wire import WireError, request
from mesoslab_twin.common.zk import LeaderWatch
from mesoslab_twin.mesos import recordio
from mesoslab_twin.mesos import v1_json as v1

log = logging.getLogger("mesoslab_twin.scheduler")

Offers = list[dict[str, Any]]
Launches = list[tuple[str, list[dict[str, Any]]]]  # (agent id, task infos)

PATH = "/api/v1/scheduler"
RECONCILE_EVERY = 1.0  # seconds between implicit reconciliations (on_tasks)
LATEST = "Reconciliation: Latest task state"  # Master::reconcile's implicit answers
_END = object()


class _Wake:
    """``driver.wake.set()``: the framework has new work; the loop looks at once."""

    def __init__(self) -> None:
        self.flag = threading.Event()
        self.events: queue.Queue[Any] | None = None

    def set(self) -> None:
        self.flag.set()
        events = self.events
        if events is not None:
            events.put(None)

    def clear(self) -> None:
        self.flag.clear()

    def is_set(self) -> bool:
        return self.flag.is_set()


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
        # unused resources are refused briefly: the framework answers every offer at once
        self.refuse_seconds = max(1.0, 2 * interval)
        self.registered = False
        self.master = ""
        self.master_id = ""
        self.stream_id = ""
        self.stopping = threading.Event()
        self.wake = _Wake()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._wanting = True
        self._reconciled: dict[str, dict[str, Any]] = {}
        self._reconcile_at = 0.0

    def start(self) -> None:
        self.watch.start()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self._hang_up()
        self.watch.stop()
        # A process that exits while the loop still closes its connection has its daemon
        # threads die mid-write at interpreter shutdown (a fatal error on stderr).
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def _hang_up(self) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ loop

    def _run(self) -> None:
        backoff = 0.2
        while not self.stopping.is_set():
            leader = self.watch.address()
            if leader is None:
                self.watch.changed.wait(0.5)
                self.watch.changed.clear()
                continue
            try:
                self._session(leader)
                backoff = 0.2
            except WireError as exc:
                log.debug("master %s: %s", leader, exc)
            except Exception:  # a bug in the framework's callbacks must not stop it
                log.exception("scheduler loop failed; carrying on")
            self.registered = False
            self.stream_id = ""
            self.stopping.wait(backoff)
            backoff = min(2.0, backoff * 2)

    def _session(self, leader: str) -> None:
        """Subscribe to the leader and answer its events until the stream ends."""
        conn, response = self._subscribe(leader)
        events: queue.Queue[Any] = queue.Queue()
        reader = threading.Thread(
            target=self._read, args=(response, events), name="scheduler-stream", daemon=True
        )
        reader.start()
        self.wake.events = events
        self._wanting = True
        self._reconciled = {}
        self._reconcile_at = 0.0
        try:
            while not self.stopping.is_set():
                try:
                    event = events.get(timeout=self.interval)
                except queue.Empty:
                    event = None
                if event is _END:
                    log.info("The master %s closed the event stream", self.master)
                    return
                if event is not None:
                    self._event(event)
                if self.registered:
                    self._tend()
                moved = self.watch.address()
                if moved is not None and moved != leader:
                    log.info("The leading master is now %s", moved)
                    return
        finally:
            self.wake.events = None
            self._hang_up()
            # The reader ends on the shut-down socket; closing the connection under it would
            # pull the response's file from under read1().
            reader.join(timeout=2.0)
            conn.close()
            self._sock = None

    def _subscribe(self, leader: str) -> tuple[http.client.HTTPConnection, Any]:
        address = leader
        subscribe: dict[str, Any] = {"framework_info": v1.framework_info(self.info)}
        body: dict[str, Any] = {"type": "SUBSCRIBE", "subscribe": subscribe}
        if self.framework_id:
            subscribe["framework_info"]["id"] = v1.value(self.framework_id)
            body["framework_id"] = v1.value(self.framework_id)
        data = json.dumps(body).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            TWIN_HEADER: TWIN_HEADER_VALUE,
        }
        for _ in range(3):  # follow a non-leader's 307 to the leader
            host, _, port = address.rpartition(":")
            conn = http.client.HTTPConnection(host.strip("[]"), int(port or 5050), timeout=10.0)
            try:
                conn.request("POST", PATH, body=data, headers=headers)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise WireError(f"{address}{PATH}: {exc}") from None
            if response.status == 307:
                location = response.getheader("Location") or ""
                conn.close()
                address = urlsplit(location).netloc or address
                continue
            if response.status != 200:
                text = response.read().decode("utf-8", "replace")
                conn.close()
                raise WireError(f"SUBSCRIBE answered HTTP {response.status}: {text}")
            self.master = address
            self.stream_id = response.getheader("Mesos-Stream-Id") or ""
            self._sock = conn.sock
            if conn.sock is not None:  # missed heartbeats mean the master is gone
                conn.sock.settimeout(40.0)
            return conn, response
        raise WireError(f"{leader}{PATH}: too many redirects")

    @staticmethod
    def _read(response: Any, events: queue.Queue[Any]) -> None:
        decoder = recordio.Decoder()
        try:
            while True:
                data = response.read1(65536)
                if not data:
                    break
                for record in decoder.feed(data):
                    events.put(json.loads(record))
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            events.put(_END)

    # ------------------------------------------------------------------ events

    def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "SUBSCRIBED":
            subscribed = event.get("subscribed") or {}
            again = bool(self.framework_id)
            self.framework_id = v1.unvalue(subscribed.get("framework_id"))
            self.master_id = str((subscribed.get("master_info") or {}).get("id", ""))
            self.registered = True
            log.info(
                "%s with master %s as framework %s",
                "Re-subscribed" if again else "Subscribed",
                self.master,
                self.framework_id,
            )
            if self.on_registered is not None:
                self.on_registered(self.framework_id, again)
        elif kind == "OFFERS":
            self._offers(list((event.get("offers") or {}).get("offers") or []))
        elif kind == "UPDATE":
            self._update((event.get("update") or {}).get("status") or {})
        elif kind == "ERROR":
            message = str((event.get("error") or {}).get("message", ""))
            log.warning("The master sent an error: %s", message)
            if message == "Framework has been removed":
                log.warning(
                    "Framework %s has been removed by the master; subscribing anew",
                    self.framework_id,
                )
                self.framework_id = ""

    def _offers(self, offers: list[dict[str, Any]]) -> None:
        mine: list[dict[str, Any]] = [
            {
                "id": v1.unvalue(o.get("id")),
                "agent_id": v1.unvalue(o.get("agent_id")),
                "hostname": str(o.get("hostname", "")),
                "url": o.get("url") or {},
                "resources": v1.amounts(o.get("resources")).to_wire(),
                "attributes": v1.attribute_pairs(o.get("attributes")),
            }
            for o in offers
        ]
        launches: Launches = []
        if self.on_offers is not None and self._wants():
            launches = self.on_offers(mine)
        used: set[str] = set()
        filters = {"refuse_seconds": self.refuse_seconds}
        for agent_id, infos in launches:
            ids = [o["id"] for o in mine if o["agent_id"] == agent_id]
            if not infos or not ids:
                continue
            used.update(ids)
            self._call(
                "ACCEPT",
                {
                    "offer_ids": [v1.value(i) for i in ids],
                    "operations": [
                        {
                            "type": "LAUNCH",
                            "launch": {"task_infos": [v1.task_info(i, agent_id) for i in infos]},
                        }
                    ],
                    "filters": filters,
                },
            )
        unused = [o["id"] for o in mine if o["id"] not in used]
        if unused:
            self._call("DECLINE", {"offer_ids": [v1.value(i) for i in unused], "filters": filters})

    def _update(self, data: dict[str, Any]) -> None:
        status = v1.status_from_v1(data)
        # acknowledged first, as mesos-execute does (src/cli/execute.cpp): a terminal update
        # makes it tear the framework down, and an ACKNOWLEDGE after that is refused
        if data.get("uuid") and data.get("agent_id"):
            self._call(
                "ACKNOWLEDGE",
                {"agent_id": data["agent_id"], "task_id": data["task_id"], "uuid": data["uuid"]},
            )
        if status.get("message") == LATEST and status.get("reason") == "REASON_RECONCILIATION":
            self._reconciled[status["task_id"]] = status
        elif self.on_update is not None:
            self.on_update(status)

    def _wants(self) -> bool:
        return self.wants_offers() if self.wants_offers is not None else True

    def _tend(self) -> None:
        """SUPPRESS/REVIVE as the framework's wish changes; reconcile every few seconds."""
        wants = self._wants()
        woken = self.wake.is_set()
        self.wake.clear()
        if wants != self._wanting or (wants and woken):
            self._call("REVIVE" if wants else "SUPPRESS", None)
            self._wanting = wants
        now = time.monotonic()
        if now - self._reconcile_at < RECONCILE_EVERY:
            return
        if self._reconcile_at and self.on_tasks is not None:
            self.on_tasks(list(self._reconciled.values()))
        self._reconciled = {}
        self._reconcile_at = now
        self._call("RECONCILE", {"tasks": []})

    # ------------------------------------------------------------------ calls

    def _call(self, kind: str, part: dict[str, Any] | None) -> bool:
        body: dict[str, Any] = {"framework_id": v1.value(self.framework_id), "type": kind}
        if part is not None:
            body[kind.lower()] = part
        try:
            answer = request(
                self.master,
                "POST",
                PATH,
                body,
                headers={"Mesos-Stream-Id": self.stream_id, "Accept": "application/json"},
            )
        except WireError as exc:
            log.warning("%s call failed: %s", kind, exc)
            return False
        if answer.status != 202:
            text = answer.body.decode("utf-8", "replace")
            log.warning("%s call answered HTTP %d: %s", kind, answer.status, text)
            return False
        return True

    def kill(self, task_id: str) -> bool:
        if not self.registered:
            return False
        return self._call("KILL", {"task_id": v1.value(task_id)})

    def teardown(self) -> None:
        if self.registered:
            self._call("TEARDOWN", None)

    def wait_registered(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.registered:
            time.sleep(0.05)
        return self.registered
