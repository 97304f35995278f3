"""Mesos check kinds against real recorded fixtures served by real local HTTP servers.

The lab has three masters (127.0.0.1-3) and three agents (127.0.0.4-6), all on shared
ports. Non-leading masters answer 307 with a scheme-less Location naming ``master2``, a
hostname no DNS resolves: the checks map it through the inventory.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import Status
from mesoslab.checks.spec import CheckSpec
from tests.support.fixture_server import (
    FakeLab,
    FixtureServer,
    Reply,
    attempt_checks,
    load_fixture,
    redirect,
    run_check,
    run_checks,
)

NODES = [
    ("master1", ["master"]),
    ("master2", ["master"]),
    ("master3", ["master"]),
    ("agent1", ["agent"]),
    ("agent2", ["agent"]),
    ("agent3", ["agent"]),
]
REDIRECTED = ("/master/state", "/master/slaves", "/master/frameworks", "/master/state-summary")


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab(NODES) as lab:
        yield lab


def master_state() -> dict[str, Any]:
    return load_fixture("mesos/master_state_dcos_mesos-1.2.0.json")


def agent_state() -> dict[str, Any]:
    return load_fixture("mesos/agent_state_dcos_mesos-0.27.0.json")


def elect(
    lab: FakeLab, leader: str | None = "master2", state: dict[str, Any] | None = None
) -> None:
    """Make the masters behave like Mesos >= 1.0 with ``leader`` elected (None: no leader).

    Every master answers /master/redirect with 307 (the leader too); non-leaders redirect
    the state endpoints; the leader serves them from ``state``.
    """
    state = master_state() if state is None else state
    port = lab.ports["mesos_master"]
    for name, srv in lab.servers("mesos_master"):
        srv.route("/health", Reply(200))
        srv.json("/metrics/snapshot", {"master/elected": 1.0 if name == leader else 0.0})
        if leader is None:
            for path in ("/master/redirect", *REDIRECTED):
                srv.route(path, Reply(503, "No leader elected"))
            continue
        srv.route("/master/redirect", redirect(f"//{leader}:{port}"))
        if name != leader:
            for path in REDIRECTED:
                srv.route(path, redirect(f"//{leader}:{port}{path}"))
        else:
            srv.json("/master/state", state)
            srv.json("/master/slaves", {"slaves": state.get("slaves", [])})
            srv.json(
                "/master/frameworks",
                {
                    "frameworks": state.get("frameworks", []),
                    "completed_frameworks": state.get("completed_frameworks", []),
                    "unregistered_frameworks": [],
                },
            )


def agent_hostnames_from_inventory(state: dict[str, Any], active: list[bool]) -> dict[str, Any]:
    """The fixture's agents renamed agent1..agentN (a lab whose agents use node names)."""
    template = state["slaves"][0]
    slaves = []
    for index, is_active in enumerate(active, start=1):
        slave = copy.deepcopy(template)
        slave["hostname"] = f"agent{index}"
        slave["pid"] = f"slave(1)@127.0.0.{3 + index}:5051"
        slave["id"] = f"{template['id'][:-2]}S{index}"
        slave["active"] = is_active
        slaves.append(slave)
    state["slaves"] = slaves
    return state


# ---------------------------------------------------------------- catalogue


def test_every_kind_is_documented_and_declares_its_role() -> None:
    kinds = {
        k: v for k, v in catalogue().items() if k.split(".")[0] in ("mesos", "marathon", "chronos")
    }
    expected = {
        "mesos.master_health",
        "mesos.version",
        "mesos.leader",
        "mesos.master_flag",
        "mesos.agent_flag",
        "mesos.agents_registered",
        "mesos.agent_resources",
        "mesos.frameworks",
        "mesos.task",
        "marathon.ping",
        "marathon.leader",
        "marathon.app_running",
        "marathon.task_ports",
        "chronos.job",
    }
    assert expected <= set(kinds)
    for kind in kinds.values():
        assert kind.doc and "\n" not in kind.doc, kind.name


# ---------------------------------------------------------------- master_health


