"""The twin marathon-lb against the twin Marathon and a real HAProxy, on loopback
(tests/support/mlb_lab.py): real traffic on a service port spread over an app's tasks, a
killed task dropped from the backend and its replacement added, the stats CSV, the :9090
endpoints held to marathon-lb's fixture and behaviour, and reloads that lose no request."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.checks.result import Status
from mesoslab.lab.inventory import Inventory, Node
from tests.support.fixture_server import run_check
from tests.support.mlb_lab import HAPROXY, MlbLab, mlb_lab, wait_serving, web_app
from tests.support.paths import FIXTURES
from tests.support.ports import free_port
from tests.support.twin_lab import http, wait_until

FIXTURE = FIXTURES / "marathon-lb" / "haproxy_stats.csv"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlbLab]:
    assert HAPROXY, "these tests run Debian's haproxy: apt-get install haproxy (./dev does)"
    yield from mlb_lab(tmp_path_factory.mktemp("mlb"))


@pytest.fixture(scope="module")
def web(lab: MlbLab) -> tuple[str, int]:
    """/web with 3 healthy tasks behind service port ``port``, served by HAProxy."""
    port = free_port()
    assert http("POST", f"{lab.marathon.url}/v2/apps", web_app("/web", port, 3)).status == 201
    tasks = lab.running("/web", 3)
    wait_serving(lab, port, {f"agent1:{t['ports'][0]}" for t in tasks})
    return "/web", port


def _server_port(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def test_traffic_on_the_service_port_spreads_over_the_tasks(
    lab: MlbLab, web: tuple[str, int]
) -> None:
    app_id, port = web
    ports = sorted(t["ports"][0] for t in lab.tasks(app_id))
    bodies = lab.bodies(port, 12)
    assert sorted(set(bodies)) == sorted(f"agent1:{p}" for p in ports)
    # roundrobin: 12 requests over 3 servers, 4 each
    assert sorted(bodies.count(b) for b in set(bodies)) == [4, 4, 4]
    text = lab.config.read_text()
    assert f"\nfrontend web_{port}\n  bind *:{port}\n  mode http\n" in text
    assert sorted(_server_port(n) for n in re.findall(r"server (\S+) 127\.0\.0\.2:", text)) == ports


def test_the_stats_csv_shows_every_server_up(lab: MlbLab, web: tuple[str, int]) -> None:
    app_id, port = web
    backend = f"web_{port}"
    ports = sorted(t["ports"][0] for t in lab.tasks(app_id))
    up = wait_until("3 servers UP", lambda: u if len(u := lab.up(backend)) == 3 else None, 30)
    assert sorted(_server_port(n) for n in up) == ports
    assert all(n.startswith("agent1_127_0_0_2_") for n in up)


def test_a_killed_task_leaves_the_backend_and_its_replacement_joins(
    lab: MlbLab, web: tuple[str, int]
) -> None:
    app_id, port = web
    backend = f"web_{port}"
    before = lab.tasks(app_id)
    victim = before[0]
    killed = http("DELETE", f"{lab.marathon.url}/v2/apps{app_id}/tasks/{victim['id']}")
    assert killed.status == 200, killed.body
    gone = f"agent1_127_0_0_2_{victim['ports'][0]}"
    wait_until(f"{gone} to leave {backend}", lambda: gone not in lab.servers(backend), 30)
    after = lab.running(app_id, 3)
    assert victim["id"] not in {t["id"] for t in after}
    wait_serving(lab, port, {f"agent1:{t['ports'][0]}" for t in after})
    assert sorted(_server_port(n) for n in lab.servers(backend)) == sorted(
        t["ports"][0] for t in after
    )
    assert "received event of type status_update_event" in lab.mlb.output()


def test_apps_of_another_group_get_no_frontend(lab: MlbLab, web: tuple[str, int]) -> None:
    port = free_port()
    other = web_app("/internal", port, 1, labels={"HAPROXY_GROUP": "internal"})
    assert http("POST", f"{lab.marathon.url}/v2/apps", other).status == 201
    lab.running("/internal", 1)
    # a later change to /web makes marathon-lb write the configuration again
    _, web_port = web
    old = {t["id"] for t in lab.tasks("/web")}
    assert http("POST", f"{lab.marathon.url}/v2/apps/web/restart").status in (200, 201)
    wait_until(
        "/web restarted",
        lambda: not old & {t["id"] for t in lab.running("/web", 3)} and lab.settled("/web"),
        90,
    )
    wait_serving(lab, web_port, {f"agent1:{t['ports'][0]}" for t in lab.tasks("/web")})
    assert f"internal_{port}" not in lab.config.read_text()
    assert f"internal_{port}" not in lab.stats("/haproxy?stats;csv")[1]


def test_the_stats_endpoints_have_the_shapes_of_marathon_lb(
    lab: MlbLab, web: tuple[str, int]
) -> None:
    """:9090 as marathon-lb serves it (lessons-5-10-facts §2.3), the CSV held to the fixture
    recorded from marathon-lb's tests: every column it has, one field per column."""
    status, text, headers = lab.stats("/haproxy?stats;csv")
    assert status == 200
    ours = text.splitlines()[0].lstrip("# ").rstrip(",").split(",")
    theirs = FIXTURE.read_text().splitlines()[0].lstrip("# ").rstrip(",").split(",")
    assert set(theirs) <= set(ours), sorted(set(theirs) - set(ours))
    rows = list(csv.reader(io.StringIO(text)))
    assert all(len(r) == len(rows[0]) for r in rows[1:] if r)
    kinds = {(r[0], r[1]) for r in rows[1:] if r}
    assert ("stats", "FRONTEND") in kinds and (f"web_{web[1]}", "BACKEND") in kinds

    status, page, headers = lab.stats("/haproxy?stats")
    assert status == 200 and "<html" in page.lower() and f"web_{web[1]}" in page
    status, _, _ = lab.stats("/_haproxy_health_check")
    assert status == 200
    status, config, headers = lab.stats("/_haproxy_getconfig")
    assert status == 200 and headers.get("x-mesoslab-twin") == "emulation"
    assert config == lab.config.read_text()
    status, pids, _ = lab.stats("/_haproxy_getpids")
    assert status == 200 and lab.haproxy is not None and str(lab.haproxy.pid) in pids.split()
    assert lab.stats("/_haproxy_getvhostmap")[:2] == (200, "")
    assert lab.stats("/_haproxy_getappmap")[:2] == (200, "")
    status, metrics, _ = lab.stats("/metrics")
    assert status == 200 and f'haproxy_backend_active_servers{{proxy="web_{web[1]}"}} 3' in metrics

    status, sent, _ = lab.stats("/_mlb_signal/hup")
    assert (status, sent) == (200, "Sent SIGHUP signal to marathon-lb")
    wait_until("SIGHUP logged", lambda: "received signal SIGHUP" in lab.mlb.output(), 10)
    status, sent, _ = lab.stats("/_mlb_signal/usr1")
    assert (status, sent) == (200, "Sent SIGUSR1 signal to marathon-lb")
    wait_until("SIGUSR1 logged", lambda: "received signal SIGUSR1" in lab.mlb.output(), 10)
    assert lab.stats("/_mlb_signal/reload")[0] != 200  # there is no such endpoint


