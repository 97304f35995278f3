"""The twin behaves like Mesos where the lessons look (DESIGN §5): real processes, a real
three-server ZooKeeper ensemble, real HTTP, configuration from files like the packages.

One lab for the module (tests run in file order and build on each other, as the lessons do):
masters on 127.0.0.1-3 (quorum 2, the ZooKeeper servers share those addresses), agent1 on
127.0.0.4 with the seed's port ranges from a ``file://`` JSON resources file, agent2 on
127.0.0.5 with the defaults, Marathon and Chronos on master1. The mesoslab checks are run
against it with the real runner and must pass as they do against the recorded fixtures.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mesoslab.checks.result import CheckResult
from mesoslab.checks.spec import CheckSpec
from tests.support import zkserver
from tests.support.fixture_server import attempt_checks, run_checks
from tests.support.ports import free_port
from tests.support.twin_lab import Daemon, TwinLab, http, wait_until, write

pytestmark = pytest.mark.slow

MASTERS = {"master1": "127.0.0.1", "master2": "127.0.0.2", "master3": "127.0.0.3"}
AGENTS = {"agent1": "127.0.0.4", "agent2": "127.0.0.5"}
SEED_RESOURCES = """[
  {
    "name": "ports",
    "type": "RANGES",
    "ranges": {
      "range": [
        {"begin": 21000, "end": 24000},
        {"begin": 30000, "end": 64000}
      ]
    }
  }
]
"""
SEED_PORTS = "[21000-24000, 30000-64000]"
# Mesos' default session: a stopped leader's znode goes 10 s after it stops. Shorter ones
# (3 s was tried) expire on a busy CI machine, and a master that loses its session exits, as
# Mesos does, taking the rest of the module's tests with it.
SESSION = {"zk_session_timeout": "10secs"}


@dataclass
class Cluster:
    lab: TwinLab
    zk_url: str
    masters: dict[str, Daemon]
    agents: dict[str, Daemon] = field(default_factory=dict)
    marathon: Daemon | None = None
    chronos: Daemon | None = None
    started: bool = False

    def start_rest(self) -> None:
        """Everything but master1 (which starts first, alone, for the quorum test)."""
        if self.started:
            return
        self.started = True
        for name in ("master2", "master3"):
            self.masters[name].start()
        for daemon in (*self.agents.values(), self.marathon, self.chronos):
            assert daemon is not None
            daemon.start()
        for daemon in (*self.masters.values(), *self.agents.values()):
            daemon.wait_http()
        self.marathon.wait_http("/ping")  # type: ignore[union-attr]
        self.chronos.wait_http("/ping")  # type: ignore[union-attr]
        wait_until("an elected master with both agents and both frameworks", self._ready, 90)

    def _ready(self) -> bool:
        leader = self.find_leader()
        if leader is None:
            return False
        state = leader.get("/master/state").json()
        active = {f["name"] for f in state["frameworks"] if f["active"]}
        return sum(1 for s in state["slaves"] if s["active"]) == 2 and active >= {
            "marathon",
            "chronos",
        }

    def find_leader(self) -> Daemon | None:
        for daemon in self.masters.values():
            if daemon.running:
                snapshot = daemon.get("/metrics/snapshot", timeout=2).json()
                if snapshot["master/elected"] == 1.0:
                    return daemon
        return None

    def leader(self) -> Daemon:
        found = self.find_leader()
        assert found is not None, "no elected master"
        return found

    def check(
        self, kind: str, params: dict, on: str | None = None, *, settle: bool = True
    ) -> CheckResult:
        """Settle one mesoslab check against the lab for up to a minute, or (a check meant to
        fail: ``settle=False``) make one attempt."""
        spec = CheckSpec(kind, params, on=on, timeout=60)
        inventory = self.lab.inventory()
        results = run_checks(inventory, [spec]) if settle else attempt_checks(inventory, [spec])
        assert len(results) == 1
        return results[0]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    zkserver.require_zookeeper()
    base = tmp_path_factory.mktemp("twin")
    servers = zkserver.ensemble(base / "zk", addresses=tuple(MASTERS.values()))
    lab = TwinLab(base / "nodes", [*MASTERS.values(), *AGENTS.values(), "127.0.0.6"])
    try:
        for server in servers:
            server.start()
        zkserver.wait_for(servers, zkserver.ensemble_ready, timeout=40)
        hosts = ",".join(f"{a}:{servers[0].client_port}" for a in MASTERS.values())
        zk_url = f"zk://{hosts}/mesos"
        masters = {
            name: lab.master(name, address, zk=zk_url, quorum=2, extra=SESSION)
            for name, address in MASTERS.items()
        }
        found = Cluster(lab, zk_url, masters)
        agent1_root = lab.root("agent1")
        write(agent1_root, "/etc/mesos-slave-data/resources.conf", SEED_RESOURCES)
        found.agents["agent1"] = lab.agent(
            "agent1",
            AGENTS["agent1"],
            master=zk_url,
            extra={
                "resources": "file:///etc/mesos-slave-data/resources.conf",
                "executor_registration_timeout": "300secs",
            },
        )
        found.agents["agent2"] = lab.agent("agent2", AGENTS["agent2"], master=zk_url)
        found.marathon = lab.marathon("master1", MASTERS["master1"], master=zk_url)
        found.chronos = lab.chronos("master1", MASTERS["master1"], master=zk_url)
        masters["master1"].start()
        masters["master1"].wait_http()
        yield found
    finally:
        lab.stop_all()
        zkserver.stop_all(servers)


def _members(cluster: Cluster) -> list[tuple[str, dict]]:
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError

    hosts = cluster.zk_url[len("zk://") : -len("/mesos")]
    client = KazooClient(hosts=hosts, timeout=5)
    client.start(timeout=10)
    try:
        names = sorted(c for c in client.get_children("/mesos") if c.startswith("json.info_"))
        return [(n, json.loads(client.get(f"/mesos/{n}")[0])) for n in names]
    except NoNodeError:
        return []
    finally:
        client.stop()
        client.close()


# ------------------------------------------------------------------ election


def test_a_leader_needs_a_quorum_of_masters(cluster: Cluster) -> None:
    master1 = cluster.masters["master1"]
    members = wait_until("master1's json.info_ znode", lambda: _members(cluster))
    assert len(members) == 1 and members[0][1]["hostname"] == "master1"
    assert master1.get("/master/state").status == 503
    assert master1.get("/metrics/snapshot").json()["master/elected"] == 0.0
    assert master1.get("/health").status == 200
    cluster.start_rest()
    assert master1.get("/metrics/snapshot").json()["master/elected"] == 1.0


def test_lowest_json_info_leads_and_the_others_redirect(cluster: Cluster) -> None:
    cluster.start_rest()
    members = wait_until(
        "three json.info_ znodes", lambda: len(_members(cluster)) == 3 and _members(cluster)
    )
    lowest = members[0][1]
    port = cluster.lab.ports["mesos_master"]
    assert set(lowest) >= {"address", "hostname", "id", "ip", "pid", "port", "version"}
    assert lowest["ip"] == 16777343  # 127.0.0.1 in network byte order
    assert lowest["pid"] == f"master@127.0.0.1:{port}"
    leader = cluster.leader()
    assert leader is cluster.masters[lowest["hostname"]]
    for name, daemon in cluster.masters.items():
        redirect = daemon.get("/master/redirect")
        assert redirect.status == 307, name
        assert redirect.headers["Location"] == f"//{lowest['hostname']}:{port}"
        state = daemon.get("/master/state")
        if daemon is leader:
            assert state.status == 200
            assert state.json()["leader"] == lowest["pid"]
        else:
            assert state.status == 307
            assert state.headers["Location"] == f"//{lowest['hostname']}:{port}/master/state"
            assert daemon.get("/metrics/snapshot").json()["master/elected"] == 0.0
    result = cluster.check("mesos.leader", {"masters_up": 3})
    assert result.passed, result


def test_no_leader_known_answers_503(cluster: Cluster) -> None:
    nowhere = f"zk://127.0.0.6:{free_port(['127.0.0.6'])}/mesos"
    lonely = cluster.lab.master("lonely", "127.0.0.6", zk=nowhere, quorum=1).start()
    try:
        lonely.wait_http()
        assert lonely.get("/master/redirect").status == 503
        assert lonely.get("/master/state").status == 503
        assert lonely.get("/master/slaves").status == 503
    finally:
        lonely.stop()


def test_quorum_is_required_with_zookeeper(cluster: Cluster, tmp_path: Path) -> None:
    lab = TwinLab(tmp_path, ["127.0.0.6"])
    daemon = lab.master("noquorum", "127.0.0.6", zk=cluster.zk_url)
    (daemon.root / "etc/mesos-master/quorum").unlink()
    daemon.start()
    assert daemon.wait_exit() == 1
    assert "Need to specify --quorum for replicated log based registry" in daemon.output()


# ------------------------------------------------------------------ agents


def test_agent_resources_come_from_the_file(cluster: Cluster) -> None:
    cluster.start_rest()
    agent1 = cluster.agents["agent1"]
    state = agent1.get("/state").json()
    assert state["resources"]["ports"] == SEED_PORTS
    flags = agent1.get("/flags").json()["flags"]
    assert flags["resources"] == SEED_RESOURCES  # the file's content, as Mesos shows it
    assert flags["executor_registration_timeout"] == "5mins"  # 300secs, normalised
    assert cluster.agents["agent2"].get("/state").json()["resources"]["ports"] == "[31000-32000]"
    result = cluster.check("mesos.agent_resources", {"ports": SEED_PORTS}, on="agent1")
    assert result.passed, result
    wrong = cluster.check("mesos.agent_resources", {"ports": SEED_PORTS}, on="agent2", settle=False)
    assert not wrong.passed
    result = cluster.check("mesos.agents_registered", {"count": 2})
    assert result.passed, result


def test_web_page_shows_the_leaders_tables_and_no_ports(cluster: Cluster) -> None:
    """The leader's console lists the agents without ports, as the real UI's agents table
    (MESOS@1.4.0 src/webui/master/static/agents.html L14-21): lesson 3's ranges are only in
    the JSON. A standby's console names the leader and links to it, as the real UI sends a
    learner on to the leading master."""
    cluster.start_rest()
    leader = cluster.leader()
    standby = next(d for d in cluster.masters.values() if d is not leader and d.running)
    page = leader.get("/", accept="text/html").body.decode()
    assert "agent1" in page and "agent2" in page
    assert "marathon" in page and "chronos" in page
    assert "ports" not in page.lower() and "21000" not in page and "31000" not in page
    page = standby.get("/", accept="text/html").body.decode()
    assert "not the leader" in page.lower() and leader.address in page, page[-1500:]


def _finished_tasks(state: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The tasks called ``name`` of the completed frameworks in a master's /master/state
    (where a finished mesos-execute's task is)."""
    return [
        t for f in state["completed_frameworks"] for t in f["completed_tasks"] if t["name"] == name
    ]


