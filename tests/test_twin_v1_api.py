"""The twin master's v1 scheduler API and the v1 operator API of masters and agents behave as
Mesos's do (MESOS@HEAD src/master/http.cpp, src/master/validation.cpp, src/master/master.cpp,
include/mesos/v1/scheduler/scheduler.proto, include/mesos/v1/master/master.proto,
include/mesos/v1/agent/agent.proto).

One lab for the module: a standalone ZooKeeper, two masters (master1 on 127.0.0.1 leads,
master2 on 127.0.0.2 follows) and one agent on 127.0.0.3 with 2 cpus and 1 GB. The tests talk
to it with a small client of their own (tests/support/v1_stream.py) and run in file order.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import zkserver
from tests.support.ports import free_port
from tests.support.twin_lab import Daemon, TwinLab, http, wait_until
from tests.support.v1_stream import Subscription, call, of_type, post, subscribe, update_of

pytestmark = pytest.mark.slow

ADDRESSES = {"master1": "127.0.0.1", "master2": "127.0.0.2", "agent1": "127.0.0.3"}
RESOURCES = "cpus:2;mem:1024;disk:2048;ports:[31000-31009]"
# an agent that stops is removed within seconds (the RESCIND/FAILURE test), not 75 s
QUICK_REMOVAL = {"agent_ping_timeout": "2secs", "max_agent_ping_timeouts": "3"}


@dataclass
class Lab:
    lab: TwinLab
    leader: Daemon
    follower: Daemon
    agent: Daemon

    @property
    def url(self) -> str:
        return self.leader.url

    def state(self) -> dict[str, Any]:
        return self.leader.get("/master/state").json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    zkserver.require_zookeeper()
    base = tmp_path_factory.mktemp("v1")
    server = zkserver.standalone(base / "zk")
    twin = TwinLab(base / "nodes", list(ADDRESSES.values()))
    try:
        server.start()
        zkserver.wait_for([server], zkserver.all_answer, timeout=40)
        zk = f"zk://127.0.0.1:{server.client_port}/mesos"
        leader = twin.master("master1", ADDRESSES["master1"], zk=zk, extra=QUICK_REMOVAL).start()
        wait_until("master1 to lead", lambda: _elected(leader), 60)
        follower = twin.master("master2", ADDRESSES["master2"], zk=zk).start()
        agent = twin.agent(
            "agent1", ADDRESSES["agent1"], master=zk, extra={"resources": RESOURCES}
        ).start()
        follower.wait_http()
        found = Lab(twin, leader, follower, agent)
        wait_until(
            "the agent to register",
            lambda: [s for s in found.state()["slaves"] if s["active"]],
            60,
        )
        yield found
    finally:
        twin.stop_all()
        zkserver.stop_all([server])


def _elected(daemon: Daemon) -> bool:
    answer = daemon.get("/metrics/snapshot", timeout=2)
    return answer.status == 200 and answer.json()["master/elected"] == 1.0


def _info(name: str, **extra: Any) -> dict[str, Any]:
    return {"user": "root", "name": name, **extra}


def _offer(subscription: Subscription) -> dict[str, Any]:
    event = subscription.next(of_type("OFFERS"))
    offers = event["offers"]["offers"]
    assert len(offers) == 1, offers  # one agent, offered whole to one framework
    return offers[0]  # type: ignore[no-any-return]


def _scalar(resources: list[dict[str, Any]], name: str) -> float:
    return sum(r["scalar"]["value"] for r in resources if r["name"] == name)


def _task(task_id: str, agent_id: str, command: str, cpus: float = 0.1) -> dict[str, Any]:
    return {
        "name": task_id,
        "task_id": {"value": task_id},
        "agent_id": {"value": agent_id},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
        ],
        "command": {"value": command, "shell": True},
    }


def _launch(url: str, sub: Subscription, offer: dict[str, Any], *tasks: dict[str, Any]) -> None:
    answer = call(
        url,
        sub,
        "ACCEPT",
        {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}],
            "filters": {"refuse_seconds": 0.5},
        },
    )
    assert answer.status == 202, answer.body


@contextmanager
def _subscribed(lab: Lab, info: dict[str, Any]) -> Iterator[Subscription]:
    """A framework subscribed for the test's body, torn down after it (unless it went)."""
    sub = subscribe(lab.url, info)
    try:
        yield sub
        if not sub.ended.is_set():
            assert call(lab.url, sub, "TEARDOWN").status == 202
            sub.wait_end()
    finally:
        sub.close()


