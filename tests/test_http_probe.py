"""checks/http.py against a real local HTTP server: every transport problem becomes a
ProbeError with a precise summary, and a non-leader's 307 is followed through the inventory."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mesoslab.checks.result import Status
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError, get, get_json
from mesoslab.remote.session import CheckContext, Session
from tests.support.fixture_server import FakeLab, Reply, load_fixture, redirect, run_check

MASTERS = [("master1", ["master"]), ("master2", ["master"])]


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab(MASTERS) as lab:
        yield lab


@pytest.fixture
def session(lab: FakeLab) -> Iterator[Session]:
    with Session(lab.inventory) as session:
        yield session


def ctx_for(session: Session, seconds: float = 1.0) -> CheckContext:
    return CheckContext(session=session, deadline=time.monotonic() + seconds)


def node(lab: FakeLab, name: str) -> Node:
    found = lab.inventory.node(name)
    assert found is not None
    return found


def test_json_answer_is_parsed(lab: FakeLab, session: Session) -> None:
    version = {"version": "1.2.0", "build_date": "2017-03-02 02:27:38"}
    lab.server("master1", "mesos_master").json("/version", version)
    assert get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/version") == version


def test_connection_refused(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").stop()
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/version")
    assert "cannot connect to 127.0.0.1" in info.value.summary
    assert info.value.observed.startswith("connection refused")


def test_server_error_is_reported_with_its_body(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").route("/version", Reply(500, "boom: registry down"))
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/version")
    assert "answered HTTP 500: boom: registry down" in info.value.summary
    assert info.value.observed == "HTTP 500"


def test_slow_answer_past_the_timeout_is_cut_off(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").json("/version", {"version": "1.2.0"}, delay=20.0)
    start = time.monotonic()
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session, 0.5), node(lab, "master1"), "mesos_master", "/version")
    assert time.monotonic() - start < 8  # not cut off: 20 s
    assert "did not answer within 0.5s" in info.value.summary
    assert info.value.observed == "read timeout"


def test_garbage_body(lab: FakeLab, session: Session) -> None:
    garbage = Reply(
        200, b'{"version": "1.2.0", \x00\x17garbage', {"Content-Type": "application/json"}
    )
    lab.server("master1", "mesos_master").route("/version", garbage)
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/version")
    assert "answered malformed JSON" in info.value.summary


def test_html_body(lab: FakeLab, session: Session) -> None:
    page = Reply(200, "<html><body>Login required</body></html>", {"Content-Type": "text/html"})
    lab.server("master1", "mesos_master").route("/version", page)
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/version")
    assert "HTML page where JSON was expected" in info.value.summary
    assert "Login required" in info.value.observed


def test_empty_body(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").route("/version", Reply(200, b""))
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/version")
    assert "empty body" in info.value.summary


def test_unauthorized(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").route("/master/state", Reply(401, ""))
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/master/state")
    assert "HTTP authentication is enabled" in info.value.summary


def test_307_from_a_non_leader_is_followed_through_the_inventory(
    lab: FakeLab, session: Session
) -> None:
    """Location is scheme-less and names ``master2``, which no DNS resolves: the inventory
    maps it to 127.0.0.2."""
    state = load_fixture("mesos/master_state_dcos_mesos-1.2.0.json")
    port = lab.ports["mesos_master"]
    lab.server("master1", "mesos_master").route(
        "/master/state", redirect(f"//master2:{port}/master/state")
    )
    leader = lab.server("master2", "mesos_master")
    leader.json("/master/state", state)
    data = get_json(
        ctx_for(session), node(lab, "master1"), "mesos_master", "/master/state", follow_leader=True
    )
    assert data["leader"] == state["leader"]
    assert leader.paths_requested() == ["/master/state"]


def test_307_location_without_path_keeps_the_asked_path(lab: FakeLab, session: Session) -> None:
    port = lab.ports["mesos_master"]
    lab.server("master1", "mesos_master").route("/master/slaves", redirect(f"//master2:{port}"))
    lab.server("master2", "mesos_master").json("/master/slaves", {"slaves": []})
    data = get_json(
        ctx_for(session), node(lab, "master1"), "mesos_master", "/master/slaves", follow_leader=True
    )
    assert data == {"slaves": []}


def test_307_not_followed_without_follow_leader(lab: FakeLab, session: Session) -> None:
    port = lab.ports["mesos_master"]
    lab.server("master1", "mesos_master").route(
        "/master/state", redirect(f"//master2:{port}/master/state")
    )
    with pytest.raises(ProbeError) as info:
        get_json(ctx_for(session), node(lab, "master1"), "mesos_master", "/master/state")
    assert "answered 307" in info.value.summary
    assert "not the leading master" in info.value.summary
    assert info.value.observed == f"HTTP 307 -> //master2:{port}/master/state"


def test_503_no_leader(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").route("/master/state", Reply(503, "No leader elected"))
    with pytest.raises(ProbeError) as info:
        get_json(
            ctx_for(session),
            node(lab, "master1"),
            "mesos_master",
            "/master/state",
            follow_leader=True,
        )
    assert "answered HTTP 503: No leader elected" in info.value.summary


def test_503_can_be_accepted_by_the_caller(lab: FakeLab, session: Session) -> None:
    lab.server("master1", "mesos_master").route("/master/redirect", Reply(503, "No leader"))
    response = get(
        ctx_for(session), node(lab, "master1"), "mesos_master", "/master/redirect", allow=(503,)
    )
    assert response.status_code == 503


def test_a_probe_error_becomes_a_fail_in_the_runner(lab: FakeLab) -> None:
    lab.server("master1", "mesos_master").route("/version", Reply(502, "bad gateway"))
    result = run_check(lab.inventory, "mesos.version", on="master1")
    assert result.status is Status.FAIL
    assert "answered HTTP 502: bad gateway" in result.summary
    assert result.observed == "HTTP 502"


def test_a_slow_service_fails_within_the_check_timeout(lab: FakeLab) -> None:
    lab.server("master1", "mesos_master").json("/version", {"version": "1.2.0"}, delay=20.0)
    start = time.monotonic()
    result = run_check(lab.inventory, "mesos.version", on="master1", timeout=0.6)
    assert time.monotonic() - start < 8  # not bounded: 20 s
    assert result.status is Status.FAIL
    assert result.observed == "read timeout"