def test_mesos_resolve_and_mesos_execute(cluster: Cluster) -> None:
    cluster.start_rest()
    resolved = cluster.lab.tool("mesos-resolve", cluster.zk_url)
    assert resolved.returncode == 0, resolved.stderr
    leader = cluster.leader()
    assert resolved.stdout.strip() == f"{leader.address}:{leader.port}"
    run = cluster.lab.tool(
        "mesos-execute",
        f"--master={resolved.stdout.strip()}",
        "--name=cluster-test",
        "--command=sleep 1",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Subscribed with ID" in run.stdout
    assert "Received status update TASK_RUNNING for task 'cluster-test'" in run.stdout
    assert "Received status update TASK_FINISHED for task 'cluster-test'" in run.stdout
    state = leader.get("/master/state").json()
    done = _finished_tasks(state, "cluster-test")
    assert done and done[0]["state"] == "TASK_FINISHED"
    result = cluster.check("mesos.task", {"name": "cluster-test", "state": "TASK_FINISHED"})
    assert result.passed, result


def test_a_stopped_scheduler_leaves_no_thread_reading_its_stream(cluster: Cluster) -> None:
    """stop() returns once the driver's loop and its stream reader have ended: mesos-execute
    exits right after it, and a reader still in read1() while the loop closes the connection
    died at interpreter shutdown ("Fatal Python error: _enter_buffered_busy", seen in CI)."""
    import threading

    from mesoslab_twin.mesos.scheduler import Driver

    cluster.start_rest()
    leader = cluster.leader()
    driver = Driver(f"{leader.address}:{leader.port}", {"name": "stop-test", "user": "root"})
    driver.start()
    try:
        wait_until("the framework subscribed", lambda: driver.registered, 30)
    finally:
        driver.stop()
    alive = [t.name for t in threading.enumerate() if t.name.startswith("scheduler")]
    assert alive == []


def test_a_tasks_output_is_in_its_sandbox_behind_the_agents_files_endpoints(
    cluster: Cluster,
) -> None:
    """/files/browse, /files/read and /files/download over the real sandbox, as the Mesos
    UI's Sandbox link uses them (files.cpp at 1.4.3)."""
    from urllib.parse import quote

    cluster.start_rest()
    leader = cluster.leader()
    run = cluster.lab.tool(
        "mesos-execute",
        f"--master={leader.address}:{leader.port}",
        "--name=sandbox-test",
        "--command=echo hello from the sandbox; echo oops >&2",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    state = leader.get("/master/state").json()
    (task,) = _finished_tasks(state, "sandbox-test")
    host = next(a["hostname"] for a in state["slaves"] if a["id"] == task["slave_id"])
    agent = cluster.agents[host]
    agent_state = agent.get("/state").json()
    (directory,) = [
        e["directory"]
        for f in agent_state["completed_frameworks"]
        for e in f["completed_executors"]
        if e["id"] == task["id"]
    ]

    def files(endpoint: str, path: str, extra: str = "") -> Any:
        return http("GET", f"{agent.url}{endpoint}?path={quote(path)}{extra}")

    listing = files("/files/browse", directory)
    assert listing.status == 200
    entries = {e["path"]: e for e in listing.json()}
    assert {f"{directory}/stdout", f"{directory}/stderr"} <= set(entries)
    stdout = entries[f"{directory}/stdout"]
    assert stdout["mode"].startswith("-rw") and stdout["nlink"] == 1
    assert set(stdout) == {"path", "nlink", "size", "mtime", "mode", "uid", "gid"}
    assert files("/files/browse.json", directory).json() == listing.json()  # the old name too
    size = files("/files/read", f"{directory}/stdout").json()  # no offset: the UI asks the size
    assert size == {"data": "", "offset": stdout["size"]}
    read = files("/files/read", f"{directory}/stdout", "&offset=0").json()
    assert read["offset"] == 0 and "hello from the sandbox" in read["data"]
    stderr = files("/files/read", f"{directory}/stderr", "&offset=0&length=-1").json()
    assert "oops" in stderr["data"]
    assert "executor.cpp] Starting task sandbox-test" in stderr["data"]  # the executor's log
    assert files("/files/read", f"{directory}/stdout", "&offset=6&length=4").json() == {
        "data": "from",
        "offset": 6,
    }
    download = files("/files/download", f"{directory}/stdout")
    assert download.status == 200 and b"hello from the sandbox" in download.body
    assert download.headers["Content-Disposition"] == "attachment; filename=stdout"
    latest = str(Path(directory).parent / "latest")  # attached as runs/latest as well
    assert "hello" in files("/files/read", f"{latest}/stdout", "&offset=0").json()["data"]
    assert directory in http("GET", agent.url + "/files/debug").json()
    # what Mesos refuses
    assert files("/files/read", directory).status == 400  # a folder
    assert files("/files/read", f"{directory}/stdout", "&offset=x").body.startswith(
        b"Failed to parse offset"
    )
    assert http("GET", agent.url + "/files/browse").body == b"Expecting 'path=value' in query.\n"
    assert files("/files/read", f"{directory}/../../../../../../meta/slaves/latest").status == 404
    assert files("/files/browse", "/etc").status == 404  # not attached: nothing outside sandboxes


def test_mesos_execute_launches_again_a_task_the_master_never_knew(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A launch that never reached the master (or left with a failed-over one) must not leave
    the learner's mesos-execute waiting forever: after UNKNOWN_FOR seconds it goes again."""
    from mesoslab_twin.common.values import Amounts, parse_resources
    from mesoslab_twin.mesos.execute import UNKNOWN_FOR, Execute

    run = Execute({"name": "cluster-test", "command": "sleep 1"})
    offer = {"agent_id": "S0", "resources": Amounts.of(parse_resources("cpus:2;mem:512")).to_wire()}
    assert [agent for agent, _ in run.offers([offer])] == ["S0"]
    assert run.offers([offer]) == []  # one task, launched once
    staging = {"task_id": "cluster-test", "state": "TASK_STAGING"}
    run.tasks([staging], now=0.0)
    run.tasks([], now=1.0)
    run.tasks([], now=1.0 + UNKNOWN_FOR - 0.5)
    assert run.offers([offer]) == [], "relaunched before the master had long to learn of it"
    run.tasks([staging], now=1.0 + UNKNOWN_FOR)  # known again: the clock starts over
    run.tasks([], now=2.0 + UNKNOWN_FOR)
    assert run.offers([offer]) == []
    run.tasks([], now=2.0 + 2 * UNKNOWN_FOR)
    assert "launching it again" in capsys.readouterr().out
    assert [agent for agent, _ in run.offers([offer])] == ["S0"]
    run.update({"task_id": "cluster-test", "state": "TASK_FINISHED"})
    run.tasks([], now=10 * UNKNOWN_FOR)  # a finished task is not launched again
    assert run.offers([offer]) == [] and run.final == "TASK_FINISHED"


# ------------------------------------------------------------------ Marathon


def test_marathon_app_really_listens_on_port0(cluster: Cluster) -> None:
    cluster.start_rest()
    marathon = cluster.marathon
    assert marathon is not None
    app = {
        "id": "/web-21001",
        "cmd": f"{sys.executable} -m http.server $PORT0",
        "instances": 1,
        "cpus": 0.1,
        "mem": 32,
        "portDefinitions": [{"port": 21001, "protocol": "tcp"}],
        "requirePorts": True,
    }
    created = http("POST", marathon.url + "/v2/apps", app)
    assert created.status == 201, created.body
    assert http("POST", marathon.url + "/v2/apps", app).status == 409
    running = wait_until(
        "/web-21001 running",
        lambda: (
            (a := marathon.get("/v2/apps/web-21001").json()["app"])["tasksRunning"] == 1
            and not a["deployments"]
            and a
        ),
    )
    task = running["tasks"][0]
    assert task["host"] == "agent1" and task["ports"] == [21001]
    page = wait_until("the web server", lambda: http("GET", "http://127.0.0.4:21001/"))
    assert page.status == 200
    for kind, params in (
        ("marathon.app_running", {"app": "/web-21001", "instances": 1}),
        ("marathon.task_ports", {"app": "/web-21001", "within": SEED_PORTS, "reachable": True}),
    ):
        result = cluster.check(kind, params)
        assert result.passed, result


def test_docker_app_fails_on_agents_without_docker(cluster: Cluster) -> None:
    cluster.start_rest()
    marathon = cluster.marathon
    assert marathon is not None
    app = {
        "id": "/nginx-docker",
        "instances": 1,
        "cpus": 0.1,
        "mem": 64,
        "container": {
            "type": "DOCKER",
            "docker": {
                "image": "nginx",
                "network": "BRIDGE",
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
            },
        },
    }
    assert http("POST", marathon.url + "/v2/apps", app).status == 201
    try:
        failure = wait_until(
            "a task failure",
            lambda: marathon.get("/v2/apps/nginx-docker").json()["app"].get("lastTaskFailure"),
        )
        assert failure["state"] == "TASK_FAILED"
        # what Marathon and the UI show (executorTerminated); the reason is in the agent's log
        assert failure["message"] == "Abnormal executor termination: unknown container"
        assert "None of the enabled containerizers (mesos) could create a container" in (
            cluster.agents["agent1"].output() + cluster.agents["agent2"].output()
        )
        state = cluster.leader().get("/master/state").json()
        failed = [
            t
            for f in state["frameworks"]
            if f["name"] == "marathon"
            for t in f["completed_tasks"]
            if t["name"] == "nginx-docker"
        ]
        assert failed and failed[0]["state"] == "TASK_FAILED"
        assert failed[0]["container"]["type"] == "DOCKER"
        result = cluster.check("marathon.app_running", {"app": "/nginx-docker"}, settle=False)
        assert not result.passed
        assert "Abnormal executor termination: unknown container" in result.observed
    finally:
        assert http("DELETE", marathon.url + "/v2/apps/nginx-docker").status == 200


# ------------------------------------------------------------------ Chronos


def test_chronos_job_runs_and_counts(cluster: Cluster) -> None:
    cluster.start_rest()
    chronos = cluster.chronos
    assert chronos is not None
    job = {
        "name": "hello",
        "command": "echo hello",
        "schedule": "R2//PT1H",
        "mem": 32,
    }  # R1 would be disabled after its run
    assert http("POST", chronos.url + "/scheduler/iso8601", job).status == 204
    broken = {"name": "broken", "command": "exit 3", "schedule": "R1//PT1M", "retries": 0}
    assert http("POST", chronos.url + "/scheduler/iso8601", broken).status == 204

    def job_named(name: str) -> dict:
        return next(j for j in chronos.get("/scheduler/jobs").json() if j["name"] == name)

    done = wait_until("hello to succeed", lambda: job_named("hello")["successCount"] == 1)
    assert done
    hello = job_named("hello")
    assert hello["lastSuccess"] and hello["lastError"] == "" and hello["errorCount"] == 0
    child = {"name": "after-hello", "command": "true", "parents": ["hello"]}
    assert http("POST", chronos.url + "/scheduler/dependency", child).status == 204
    orphan = {"name": "orphan", "command": "true", "parents": ["nobody"]}
    assert http("POST", chronos.url + "/scheduler/dependency", orphan).status == 400
    assert http("PUT", chronos.url + "/scheduler/job/hello").status == 204
    wait_until("a second success", lambda: job_named("hello")["successCount"] == 2)
    wait_until("the dependent job", lambda: job_named("after-hello")["successCount"] == 1)
    assert "parents" in job_named("after-hello") and "schedule" not in job_named("after-hello")
    graph = chronos.get("/scheduler/graph/csv", accept="text/plain").body.decode()
    assert "link,hello,after-hello" in graph and "node,hello,success," in graph
    wait_until("broken to fail", lambda: job_named("broken")["errorCount"] == 1)
    assert job_named("broken")["successCount"] == 0
    result = cluster.check("chronos.job", {"name": "hello", "succeeded": True})
    assert result.passed, result


# ------------------------------------------------------------------ agent restarts


def test_agent_restart_keeps_its_id_and_its_tasks(cluster: Cluster) -> None:
    cluster.start_rest()
    agent1, marathon = cluster.agents["agent1"], cluster.marathon
    assert marathon is not None
    before = agent1.get("/state").json()["id"]
    task = marathon.get("/v2/apps/web-21001").json()["app"]["tasks"][0]
    agent1.stop()
    assert http("GET", "http://127.0.0.4:21001/").status == 200  # the task outlives it
    agent1.start()
    agent1.wait_http()
    assert agent1.get("/state").json()["id"] == before
    wait_until(
        "agent1 registered again",
        lambda: agent1.get("/metrics/snapshot").json()["slave/registered"] == 1.0,
    )
    state = agent1.get("/state").json()
    running = [t["id"] for f in state["frameworks"] for e in f["executors"] for t in e["tasks"]]
    assert running == [task["id"]]
    app = marathon.get("/v2/apps/web-21001").json()["app"]
    assert [t["id"] for t in app["tasks"]] == [task["id"]] and app["tasksRunning"] == 1


def test_changed_resources_need_latest_removed(cluster: Cluster) -> None:
    cluster.start_rest()
    agent2 = cluster.agents["agent2"]
    leader = cluster.leader()
    old_id = agent2.get("/state").json()["id"]
    agent2.stop()

    def agent2_active() -> bool:
        slaves = leader.get("/master/slaves").json()["slaves"]
        return next(s["active"] for s in slaves if s["id"] == old_id)

    wait_until("agent2 deactivated", lambda: not agent2_active())
    write(agent2.root, "/etc/mesos-slave-data/resources.conf", SEED_RESOURCES)
    write(
        agent2.root, "/etc/mesos-slave/resources", "file:///etc/mesos-slave-data/resources.conf\n"
    )
    for _attempt in range(2):  # it fails the same way every time, as under systemd
        agent2.start()
        assert agent2.wait_exit() == 1
        output = agent2.output()
        assert "EXIT with status 1: Failed to perform recovery: Incompatible agent info" in output
        assert "Step 1: rm -f /var/lib/mesos/meta/slaves/latest" in output
    error_log = (agent2.root / "var/log/mesos/mesos-slave.ERROR").read_text()
    assert "Incompatible agent info detected" in error_log  # LOGS=/var/log/mesos, like glog
    latest = agent2.root / "var/lib/mesos/meta/slaves/latest"
    assert latest.is_symlink()
    latest.unlink()
    agent2.start()
    agent2.wait_http()
    new_id = wait_until("agent2 registered", lambda: agent2.get("/state").json()["id"])
    assert new_id != old_id
    assert agent2.get("/state").json()["resources"]["ports"] == SEED_PORTS

    def agents() -> dict[str, dict]:
        return {s["id"]: s for s in leader.get("/master/slaves").json()["slaves"]}

    wait_until("the old agent replaced", lambda: new_id in agents() and old_id not in agents())
    result = cluster.check("mesos.agents_registered", {"count": 2, "active": True})
    assert result.passed, result


def test_marathon_restart_keeps_its_apps_and_framework(cluster: Cluster) -> None:
    cluster.start_rest()
    marathon = cluster.marathon
    assert marathon is not None
    framework_id = marathon.get("/v2/info").json()["frameworkId"]
    tasks = [t["id"] for t in marathon.get("/v2/apps/web-21001").json()["app"]["tasks"]]
    marathon.stop()
    marathon.start()
    marathon.wait_http("/ping")

    def back() -> bool:
        info = marathon.get("/v2/info").json()
        app = marathon.get("/v2/apps/web-21001").json()["app"]
        return info["elected"] and info["frameworkId"] == framework_id and app["tasksRunning"]

    wait_until("Marathon back with its framework id", back)
    assert [t["id"] for t in marathon.get("/v2/apps/web-21001").json()["app"]["tasks"]] == tasks

    # Marathon says "elected" before its re-registration reaches the master, as the real one
    # does; the master marks the framework active only once that message arrives.
    def named() -> list[dict]:
        frameworks = cluster.leader().get("/master/frameworks").json()["frameworks"]
        return [f for f in frameworks if f["name"] == "marathon"]

    wait_until("the master sees Marathon re-registered", lambda: any(f["active"] for f in named()))
    assert [f["id"] for f in named()] == [framework_id]


# ------------------------------------------------------------------ failover


def test_failover_keeps_agents_frameworks_and_tasks(cluster: Cluster) -> None:
    cluster.start_rest()
    dead = [d for d in cluster.masters.values() if not d.running]
    assert not dead, "a master died before the drill:\n" + "\n".join(
        d.output()[-1500:] for d in dead
    )
    old = cluster.leader()
    old.stop(signal.SIGTERM)
    new = wait_until("a new elected master", cluster.find_leader)
    assert new is not old
    remaining = [d for d in cluster.masters.values() if d.running]
    leader_at = f"//{new.name.removeprefix('master-')}:"

    def all_redirect_to_the_new_leader() -> bool:
        # each master learns of the new leader from its own ZooKeeper watch, a moment apart
        # (until then it may still name the old one, or answer 503 knowing none)
        answers = [d.get("/master/redirect") for d in remaining]
        return all(a.status == 307 and a.headers["Location"].startswith(leader_at) for a in answers)

    wait_until("every master redirecting to the new leader", all_redirect_to_the_new_leader)
    wait_until("both agents re-registered", cluster._ready, 90)
    state = new.get("/master/state").json()
    tasks = [
        t
        for f in state["frameworks"]
        if f["name"] == "marathon"
        for t in f["tasks"]
        if t["name"] == "web-21001"
    ]
    assert tasks and tasks[0]["state"] == "TASK_RUNNING"
    assert http("GET", "http://127.0.0.4:21001/").status == 200
    for kind, params in (
        ("mesos.leader", {"masters_up": 2}),
        ("mesos.agents_registered", {"count": 2}),
        ("mesos.frameworks", {"names": ["marathon", "chronos"], "active": True}),
        ("marathon.app_running", {"app": "/web-21001", "instances": 1}),
    ):
        result = cluster.check(kind, params)
        assert result.passed, (kind, result)