def test_signals_fail_like_marathon_lb_when_it_is_not_running(
    lab: MlbLab, web: tuple[str, int]
) -> None:
    """Nobody listens on the control socket (marathon-lb in poll mode, or stopped)."""
    control = lab.root / "var/run/haproxy/marathon-lb.sock"
    aside = control.with_name("aside.sock")
    control.rename(aside)
    try:
        status, text, _ = lab.stats("/_mlb_signal/hup")
    finally:
        aside.rename(control)
    assert status == 500
    assert text.startswith("Failed to send SIGHUP signal to marathon-lb (exit code ")
    assert text.endswith("Is marathon-lb running in 'poll' mode?")


def test_reloads_lose_no_request(lab: MlbLab, web: tuple[str, int]) -> None:
    """Requests flow while HAProxy reloads over and over (master-worker, listeners handed
    over through the stats socket): not one of them fails."""
    _, port = web
    assert lab.haproxy is not None
    wait_until("no deployment of /web", lambda: lab.settled("/web"), 90)
    tasks = lab.running("/web", 3)
    wait_serving(lab, port, {f"agent1:{t['ports'][0]}" for t in tasks})
    errors: list[str] = []
    answered = 0
    stop = threading.Event()

    def traffic() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
                    if answer.status != 200:
                        errors.append(f"HTTP {answer.status}")
                    answer.read()
                answered += 1
            except (OSError, urllib.error.URLError) as exc:
                errors.append(repr(exc))

    workers = [threading.Thread(target=traffic) for _ in range(3)]
    for worker in workers:
        worker.start()
    pids_seen: set[str] = set()
    try:
        for _ in range(8):
            status, sent, _ = lab.stats("/_mlb_signal/usr1")  # marathon-lb reloads HAProxy
            assert status == 200, sent
            before = set(lab.stats("/_haproxy_getpids")[1].split())
            wait_until(
                "a new HAProxy worker",
                lambda b=before: set(lab.stats("/_haproxy_getpids")[1].split()) - b,  # type: ignore[misc]
                20,
                interval=0.05,
            )
            pids_seen |= set(lab.stats("/_haproxy_getpids")[1].split())
            time.sleep(0.2)  # let traffic flow through the new worker
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    assert errors == [], errors[:5]
    assert answered > 50
    assert len(pids_seen) >= 8  # the master and new workers, one per reload