def test_master_health_passes_on_200_with_empty_body(lab: FakeLab) -> None:
    elect(lab)
    result = run_check(lab.inventory, "mesos.master_health", on="master1")
    assert result.status is Status.PASS, result
    assert result.observed == "HTTP 200"


def test_master_health_fails_when_the_master_is_down(lab: FakeLab) -> None:
    elect(lab)
    lab.server("master3", "mesos_master").stop()
    results = attempt_checks(lab.inventory, [CheckSpec("mesos.master_health")])
    by_node = {r.node: r for r in results}
    assert [by_node[n].status for n in ("master1", "master2")] == [Status.PASS, Status.PASS]
    assert by_node["master3"].status is Status.FAIL
    assert by_node["master3"].observed.startswith("connection refused")


def test_master_health_fails_on_404(lab: FakeLab) -> None:
    result = run_check(lab.inventory, "mesos.master_health", on="master1")
    assert result.status is Status.FAIL
    assert result.observed == "HTTP 404"
    assert result.expected == "HTTP 200"


def test_agent_health_uses_the_agent_port(lab: FakeLab) -> None:
    lab.server("agent1", "mesos_agent").route("/health", Reply(200))
    result = run_check(lab.inventory, "mesos.master_health", on="agent1")
    assert result.status is Status.PASS, result


# ---------------------------------------------------------------- version


def version_doc(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] for k in ("version", "git_sha", "build_date", "build_time", "build_user")}


def test_version_passes_with_minimum(lab: FakeLab) -> None:
    lab.server("master1", "mesos_master").json("/version", version_doc(master_state()))
    result = run_check(lab.inventory, "mesos.version", {"min": "1.0"}, on="master1")
    assert result.status is Status.PASS, result
    assert result.observed == "1.2.0"


def test_version_fails_below_minimum(lab: FakeLab) -> None:
    lab.server("master1", "mesos_master").json("/version", version_doc(master_state()))
    result = run_check(lab.inventory, "mesos.version", {"min": "1.4"}, on="master1")
    assert result.status is Status.FAIL
    assert result.observed == "1.2.0"
    assert result.expected == ">= 1.4"


@pytest.mark.parametrize(
    ("version", "minimum", "status"),
    [
        ("1.10.0", "1.9", Status.PASS),
        ("1.9.1", "1.10", Status.FAIL),
        ("1.4.0-rc1", "1.4", Status.PASS),
    ],
)
def test_versions_compare_numerically(
    lab: FakeLab, version: str, minimum: str, status: Status
) -> None:
    lab.server("master1", "mesos_master").json("/version", {"version": version})
    result = run_check(lab.inventory, "mesos.version", {"min": minimum}, on="master1")
    assert result.status is status


def test_version_rejects_a_bad_minimum_at_lint_time() -> None:
    assert catalogue()["mesos.version"].problems({"min": "latest"})


# ---------------------------------------------------------------- leader


