"""The twin Marathon's /v2 API as clients use it (issue 14 item 4), over real HTTP against a
twin master, agent and Marathon on loopback: versions, locks and ``force``, deployments
(rollback, cancel), restart, task kills, groups, the event stream, event subscriptions and
health checks. Facts: MARATHON@v1.4.12, cited in the twin's modules."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.support import zkserver
from tests.support.marathon_lab import MarathonLab, marathon_lab, read_events
from tests.support.twin_lab import TwinLab, http, wait_until

pytestmark = pytest.mark.slow

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # Marathon's Timestamp
LOCKED = (
    "App is locked by one or more deployments. Override with the option '?force=true'. "
    "View details at '/v2/deployments/<DEPLOYMENT_ID>'."
)


@pytest.fixture(scope="module")
def mlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarathonLab]:
    yield from marathon_lab(tmp_path_factory, "marathon-api")


def sleeper(app_id: str, instances: int = 1, **more: Any) -> dict[str, Any]:
    return {"id": app_id, "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": instances} | more


def call(mlab: MarathonLab, method: str, path: str, body: Any = None) -> Any:
    return http(method, mlab.url + path, body)


def deployment_ids(mlab: MarathonLab) -> list[str]:
    return [d["id"] for d in call(mlab, "GET", "/v2/deployments").json()]


# ------------------------------------------------------------------ versions


def test_every_change_is_a_version_that_can_be_read_back(mlab: MarathonLab) -> None:
    assert call(mlab, "POST", "/v2/apps", sleeper("/versioned")).status == 201
    first = mlab.deployed("/versioned", 1)
    scaled = call(mlab, "PUT", "/v2/apps/versioned", {"instances": 2})
    assert scaled.status == 200 and scaled.headers["Marathon-Deployment-Id"]
    assert scaled.json()["deploymentId"] == scaled.headers["Marathon-Deployment-Id"]
    mlab.deployed("/versioned", 2)
    listed = call(mlab, "GET", "/v2/apps/versioned/versions").json()["versions"]
    assert len(listed) == 2 and all(STAMP.match(v) for v in listed)
    assert listed == sorted(listed, reverse=True)  # newest first
    assert listed[1] == first["version"] and listed[0] == scaled.json()["version"]
    old = call(mlab, "GET", f"/v2/apps/versioned/versions/{listed[1]}").json()
    assert old["id"] == "/versioned" and old["instances"] == 1 and old["version"] == listed[1]
    assert "tasks" not in old and "tasksRunning" not in old  # the definition, no AppInfo
    same = listed[1].replace("Z", "+00:00")  # the version is read as a timestamp
    assert call(mlab, "GET", f"/v2/apps/versioned/versions/{same}").json() == old
    missing = call(mlab, "GET", "/v2/apps/versioned/versions/2001-01-01T00:00:00.000Z")
    assert missing.status == 404
    assert missing.json() == {
        "message": "App '/versioned' does not exist in version 2001-01-01T00:00:00.000Z"
    }
    assert call(mlab, "GET", "/v2/apps/versioned/versions/yesterday").status == 422
    back = call(mlab, "PUT", "/v2/apps/versioned", {"version": listed[1]})  # a rollback
    assert back.status == 200
    rolled = mlab.deployed("/versioned", 1)
    assert rolled["version"] == back.json()["version"] != listed[1]
    assert len(call(mlab, "GET", "/v2/apps/versioned/versions").json()["versions"]) == 3
    assert call(mlab, "DELETE", "/v2/apps/versioned").status == 200
    assert call(mlab, "GET", "/v2/apps/versioned/versions").status == 404


def test_apps_are_found_by_cmd_id_and_label_with_what_embed_asks(mlab: MarathonLab) -> None:
    labelled = sleeper("/found/one", cmd="sleep 601", labels={"tier": "web", "team": "a"})
    assert call(mlab, "POST", "/v2/apps", labelled).status == 201
    assert (
        call(mlab, "POST", "/v2/apps", sleeper("/found/two", labels={"tier": "db"})).status == 201
    )
    mlab.deployed("/found/one", 1)

    def ids(query: str) -> list[str]:
        apps = call(mlab, "GET", "/v2/apps" + query).json()["apps"]
        return [a["id"] for a in apps if a["id"].startswith("/found/")]

    assert ids("?cmd=SLEEP%20601") == ["/found/one"]  # a part of cmd, any case
    assert ids("?id=FOUND/T") == ["/found/two"]
    assert ids("?label=tier") == ["/found/one", "/found/two"]
    assert ids("?label=tier==web") == ["/found/one"]
    assert ids("?label=tier!=web") == ["/found/two"]
    assert ids("?label=tier%20in%20(db,%20cache)") == ["/found/two"]
    assert ids("?label=tier,team==a") == ["/found/one"]
    plain = call(mlab, "GET", "/v2/apps?id=/found/one").json()["apps"][0]
    assert "tasks" not in plain and "tasksRunning" in plain and plain["deployments"] == []
    for embed in ("apps.tasks", "app.tasks", "tasks", "apps.failures"):
        app = call(mlab, "GET", f"/v2/apps?id=/found/one&embed={embed}").json()["apps"][0]
        assert len(app["tasks"]) == 1, embed
    ready = call(mlab, "GET", "/v2/apps?id=/found/one&embed=apps.readiness").json()["apps"][0]
    assert ready["readinessCheckResults"] == [] and "tasks" not in ready
    for app_id in ("/found/one", "/found/two"):
        assert call(mlab, "DELETE", f"/v2/apps{app_id}").status == 200


def test_several_apps_change_in_one_deployment(mlab: MarathonLab) -> None:
    both = [sleeper("/pair/a"), sleeper("/pair/b", 2)]
    made = call(mlab, "PUT", "/v2/apps", both)
    assert made.status == 200 and made.headers["Marathon-Deployment-Id"]
    mlab.deployed("/pair/a", 1)
    mlab.deployed("/pair/b", 2)
    patched = call(mlab, "PATCH", "/v2/apps", [{"id": "/pair/a", "instances": 2}])
    assert patched.status == 200
    assert mlab.deployed("/pair/a", 2)["cmd"] == "sleep 600"  # a partial update
    missing = call(mlab, "PATCH", "/v2/apps", [{"id": "/pair/none", "instances": 1}])
    assert missing.status == 404 and missing.json() == {
        "message": "App '/pair/none' does not exist"
    }
    assert call(mlab, "DELETE", "/v2/groups/pair").status == 200


# ------------------------------------------------------------------ locks and deployments


def test_a_deploying_app_is_locked_and_force_overrides(mlab: MarathonLab) -> None:
    """An app no agent can hold keeps its deployment, so the lock can be seen."""
    created = call(mlab, "POST", "/v2/apps", sleeper("/stuck", 2, cpus=64))
    assert created.status == 201
    first = created.headers["Marathon-Deployment-Id"]
    assert created.json()["deployments"] == [{"id": first}]
    plan = next(d for d in call(mlab, "GET", "/v2/deployments").json() if d["id"] == first)
    assert plan["affectedApps"] == ["/stuck"] and plan["totalSteps"] == 2
    assert [s["actions"][0]["action"] for s in plan["steps"]] == [
        "StartApplication",
        "ScaleApplication",
    ]
    plan = wait_until(
        "the start step done",
        lambda: (
            next(d for d in call(mlab, "GET", "/v2/deployments").json() if d["id"] == first)
            if any(
                d["id"] == first and d["currentStep"] == 2
                for d in call(mlab, "GET", "/v2/deployments").json()
            )
            else None
        ),
    )
    assert plan["currentActions"] == [
        {"action": "ScaleApplication", "app": "/stuck", "readinessCheckResults": []}
    ]
    queued = call(mlab, "DELETE", "/v2/queue/stuck/delay")  # launch again at once
    assert queued.status == 204 and queued.body == b""
    unqueued = call(mlab, "DELETE", "/v2/queue/nothing/delay")
    assert unqueued.status == 404
    assert unqueued.json() == {"message": "Application /nothing not found in tasks queue."}
    for method, path, body in (
        ("PUT", "/v2/apps/stuck", {"instances": 1}),
        ("PATCH", "/v2/apps/stuck", {"instances": 1}),
        ("POST", "/v2/apps/stuck/restart", None),
    ):
        refused = call(mlab, method, path, body)
        assert refused.status == 409, (method, path)
        assert refused.json() == {"message": LOCKED, "deployments": [{"id": first}]}
    forced = call(mlab, "PUT", "/v2/apps/stuck?force=true", {"instances": 1})
    assert forced.status == 200
    second = forced.json()["deploymentId"]
    assert first not in deployment_ids(mlab) and second in deployment_ids(mlab)
    assert mlab.app("/stuck")["deployments"] == [{"id": second}]
    # ?force=true on a deployment only stops it: 202, no new deployment, the app stays
    stopped = call(mlab, "DELETE", f"/v2/deployments/{second}?force=true")
    assert stopped.status == 202 and stopped.body == b""
    assert second not in deployment_ids(mlab)
    assert mlab.app("/stuck")["deployments"] == [] and mlab.app("/stuck")["instances"] == 1
    missing = call(mlab, "DELETE", f"/v2/deployments/{second}")
    assert missing.status == 404
    assert missing.json() == {"message": f"DeploymentPlan {second} does not exist"}
    assert call(mlab, "DELETE", "/v2/apps/stuck").status == 200  # forced by default


def test_deleting_a_deployment_rolls_it_back(mlab: MarathonLab) -> None:
    assert call(mlab, "POST", "/v2/apps", sleeper("/rollback")).status == 201
    before = mlab.deployed("/rollback", 1)
    change = call(mlab, "PUT", "/v2/apps/rollback", {"cpus": 64})  # can never be placed
    assert change.status == 200
    held = change.json()["deploymentId"]
    assert mlab.app("/rollback")["cpus"] == 64
    rolled = call(mlab, "DELETE", f"/v2/deployments/{held}")
    assert rolled.status == 200 and rolled.json()["deploymentId"] != held
    assert held not in deployment_ids(mlab)
    after = mlab.deployed("/rollback", 1)
    assert after["cpus"] == before["cpus"] and after["version"] == rolled.json()["version"]
    # rolling back the creation of an app removes it
    created = call(mlab, "POST", "/v2/apps", sleeper("/unmade", cpus=64))
    undo = call(mlab, "DELETE", f"/v2/deployments/{created.headers['Marathon-Deployment-Id']}")
    assert undo.status == 200
    assert call(mlab, "GET", "/v2/apps/unmade").status == 404
    assert call(mlab, "DELETE", "/v2/apps/rollback").status == 200


def test_restart_replaces_every_task_through_a_restart_deployment(mlab: MarathonLab) -> None:
    assert call(mlab, "POST", "/v2/apps", sleeper("/restarted", 2)).status == 201
    before = mlab.deployed("/restarted", 2)
    events = read_events(mlab.url, "?event_type=deployment_info&event_type=deployment_success")
    try:
        restarted = call(mlab, "POST", "/v2/apps/restarted/restart")
        assert restarted.status == 200
        plan_id = restarted.json()["deploymentId"]
        info = events.next("deployment_info")
        assert info["plan"]["id"] == plan_id
        assert info["currentStep"] == {
            "actions": [{"action": "RestartApplication", "app": "/restarted"}]
        }
        events.next("deployment_success", id=plan_id)
    finally:
        events.close()
    after = mlab.deployed("/restarted", 2)
    assert not {t["id"] for t in after["tasks"]} & {t["id"] for t in before["tasks"]}
    assert after["versionInfo"]["lastConfigChangeAt"] == restarted.json()["version"]
    assert {t["version"] for t in after["tasks"]} == {restarted.json()["version"]}
    assert call(mlab, "DELETE", "/v2/apps/restarted").status == 200


# ------------------------------------------------------------------ tasks


def test_tasks_are_killed_replaced_or_scaled_away(mlab: MarathonLab) -> None:
    assert call(mlab, "POST", "/v2/apps", sleeper("/killed", 3)).status == 201
    tasks = [t["id"] for t in mlab.deployed("/killed", 3)["tasks"]]
    text = http("GET", mlab.url + "/v2/apps/killed/tasks", accept="text/plain").body.decode()
    assert text.startswith("killed\t") and text.count("agent1:") == 3
    assert call(mlab, "POST", "/v2/tasks/delete", {"ids": ["nodots"]}).status == 400
    wiped = call(mlab, "POST", "/v2/tasks/delete?scale=true&wipe=true", {"ids": tasks[:1]})
    assert wiped.status == 400
    assert wiped.json() == {"message": "You cannot use scale and wipe at the same time."}
    killed = call(mlab, "POST", "/v2/tasks/delete", {"ids": [tasks[0], "other.unknown-id"]})
    assert killed.status == 200 and [t["id"] for t in killed.json()["tasks"]] == tasks[:1]
    replaced = wait_until(
        "a replacement",
        lambda: (
            (ids := [t["id"] for t in mlab.deployed("/killed", 3)["tasks"]])
            and tasks[0] not in ids
            and ids
        ),
    )
    scaled = call(mlab, "POST", "/v2/tasks/delete?scale=true", {"ids": replaced[:1]})
    assert scaled.status == 200 and scaled.json()["deploymentId"]
    left = [t["id"] for t in mlab.deployed("/killed", 2)["tasks"]]
    assert replaced[0] not in left and mlab.app("/killed")["instances"] == 2
    unknown = call(mlab, "DELETE", "/v2/apps/killed/tasks/killed.not-a-task")
    assert unknown.status == 404
    assert unknown.json() == {"message": "Task 'killed.not-a-task' does not exist"}
    all_scaled = call(mlab, "DELETE", "/v2/apps/killed/tasks?scale=true")
    assert all_scaled.status == 200 and all_scaled.json()["deploymentId"]
    wait_until("no task left", lambda: mlab.deployed("/killed", 0)["instances"] == 0)
    running = [t for t in call(mlab, "GET", "/v2/tasks").json()["tasks"] if t["appId"] == "/killed"]
    assert running == []
    assert call(mlab, "DELETE", "/v2/apps/killed").status == 200


# ------------------------------------------------------------------ groups


def test_groups_hold_nested_apps(mlab: MarathonLab) -> None:
    group = {
        "id": "/shop",
        "apps": [sleeper("cart")],
        "groups": [{"id": "db", "apps": [sleeper("store")]}],
    }
    created = call(mlab, "POST", "/v2/groups", group)
    assert created.status == 201 and created.json()["deploymentId"]
    mlab.deployed("/shop/cart", 1)
    mlab.deployed("/shop/db/store", 1)
    shop = call(mlab, "GET", "/v2/groups/shop").json()
    assert shop["id"] == "/shop" and [a["id"] for a in shop["apps"]] == ["/shop/cart"]
    assert [g["id"] for g in shop["groups"]] == ["/shop/db"]
    assert [a["id"] for a in shop["groups"][0]["apps"]] == ["/shop/db/store"]
    root = call(mlab, "GET", "/v2/groups").json()
    assert "/shop" in [g["id"] for g in root["groups"]] and STAMP.match(root["version"])
    again = call(mlab, "POST", "/v2/groups", {"id": "/shop"})
    assert again.status == 409
    message = "Group /shop is already created. Use PUT to change this group."
    assert again.json() == {"message": message}
    assert call(mlab, "PUT", "/v2/groups/shop", {"scaleBy": 2}).status == 200
    mlab.deployed("/shop/cart", 2)
    mlab.deployed("/shop/db/store", 2)
    inside = call(mlab, "GET", "/v2/apps/shop/*").json()["*"]
    assert sorted(a["id"] for a in inside) == ["/shop/cart", "/shop/db/store"]
    removed = call(mlab, "DELETE", "/v2/groups/shop")
    assert removed.status == 200 and removed.json()["deploymentId"]
    assert call(mlab, "GET", "/v2/apps/shop/cart").status == 404
    gone = call(mlab, "GET", "/v2/groups/shop")
    assert gone.status == 404 and gone.json() == {"message": "Group '/shop' does not exist"}


# ------------------------------------------------------------------ the event bus


def test_the_event_stream_tells_what_happens(mlab: MarathonLab) -> None:
    refused = read_events(mlab.url, accept="application/json")
    refused.close()
    assert refused.status == 405  # Jetty's EventSourceServlet serves only event streams
    everything = read_events(mlab.url)
    some = read_events(mlab.url, "?event_type=status_update_event&event_type=app_terminated_event")
    try:
        assert everything.status == 200
        assert everything.headers["content-type"].startswith("text/event-stream")
        attached = everything.next("event_stream_attached")
        assert attached["remoteAddress"] == "127.0.0.1" and STAMP.match(attached["timestamp"])
        created = call(mlab, "POST", "/v2/apps", sleeper("/watched"))
        plan_id = created.headers["Marathon-Deployment-Id"]
        seen = everything.until("deployment_success", lambda e: e["id"] == plan_id)
        posted = next(e for n, e in seen if n == "api_post_event")
        assert posted["appDefinition"]["id"] == "/watched" and posted["clientIp"] == "127.0.0.1"
        assert posted["uri"] == "/v2/apps"
        mine = [
            (name, e["currentStep"]["actions"][0]["action"])
            for name, e in seen
            if name.startswith("deployment_") and e["plan"]["id"] == plan_id and "currentStep" in e
        ]
        assert mine == [
            ("deployment_info", "StartApplication"),
            ("deployment_step_success", "StartApplication"),
            ("deployment_info", "ScaleApplication"),
            ("deployment_step_success", "ScaleApplication"),
        ]
        # earlier tests' tasks may still report (a deleted group's kills): pick this app's
        running = next(
            e
            for n, e in seen
            if n == "status_update_event"
            and e["taskStatus"] == "TASK_RUNNING"
            and e["appId"] == "/watched"
        )
        assert running["appId"] == "/watched" and running["ports"]
        assert set(running) >= {"slaveId", "taskId", "host", "version", "ipAddresses", "message"}
        assert seen.index(("status_update_event", running)) < len(seen) - 2  # before the end
        changed = next(
            e for n, e in seen if n == "instance_changed_event" and e["runSpecId"] == "/watched"
        )
        assert changed["runSpecId"] == "/watched" and changed["instanceId"] == running["taskId"]
        assert changed["condition"] == "Running"
        success = seen[-1][1]
        assert success["plan"]["target"]["id"] == "/"
        assert "/watched" in [a["id"] for a in success["plan"]["target"]["apps"]]
        assert "/watched" not in [a["id"] for a in success["plan"]["original"]["apps"]]
        assert call(mlab, "DELETE", "/v2/apps/watched").status == 200
        killed = some.next("status_update_event", taskStatus="TASK_KILLED", appId="/watched")
        assert killed["taskId"] == running["taskId"]
        terminated = some.next("app_terminated_event", appId="/watched")
        assert terminated == {
            "appId": "/watched",
            "eventType": "app_terminated_event",
            "timestamp": terminated["timestamp"],
        }
        kinds = {name for name, _ in list(some.events.queue)}
        assert kinds <= {"status_update_event", "app_terminated_event"}
        some.close()
        detached = everything.next("event_stream_detached")
        assert detached["remoteAddress"] == "127.0.0.1"
    finally:
        everything.close()
        some.close()


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_event_subscribers_get_every_event_posted(mlab: MarathonLab, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{server.server_address[1]}/events?from=marathon"
    try:
        bad = call(mlab, "POST", "/v2/eventSubscriptions?callbackUrl=nonsense")
        assert bad.status == 422
        subscribed = call(mlab, "POST", f"/v2/eventSubscriptions?callbackUrl={callback}")
        assert subscribed.status == 200
        assert subscribed.json()["eventType"] == "subscribe_event"
        assert subscribed.json()["callbackUrl"] == callback
        listed = call(mlab, "GET", "/v2/eventSubscriptions").json()
        assert listed == {"callbackUrls": [callback]}
        info = call(mlab, "GET", "/v2/info").json()["event_subscriber"]
        assert info == {"type": "http_callback", "http_endpoints": None}  # no --http_endpoints
        assert call(mlab, "POST", "/v2/apps", sleeper("/called")).status == 201
        wait_until(
            "the app's events posted",
            lambda: (
                {"subscribe_event", "api_post_event", "deployment_info"}
                <= {e["eventType"] for e in _Recorder.received}
            ),
        )
        posted = next(e for e in _Recorder.received if e["eventType"] == "api_post_event")
        assert posted["appDefinition"]["id"] == "/called"
        gone = call(mlab, "DELETE", f"/v2/eventSubscriptions?callbackUrl={callback}")
        assert gone.status == 200 and gone.json()["eventType"] == "unsubscribe_event"
        assert call(mlab, "GET", "/v2/eventSubscriptions").json() == {"callbackUrls": []}
        assert call(mlab, "DELETE", "/v2/apps/called").status == 200
    finally:
        server.shutdown()


# ------------------------------------------------------------------ health checks


def test_health_checks_are_run_and_reflected(mlab: MarathonLab) -> None:
    checks = [
        {
            "protocol": "HTTP",
            "path": "/",
            "portIndex": 0,
            "intervalSeconds": 1,
            "gracePeriodSeconds": 30,
        },
        {"protocol": "TCP", "portIndex": 0, "intervalSeconds": 1, "gracePeriodSeconds": 30},
    ]
    served = sleeper("/served", cmd="exec python3 -m http.server $PORT0", healthChecks=checks)
    assert call(mlab, "POST", "/v2/apps", served).status == 201
    healthy = wait_until(
        "a healthy task",
        lambda: (app := mlab.deployed("/served", 1))["tasksHealthy"] == 1 and app,
    )
    assert healthy["tasksUnhealthy"] == 0
    results = healthy["tasks"][0]["healthCheckResults"]
    assert len(results) == 2 and all(r["alive"] for r in results)
    for result in results:
        assert result["consecutiveFailures"] == 0 and result["lastFailure"] is None
        assert STAMP.match(result["firstSuccess"]) and STAMP.match(result["lastSuccess"])
        assert result["taskId"] == healthy["tasks"][0]["id"]
    assert call(mlab, "DELETE", "/v2/apps/served").status == 200


def test_a_task_failing_its_health_check_is_killed_and_replaced(mlab: MarathonLab) -> None:
    check = {
        "protocol": "HTTP",
        "portIndex": 0,
        "intervalSeconds": 1,
        "gracePeriodSeconds": 0,
        "maxConsecutiveFailures": 2,
    }
    events = read_events(mlab.url, "?event_type=unhealthy_instance_kill_event")
    try:
        assert call(mlab, "POST", "/v2/apps", sleeper("/sick", healthChecks=[check])).status == 201
        unhealthy = wait_until(
            "an unhealthy task",
            lambda: (app := mlab.app("/sick"))["tasksUnhealthy"] == 1 and app,
        )
        first = unhealthy["tasks"][0]
        result = first["healthCheckResults"][0]
        assert result["alive"] is False and result["consecutiveFailures"] >= 1
        assert STAMP.match(result["lastFailure"]) and result["firstSuccess"] is None
        kill = events.next("unhealthy_instance_kill_event", taskId=first["id"])
        assert kill["appId"] == "/sick" and kill["host"] == "agent1"
    finally:
        events.close()
    wait_until(
        "a replacement task",
        lambda: any(t["id"] != first["id"] for t in mlab.app("/sick")["tasks"]),
    )
    assert mlab.app("/sick")["deployments"]  # never healthy: still deploying
    assert call(mlab, "DELETE", "/v2/apps/sick").status == 200


def test_command_health_checks_wait_for_the_agent(mlab: MarathonLab) -> None:
    """COMMAND checks are Mesos checks, run by the executor on the agent; Marathon only reads
    ``healthy`` from the status updates. The twin agent runs none, so none are reported."""
    check = {"protocol": "COMMAND", "command": {"value": "true"}, "intervalSeconds": 1}
    assert call(mlab, "POST", "/v2/apps", sleeper("/commanded", healthChecks=[check])).status == 201
    running = wait_until(
        "a running task", lambda: (a := mlab.app("/commanded"))["tasksRunning"] == 1 and a
    )
    assert "healthCheckResults" not in running["tasks"][0]
    assert running["tasksHealthy"] == 0 and running["deployments"]
    assert running["healthChecks"][0]["command"] == {"value": "true"}
    assert call(mlab, "DELETE", "/v2/apps/commanded").status == 200


# ------------------------------------------------------------------ a standby


def test_a_standby_marathon_proxies_the_event_stream(tmp_path: Path) -> None:
    """marathon-lb may be pointed at any Marathon: a standby copies the leader's
    /v2/events through as it comes (LeaderProxyFilter), with X-Marathon-Via. The nodes are
    named by their addresses, so the leader's name in ZooKeeper resolves."""
    zkserver.require_zookeeper()
    server = zkserver.standalone(tmp_path / "zk")
    first, second = "127.0.0.21", "127.0.0.22"
    lab = TwinLab(tmp_path / "nodes", [first, second])
    zk = f"zk://127.0.0.1:{server.client_port}"
    try:
        server.start()
        zkserver.wait_for([server], zkserver.all_answer, timeout=40)
        leader = lab.marathon(first, first, master=f"{zk}/mesos", zk=f"{zk}/marathon").start()
        leader.wait_http("/ping")
        wait_until("a leader", lambda: leader.get("/v2/info").json()["elected"])
        standby = lab.marathon(second, second, master=f"{zk}/mesos", zk=f"{zk}/marathon")
        standby.start().wait_http("/ping")
        events = read_events(standby.url, "?event_type=api_post_event")
        try:
            assert events.status == 200
            assert events.headers["x-marathon-via"] == f"1.1 {second}:{standby.port}"
            assert events.headers["content-type"].startswith("text/event-stream")
            app = sleeper("/proxied")
            assert http("POST", leader.url + "/v2/apps", app).status == 201
            assert events.next("api_post_event")["appDefinition"]["id"] == "/proxied"
        finally:
            events.close()
        refused = read_events(standby.url, accept="application/json")  # proxied as a call
        refused.close()
        assert refused.status == 405
        # the console too: the leader's redirect to ui/ (its Location passed on), its page
        root = standby.get("/", accept="text/html")
        assert (root.status, root.headers.get("Location")) == (302, "ui/")
        assert root.headers.get("X-Marathon-Via") == f"1.1 {second}:{standby.port}"
        page = standby.get("/ui/", accept="text/html")
        assert page.status == 200 and f"{first}:{leader.port}".encode() in page.body
        assert b"/proxied" in page.body
    finally:
        lab.stop_all()
        server.stop()