def _running(lab: Lab, sub: Subscription, task_id: str) -> str:
    """Launch ``sleep 60`` on the next offer; its agent's id once the task runs."""
    offer = _offer(sub)
    agent_id: str = offer["agent_id"]["value"]
    _launch(lab.url, sub, offer, _task(task_id, agent_id, "sleep 60"))
    sub.next(update_of(task_id, "TASK_RUNNING"))
    return agent_id


def _framework(lab: Lab, framework_id: str) -> dict[str, Any] | None:
    data = lab.leader.get(f"/master/frameworks?framework_id={framework_id}").json()
    found = data["frameworks"] + data["completed_frameworks"]
    return found[0] if found else None


# ------------------------------------------------------------------ SUBSCRIBE


def test_subscribe_streams_recordio_events_with_a_stream_id(lab: Lab) -> None:
    with _subscribed(lab, _info("streamer")) as sub:
        assert sub.status == 200
        assert sub.headers["content-type"] == "application/json"
        assert sub.headers["transfer-encoding"] == "chunked"
        uuid.UUID(sub.stream_id)  # a UUID, as Master::Http::scheduler generates
        subscribed = sub.seen[0]["subscribed"]
        assert subscribed["framework_id"]["value"] == sub.framework_id
        assert subscribed["heartbeat_interval_seconds"] == 15.0
        assert subscribed["master_info"]["pid"] == f"master@127.0.0.1:{lab.leader.port}"
        offer = _offer(sub)
        assert offer["framework_id"]["value"] == sub.framework_id
        assert offer["hostname"] == "agent1"
        assert _scalar(offer["resources"], "cpus") == 2
        assert _scalar(offer["resources"], "mem") == 1024
        ports = [r for r in offer["resources"] if r["name"] == "ports"]
        assert ports[0]["type"] == "RANGES"
        assert ports[0]["ranges"]["range"] == [{"begin": 31000, "end": 31009}]
        framework = _framework(lab, sub.framework_id)
        assert framework is not None and framework["active"] and framework["connected"]
        assert len(framework["offers"]) == 1, "the outstanding offer shows in /master/frameworks"
        assert call(lab.url, sub, "TEARDOWN").status == 202
        sub.wait_end()
        assert sub.clean_end, "the stream ends with its last chunk when the framework goes"


BAD_CALLS = [
    ({"Content-Type": ""}, b"{}", 400, "Expecting 'Content-Type' to be present"),
    ({"Content-Type": "text/plain"}, b"{}", 415, "Expecting 'Content-Type' of application/json"),
    ({"Content-Type": "application/x-protobuf"}, b"\x08\x01", 415, "Expecting 'Content-Type'"),
    ({}, b"{not json", 400, "Failed to parse body into JSON: "),
    ({}, b"[]", 400, "Failed to convert JSON into Call protobuf: Expecting a JSON object"),
    (
        {},
        b'{"type": 1}',
        400,
        "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'type'",
    ),
    ({}, b'{"type": "BOGUS"}', 400, "Failed to validate scheduler::Call: Expecting 'type'"),
    ({}, b'{"type": "SUBSCRIBE"}', 400, "Expecting 'subscribe' to be present"),
    (
        {},
        b'{"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "x"}}}',
        400,
        "Failed to convert JSON into Call protobuf: Missing required fields: "
        "subscribe.framework_info.name",
    ),
    (
        {},
        b'{"type": "SUBSCRIBE", "framework_id": {"value": "a"},'
        b' "subscribe": {"framework_info": {"user": "x", "name": "y"}}}',
        400,
        "'framework_id' differs from 'subscribe.framework_info.id'",
    ),
    (
        {"Mesos-Stream-Id": "abc"},
        b'{"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "x", "name": "y"}}}',
        400,
        "Subscribe calls should not include the 'Mesos-Stream-Id' header",
    ),
    ({}, b'{"type": "DECLINE", "decline": {}}', 400, "Expecting 'framework_id' to be present"),
    (
        {},
        b'{"type": "REVIVE", "framework_id": {"value": "nobody"}}',
        400,
        "Framework cannot be found",
    ),
]