def test_leader_all_masters_agree(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(
        lab.inventory, "mesos.leader", {"masters_up": 3, "leader": "master2"}, timeout=1.0
    )
    assert result.status is Status.PASS, result
    assert result.summary == "master2 leads; 3 of 3 masters agree"
    assert result.observed == "master1 -> master2, master2 -> master2, master3 -> master2"


def test_leader_tolerates_a_stopped_follower(lab: FakeLab) -> None:
    elect(lab, "master2")
    lab.server("master3", "mesos_master").stop()
    result = run_check(lab.inventory, "mesos.leader", {"not_leader": "master3"}, timeout=10)
    assert result.status is Status.PASS, result
    assert result.summary == "master2 leads; 2 of 3 masters agree"
    assert "master3: connection refused" in result.observed


def test_leader_fails_when_fewer_masters_answer(lab: FakeLab) -> None:
    elect(lab, "master2")
    lab.server("master3", "mesos_master").stop()
    result = run_check(lab.inventory, "mesos.leader", {"masters_up": 3})
    assert result.status is Status.FAIL
    assert result.summary == "2 of 3 masters answer, expected 3"
    assert result.observed == (
        "master1 -> master2, master2 -> master2, master3: connection refused"
    )


def test_leader_fails_when_the_wrong_master_leads(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(lab.inventory, "mesos.leader", {"leader": "master1"})
    assert result.status is Status.FAIL
    assert result.summary.startswith("master2 leads, expected master1")


def test_leader_fails_when_the_stopped_master_still_leads(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(lab.inventory, "mesos.leader", {"not_leader": "master2"})
    assert result.status is Status.FAIL
    assert "master2 still leads" in result.summary


def test_leader_fails_with_503_no_leader(lab: FakeLab) -> None:
    elect(lab, None)
    result = run_check(lab.inventory, "mesos.leader")
    assert result.status is Status.FAIL
    assert result.summary.startswith("no leader elected")
    assert "master1: no leader elected (503)" in result.observed


def test_leader_fails_when_masters_disagree(lab: FakeLab) -> None:
    elect(lab, "master2")
    port = lab.ports["mesos_master"]
    lab.server("master1", "mesos_master").route("/master/redirect", redirect(f"//master1:{port}"))
    result = run_check(lab.inventory, "mesos.leader")
    assert result.status is Status.FAIL
    assert result.summary == "the masters disagree about the leader"
    assert result.observed.startswith("master1 -> master1, master2 -> master2")


def test_leader_fails_on_a_stale_view_of_a_dead_leader(lab: FakeLab) -> None:
    elect(lab, "master2")
    lab.server("master2", "mesos_master").stop()
    result = run_check(lab.inventory, "mesos.leader")
    assert result.status is Status.FAIL
    assert "stale view" in result.summary
    assert result.observed == (
        "master1 -> master2, master2: connection refused, master3 -> master2"
    )


def test_leader_asked_on_one_master_checks_the_named_leader_answers(lab: FakeLab) -> None:
    elect(lab, "master2")
    alive = run_check(lab.inventory, "mesos.leader", on="master1")
    assert alive.status is Status.PASS, alive
    assert alive.summary == "master2 leads; 1 of 1 masters agree"
    lab.server("master2", "mesos_master").stop()
    dead = run_check(lab.inventory, "mesos.leader", on="master1")
    assert dead.status is Status.FAIL
    assert dead.summary.startswith("stale view: the masters name master2 as leader")


def test_leader_fails_when_the_named_leader_is_not_elected(lab: FakeLab) -> None:
    elect(lab, "master2")
    lab.server("master2", "mesos_master").json("/metrics/snapshot", {"master/elected": 0.0})
    result = run_check(lab.inventory, "mesos.leader")
    assert result.status is Status.FAIL
    assert "master/elected 0" in result.summary


def test_leader_outside_the_inventory(lab: FakeLab) -> None:
    elect(lab, "master2")
    for _, srv in lab.servers("mesos_master"):
        srv.route("/master/redirect", redirect("//10.0.4.58:5050"))
    result = run_check(lab.inventory, "mesos.leader")
    assert result.status is Status.FAIL
    assert "10.0.4.58:5050" in result.summary
    assert "no node of the inventory" in result.summary


def test_leader_no_master_answers(lab: FakeLab) -> None:
    for _, srv in lab.servers("mesos_master"):
        srv.stop()
    result = run_check(lab.inventory, "mesos.leader")
    assert result.status is Status.FAIL
    assert result.summary.startswith("none of the 3 masters answers")


# ---------------------------------------------------------------- master_flag


def serve_master_flags(lab: FakeLab, flags: dict[str, Any], node: str = "master1") -> None:
    lab.server(node, "mesos_master").json("/flags", {"flags": flags})


@pytest.mark.parametrize(
    "params",
    [
        {"flag": "quorum", "equals": 1},
        {"flag": "quorum", "equals": "1"},
        {"flag": "zk", "absent": True},
        {"flag": "registry_fetch_timeout", "equals": "60secs"},
        {"flag": "agent_reregister_timeout", "equals": "600secs"},
        {"flag": "registry", "equals": "replicated_log"},
        {"flag": "authenticate_http_readonly", "equals": True},
        {"flag": "work_dir", "absent": False},
    ],
)
def test_master_flag_passes_on_fixture(lab: FakeLab, params: dict[str, Any]) -> None:
    serve_master_flags(lab, master_state()["flags"])
    result = run_check(lab.inventory, "mesos.master_flag", params, on="master1")
    assert result.status is Status.PASS, result


def test_master_flag_quorum_differs(lab: FakeLab) -> None:
    serve_master_flags(lab, master_state()["flags"])
    result = run_check(
        lab.inventory, "mesos.master_flag", {"flag": "quorum", "equals": 2}, on="master1"
    )
    assert result.status is Status.FAIL
    assert result.observed == "1"
    assert result.expected == "2 (compared as number)"


def test_master_flag_missing(lab: FakeLab) -> None:
    serve_master_flags(lab, master_state()["flags"])
    result = run_check(
        lab.inventory,
        "mesos.master_flag",
        {"flag": "zk", "equals": "zk://master1:2181,master2:2181,master3:2181/mesos"},
        on="master1",
    )
    assert result.status is Status.FAIL
    assert result.observed == "(absent)"
    assert "--zk is not set" in result.summary


def test_master_flag_set_when_it_should_be_absent(lab: FakeLab) -> None:
    flags = master_state()["flags"]
    flags["zk"] = "zk://localhost:2181/mesos"
    serve_master_flags(lab, flags)
    result = run_check(
        lab.inventory, "mesos.master_flag", {"flag": "zk", "absent": True}, on="master1"
    )
    assert result.status is Status.FAIL
    assert result.observed == "zk://localhost:2181/mesos"


def test_master_flag_falls_back_to_state_on_old_masters(lab: FakeLab) -> None:
    """Before 0.26 there was no /flags; the state document carries the same object."""
    old = load_fixture("mesos/master_state_pkg-install_datadog.json")
    lab.server("master1", "mesos_master").json("/state", old)
    result = run_check(
        lab.inventory,
        "mesos.master_flag",
        {"flag": "zk", "equals": "zk://localhost:2181/mesos"},
        on="master1",
    )
    assert result.status is Status.PASS, result
    paths = lab.server("master1", "mesos_master").paths_requested()
    assert paths == ["/flags", "/state"]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"flag": "quorum"}, "exactly one of 'equals' or 'absent'"),
        ({"flag": "quorum", "equals": 2, "absent": True}, "exactly one"),
        ({"flag": "--quorum", "equals": 2}, "without dashes"),
        ({"flag": "x", "equals": "soon", "as": "duration"}, "cannot be compared as duration"),
        ({"flag": "x", "equals": "1", "as": "fuzzy"}, "must be one of"),
    ],
)
def test_flag_params_are_validated(params: dict[str, Any], problem: str) -> None:
    problems = catalogue()["mesos.master_flag"].problems(params)
    assert any(problem in p for p in problems), problems


