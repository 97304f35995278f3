"""The emulated ``mesos-master``.

Starts like the package's ``mesos-init-wrapper master``: flags from ``/etc/default/mesos*``,
``/etc/mesos/zk`` and ``/etc/mesos-master/*`` (see :mod:`..common.config`). With ``--zk``
it contends for leadership through ZooKeeper (``json.info_`` znodes, lowest leads) and joins
``log_replicas``. Its replica of the registry's replicated log (:mod:`.replicated_log`, status
on disk in ``<work_dir>/replicated_log``) recovers with the replicas it finds there; the
leader only counts as elected once its replica votes and a ``--quorum`` of voting replicas
answers, and it aborts ("Recovery failed") after ``--registry_fetch_timeout`` without them,
as Mesos does. Without ``--zk`` it leads alone once its own replica votes.

Endpoints (each also without the ``/master`` prefix): ``/health``, ``/version``,
``/flags``, ``/metrics/snapshot``, ``/master/state``, ``/master/state-summary``,
``/master/slaves``, ``/master/frameworks``, ``/master/tasks``, ``/master/redirect``,
``/master/teardown``, the v1 scheduler API ``/api/v1/scheduler`` (:mod:`.v1_scheduler`) and the
v1 operator API ``/api/v1`` (:mod:`.v1_operator`); plus the twins' own ``/twin/...`` calls
between master and agents (:mod:`..common.wire`). A master that does not lead answers the
cluster endpoints with 307 to ``//<leader host>:<port><path>``, or 503 when no leader is known.
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
    Reply,
    Request,
    Router,
    TwinHTTPServer,
    json_reply,
    serve,
    text_reply,
)
from mesoslab_twin.common.process import (
    Exit,
    Fatal,
    exit_failure,
    fatal,
    log_to_files,
    wait_for_signal,
)
from mesoslab_twin.common.values import duration_seconds
from mesoslab_twin.common.wire import WireError, request
from mesoslab_twin.mesos.identity import BUILD_TIME, advertised_ip, hostname_of, ip_as_uint32
from mesoslab_twin.mesos.master_flags import MASTER_DEFAULTS
from mesoslab_twin.mesos.master_state import Cluster
from mesoslab_twin.mesos.nudge import Nudger
from mesoslab_twin.mesos.replicated_log import EMPTY, VOTING, Replica, next_status
from mesoslab_twin.mesos.v1_operator import MasterOperatorApi
from mesoslab_twin.mesos.v1_scheduler import SchedulerApi

log = logging.getLogger("mesoslab_twin.master")

TICK = 0.2  # seconds between two housekeeping passes when nothing asks for one sooner
REDIRECTED = ("state", "state-summary", "slaves", "frameworks", "tasks", "roles", "teardown")


class Master:
    def __init__(self, flags: dict[str, str], root: Root) -> None:
        self.root = root
        self.flags = {**MASTER_DEFAULTS, **flags}
        self.port = int(self.flags["port"])
        self.bind_ip = flags.get("ip", "0.0.0.0")
        self.ip = advertised_ip(flags, socket.gethostname())
        lookup = self.flags.get("hostname_lookup", "true") != "false"
        self.hostname = flags.get("hostname") or (hostname_of(self.ip) if lookup else self.ip)
        self.id = str(uuid.uuid4())
        self.pid = f"master@{self.ip}:{self.port}"
        self.start_time = time.time()
        self.elected_time: float | None = None
        self.lock = threading.RLock()
        self.nudger = Nudger()
        self.due = threading.Event()  # housekeeping has work now: an update to deliver
        self.cluster = self._new_cluster()
        self.zk_url = flags.get("zk", "")
        self.quorum = int(flags.get("quorum", "1") or 1)
        self.elected = False
        self._leader: dict[str, Any] | None = None
        self._member: str | None = None
        self._recovering_since: float | None = None
        self._short_since: float | None = None
        self.zk: Any = None
        self.stopping = threading.Event()
        # The replicated log: Mesos gives it --quorum with ZooKeeper and 1 without.
        work_dir = self.flags.get("work_dir") or ""
        in_log = self.flags.get("registry", "replicated_log") == "replicated_log" and work_dir
        self.replica = Replica(root.path(work_dir) / "replicated_log") if in_log else None
        self.log_quorum = self.quorum if self.zk_url else 1
        self.auto_initialize = self.flags.get("log_auto_initialize", "true") != "false"
        self.replica_status = EMPTY
        self.voting = 0  # VOTING replicas that answered the last round, this one included
        self._replica_member: str | None = None
        self.scheduler_api = SchedulerApi(self)
        self.operator_api = MasterOperatorApi(self)
        self.server: TwinHTTPServer | None = None

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
        threading.Thread(target=self._standalone_loop, name="election", daemon=True).start()

    def _standalone_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.lock:
                    self._check_recovery(time.monotonic())
            except Fatal as exc:
                fatal(str(exc))
            except Exit as exc:
                self.abdicate(str(exc))
            if self.stopping.wait(0.25):
                return

    def _new_cluster(self) -> Cluster:
        cluster = Cluster(self.id, self.flags)
        cluster.nudge = self.nudger.poke
        cluster.updated = self.due.set
        return cluster

    def _become_elected(self) -> None:
        if not self.elected:
            self.elected = True
            self.elected_time = time.time()
            self.cluster = self._new_cluster()
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
            except Fatal as exc:
                fatal(str(exc))
            except Exit as exc:
                self.abdicate(str(exc))
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
            self._replica_member = zk.join_replicas(
                f"log-replica(1)@{self.ip}:{self.port}".encode()
            )
            log.info("Created member %s under %s", self._member, zk.path)
        members = zk.members()
        if self._member not in members:
            if self.elected:
                raise Exit("Lost leadership... committing suicide!")
            self._member = None
            return
        leader = zk.leader()
        now = time.monotonic()
        with self.lock:
            self._leader = leader[1] if leader else None
            leading = leader is not None and leader[0] == self._member
            if self.elected and not leading:
                raise Exit("Lost leadership... committing suicide!")
            if leading:
                self._check_recovery(now)
            else:
                self._recovering_since = None

    def recovered_log(self) -> bool:
        """The registry can be read: our replica votes, with a quorum of voting replicas."""
        if self.replica is None:
            return True
        return self.replica_status == VOTING and self.voting >= self.log_quorum

    def _check_recovery(self, now: float) -> None:
        """For the leading master: elected once the registry is recovered; the registrar's
        fetch fails after --registry_fetch_timeout (MESOS@1.4.0 src/master/registrar.cpp
        L251-261, L351-356), and the master aborts (master.cpp L1689-1692, L2165-2168). Once
        elected, a registry store fails without a voting quorum after --registry_store_timeout."""
        if not self.elected:
            if self.recovered_log():
                self._recovering_since = None
                self._become_elected()
                return
            if self._recovering_since is None:
                self._recovering_since = now
                log.info(
                    "Recovering from registrar: waiting for a quorum of %d voting replicas "
                    "(replica %s, %d voting)",
                    self.log_quorum,
                    self.replica_status,
                    self.voting,
                )
            limit = duration_seconds(self.flags["registry_fetch_timeout"])
            if now - self._recovering_since > limit:
                raise Fatal(
                    "Recovery failed: Failed to recover registrar: Failed to perform "
                    f"fetch within {self.flags['registry_fetch_timeout']}"
                )
            return
        if self.recovered_log():
            self._short_since = None
            return
        self._short_since = self._short_since or now
        limit = duration_seconds(self.flags["registry_store_timeout"])
        if now - self._short_since > limit:
            raise Exit(
                "Registrar aborting: Failed to update registry: Failed to perform "
                f"store within {self.flags['registry_store_timeout']}"
            )

    # ------------------------------------------------------------------ replicated log

    def start_log(self) -> None:
        if self.replica is None:
            return
        self.replica_status = self.replica.open()
        threading.Thread(target=self._log_loop, name="replicated-log", daemon=True).start()

    def _log_loop(self) -> None:
        """Rounds of the recover protocol while our replica does not vote, and a count of the
        voting replicas that answer afterwards (what the registrar needs)."""
        assert self.replica is not None
        warned = False
        while not self.stopping.is_set():
            answers = [self.replica_status, *self._peer_statuses()]
            status = next_status(
                self.replica_status, answers, self.log_quorum, self.auto_initialize
            )
            if status != self.replica_status:
                self.replica.update(status)
            elif (
                not self.auto_initialize
                and not warned
                and answers.count(EMPTY) >= (2 * self.log_quorum - 1)
            ):
                warned = True
                log.warning(
                    "Replicated log has not been initialized. Did you forget to manually "
                    "initialize the log (i.e., mesos-log initialize --path=<PATH>)? "
                    "(the mesoslab twin has no mesos-log)"
                )
            with self.lock:
                changed = status != self.replica_status
                self.replica_status = status
                self.voting = answers[1:].count(VOTING) + (status == VOTING)
            if not changed and self.stopping.wait(0.5):
                return

    def _peer_statuses(self) -> list[str]:
        """Ask every other replica in ``log_replicas`` for its status (the twin's stand-in
        for a RecoverRequest); one that does not answer is not counted."""
        zk = self.zk
        if zk is None or not zk.connected.is_set():
            return []
        from kazoo.exceptions import KazooException

        try:
            members = zk.replica_members()
        except KazooException:
            return []
        me = f"{self.ip}:{self.port}"
        addresses = {
            data.rsplit("@", 1)[-1]
            for name, data in members
            if name != self._replica_member and "@" in data
        }
        addresses.discard(me)
        statuses = []
        for address in sorted(addresses):
            try:
                answer = request(address, "GET", "/twin/log/replica", timeout=1.0)
            except WireError:
                continue
            found = answer.json() if answer.status == 200 else None
            if isinstance(found, dict) and isinstance(found.get("status"), str):
                statuses.append(found["status"])
        return statuses

    def housekeeping(self) -> None:
        while True:
            self.due.wait(TICK)
            self.due.clear()
            if self.stopping.is_set():
                return
            with self.lock:
                if self.elected:
                    now = time.monotonic()
                    # streams first: a subscribed framework is seen now, however long
                    # this loop was held up (else expire would count the stall against it)
                    self.scheduler_api.tick(now)
                    self.cluster.expire(now)

    def abdicate(self, message: str) -> None:
        """Leave as Mesos does on a lost election or registry (EXIT(1)), but end the
        frameworks' streams cleanly first, so they look for the new leader at once."""
        with self.lock:
            self.scheduler_api.close_all()
        deadline = time.monotonic() + 1.0
        while self.server is not None and self.server.streams and time.monotonic() < deadline:
            time.sleep(0.02)
        fail(message)

    # ------------------------------------------------------------------ HTTP

    def routes(self) -> Router:
        router = Router(libprocess=True)
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
        router.add("GET", r"/twin/log/replica", self._replica)
        router.add("POST", r"/twin/agent/(register|heartbeat)", self._agent_call)
        router.add(
            "GET,POST", prefix + r"/api/v1/scheduler", lambda r, m: self.scheduler_api.handle(r, m)
        )
        router.add("GET,POST", prefix + r"/api/v1", lambda r, m: self.operator_api.handle(r, m))
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
            # Mesos 1.4 (master/http.cpp tasks): a limit or offset that is no number is
            # ignored (TASK_LIMIT 100, offset 0); only order=asc sorts ascending. Both are
            # read as int and kept as size_t (readonly_handler.cpp L1156-1157), so a
            # negative one is huge: limit=-1 is every task (the Mesos CLI sends it)
            limit = _size_t(_number(request.arg("limit"), 100))
            offset = _size_t(_number(request.arg("offset"), 0))
            ascending = request.arg("order") == "asc"
            return json_reply(master_views.tasks(self, limit, offset, ascending))

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
        """The read-only console (:mod:`.console`), on any master: a standby names the
        leader instead of showing data."""
        from mesoslab_twin.common.html import html_reply
        from mesoslab_twin.mesos import console

        with self.lock:
            found = console.view(self)
        return html_reply(console.render(found))

    # ------------------------------------------------------------------ twin API

    def _replica(self, request: Request, _m: Any) -> Reply:
        with self.lock:
            return json_reply({"status": self.replica_status if self.replica else EMPTY})

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


def fail(message: str) -> None:
    """Mesos' EXIT(1) at run time: logged, then exit at once (no cleanup, no ZooKeeper
    close: our ephemeral znodes stay until the session expires, as after a crash)."""
    exit_failure(message)
    os._exit(1)


def run(root: Root, extra: list[str], *, use_wrapper: bool = True) -> int:
    try:
        config = load_mesos_flags("master", root, dict(os.environ), extra, use_wrapper=use_wrapper)
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
    router = master.routes()
    # DC/OS (lesson 10): the overlay modules, when --modules_dir names them
    from mesoslab_twin.dcos.mesos_modules import attach_master

    try:
        attach_master(master, router)
    except Exit as exc:
        return exit_failure(str(exc))
    try:
        server = serve(master.bind_ip, master.port, router, "master-http")
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
    master.server = server
    master.start_log()
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


def _size_t(number: int) -> int:
    return number if number >= 0 else number + 2**64


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