@pytest.mark.parametrize(("headers", "body", "status", "text"), BAD_CALLS)
def test_bad_calls_get_the_answers_of_mesos(
    lab: Lab, headers: dict[str, str], body: bytes, status: int, text: str
) -> None:
    answer = post(lab.url + "/api/v1/scheduler", None, headers, raw=body)
    assert answer.status == status, answer.body
    assert text in answer.body.decode()


def test_get_is_not_allowed_and_the_private_protocol_is_gone(lab: Lab) -> None:
    answer = lab.leader.get("/api/v1/scheduler")
    assert answer.status == 405
    assert answer.body.decode() == (
        "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."
    )
    assert http("POST", lab.url + "/twin/scheduler/register", {}).status == 404


def test_calls_need_the_stream_id_and_the_parts_of_their_type(lab: Lab) -> None:
    with _subscribed(lab, _info("checked")) as sub:
        missing = call(lab.url, sub, "REVIVE", stream_id="")
        assert missing.status == 400
        assert missing.body.decode() == (
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
        )
        wrong = call(lab.url, sub, "REVIVE", stream_id="not-mine")
        assert wrong.status == 400
        assert wrong.body.decode() == (
            "The stream ID 'not-mine' included in this request didn't match the stream ID "
            f"currently associated with framework ID {sub.framework_id}"
        )
        no_part = call(lab.url, sub, "KILL")
        assert no_part.status == 400
        assert "Expecting 'kill' to be present" in no_part.body.decode()
        bad_uuid = call(
            lab.url,
            sub,
            "ACKNOWLEDGE",
            {"agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "AAAA"},
        )
        assert bad_uuid.status == 400
        assert bad_uuid.body.decode() == "Failed to validate scheduler::Call: Not a valid UUID"
        assert call(lab.url, sub, "TEARDOWN").status == 202
        sub.wait_end()
        gone = call(lab.url, sub, "REVIVE")
        assert gone.status == 400 and gone.body.decode() == "Framework cannot be found"


# ------------------------------------------------------------------ offers


def test_decline_is_honoured_for_refuse_seconds_and_revive_ends_it(lab: Lab) -> None:
    with _subscribed(lab, _info("decliner")) as sub:
        offer = _offer(sub)
        declined_at = time.monotonic()
        decline = {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 3.0}}
        assert call(lab.url, sub, "DECLINE", decline).status == 202
        again = _offer(sub)
        assert time.monotonic() - declined_at >= 2.5, "offered again before refuse_seconds"
        assert again["id"] != offer["id"]
        long = {"offer_ids": [again["id"]], "filters": {"refuse_seconds": 600.0}}
        assert call(lab.url, sub, "DECLINE", long).status == 202
        sub.none_for(of_type("OFFERS"), 2.0)
        assert call(lab.url, sub, "REVIVE").status == 202
        revived = _offer(sub)
        assert call(lab.url, sub, "SUPPRESS").status == 202
        state = lab.state()
        mine = next(f for f in state["frameworks"] if f["id"] == sub.framework_id)
        assert len(mine["offers"]) == 1 and state["slaves"][0]["offered_resources"]["cpus"] == 2
        unfiltered = {"offer_ids": [revived["id"]], "filters": {"refuse_seconds": 0}}
        assert call(lab.url, sub, "DECLINE", unfiltered).status == 202
        sub.none_for(of_type("OFFERS"), 2.0)  # suppressed: no offers, filter or not
        assert call(lab.url, sub, "REVIVE").status == 202
        _offer(sub)


def test_a_framework_gone_longer_than_its_failover_timeout_is_removed(lab: Lab) -> None:
    sub = subscribe(lab.url, _info("brief", failover_timeout=1.0))
    sub.close()
    sub.wait_end()
    wait_until(
        "the framework to be removed after its failover_timeout",
        lambda: [f for f in lab.state()["completed_frameworks"] if f["id"] == sub.framework_id],
        30,
    )
    again = subscribe(lab.url, _info("brief"), framework_id=sub.framework_id)
    try:
        assert again.seen[0] == {
            "type": "ERROR",
            "error": {"message": "Framework has been removed"},
        }
        again.wait_end()
    finally:
        again.close()