# ---------------------------------------------------------------- agent_flag


def serve_agent_flags(lab: FakeLab, flags: dict[str, Any], node: str = "agent1") -> None:
    lab.server(node, "mesos_agent").json("/flags", {"flags": flags})


@pytest.mark.parametrize(
    "params",
    [
        {"flag": "containerizers", "equals": "docker,mesos"},
        {"flag": "containerizers", "equals": "mesos,docker"},
        {"flag": "containerizers", "equals": ["mesos", "docker"]},
        {"flag": "executor_registration_timeout", "equals": "600secs"},
        {"flag": "executor_registration_timeout", "equals": "10mins"},
        {"flag": "isolation", "equals": "posix/disk,cgroups/cpu,cgroups/mem"},
        {"flag": "docker_socket", "equals": "/var/run/docker.sock"},
        {"flag": "image_providers", "absent": True},
        {"flag": "port", "equals": 5051},
        {"flag": "switch_user", "equals": True},
        {"flag": "gc_delay", "equals": "48hrs"},
        {
            "flag": "resources",
            "equals": "[1025-2180, 2182-3887, 3889-5049, 5052-8079, 8082-8180, 8182-32000]",
            "as": "ranges",
        },
    ],
)
def test_agent_flag_passes_on_fixture(lab: FakeLab, params: dict[str, Any]) -> None:
    serve_agent_flags(lab, agent_state()["flags"])
    result = run_check(lab.inventory, "mesos.agent_flag", params, on="agent1")
    assert result.status is Status.PASS, result


