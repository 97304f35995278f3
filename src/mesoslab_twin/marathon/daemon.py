"""The emulated Marathon (1.4 REST API, api-facts §4).

Options come like the package's ``marathon-framework`` script collects them:
``/etc/marathon/conf/<name>`` files, ``MARATHON_<NAME>`` in ``/etc/default/marathon``, then
the command line; ``--master`` defaults to ``/etc/mesos/zk`` and ``--zk`` to the same hosts
with ``/marathon``. Instances elect a leader under ``<zk>/leader``; a standby proxies every
API call to the leader. The leader registers the framework ``marathon`` (its id, the apps
with their versions, the groups and the event subscribers are kept in ZooKeeper under
``<zk>/twin-state``, so a restart or a new leader carries on; running deployments are not),
launches ``instances`` tasks per app from the offers, restarts failed tasks with the app's
backoff, runs HTTP/TCP health checks and keeps the counts and ``lastTaskFailure`` of each
app. Changes go through :mod:`.changes` (versions, :mod:`.deployments`); what happens is
published on :mod:`.events` (``/v2/events``) and to :mod:`.callbacks` subscribers.

Unlike Marathon, which launches only for a deployment (or its periodic scale check), the twin
launches whenever an app has fewer tasks than ``instances``, also after a deployment was
stopped with ``?force=true``.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.marathon import apps as apps_mod
from mesoslab_twin.marathon import deployments, versions
from mesoslab_twin.marathon.apps import FAILURES, LIVE, App, MTask
from mesoslab_twin.marathon.callbacks import Callbacks
from mesoslab_twin.marathon.deployments import Deployer
from mesoslab_twin.marathon.events import EventBus
from mesoslab_twin.marathon.health import HealthChecker
from mesoslab_twin.mesos.scheduler import Driver, Launches, Offers

log = logging.getLogger("mesoslab_twin.marathon")

RECONCILE_GRACE = 15.0  # seconds a task may be unknown to the master before it counts as lost
TEND_INTERVAL = 0.25  # seconds between two looks at the deployments and surplus tasks


class Marathon:
    def __init__(self, options: dict[str, str], root: Root) -> None:
        self.options = options
        self.port = int(options.get("http_port", "8080"))
        self.bind = options.get("http_address", "0.0.0.0")
        self.hostname = options.get("hostname") or socket.gethostname()
        self.master = options["master"]
        self.zk_url = options.get("zk", "")
        self.framework_name = options.get("framework_name", "marathon")
        self.local_ports = (
            int(options.get("local_port_min", "10000")),
            int(options.get("local_port_max", "20000")),
        )
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.framework_id = ""
        self.driver: Driver | None = None
        self.elected = False
        self.leader = ""  # host:port of the leading instance
        self.zk: Any = None
        self._member = ""
        self._dirty = threading.Event()
        self.stopping = threading.Event()
        self.registered_at = 0.0
        self.zombies: dict[str, MTask] = {}  # tasks of deleted apps, killed until gone
        self.health = HealthChecker(self)
        self.events = EventBus(self.stopping)
        self.callbacks = Callbacks(options.get("event_subscriber") == "http_callback", self.changed)
        self.events.on_event.append(self.callbacks.send)
        self.deployer = Deployer(self)
        self.root_version = versions.new_version()  # of the last change of the root group
        self.groups: set[str] = set()  # groups made by POST /v2/groups (others hold apps)

    @property
    def http_endpoints(self) -> list[str]:
        """``--http_endpoints``: subscribers added at start (EventConf.scala L20-23)."""
        return [u.strip() for u in self.options.get("http_endpoints", "").split(",") if u.strip()]

    @property
    def me(self) -> str:
        return f"{self.hostname}:{self.port}"

    # ------------------------------------------------------------------ leadership, state

    def start(self) -> None:
        for url in self.http_endpoints:
            self.callbacks.add(url)
        if self.options.get("internal_store_backend") == "mem" or not self.zk_url:
            self._lead()
            return
        from mesoslab_twin.common.zk import Zk

        self.zk = Zk(self.zk_url, float(self.options.get("zk_session_timeout", "10000")) / 1000)
        self.zk.start()
        threading.Thread(target=self._elect_loop, name="marathon-election", daemon=True).start()
        threading.Thread(target=self._persist_loop, name="marathon-store", daemon=True).start()

    def _elect_loop(self) -> None:
        from kazoo.exceptions import KazooException

        zk = self.zk
        while not self.stopping.is_set():
            zk.changed.clear()
            try:
                if zk.connected.is_set():
                    if zk.expired.is_set():
                        zk.expired.clear()
                        if self.elected:
                            self._fail("Lost leadership in ZooKeeper; exiting")
                        self._member = ""
                    if not self._member:
                        created = zk.client.create(
                            f"{zk.path}/leader/member_",
                            self.me.encode(),
                            ephemeral=True,
                            sequence=True,
                            makepath=True,
                        )
                        self._member = created.rsplit("/", 1)[1]
                    members = sorted(zk.children(f"{zk.path}/leader"))
                    if members:
                        data, _ = zk.client.get(f"{zk.path}/leader/{members[0]}")
                        self.leader = data.decode("utf-8", "replace")
                    if members and members[0] == self._member and not self.elected:
                        self._load()
                        self._lead()
            except KazooException as exc:
                log.warning("ZooKeeper: %s", exc)
            zk.changed.wait(1.0)

    def _fail(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        os._exit(1)

    def _load(self) -> None:
        state = self.zk.get_json(f"{self.zk.path}/twin-state")
        if not isinstance(state, dict):
            return
        with self.lock:
            self.framework_id = str(state.get("framework_id", ""))
            self.groups = set(state.get("groups", []))
            for url in state.get("event_subscribers", []):
                self.callbacks.add(str(url))
            for saved in state.get("apps", []):
                app = App(
                    definition=saved["definition"],
                    last_failure=saved.get("last_failure"),
                    versions=saved.get("versions") or {},
                )
                for task in saved.get("tasks", []):
                    mtask = MTask(**task)
                    app.tasks[mtask.id] = mtask
                self.apps[app.id] = app

    def _persist_loop(self) -> None:
        while not self.stopping.is_set():
            self._dirty.wait(1.0)
            if self._dirty.is_set() and self.elected:
                self._dirty.clear()
                if not self.save():
                    self._dirty.set()
                    time.sleep(1.0)

    def save(self) -> bool:
        """Store the framework id, the apps and their tasks in ZooKeeper."""
        if self.zk is None:
            return True
        with self.lock:
            state = {
                "framework_id": self.framework_id,
                "event_subscribers": self.callbacks.urls,
                "groups": sorted(self.groups),
                "apps": [
                    {
                        "definition": a.definition,
                        "versions": a.versions,
                        "last_failure": a.last_failure,
                        "tasks": [t.save() for t in a.tasks.values()],
                    }
                    for a in self.apps.values()
                ],
            }
        try:
            self.zk.put_json(f"{self.zk.path}/twin-state", state)
        except Exception as exc:  # keep running; try again at the next change
            log.warning("Could not store state in ZooKeeper: %s", exc)
            return False
        return True

    def changed(self) -> None:
        self._dirty.set()

    def _lead(self) -> None:
        self.elected = True
        self.leader = self.me
        log.info("Elected as leading Marathon %s", self.me)
        info = {
            "name": self.framework_name,
            "user": self.options.get("mesos_user") or getpass.getuser(),
            "hostname": self.hostname,
            "webui_url": self.options.get("webui_url") or f"http://{self.hostname}:{self.port}",
            "failover_timeout": float(self.options.get("failover_timeout", "604800")),
            "checkpoint": self.options.get("checkpoint", "true") != "false",
            "role": self.options.get("mesos_role", "*"),
            "capabilities": [{"type": "TASK_KILLING_STATE"}, {"type": "PARTITION_AWARE"}],
        }
        self.driver = Driver(
            self.master,
            info,
            framework_id=self.framework_id or None,
            on_registered=self._registered,
            on_update=self._update,
            on_offers=self._offers,
            on_tasks=self._reconcile,
            wants_offers=self._wants_offers,
        )
        self.driver.start()
        self.health.start()
        threading.Thread(target=self._tend, name="marathon-deployments", daemon=True).start()

    def _tend(self) -> None:
        """Kill what is over the apps' instances and move the deployments on."""
        while not self.stopping.wait(TEND_INTERVAL):
            with self.lock:
                self._scale_down_and_replace()
                self.deployer.progress(self._step_done)

    def wake(self) -> None:
        """Something to launch: ask for offers now."""
        self.changed()
        if self.driver is not None:
            self.driver.wake.set()

    def _registered(self, framework_id: str, again: bool) -> None:
        with self.lock:
            self.framework_id = framework_id
            self.registered_at = time.monotonic()
        self.changed()

    # ------------------------------------------------------------------ scheduling

    def _find(self, task_id: str) -> tuple[App, MTask] | None:
        for app in self.apps.values():
            task = app.tasks.get(task_id)
            if task is not None:
                return app, task
        return None

    def _update(self, status: dict[str, Any]) -> None:
        with self.lock:
            task_id = str(status.get("task_id", ""))
            found = self._find(task_id)
            if found is not None:
                self._apply(found[0], found[1], status)
            elif task_id in self.zombies:  # a task of a deleted app
                zombie = self.zombies[task_id]
                state = str(status.get("state"))
                if state != zombie.state:
                    zombie.state = state
                    self._publish_change(zombie, str(status.get("message", "")))
                if state not in LIVE:
                    del self.zombies[task_id]
        self.changed()

    def _apply(self, app: App, task: MTask, status: dict[str, Any]) -> None:
        state = str(status.get("state"))
        changed = state != task.state
        task.state = state
        task.missing_since = None
        network = ((status.get("container_status") or {}).get("network_infos") or [{}])[0]
        addresses = network.get("ip_addresses") or []
        if addresses and addresses[0].get("ip_address"):
            task.ip = str(addresses[0]["ip_address"])
        if state == "TASK_RUNNING" and task.started_at is None:
            task.started_at = apps_mod.now_iso()
            task.running_since = time.monotonic()
        if "healthy" in status:  # a Mesos (COMMAND) health check, run by the executor
            self.health.mesos_result(app, task, bool(status["healthy"]))
        if changed:
            self._publish_change(task, str(status.get("message", "")))
        if state in LIVE:
            return
        del app.tasks[task.id]
        if task.killing:
            return
        if state in FAILURES or state == "TASK_FINISHED":
            if task.running_since and time.monotonic() - task.running_since > 10:
                app.failures = 0
            app.failures += 1
            definition = app.definition
            delay = float(definition["backoffSeconds"]) * float(definition["backoffFactor"]) ** (
                app.failures - 1
            )
            app.delay_until = time.monotonic() + min(
                delay, float(definition["maxLaunchDelaySeconds"])
            )
        if state in FAILURES:
            app.last_failure = {
                "appId": app.id,
                "host": task.host,
                "message": str(status.get("message", "")),
                "state": state,
                "taskId": task.id,
                "timestamp": apps_mod.now_iso(),
                "version": task.version,
                "slaveId": task.agent_id,
            }
            log.info("Task %s of %s: %s %s", task.id, app.id, state, status.get("message", ""))

    def _publish_change(self, task: MTask, message: str) -> None:
        """``status_update_event`` and ``instance_changed_event`` for a task whose state
        changed (``Events.scala`` L214-236, ``Formats.scala`` L630, L639-650)."""
        self.events.publish(
            "status_update_event",
            slaveId=task.agent_id,
            taskId=task.id,
            taskStatus=task.state,
            message=message,
            appId=task.app_id,
            host=task.host,
            ipAddresses=[{"ipAddress": task.ip, "protocol": "IPv4"}] if task.ip else [],
            ports=task.ports,
            version=task.version,
        )
        self.events.publish(
            "instance_changed_event",
            instanceId=task.id,
            condition=task.state.removeprefix("TASK_").capitalize(),
            runSpecId=task.app_id,
            agentId=task.agent_id,
            host=task.host,
            runSpecVersion=task.version,
        )

    def _reconcile(self, statuses: list[dict[str, Any]]) -> None:
        """The master's view of our live tasks: catch missed updates and lost tasks."""
        known = {str(s.get("task_id")): s for s in statuses}
        now = time.monotonic()
        with self.lock:
            for app in list(self.apps.values()):
                for task in list(app.tasks.values()):
                    status = known.get(task.id)
                    if status is not None:
                        task.missing_since = None
                        if status.get("state") != task.state:
                            self._apply(app, task, status)
                        continue
                    if now - self.registered_at < RECONCILE_GRACE:
                        continue
                    task.missing_since = task.missing_since or now
                    if now - task.missing_since > RECONCILE_GRACE:
                        self._apply(
                            app,
                            task,
                            {
                                "task_id": task.id,
                                "state": "TASK_LOST",
                                "message": "Reconciliation: the master does not know the task",
                            },
                        )
            for task_id, task in list(self.zombies.items()):
                if task_id in known:
                    task.missing_since = None
                    self.kill(task)
                    continue
                # gone from the master's live tasks: its terminal update may still be on its
                # way (the list and the updates travel apart), and it must still make its
                # status_update_event; only a task missing for the grace period is dropped
                task.missing_since = task.missing_since or now
                if now - task.missing_since > RECONCILE_GRACE:
                    del self.zombies[task_id]

    def _wants_offers(self) -> bool:
        with self.lock:
            now = time.monotonic()
            return any(
                self.missing(app) > 0 and now >= app.delay_until for app in self.apps.values()
            )

    def missing(self, app: App) -> int:
        current = [t for t in app.live() if t.version == app.version]
        return int(app.definition["instances"]) - len(current)

    def _offers(self, offers: Offers) -> Launches:
        launches: dict[str, list[dict[str, Any]]] = {}
        now = time.monotonic()
        with self.lock:
            remaining = {o["agent_id"]: Amounts.from_wire(o["resources"]) for o in offers}
            for app in sorted(self.apps.values(), key=lambda a: a.id):
                need = self.missing(app)
                if need <= 0 or now < app.delay_until:
                    continue
                for offer in offers:
                    while need > 0:
                        info = self._place(app, offer, remaining)
                        if info is None:
                            break
                        launches.setdefault(offer["agent_id"], []).append(info)
                        need -= 1
        if launches:
            self.changed()
        return list(launches.items())

    def _place(
        self, app: App, offer: dict[str, Any], remaining: dict[str, Amounts]
    ) -> dict[str, Any] | None:
        definition = app.definition
        free = remaining[offer["agent_id"]]
        ports = apps_mod.pick_host_ports(
            apps_mod.host_port_needs(definition), free.ranges.get("ports", ())
        )
        if ports is None:
            return None
        needs = apps_mod.resources_for(definition, ports)
        if not free.contains(needs):
            return None
        attributes = dict(offer.get("attributes") or [])
        placed = [t.host for t in app.live()]
        if not apps_mod.constraints_allow(definition, offer["hostname"], attributes, placed):
            return None
        task_id = apps_mod.new_task_id(app.id)
        info = apps_mod.task_info(definition, task_id, offer["agent_id"], offer["hostname"], ports)
        remaining[offer["agent_id"]] = free.minus(needs)
        app.tasks[task_id] = MTask(
            id=task_id,
            app_id=app.id,
            agent_id=offer["agent_id"],
            host=offer["hostname"],
            agent_ip=str(((offer.get("url") or {}).get("address") or {}).get("ip") or ""),
            ports=ports,
            service_ports=apps_mod.service_ports(definition),
            version=app.version,
            staged_at=apps_mod.now_iso(),
        )
        return info

    def kill(self, task: MTask) -> None:
        """Ask the master to kill the task (again every few seconds until it is gone)."""
        task.killing = True
        now = time.monotonic()
        if self.driver is not None and now - task.kill_sent > 5.0:
            task.kill_sent = now
            threading.Thread(target=self.driver.kill, args=(task.id,), daemon=True).start()

    def kill_unhealthy(self, task: MTask) -> None:
        """A task that failed its health checks: kill it; a replacement is launched."""
        log.info("Killing unhealthy task %s", task.id)
        self.kill(task)

    def _scale_down_and_replace(self) -> None:
        for app in self.apps.values():
            instances = int(app.definition["instances"])
            current = [t for t in app.live() if t.version == app.version]
            old = [t for t in app.live() if t.version != app.version]
            running = [t for t in current if t.state == "TASK_RUNNING"]
            if old and len(running) >= instances:
                for task in old:
                    self.kill(task)
            if len(current) > instances:
                current.sort(key=lambda t: t.staged_at, reverse=True)  # YOUNGEST_FIRST
                for task in current[: len(current) - instances]:
                    self.kill(task)
            for task in app.tasks.values():
                if task.killing and task.state in LIVE:
                    self.kill(task)

    def assign_ports(self, definition: dict[str, Any]) -> None:
        """Service ports 0 get free ones of ``local_port_min``-``local_port_max``."""
        taken: set[int] = set()
        for other in self.apps.values():
            if other.id != definition["id"]:
                taken.update(apps_mod.service_ports(other.definition))
        apps_mod.assign_service_ports(definition, taken, *self.local_ports)

    def _step_done(self, action: str, app_id: str) -> bool:
        """Whether an action of a deployment is done: a started app is there; a scaled or
        restarted one runs its instances of the current version (healthy, with health
        checks) and nothing else; a stopped one has no task left."""
        if action == deployments.STOP:
            return not any(t.app_id == app_id for t in self.zombies.values())
        app = self.apps.get(app_id)
        if app is None:
            return False
        if action == deployments.START:
            return True
        instances = int(app.definition["instances"])
        others = [t for t in app.tasks.values() if t.version != app.version or t.killing]
        current = [t for t in app.live() if t.version == app.version and t.state == "TASK_RUNNING"]
        checked = bool(app.definition.get("healthChecks"))
        healthy = not checked or app.counts()["tasksHealthy"] >= instances
        return len(current) == instances and not others and healthy