def test_accept_checks_offers_and_resources(lab: Lab) -> None:
    with _subscribed(lab, _info("checker", capabilities=[{"type": "PARTITION_AWARE"}])) as sub:
        offer = _offer(sub)
        agent_id = offer["agent_id"]["value"]
        _launch(lab.url, sub, offer, _task("too-big", agent_id, "true", cpus=16))
        error = sub.next(update_of("too-big"))["update"]["status"]
        assert error["state"] == "TASK_ERROR"
        assert error["reason"] == "REASON_TASK_INVALID"
        assert error["source"] == "SOURCE_MASTER"
        assert error["message"].startswith("Total resources cpus(*):16; mem(*):32 required by")
        assert "uuid" not in error, "the master's own updates need no acknowledgement"
        _launch(lab.url, sub, offer, _task("stale", agent_id, "true"))
        dropped = sub.next(update_of("stale"))["update"]["status"]
        assert dropped["state"] == "TASK_DROPPED"  # partition-aware; TASK_LOST otherwise
        assert dropped["reason"] == "REASON_INVALID_OFFERS"
        assert dropped["message"] == (
            f"Task launched with invalid offers: Offer {offer['id']['value']} is no longer valid"
        )


# ------------------------------------------------------------------ tasks


def test_a_task_runs_its_updates_come_again_until_acknowledged(lab: Lab) -> None:
    with _subscribed(lab, _info("runner")) as sub:
        offer = _offer(sub)
        agent_id = offer["agent_id"]["value"]
        _launch(lab.url, sub, offer, _task("once", agent_id, "echo hello"))
        running = sub.next(update_of("once", "TASK_RUNNING"))["update"]["status"]
        assert running["source"] == "SOURCE_EXECUTOR"
        assert running["agent_id"]["value"] == agent_id
        base64.b64decode(running["uuid"], validate=True)
        ack = {"agent_id": running["agent_id"], "task_id": running["task_id"]}
        assert call(lab.url, sub, "ACKNOWLEDGE", {**ack, "uuid": running["uuid"]}).status == 202
        finished = sub.next(update_of("once", "TASK_FINISHED"))["update"]["status"]
        first_at = time.monotonic()
        again = sub.next(update_of("once", "TASK_FINISHED"), timeout=40)["update"]["status"]
        assert again["uuid"] == finished["uuid"]
        assert time.monotonic() - first_at >= 8, "re-sent before the retry interval (10 s)"
        assert call(lab.url, sub, "ACKNOWLEDGE", {**ack, "uuid": finished["uuid"]}).status == 202
        resent = [e for e in sub.seen if update_of("once", "TASK_RUNNING")(e)]
        assert len(resent) == 1, "the acknowledged TASK_RUNNING was sent again"
        sub.next(of_type("HEARTBEAT"), timeout=20)  # every 15 s of the stream
        framework = _framework(lab, sub.framework_id)
        assert framework is not None
        assert [t["state"] for t in framework["completed_tasks"]] == ["TASK_FINISHED"]


def test_kill_and_reconcile(lab: Lab) -> None:
    with _subscribed(lab, _info("reconciler")) as sub:
        agent_id = _running(lab, sub, "sleeper")
        assert call(lab.url, sub, "RECONCILE", {"tasks": []}).status == 202
        implicit = sub.next(update_of("sleeper"))["update"]["status"]
        assert implicit["state"] == "TASK_RUNNING"
        assert implicit["reason"] == "REASON_RECONCILIATION"
        assert implicit["message"] == "Reconciliation: Latest task state"
        assert "uuid" not in implicit
        explicit = {"tasks": [{"task_id": {"value": "never-launched"}}]}
        assert call(lab.url, sub, "RECONCILE", explicit).status == 202
        unknown = sub.next(update_of("never-launched"))["update"]["status"]
        assert (unknown["state"], unknown["message"]) == (
            "TASK_LOST",
            "Reconciliation: Task is unknown",
        )
        kill = {"task_id": {"value": "sleeper"}, "agent_id": {"value": agent_id}}
        assert call(lab.url, sub, "KILL", kill).status == 202
        killed = sub.next(update_of("sleeper", "TASK_KILLED"))["update"]["status"]
        assert killed["uuid"]


# ------------------------------------------------------------------ failover


