"""Marathon check kinds against real recorded fixtures served by real local HTTP servers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import Status
from tests.support.fixture_server import FakeLab, Reply, load_fixture, run_check

NODES = [
    ("master1", ["master", "marathon"]),
    ("master2", ["master", "marathon"]),
    ("master3", ["master", "marathon"]),
    ("agent1", ["agent"]),
]


@pytest.fixture
def lab() -> Iterator[FakeLab]:
    with FakeLab(NODES) as lab:
        yield lab


def app_from(fixture: str, app_id: str) -> dict[str, Any]:
    apps = load_fixture(f"marathon/{fixture}")["apps"]
    return next(a for a in apps if a["id"] == app_id)


def serve_app(lab: FakeLab, app: dict[str, Any], node: str = "master1") -> None:
    lab.server(node, "marathon").json(f"/v2/apps{app['id']}", {"app": app})


GREEN_14 = ("v2_apps_embed-tasks_marathon-1.1-1.4.json", "/nginx-green")
PY_15 = ("v2_apps_embed-tasks_marathon-1.5.json", "/pywebserver")
DEPLOYING = ("v2_apps_docs-example_with-deployment.json", "/myapp")


# ---------------------------------------------------------------- ping


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, "pong\n"),  # Marathon <= 1.4 (chaos PingServlet println)
        Reply(200, '"pong"', {"Content-Type": "application/json"}),  # 1.5+ JSON flavour
    ],
)
def test_ping_passes(lab: FakeLab, reply: Reply) -> None:
    srv = lab.server("master1", "marathon")
    srv.route("/ping", reply)
    result = run_check(lab.inventory, "marathon.ping", on="master1")
    assert result.status is Status.PASS, result
    assert srv.requests[-1].headers["accept"] == "text/plain"


def test_ping_204_without_body_fails(lab: FakeLab) -> None:
    lab.server("master1", "marathon").route("/ping", Reply(204))
    result = run_check(lab.inventory, "marathon.ping", on="master1")
    assert result.status is Status.FAIL
    assert result.observed == "HTTP 204 (empty body)"


def test_ping_html_page_fails(lab: FakeLab) -> None:
    page = Reply(200, "<html><title>Mesos</title></html>", {"Content-Type": "text/html"})
    lab.server("master1", "marathon").route("/ping", page)
    result = run_check(lab.inventory, "marathon.ping", on="master1")
    assert result.status is Status.FAIL
    assert result.observed.startswith("HTTP 200: <html>")


def test_ping_refused(lab: FakeLab) -> None:
    lab.server("master1", "marathon").stop()
    result = run_check(lab.inventory, "marathon.ping", on="master1")
    assert result.status is Status.FAIL
    assert result.observed.startswith("connection refused")


# ---------------------------------------------------------------- leader


def serve_leader(lab: FakeLab, leader: str) -> None:
    port = lab.ports["marathon"]
    for _, srv in lab.servers("marathon"):
        srv.json("/v2/leader", {"leader": f"{leader}:{port}"})


def test_leader_agreed(lab: FakeLab) -> None:
    serve_leader(lab, "master1")
    result = run_check(lab.inventory, "marathon.leader")
    assert result.status is Status.PASS, result
    assert result.summary == "master1 leads Marathon; 3 of 3 instances agree"


def test_leader_by_address(lab: FakeLab) -> None:
    serve_leader(lab, "127.0.0.3")
    lab.server("master1", "marathon").stop()
    result = run_check(lab.inventory, "marathon.leader")
    assert result.status is Status.PASS, result
    assert result.summary == "master3 leads Marathon; 2 of 3 instances agree"
    assert result.observed.startswith("master1: connection refused, master2 -> master3")


def test_leader_404_no_leader(lab: FakeLab) -> None:
    for _, srv in lab.servers("marathon"):
        srv.json("/v2/leader", {"message": "There is no leader"}, status=404)
    result = run_check(lab.inventory, "marathon.leader")
    assert result.status is Status.FAIL
    assert result.summary == "Marathon has no leader"
    assert "master1: no leader (404)" in result.observed


def test_leader_disagreement(lab: FakeLab) -> None:
    serve_leader(lab, "master1")
    lab.server("master3", "marathon").json("/v2/leader", {"leader": "master3:8080"})
    result = run_check(lab.inventory, "marathon.leader")
    assert result.status is Status.FAIL
    assert result.observed.endswith("master3 -> master3")


def test_leader_stale(lab: FakeLab) -> None:
    serve_leader(lab, "master1")
    lab.server("master1", "marathon").stop()
    result = run_check(lab.inventory, "marathon.leader")
    assert result.status is Status.FAIL
    assert "stale view" in result.summary


# ---------------------------------------------------------------- app_running


def test_app_running_marathon_14_with_health_checks(lab: FakeLab) -> None:
    serve_app(lab, app_from(*GREEN_14))
    result = run_check(
        lab.inventory, "marathon.app_running", {"app": "nginx-green", "container": "DOCKER"}
    )
    assert result.status is Status.PASS, result
    assert result.observed == (
        "tasksRunning 3 of 3, no deployment in progress, tasksHealthy 3, container DOCKER"
    )


def test_app_running_marathon_15_without_health_checks(lab: FakeLab) -> None:
    """tasksHealthy is 0 for an app without health checks: not a failure by default."""
    serve_app(lab, app_from(*PY_15))
    result = run_check(
        lab.inventory, "marathon.app_running", {"app": "/pywebserver", "container": "DOCKER"}
    )
    assert result.status is Status.PASS, result


def test_app_running_healthy_required_without_health_checks(lab: FakeLab) -> None:
    serve_app(lab, app_from(*PY_15))
    result = run_check(
        lab.inventory, "marathon.app_running", {"app": "/pywebserver", "healthy": True}
    )
    assert result.status is Status.FAIL
    assert "has no health checks" in result.summary


def test_app_running_wrong_container(lab: FakeLab) -> None:
    serve_app(lab, app_from(*PY_15))
    result = run_check(
        lab.inventory, "marathon.app_running", {"app": "/pywebserver", "container": "MESOS"}
    )
    assert result.status is Status.FAIL
    assert "runs in container DOCKER, expected MESOS" in result.summary


def test_app_running_deployment_in_progress(lab: FakeLab) -> None:
    serve_app(lab, app_from(*DEPLOYING))
    result = run_check(lab.inventory, "marathon.app_running", {"app": "/myapp"})
    assert result.status is Status.FAIL
    assert result.observed == "tasksRunning 0 of 3, deployments 1 in progress"
    assert result.expected == "tasksRunning 3 of 3, no deployment in progress"


def test_app_running_partly_deployed_with_last_failure(lab: FakeLab) -> None:
    app = app_from(*GREEN_14)
    app.update(tasksRunning=1, tasksHealthy=1, deployments=[{"id": "97c136bf-5a28"}])
    app["lastTaskFailure"] = {
        "appId": "/nginx-green",
        "message": "Failed to launch container: No containerizer supports DOCKER",
        "state": "TASK_FAILED",
    }
    serve_app(lab, app)
    result = run_check(lab.inventory, "marathon.app_running", {"app": "/nginx-green"})
    assert result.status is Status.FAIL
    assert result.observed.startswith(
        "tasksRunning 1 of 3, deployments 1 in progress, tasksHealthy 1"
    )
    assert "No containerizer supports DOCKER" in result.observed


def test_app_running_instances_parameter(lab: FakeLab) -> None:
    serve_app(lab, app_from(*GREEN_14))
    result = run_check(
        lab.inventory, "marathon.app_running", {"app": "/nginx-green", "instances": 5}
    )
    assert result.status is Status.FAIL
    assert "3 of 5 tasks running" in result.summary


def test_app_running_app_missing(lab: FakeLab) -> None:
    for _, srv in lab.servers("marathon"):
        srv.json("/v2/apps/nginx", {"message": "App '/nginx' does not exist"}, status=404)
    result = run_check(lab.inventory, "marathon.app_running", {"app": "/nginx"})
    assert result.status is Status.FAIL
    assert result.summary == "app /nginx does not exist in Marathon"
    assert result.observed == "HTTP 404: App '/nginx' does not exist"


def test_app_running_asks_the_next_instance(lab: FakeLab) -> None:
    lab.server("master1", "marathon").stop()
    serve_app(lab, app_from(*GREEN_14), node="master2")
    result = run_check(lab.inventory, "marathon.app_running", {"app": "/nginx-green"})
    assert result.status is Status.PASS, result


def test_app_running_garbage(lab: FakeLab) -> None:
    for _, srv in lab.servers("marathon"):
        srv.route("/v2/apps/nginx", Reply(200, b"\x89PNG\r\n", {"Content-Type": "image/png"}))
    result = run_check(lab.inventory, "marathon.app_running", {"app": "/nginx"})
    assert result.status is Status.FAIL
    assert "malformed JSON" in result.summary


# ---------------------------------------------------------------- task_ports


def test_task_ports_within(lab: FakeLab) -> None:
    serve_app(lab, app_from(*GREEN_14))
    result = run_check(
        lab.inventory, "marathon.task_ports", {"app": "/nginx-green", "within": "[10000-32000]"}
    )
    assert result.status is Status.PASS, result
    assert result.summary.endswith(": 16916, 31184, 23336")


def test_task_ports_outside(lab: FakeLab) -> None:
    serve_app(lab, app_from(*GREEN_14))
    result = run_check(
        lab.inventory, "marathon.task_ports", {"app": "/nginx-green", "within": "[31000-32000]"}
    )
    assert result.status is Status.FAIL
    assert result.summary == "2 of 3 task ports of /nginx-green are outside [31000-32000]"
    assert result.observed == "16916 on 10.0.6.25, 23336 on 10.0.6.25"


def test_task_ports_from_v2_tasks_when_not_embedded(lab: FakeLab) -> None:
    app = {"id": "/frontend-foosball", "instances": 1, "tasksRunning": 1, "deployments": []}
    serve_app(lab, app)
    lab.server("master1", "marathon").json(
        "/v2/tasks", load_fixture("marathon/v2_tasks_docs-example.json")
    )
    result = run_check(
        lab.inventory,
        "marathon.task_ports",
        {"app": "/frontend-foosball", "within": "[31000-32000]"},
    )
    assert result.status is Status.PASS, result
    assert result.observed == "31292 on srv4.example.com"
    narrow = run_check(
        lab.inventory,
        "marathon.task_ports",
        {"app": "/frontend-foosball", "within": "[21000-24000, 30000-31000]"},
    )
    assert narrow.status is Status.FAIL
    assert narrow.observed == "31292 on srv4.example.com"


def test_task_ports_reachable(lab: FakeLab) -> None:
    """The task's host is the inventory node agent1 (127.0.0.4): one port listens, one not."""
    app = app_from(*GREEN_14)
    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.4", 0))
        listening.listen()
        closed.bind(("127.0.0.4", 0))  # bound, not listening: connections are refused
        open_port, closed_port = listening.getsockname()[1], closed.getsockname()[1]
        app["tasks"] = [dict(app["tasks"][0], host="agent1", ports=[open_port])]
        serve_app(lab, app)
        params = {"app": "/nginx-green", "within": "[1024-65535]", "reachable": True}
        result = run_check(lab.inventory, "marathon.task_ports", params)
        assert result.status is Status.PASS, result
        assert result.summary.startswith("1 task port(s) of /nginx-green within [1024-65535] and")
        app["tasks"].append(dict(app["tasks"][0], ports=[closed_port]))
        serve_app(lab, app)
        result = run_check(lab.inventory, "marathon.task_ports", params)
    assert result.status is Status.FAIL
    assert result.observed == f"agent1:{closed_port} connection refused"


def test_task_ports_app_without_tasks(lab: FakeLab) -> None:
    app = app_from(*DEPLOYING)
    app["tasks"] = []  # /v2/apps/<id> always embeds tasks
    serve_app(lab, app)
    result = run_check(lab.inventory, "marathon.task_ports", {"app": "/myapp", "within": "[1-2]"})
    assert result.status is Status.FAIL
    assert result.observed == "no tasks"


def test_task_ports_validates_within() -> None:
    assert catalogue()["marathon.task_ports"].problems({"app": "/x", "within": "ports"})
    assert not catalogue()["marathon.task_ports"].problems({"app": "/x", "within": "[1-2]"})