def test_agent_flag_duration_differs(lab: FakeLab) -> None:
    serve_agent_flags(lab, agent_state()["flags"])
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "executor_registration_timeout", "equals": "5mins"},
        on="agent1",
    )
    assert result.status is Status.FAIL
    assert result.observed == "10mins"
    assert result.expected == "5mins (compared as duration)"
    assert "600secs vs 300secs" in result.summary


def test_agent_flag_reads_a_second_agent_on_its_own_port(lab: FakeLab) -> None:
    """Lesson 9: an agent in a container beside the lab's own, on another port; `port`
    reads that one's /flags (its MESOS_ISOLATOR was ignored) and says which it read."""
    serve_agent_flags(lab, agent_state()["flags"])  # the lab's agent: cgroups isolation
    second = FixtureServer(lab.node("agent1").address, 0)
    second.json("/flags", {"flags": {**agent_state()["flags"], "isolation": "posix/cpu,posix/mem"}})
    try:
        params: dict[str, Any] = {"flag": "isolation", "port": second.port}
        ok = run_check(
            lab.inventory,
            "mesos.agent_flag",
            {**params, "equals": "posix/cpu,posix/mem"},
            on="agent1",
        )
        wrong = run_check(
            lab.inventory,
            "mesos.agent_flag",
            {**params, "equals": "cgroups/cpu,cgroups/mem"},
            on="agent1",
        )
    finally:
        second.stop()
    assert ok.status is Status.PASS, ok
    assert wrong.status is Status.FAIL
    assert wrong.observed == "posix/cpu,posix/mem"
    assert f"agent agent1:{second.port}: --isolation" in wrong.summary, wrong.summary
    assert second.paths_requested() == ["/flags", "/flags"]
    assert lab.server("agent1", "mesos_agent").paths_requested() == []


def test_agent_flag_containerizers_without_docker(lab: FakeLab) -> None:
    flags = agent_state()["flags"]
    flags["containerizers"] = "mesos"
    serve_agent_flags(lab, flags)
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "containerizers", "equals": "docker,mesos"},
        on="agent1",
    )
    assert result.status is Status.FAIL
    assert result.observed == "mesos"
    assert "{mesos} vs {docker, mesos}" in result.summary


def test_agent_flag_image_providers_missing(lab: FakeLab) -> None:
    serve_agent_flags(lab, agent_state()["flags"])
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "image_providers", "equals": "docker"},
        on="agent1",
    )
    assert result.status is Status.FAIL
    assert result.observed == "(absent)"


def test_agent_flag_image_providers_case_insensitive(lab: FakeLab) -> None:
    flags = agent_state()["flags"]
    flags["image_providers"] = "DOCKER"
    serve_agent_flags(lab, flags)
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "image_providers", "equals": "docker"},
        on="agent1",
    )
    assert result.status is Status.PASS, result


def test_agent_flag_resource_ports_differ(lab: FakeLab) -> None:
    flags = agent_state()["flags"]
    flags["resources"] = "cpus:2;mem:2048;ports:[31000-32000]"
    serve_agent_flags(lab, flags)
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "resources", "equals": "[21000-24000, 30000-64000]", "as": "ranges"},
        on="agent1",
    )
    assert result.status is Status.FAIL
    assert "[31000-32000] vs [21000-24000, 30000-64000]" in result.summary


def test_agent_flag_from_state_of_an_agent_without_flags_endpoint(lab: FakeLab) -> None:
    """The fixture agent is 0.27-era: /flags answers 404 there, /state carries the flags."""
    lab.server("agent2", "mesos_agent").json("/state", agent_state())
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "executor_registration_timeout", "equals": "600secs"},
        on="agent2",
    )
    assert result.status is Status.PASS, result
    assert result.observed == "10mins"


def test_agent_flag_refused(lab: FakeLab) -> None:
    lab.server("agent3", "mesos_agent").stop()
    result = run_check(
        lab.inventory,
        "mesos.agent_flag",
        {"flag": "containerizers", "equals": "docker,mesos"},
        on="agent3",
    )
    assert result.status is Status.FAIL
    assert result.observed.startswith("connection refused")


# ---------------------------------------------------------------- agents_registered