def test_failover_keeps_the_framework_and_its_tasks(lab: Lab) -> None:
    info = _info("failer", failover_timeout=60.0, checkpoint=True, role="lab")
    first = subscribe(lab.url, info)
    second: Subscription | None = None
    third: Subscription | None = None
    try:
        offer = _offer(first)
        agent_id = offer["agent_id"]["value"]
        _launch(lab.url, first, offer, _task("survivor", agent_id, "sleep 60"))
        first.next(update_of("survivor", "TASK_RUNNING"))
        second = subscribe(
            lab.url, _info("failer", failover_timeout=60.0), framework_id=first.framework_id
        )
        assert second.framework_id == first.framework_id
        error = first.next(of_type("ERROR"))
        assert error["error"]["message"] == "Framework failed over"
        first.wait_end()
        framework = _framework(lab, first.framework_id)
        assert framework is not None and framework["active"]
        assert framework["checkpoint"] is True and framework["role"] == "lab"
        assert [t["id"] for t in framework["tasks"]] == ["survivor"]
        second.close()
        second.wait_end()
        wait_until(
            "the framework to be inactive",
            lambda: not (_framework(lab, first.framework_id) or {"active": True})["active"],
            30,
        )
        third = subscribe(
            lab.url, _info("failer", failover_timeout=60.0), framework_id=first.framework_id
        )
        framework = _framework(lab, first.framework_id)
        assert framework is not None and framework["active"] and framework["tasks"]
        assert call(lab.url, third, "TEARDOWN").status == 202
        third.wait_end()
        removed = subscribe(lab.url, _info("failer"), framework_id=first.framework_id)
        assert removed.seen[0] == {
            "type": "ERROR",
            "error": {"message": "Framework has been removed"},
        }
        removed.wait_end()
    finally:
        for sub in (first, second, third):
            if sub is not None:
                sub.close()


def test_a_follower_redirects_to_the_leader_and_no_leader_is_503(lab: Lab) -> None:
    port = lab.leader.port
    scheduler = subscribe(lab.follower.url, _info("lost"))
    assert scheduler.status == 307
    assert scheduler.headers["location"] == f"//master1:{port}/api/v1/scheduler"
    operator = post(lab.follower.url + "/api/v1", {"type": "GET_STATE"})
    assert operator.status == 307
    assert operator.headers["Location"] == f"//master1:{port}/api/v1"
    nowhere = f"zk://127.0.0.2:{free_port(['127.0.0.2'])}/mesos"
    lonely = lab.lab.master("lonely", "127.0.0.2", zk=nowhere)
    lonely.port = free_port(["127.0.0.2"])
    (lonely.root / "etc/mesos-master/port").write_text(f"{lonely.port}\n")
    lonely.start()
    try:
        lonely.wait_http()
        assert subscribe(lonely.url, _info("lost")).status == 503
        assert post(lonely.url + "/api/v1", {"type": "GET_HEALTH"}).status == 503
    finally:
        lonely.stop()


# ------------------------------------------------------------------ operator API


def _operator(url: str, kind: str, path: str = "/api/v1") -> dict[str, Any]:
    answer = post(url + path, {"type": kind})
    assert answer.status == 200, answer.body
    data = answer.json()
    assert data["type"] == kind
    return data[kind.lower()]  # type: ignore[no-any-return]


