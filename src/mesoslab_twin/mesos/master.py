"""The emulated ``mesos-master``.

Starts like the package's ``mesos-init-wrapper master``: flags from ``/etc/default/mesos*``,
``/etc/mesos/zk`` and ``/etc/mesos-master/*`` (see :mod:`..common.config`). With ``--zk``
it contends for leadership through ZooKeeper (``json.info_`` znodes, lowest leads) and joins
``log_replicas``; the leader only counts as elected once ``--quorum`` replicas are there
(the emulated replicated log), and gives up after ``--registry_fetch_timeout`` without
them, as Mesos does. Without ``--zk`` it leads alone at once.

Endpoints (each also without the ``/master`` prefix): ``/health``, ``/version``,
``/flags``, ``/metrics/snapshot``, ``/master/state``, ``/master/state-summary``,
``/master/slaves``, ``/master/frameworks``, ``/master/tasks``, ``/master/redirect``,
``/master/teardown``; plus the twins' own ``/twin/...`` calls (:mod:`..common.wire`). A master
that does not lead answers the cluster endpoints with 307 to ``//<leader host>:<port><path>``, or
503 when no leader is known.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from typing import Any

from mesoslab_twin import BUILD_USER, MESOS_VERSION
from mesoslab_twin.common.config import ConfigError, Root, load_mesos_flags
from mesoslab_twin.common.httpd import (
    BadRequest,
    Reply,
    Request,
    Router,
    json_reply,
    serve,
    text_reply,
)
from mesoslab_twin.common.process import Exit, exit_failure, log_to_files, wait_for_signal
from mesoslab_twin.common.values import duration_seconds
from mesoslab_twin.mesos.identity import BUILD_TIME, advertised_ip, ip_as_uint32
from mesoslab_twin.mesos.master_flags import MASTER_DEFAULTS
from mesoslab_twin.mesos.master_state import Cluster

log = logging.getLogger("mesoslab_twin.master")

REDIRECTED = ("state", "state-summary", "slaves", "frameworks", "tasks", "roles", "teardown")


class Master:
    def __init__(self, flags: dict[str, str], root: Root) -> None:
        self.root = root
        self.flags = {**MASTER_DEFAULTS, **flags}
        self.port = int(self.flags["port"])
        self.bind_ip = flags.get("ip", "0.0.0.0")
        self.hostname = flags.get("hostname") or socket.gethostname()
        self.ip = advertised_ip(flags, self.hostname)
        self.id = str(uuid.uuid4())
        self.pid = f"master@{self.ip}:{self.port}"
        self.start_time = time.time()
        self.elected_time: float | None = None
        self.lock = threading.RLock()
        self.cluster = Cluster(self.id, self.flags)
        self.zk_url = flags.get("zk", "")
        self.quorum = int(flags.get("quorum", "1") or 1)
        self.elected = False
        self._leader: dict[str, Any] | None = None
        self._member: str | None = None
        self._recovering_since: float | None = None
        self._short_since: float | None = None
        self.zk: Any = None
        self.stopping = threading.Event()

    # ------------------------------------------------------------------ identity

    def info(self) -> dict[str, Any]:
        """MasterInfo as JSON (the data of our ``json.info_`` znode)."""
        return {
            "address": {"hostname": self.hostname, "ip": self.ip, "port": self.port},
            "hostname": self.hostname,
            "id": self.id,
            "ip": ip_as_uint32(self.ip),
            "pid": self.pid,
            "port": self.port,
            "version": MESOS_VERSION,
        }

    def version_json(self) -> dict[str, Any]:
        return {
            "version": MESOS_VERSION,
            "git_tag": MESOS_VERSION,
            "build_date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(BUILD_TIME)),
            "build_time": BUILD_TIME,
            "build_user": BUILD_USER,
        }

    def leader_info(self) -> dict[str, Any] | None:
        with self.lock:
            return self._leader

    # ------------------------------------------------------------------ leadership

    def start_standalone(self) -> None:
        with self.lock:
            self._leader = self.info()
            self._become_elected()

    def _become_elected(self) -> None:
        if not self.elected:
            self.elected = True
            self.elected_time = time.time()
            self.cluster = Cluster(self.id, self.flags)
            log.info("Elected as the leading master!")

    def start_zk(self) -> None:
        from mesoslab_twin.common.zk import Zk

        timeout = duration_seconds(self.flags["zk_session_timeout"])
        self.zk = Zk(self.zk_url, timeout)
        self.zk.start()
        threading.Thread(target=self._election_loop, name="election", daemon=True).start()

    def _election_loop(self) -> None:
        from kazoo.exceptions import KazooException

        zk = self.zk
        while not self.stopping.is_set():
            zk.changed.clear()
            try:
                if zk.connected.is_set():
                    self._contend_and_check()
            except KazooException as exc:
                log.warning("ZooKeeper operation failed: %s", exc)
            except Exit as exc:
                fail(str(exc))
            except Exception:  # a bug must not silently end the election
                log.exception("election loop failed; carrying on")
            zk.changed.wait(0.25)

    def _contend_and_check(self) -> None:
        zk = self.zk
        if zk.expired.is_set() and self._member is not None:
            zk.expired.clear()
            if self.elected:
                raise Exit("Lost leadership... committing suicide!")
            log.info("Lost candidacy as a follower... Contend again")
            self._member = None
        if self._member is None:
            data = json.dumps(self.info()).encode("utf-8")
            self._member = zk.join(data)
            zk.join_replicas(f"log-replica(1)@{self.ip}:{self.port}".encode())
            log.info("Created member %s under %s", self._member, zk.path)
        members = zk.members()
        if self._member not in members:
            if self.elected:
                raise Exit("Lost leadership... committing suicide!")
            self._member = None
            return
        leader = zk.leader()
        replicas = zk.replicas()
        now = time.monotonic()
        with self.lock:
            self._leader = leader[1] if leader else None
            leading = leader is not None and leader[0] == self._member
            if leading and not self.elected:
                if replicas >= self.quorum:
                    self._recovering_since = None
                    self._become_elected()
                else:
                    if self._recovering_since is None:
                        self._recovering_since = now
                        log.info(
                            "Waiting for a quorum of %d replicas of the registry (%d present)",
                            self.quorum,
                            replicas,
                        )
                    limit = duration_seconds(self.flags["registry_fetch_timeout"])
                    if now - self._recovering_since > limit:
                        raise Exit(
                            "Recovery failed: Failed to recover registrar: Failed to perform "
                            f"fetch within {self.flags['registry_fetch_timeout']}"
                        )
            elif self.elected and not leading:
                raise Exit("Lost leadership... committing suicide!")
            if self.elected:
                if replicas < self.quorum:
                    self._short_since = self._short_since or now
                    limit = duration_seconds(self.flags["registry_store_timeout"])
                    if now - self._short_since > limit:
                        raise Exit(
                            "Registrar aborting: Failed to update registry: Failed to perform "
                            f"store within {self.flags['registry_store_timeout']}"
                        )
                else:
                    self._short_since = None

    def housekeeping(self) -> None:
        while not self.stopping.wait(0.2):
            with self.lock:
                if self.elected:
                    self.cluster.expire(time.monotonic())

    # ------------------------------------------------------------------ HTTP

    def routes(self) -> Router:
        router = Router()
        prefix = r"(?:/master)?"
        router.add("GET", prefix + r"/health", lambda r, m: text_reply(""))
        router.add("GET", prefix + r"/version", lambda r, m: json_reply(self.version_json()))
        router.add("GET", prefix + r"/flags", lambda r, m: json_reply({"flags": self.flags}))
        router.add("GET", r"/metrics/snapshot", self._metrics)
        router.add("GET", prefix + r"/redirect", self._redirect)
        router.add("GET", prefix + r"/redirect/.*", lambda r, m: text_reply("", 404))
        router.add("GET", prefix + r"/(state|state\.json)", self._view)
        router.add("GET", prefix + r"/(state-summary)", self._view)
        router.add("GET", prefix + r"/(slaves)", self._view)
        router.add("GET", prefix + r"/(frameworks)", self._view)
        router.add("GET", prefix + r"/(tasks|tasks\.json)", self._view)
        router.add("GET", prefix + r"/(roles|roles\.json)", self._view)
        router.add("POST", prefix + r"/teardown", self._teardown)
        router.add("GET", r"/", self._index)
        router.add("POST", r"/twin/agent/(register|heartbeat)", self._agent_call)
        router.add("POST", r"/twin/scheduler/(register|poll|launch|kill|teardown)", self._sched)
        return router

    def _not_leading(self, request: Request) -> Reply | None:
        with self.lock:
            if self.elected:
                return None
            leader = self._leader
        if leader is None:
            return text_reply("No leader elected\n", 503)
        if leader.get("id") == self.id:
            return text_reply("Master has not finished recovery\n", 503)
        return self._location(leader, request.raw_path)

    def _location(self, leader: dict[str, Any], path: str) -> Reply:
        host = leader.get("hostname") or (leader.get("address") or {}).get("ip", "")
        port = leader.get("port", 5050)
        return Reply(status=307, headers={"Location": f"//{host}:{port}{path}"})

    def _redirect(self, request: Request, _m: Any) -> Reply:
        leader = self.leader_info()
        if leader is None:
            return text_reply("No leader elected\n", 503)
        return self._location(leader, "")

    def _metrics(self, request: Request, _m: Any) -> Reply:
        from mesoslab_twin.mesos import master_views

        with self.lock:
            return json_reply(master_views.metrics(self))

    def _view(self, request: Request, match: Any) -> Reply:
        from mesoslab_twin.mesos import master_views

        redirect = self._not_leading(request)
        if redirect is not None:
            return redirect
        name = match.group(1)
        with self.lock:
            if name in ("state", "state.json"):
                return json_reply(master_views.state(self))
            if name == "state-summary":
                return json_reply(master_views.state_summary(self))
            if name == "slaves":
                return json_reply(master_views.slaves(self, request.arg("slave_id")))
            if name == "frameworks":
                return json_reply(master_views.frameworks(self, request.arg("framework_id")))
            if name in ("roles", "roles.json"):
                return json_reply(master_views.roles(self))
            try:
                limit = int(request.arg("limit", "100") or 100)
                offset = int(request.arg("offset", "0") or 0)
            except ValueError:
                raise BadRequest("Failed to parse 'limit' or 'offset'") from None
            order = request.arg("order", "des") or "des"
            return json_reply(master_views.tasks(self, limit, offset, order))

    def _teardown(self, request: Request, _m: Any) -> Reply:
        redirect = self._not_leading(request)
        if redirect is not None:
            return redirect
        from urllib.parse import parse_qs

        form = parse_qs(request.body.decode("utf-8", "replace"))
        given = form.get("frameworkId") or request.query.get("frameworkId")
        if not given:  # Mesos 1.4 master/http.cpp teardown()
            return text_reply("Missing 'frameworkId' query parameter in the request body", 400)
        with self.lock:
            framework = self.cluster.frameworks.get(given[0])
            if framework is None:
                return text_reply("No framework found with specified ID", 400)
            self.cluster.teardown(framework)
        return text_reply("")

    def _index(self, request: Request, _m: Any) -> Reply:
        with self.lock:
            leader = self._leader or {}
            agents = list(self.cluster.agents.values()) if self.elected else []
            frameworks = list(self.cluster.frameworks.values()) if self.elected else []
            rows = "".join(
                f"<tr><td>{a.hostname}</td><td>{a.id}</td><td>{'yes' if a.active else 'no'}"
                f"</td><td>{a.total.to_json().get('ports', '')}</td></tr>"
                for a in agents
            )
            fws = "".join(
                f"<tr><td>{f.name}</td><td>{f.id}</td><td>{'yes' if f.active else 'no'}</td>"
                f"<td>{len(f.tasks)}</td></tr>"
                for f in frameworks
            )
        role = "leading master" if self.elected else "standby master"
        page = (
            "<!doctype html><html><head><title>Mesos (mesoslab twin)</title></head><body>"
            f"<h1>Mesos master {self.hostname} ({role})</h1>"
            "<p><strong>This is the mesoslab twin, an emulation of Mesos for the rehearsal "
            "lab.</strong> It serves the JSON endpoints (/master/state, /master/slaves, "
            "/metrics/snapshot, ...), not the Mesos web UI.</p>"
            f"<p>Leader: {leader.get('hostname', 'none')}:{leader.get('port', '')}</p>"
            "<h2>Agents</h2><table border=1><tr><th>host</th><th>id</th><th>active</th>"
            f"<th>ports</th></tr>{rows}</table>"
            "<h2>Frameworks</h2><table border=1><tr><th>name</th><th>id</th><th>active</th>"
            f"<th>tasks</th></tr>{fws}</table></body></html>"
        )
        return text_reply(page, content_type="text/html; charset=utf-8")

    # ------------------------------------------------------------------ twin API

    def _agent_call(self, request: Request, match: Any) -> Reply:
        redirect = self._not_leading(request)
        if redirect is not None:
            return redirect
        body = request.json()
        now = time.monotonic()
        with self.lock:
            if match.group(1) == "register":
                try:
                    agent_id, kind = self.cluster.register_agent(body, now)
                except KeyError:
                    return json_reply({"message": "Agent was removed; register anew"}, 410)
                agent = self.cluster.agents[agent_id]
                log.info(
                    "%s agent %s at %s (%s)", kind.capitalize(), agent_id, agent.pid, agent.hostname
                )
                return json_reply(
                    {"agent_id": agent_id, "master_id": self.id, "master_hostname": self.hostname}
                )
            agent_id = str(body.get("agent_id", ""))
            if agent_id in self.cluster.removed_agents:
                return json_reply({"message": "Agent was removed; register anew"}, 410)
            known = self.cluster.agents.get(agent_id)
            if known is None:
                return json_reply({"message": "Unknown agent; re-register"}, 404)
            answer = self.cluster.heartbeat(known, body.get("tasks") or [], now)
            answer["master_id"] = self.id
            return json_reply(answer)

    def _sched(self, request: Request, match: Any) -> Reply:
        redirect = self._not_leading(request)
        if redirect is not None:
            return redirect
        body = request.json()
        call = match.group(1)
        now = time.monotonic()
        with self.lock:
            cluster = self.cluster
            if call == "register":
                try:
                    framework_id, again = cluster.register_framework(body, now)
                except KeyError:
                    return json_reply({"message": "Framework has been removed"}, 410)
                log.info(
                    "%s framework %s (%s)",
                    "Re-registered" if again else "Registered",
                    framework_id,
                    cluster.frameworks[framework_id].name,
                )
                return json_reply({"framework_id": framework_id, "master_id": self.id})
            framework = cluster.frameworks.get(str(body.get("framework_id", "")))
            if framework is None:
                return json_reply({"message": "Framework is not registered"}, 404)
            framework.last_seen = now
            framework.active = framework.connected = True
            if call == "poll":
                since = int(body.get("since", 0) or 0)
                updates = [u for seq, u in framework.events if seq > since]
                reply: dict[str, Any] = {
                    "master_id": self.id,
                    "seq": cluster.seq,
                    "updates": updates,
                    "tasks": [t.last for t in framework.tasks.values() if t.last],
                }
                if body.get("offers", True):
                    reply["offers"] = cluster.offers(framework)
                return json_reply(reply)
            if call == "launch":
                cluster.launch(framework, str(body.get("agent_id", "")), body.get("tasks") or [])
                return json_reply({"seq": cluster.seq})
            if call == "kill":
                cluster.kill(framework, str(body.get("task_id", "")))
                return json_reply({})
            cluster.teardown(framework)
            return json_reply({})


def fail(message: str) -> None:
    """Mesos' EXIT(1) at run time: logged, then exit at once (no cleanup, no ZooKeeper
    close: our ephemeral znodes stay until the session expires, as after a crash)."""
    exit_failure(message)
    os._exit(1)


def run(root: Root, extra: list[str]) -> int:
    try:
        config = load_mesos_flags("master", root, dict(os.environ), extra)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    flags = config.flags
    log_to_files(root, flags.get("log_dir"), "mesos-master")
    if flags.get("registry", "replicated_log") == "replicated_log" and not flags.get("work_dir"):
        return exit_failure("--work_dir needed for replicated log based registry")
    if flags.get("zk") and not flags.get("quorum"):
        return exit_failure(
            "Need to specify --quorum for replicated log based registry when using ZooKeeper"
        )
    master = Master(flags, root)
    if flags.get("work_dir"):
        log_dir = root.path(flags["work_dir"]) / "replicated_log"
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "TWIN").write_text(
            "Emulated replicated log of the mesoslab twin (no data is kept here).\n"
        )
    try:
        server = serve(master.bind_ip, master.port, master.routes(), "master-http")
    except OSError as exc:
        return exit_failure(
            f"Failed to initialize: Failed to bind on {master.bind_ip}:{master.port}: "
            f"{exc.strerror or exc}"
        )
    log.info(
        "Master %s (%s) started on %s:%d [mesoslab twin: emulation of Mesos %s]",
        master.id,
        master.hostname,
        master.ip,
        master.port,
        MESOS_VERSION,
    )
    if master.zk_url:
        try:
            master.start_zk()
        except ValueError as exc:
            return exit_failure(f"Failed to create a master contender: {exc}")
    else:
        master.start_standalone()
    threading.Thread(target=master.housekeeping, name="housekeeping", daemon=True).start()
    wait_for_signal()
    master.stopping.set()
    server.shutdown()
    return 0