def test_agents_registered_on_fixture(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(lab.inventory, "mesos.agents_registered", {"count": 2})
    assert result.status is Status.PASS, result
    assert result.summary.startswith("2 agents registered and active")
    assert result.observed.startswith("10.0.2.121, 10.0.6.244")


def test_agents_registered_default_count_is_the_inventory(lab: FakeLab) -> None:
    elect(lab, "master2", agent_hostnames_from_inventory(master_state(), [True, True, True]))
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.PASS, result
    assert result.summary == "3 agents registered and active"
    assert result.observed == "agent1, agent2, agent3"


def test_agents_registered_fails_with_an_inactive_agent(lab: FakeLab) -> None:
    elect(lab, "master2", agent_hostnames_from_inventory(master_state(), [True, True, False]))
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.FAIL
    assert result.summary == (
        "2 of 3 agents registered and active on the leading master; missing: agent3"
    )
    assert result.observed == "agent1, agent2, agent3 (inactive); missing: agent3"


def test_agents_registered_inactive_allowed(lab: FakeLab) -> None:
    elect(lab, "master2", agent_hostnames_from_inventory(master_state(), [True, True, False]))
    result = run_check(lab.inventory, "mesos.agents_registered", {"active": False})
    assert result.status is Status.PASS, result


def test_agents_registered_fixture_agents_are_not_the_inventory(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.FAIL
    assert "missing: agent1, agent2, agent3" in result.summary


def test_agents_registered_matches_agents_by_pid_ip(lab: FakeLab) -> None:
    state = agent_hostnames_from_inventory(master_state(), [True, True, True])
    for slave in state["slaves"]:
        slave["hostname"] = "localhost.localdomain"  # reverse DNS gone wrong; the pid IP counts
    elect(lab, "master2", state)
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.PASS, result
    assert "localhost.localdomain (agent1)" in result.observed


def test_agents_registered_asks_the_next_master_when_one_is_down(lab: FakeLab) -> None:
    elect(lab, "master2", agent_hostnames_from_inventory(master_state(), [True, True, True]))
    lab.server("master1", "mesos_master").stop()
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.PASS, result
    assert lab.server("master2", "mesos_master").paths_requested() == ["/master/slaves"]


def test_agents_registered_follows_the_307_to_the_leader(lab: FakeLab) -> None:
    elect(lab, "master3", agent_hostnames_from_inventory(master_state(), [True, True, True]))
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.PASS, result
    assert lab.server("master1", "mesos_master").paths_requested() == ["/master/slaves"]
    assert lab.server("master3", "mesos_master").paths_requested() == ["/master/slaves"]


def test_agents_registered_no_leader(lab: FakeLab) -> None:
    elect(lab, None)
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.FAIL
    assert result.summary.startswith("no master answered")
    assert "master1: HTTP 503" in result.summary


# ---------------------------------------------------------------- agent_resources


FIXTURE_PORTS = "[1025-2180, 2182-3887, 3889-5049, 5052-8079, 8082-8180, 8182-32000]"


def test_agent_resources_on_fixture(lab: FakeLab) -> None:
    lab.server("agent1", "mesos_agent").json("/state", agent_state())
    params = {
        "ports": "[1025-2180,2182-3887,3889-5049,5052-8079,8082-8180,8182-32000]",
        "cpus": 4,
        "mem": 14019,
    }
    result = run_check(lab.inventory, "mesos.agent_resources", params, on="agent1")
    assert result.status is Status.PASS, result
    assert result.observed == f"ports {FIXTURE_PORTS}; cpus 4; mem 14019"


def test_agent_resources_default_ports_instead_of_custom(lab: FakeLab) -> None:
    state = agent_state()
    state["resources"]["ports"] = "[31000-32000]"
    lab.server("agent1", "mesos_agent").json("/state", state)
    result = run_check(
        lab.inventory,
        "mesos.agent_resources",
        {"ports": "[21000-24000, 30000-64000]"},
        on="agent1",
    )
    assert result.status is Status.FAIL
    assert result.expected == "[21000-24000, 30000-64000]"
    assert result.observed == "[31000-32000]"
    assert result.summary == (
        "agent agent1 offers ports [31000-32000], expected [21000-24000, 30000-64000]"
    )


def test_agent_resources_cpus_differ(lab: FakeLab) -> None:
    lab.server("agent1", "mesos_agent").json("/state", agent_state())
    result = run_check(lab.inventory, "mesos.agent_resources", {"cpus": 2}, on="agent1")
    assert result.status is Status.FAIL
    assert (result.expected, result.observed) == ("2", "4")


def test_agent_resources_needs_a_parameter() -> None:
    assert catalogue()["mesos.agent_resources"].problems({})
    assert catalogue()["mesos.agent_resources"].problems({"ports": "[1-x]"})


# ---------------------------------------------------------------- frameworks


def test_frameworks_on_fixture(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(lab.inventory, "mesos.frameworks", {"names": ["marathon", "metronome"]})
    assert result.status is Status.PASS, result
    assert result.observed == "marathon (active), metronome (active)"


def test_frameworks_inactive_after_disconnect(lab: FakeLab) -> None:
    state = master_state()
    for fw in state["frameworks"]:
        if fw["name"] == "marathon":
            fw["active"] = False
            fw["connected"] = False
    elect(lab, "master2", state)
    result = run_check(lab.inventory, "mesos.frameworks", {"names": ["marathon", "metronome"]})
    assert result.status is Status.FAIL
    assert result.observed == "marathon (inactive), metronome (active)"
    assert "marathon is registered but inactive" in result.summary
    loose = run_check(
        lab.inventory, "mesos.frameworks", {"names": ["marathon"], "active": False}, timeout=1.0
    )
    assert loose.status is Status.PASS, loose


def test_frameworks_missing_and_torn_down(lab: FakeLab) -> None:
    state = master_state()
    metronome = next(f for f in state["frameworks"] if f["name"] == "metronome")
    state["frameworks"].remove(metronome)
    state["completed_frameworks"].append(metronome)
    elect(lab, "master2", state)
    result = run_check(lab.inventory, "mesos.frameworks", {"names": ["chronos", "metronome"]})
    assert result.status is Status.FAIL
    assert result.observed == "chronos (not registered), metronome (completed)"
    assert "chronos is not registered" in result.summary
    assert "metronome was torn down" in result.summary


def test_frameworks_falls_back_to_state(lab: FakeLab) -> None:
    elect(lab, "master1", load_fixture("mesos/master_state_pkg-install_datadog.json"))
    lab.server("master1", "mesos_master").routes.pop(("GET", "/master/frameworks"))
    result = run_check(lab.inventory, "mesos.frameworks", {"names": ["marathon"]})
    assert result.status is Status.PASS, result


# ---------------------------------------------------------------- task


def test_task_running_on_fixture(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(
        lab.inventory,
        "mesos.task",
        {"name": "broker-0", "framework": "confluent-kafka", "container": "none"},
    )
    assert result.status is Status.PASS, result
    assert result.observed == "TASK_RUNNING (none)"


def test_task_state_differs(lab: FakeLab) -> None:
    state = load_fixture("mesos/master_state_pkg-install_datadog.json")
    state["frameworks"][0]["tasks"][0]["state"] = "TASK_FAILED"
    elect(lab, "master2", state)
    result = run_check(lab.inventory, "mesos.task", {"name": "hello"})
    assert result.status is Status.FAIL
    assert result.observed == "TASK_FAILED"
    assert result.expected == "hello TASK_RUNNING"
    assert result.summary == "task hello is not TASK_RUNNING; seen: TASK_FAILED"


def test_task_of_mesos_execute_in_completed_frameworks(lab: FakeLab) -> None:
    state = load_fixture("mesos/master_state_pkg-install_datadog.json")
    task = copy.deepcopy(state["frameworks"][0]["tasks"][0])
    task.update(name="cluster-test", state="TASK_FINISHED", executor_id="")
    framework = copy.deepcopy(state["frameworks"][0])
    framework.update(
        name="mesos-execute instance with uuid 1234", active=False, tasks=[], completed_tasks=[task]
    )
    state["completed_frameworks"].append(framework)
    elect(lab, "master2", state)
    result = run_check(
        lab.inventory, "mesos.task", {"name": "cluster-test", "state": "TASK_FINISHED"}
    )
    assert result.status is Status.PASS, result
    still_running = run_check(lab.inventory, "mesos.task", {"name": "cluster-test"})
    assert still_running.status is Status.FAIL
    assert still_running.observed == "TASK_FINISHED"


def test_task_container_type(lab: FakeLab) -> None:
    state = master_state()
    marathon = next(f for f in state["frameworks"] if f["name"] == "marathon")
    task = next(t for t in marathon["tasks"] if t["name"] == "no-healthcheck")
    task["container"] = {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE"}}
    elect(lab, "master2", state)
    docker = run_check(
        lab.inventory, "mesos.task", {"name": "no-healthcheck", "container": "DOCKER"}
    )
    assert docker.status is Status.PASS, docker
    mesos = run_check(lab.inventory, "mesos.task", {"name": "no-healthcheck", "container": "MESOS"})
    assert mesos.status is Status.FAIL
    assert mesos.observed == "TASK_RUNNING (DOCKER)"


def test_task_image_of_either_containerizer(lab: FakeLab) -> None:
    state = master_state()
    marathon = next(f for f in state["frameworks"] if f["name"] == "marathon")
    task = next(t for t in marathon["tasks"] if t["name"] == "no-healthcheck")
    task["container"] = {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE"}}
    elect(lab, "master2", state)
    spec = {"name": "no-healthcheck", "container": "DOCKER"}
    assert run_check(lab.inventory, "mesos.task", {**spec, "image": "nginx:latest"}).passed
    other = run_check(lab.inventory, "mesos.task", {**spec, "image": "python:3"})
    assert other.status is Status.FAIL
    assert other.observed == "TASK_RUNNING (DOCKER nginx)"
    assert "of image python:3" in other.expected
    # the unified containerizer names its Docker image under container.mesos.image
    task["container"] = {
        "type": "MESOS",
        "mesos": {"image": {"type": "DOCKER", "docker": {"name": "library/busybox"}}},
    }
    elect(lab, "master2", state)
    ucr = run_check(lab.inventory, "mesos.task", {"name": "no-healthcheck", "image": "busybox"})
    assert ucr.status is Status.PASS, ucr


def test_task_count_and_missing(lab: FakeLab) -> None:
    elect(lab, "master2")
    two = run_check(lab.inventory, "mesos.task", {"name": "broker-0", "count": 2})
    assert two.status is Status.FAIL
    assert two.summary == "1 of 2 tasks broker-0 are TASK_RUNNING; seen: TASK_RUNNING"
    missing = run_check(lab.inventory, "mesos.task", {"name": "nginx"})
    assert missing.status is Status.FAIL
    assert missing.observed.startswith("no task named nginx (tasks: broker-0, confluent-kafka")


def test_task_of_another_framework_does_not_count(lab: FakeLab) -> None:
    elect(lab, "master2")
    result = run_check(lab.inventory, "mesos.task", {"name": "broker-0", "framework": "marathon"})
    assert result.status is Status.FAIL


# ---------------------------------------------------------------- concurrency


def test_checks_run_concurrently(lab: FakeLab) -> None:
    """Ten checks against a service answering in 1 s each take about 1 s, not 10 s."""
    lab.server("master1", "mesos_master").json("/version", {"version": "1.4.0"}, delay=1.0)
    specs = [CheckSpec("mesos.version", {"min": "1.0"}, on="master1", timeout=20.0)] * 10
    start = time.monotonic()
    results = run_checks(lab.inventory, specs)
    elapsed = time.monotonic() - start
    assert [r.status for r in results] == [Status.PASS] * 10
    assert elapsed < 5, elapsed


def test_agents_registered_leader_down_behind_redirects(lab: FakeLab) -> None:
    elect(lab, "master2")
    lab.server("master2", "mesos_master").stop()
    result = run_check(lab.inventory, "mesos.agents_registered")
    assert result.status is Status.FAIL
    assert result.summary == (
        "no master answered: master1: leader master2: connection refused; "
        "master2: connection refused; master3: leader master2: connection refused"
    )