def test_master_operator_calls_have_the_v1_shapes(lab: Lab) -> None:
    with _subscribed(lab, _info("operated")) as sub:
        agent_id = _running(lab, sub, "watched")
        url = lab.url
        assert _operator(url, "GET_HEALTH") == {"healthy": True}
        assert _operator(url, "GET_VERSION")["version_info"]["version"]
        flags = _operator(url, "GET_FLAGS")["flags"]
        assert {"name": "port", "value": str(lab.leader.port)} in flags
        assert all(isinstance(f["value"], str) for f in flags)
        master = _operator(url, "GET_MASTER")
        assert master["master_info"]["pid"] == f"master@127.0.0.1:{lab.leader.port}"
        assert master["elected_time"] >= master["start_time"]
        agents = _operator(url, "GET_AGENTS")["agents"]
        assert len(agents) == 1 and agents[0]["active"] is True
        info = agents[0]["agent_info"]
        assert info["id"] == {"value": agent_id} and info["hostname"] == "agent1"
        assert _scalar(info["resources"], "cpus") == 2
        assert _scalar(agents[0]["allocated_resources"], "cpus") == pytest.approx(0.1)
        assert set(agents[0]["registered_time"]) == {"nanoseconds"}
        frameworks = _operator(url, "GET_FRAMEWORKS")["frameworks"]
        mine = next(f for f in frameworks if f["framework_info"]["id"]["value"] == sub.framework_id)
        assert mine["active"] and mine["connected"] and mine["recovered"] is False
        assert mine["framework_info"]["name"] == "operated"
        tasks = _operator(url, "GET_TASKS")["tasks"]
        watched = next(t for t in tasks if t["task_id"]["value"] == "watched")
        assert watched["state"] == "TASK_RUNNING"
        assert watched["agent_id"] == {"value": agent_id}
        assert watched["framework_id"] == {"value": sub.framework_id}
        assert watched["statuses"][-1]["state"] == "TASK_RUNNING"
        assert _operator(url, "GET_EXECUTORS") == {}
        metrics = {m["name"]: m["value"] for m in _operator(url, "GET_METRICS")["metrics"]}
        assert metrics["master/elected"] == 1.0 and metrics["master/tasks_running"] >= 1
        roles = _operator(url, "GET_ROLES", "/master/api/v1")["roles"]
        star = next(r for r in roles if r["name"] == "*")
        assert {"value": sub.framework_id} in star["frameworks"]
        assert _scalar(star["resources"], "cpus") >= 0.1
        state = _operator(url, "GET_STATE")
        assert set(state) == {"get_tasks", "get_executors", "get_frameworks", "get_agents"}
        assert state["get_agents"]["agents"][0]["agent_info"]["id"] == {"value": agent_id}
        agent_state = _operator(lab.agent.url, "GET_STATE")
        launched = agent_state["get_tasks"]["launched_tasks"]
        assert [t["task_id"]["value"] for t in launched] == ["watched"]
        assert agent_state["get_frameworks"]["frameworks"][0]["framework_info"]["id"] == {
            "value": sub.framework_id
        }
        assert agent_state["get_executors"]["executors"][0]["executor_info"]["executor_id"] == {
            "value": "watched"
        }
        containers = _operator(lab.agent.url, "GET_CONTAINERS", "/slave(1)/api/v1")["containers"]
        assert containers[0]["executor_id"] == {"value": "watched"}
        assert containers[0]["container_id"]["value"]
        assert _operator(lab.agent.url, "GET_HEALTH") == {"healthy": True}
        assert _operator(lab.agent.url, "GET_VERSION")["version_info"]["version"]
        assert {"name": "port", "value": str(lab.agent.port)} in _operator(
            lab.agent.url, "GET_FLAGS"
        )["flags"]


def test_operator_bad_calls_get_the_answers_of_mesos(lab: Lab) -> None:
    untyped = post(lab.url + "/api/v1", {})
    assert untyped.status == 400
    assert (
        untyped.body.decode() == "Failed to validate master::Call: Expecting 'type' to be present"
    )
    agent = post(lab.agent.url + "/api/v1", {"type": "NO_SUCH_CALL"})
    assert agent.status == 400
    assert agent.body.decode() == "Failed to validate agent::Call: Expecting 'type' to be present"
    protobuf_only = post(
        lab.url + "/api/v1", {"type": "GET_HEALTH"}, {"Accept": "application/x-protobuf"}
    )
    assert protobuf_only.status == 406
    assert protobuf_only.body.decode().startswith(
        "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
    )
    assert lab.leader.get("/api/v1").status == 405


# ------------------------------------------------------------------ an agent goes away


def test_a_stopped_agents_offers_are_rescinded_and_its_removal_is_a_failure(lab: Lab) -> None:
    with _subscribed(lab, _info("bystander")) as sub:
        agent_id = _running(lab, sub, "stranded")
        held = _offer(sub)  # the rest of the agent, not answered
        lab.agent.stop()
        rescind = sub.next(of_type("RESCIND"))
        assert rescind["rescind"]["offer_id"] == held["id"]
        lost = sub.next(update_of("stranded", "TASK_LOST"))["update"]["status"]
        assert lost["reason"] == "REASON_AGENT_REMOVED"  # v1's name of REASON_SLAVE_REMOVED
        assert lost["source"] == "SOURCE_MASTER"
        failure = sub.next(of_type("FAILURE"))
        assert failure["failure"] == {"agent_id": {"value": agent_id}}


# ------------------------------------------------------------------ the end of a stream


def test_a_stream_ends_cleanly_when_the_master_stops(lab: Lab) -> None:
    with _subscribed(lab, _info("last")) as sub:
        assert sub.status == 200
        lab.leader.stop()
        sub.wait_end()
        assert sub.clean_end, "the stream was cut off instead of ended"