def test_dry_prints_the_configuration(lab: MlbLab, web: tuple[str, int], tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("127.0.0.2 agent1\n")
    done = lab.lab.tool(
        "marathon-lb",
        "--marathon",
        lab.marathon.url,
        "--group",
        "external",
        "--dry",
        "--dont-bind-http-https",
        f"--root={tmp_path}",
    )
    assert done.returncode == 0, done.stderr
    assert f"backend web_{web[1]}" in done.stdout
    assert not (tmp_path / "etc/haproxy/haproxy.cfg").exists()
    missing = lab.lab.tool("marathon-lb", "--marathon", lab.marathon.url)
    assert missing.returncode == 2 and "argument --group is required" in missing.stderr


def test_the_haproxy_and_http_check_kinds_read_the_real_haproxy(
    lab: MlbLab, web: tuple[str, int]
) -> None:
    _, port = web
    lab.running("/web", 3)
    wait_until("3 servers UP", lambda: len(lab.up(f"web_{port}")) == 3, 30)
    inventory = Inventory(
        nodes=(Node("agent1", "127.0.0.1", ("agent", "marathon-lb")),), ports={}, source="test"
    )
    stats = {"port": lab.stats_port}
    up = run_check(
        inventory, "haproxy.backend", {"app": "/web", "service_port": port, "up": 3, **stats}
    )
    assert up.status is Status.PASS, up
    too_many = run_check(inventory, "haproxy.backend", {"backend": f"web_{port}", "up": 4, **stats})
    assert too_many.status is Status.FAIL and "has 3 server(s) UP, expected 4" in too_many.summary
    missing = run_check(inventory, "haproxy.backend", {"backend": "nginx_10000", **stats})
    assert missing.status is Status.FAIL and f"web_{port}" in missing.observed
    spread = run_check(inventory, "http.get", {"port": port, "distinct_bodies": 3, "requests": 12})
    assert spread.status is Status.PASS, spread
    fewer = run_check(inventory, "http.get", {"port": port, "distinct_bodies": 4, "requests": 6})
    assert fewer.status is Status.FAIL and "got 3 different answer(s)" in fewer.summary
    text = run_check(inventory, "http.get", {"port": port, "body_contains": "agent1:"})
    assert text.status is Status.PASS, text
    refused = run_check(inventory, "http.get", {"port": free_port()})
    assert refused.status is Status.FAIL and "cannot connect" in refused.summary
    health = run_check(
        inventory, "http.get", {"port": lab.stats_port, "path": "/_haproxy_health_check"}
    )
    assert health.status is Status.PASS, health
