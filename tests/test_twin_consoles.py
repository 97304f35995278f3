"""The twin's read-only web consoles: the Mesos master's on ``/`` and Marathon's on ``/ui/``.

Real processes on loopback: a real ZooKeeper, two masters (``master1`` leads, ``master2``
stands by), an agent and Marathon, with a real Marathon app whose task prints to its
sandbox. Debian's chromium, headless, driven by selenium through Debian's chromedriver
(nothing downloaded), reads the pages as a learner would and follows their links. The
rendering itself (escaping, the leader note, sandbox paths) has fast unit tests first.

Set MESOSLAB_CONSOLE_SCREENSHOTS=docs/images to keep a screenshot of each console (the
README's are made that way).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest

from mesoslab_twin import MARATHON_VERSION, MESOS_VERSION
from mesoslab_twin.common.values import Amounts
from mesoslab_twin.marathon import console as marathon_console
from mesoslab_twin.marathon.apps import App, MTask
from mesoslab_twin.mesos import console as mesos_console
from mesoslab_twin.mesos.master_model import Agent, Framework, Task
from mesoslab_twin.mesos.master_state import Cluster
from tests.support import zkserver
from tests.support.browser import headless_chromium
from tests.support.twin_lab import Daemon, TwinLab, http, wait_until

MASTER1, AGENT1, MASTER2 = "127.0.0.1", "127.0.0.2", "127.0.0.3"
HOSTILE = '/a<script>alert("x")</script>'
TAGS = {  # every element the consoles write; a hostile value must add none
    *("html", "head", "meta", "title", "style", "body", "div", "nav", "main", "section"),
    *("h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "a", "span", "code", "br"),
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def parsed(page: str) -> _Tags:
    found = _Tags()
    found.feed(page)
    return found


# ------------------------------------------------------------------ rendering (fast)


def _mtask(host: str, ports: list[int]) -> MTask:
    return MTask(
        id="a-script.1234",
        app_id=HOSTILE,
        agent_id="S0",
        host=host,
        ports=ports,
        service_ports=[10000],
        version="2026-12-02T07:00:00.000Z",
        staged_at="2026-12-02T07:00:01.000Z",
        state="TASK_RUNNING",
        started_at="2026-12-02T07:00:02.000Z",
    )


def test_marathon_console_escapes_a_hostile_app_id_and_host() -> None:
    app = App(
        definition={
            "id": HOSTILE,
            "instances": 2,
            "cpus": 0.5,
            "mem": 64.0,
            "cmd": "echo '</td><img src=x onerror=alert(1)>'",
            "healthChecks": [],
            "container": {"type": "DOCKER", "docker": {"image": "nginx<b>"}},
        }
    )
    task = _mtask('<img src=x onerror="alert(2)">', [31005])
    app.tasks[task.id] = task
    page = marathon_console.render(
        marathon_console.snapshot(
            [app], [], me="master1:8080", leader="master1:8080", framework_id="F-1", master="zk"
        )
    )
    tags = parsed(page)
    assert tags.tags <= TAGS, tags.tags - TAGS  # no script, no img: the values stayed text
    assert "<script>" not in page and "<img" not in page
    assert "/a&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;:31005" in page  # host:port
    assert "1 running, 0 staged / 2 wanted" in page
    assert "DOCKER <code>nginx&lt;b&gt;</code>" in page
    assert marathon_console.banner() in page
    assert f"an emulation of Marathon {MARATHON_VERSION}, not" in page
    assert not any(tag in page for tag in ("<form", "<button", "<input", 'method="post"'))


def test_marathon_console_says_how_each_app_stands() -> None:
    def row(instances: int, running: int, **extra: Any) -> marathon_console.AppRow:
        app = App(definition={"id": "/x", "instances": instances, "cpus": 1, "mem": 32})
        for index in range(running):
            task = _mtask("agent1", [])
            task.id = f"x.{index}"
            app.tasks[task.id] = task
        for key, value in extra.items():
            setattr(app, key, value)
        return marathon_console.app_row(app, False, now=100.0)

    assert row(1, 1).status == "Running"
    assert row(2, 1).status == "Waiting"
    assert row(0, 0).status == "Suspended"
    assert row(1, 0, delay_until=160.0).status == "Delayed"
    found = marathon_console.app_row(
        App(definition={"id": "/x", "instances": 1, "cpus": 1, "mem": 32}), True, 0.0
    )
    assert found.status == "Deploying"
    assert row(1, 1).tasks[0].endpoints == ["agent1"]  # no ports: the host alone


def _view(**changes: Any) -> mesos_console.MasterView:
    base = mesos_console.MasterView(
        hostname="master1",
        address="127.0.0.1:5050",
        leading=True,
        leader=mesos_console.Leader("master1", "127.0.0.1", 5050),
        leader_is_self=True,
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_mesos_console_escapes_agents_frameworks_and_tasks() -> None:
    sandbox = mesos_console.Sandbox("http://127.0.0.2:5051", "/var/lib/mesos/x<y>&z")
    task = mesos_console.TaskRow(
        id="t<script>1",
        name='"><script>alert(1)</script>',
        state="TASK_RUNNING",
        framework_id="F<b>",
        framework_name="<i>marathon</i>",
        agent_id="S0",
        agent_hostname="agent<1>",
        started=1700000000.0,
        stopped=None,
        sandbox=sandbox,
    )
    page = mesos_console.render(
        _view(
            agents=[
                mesos_console.AgentRow(
                    "S<0>",
                    "<img src=x onerror=alert(1)>",
                    "127.0.0.2:5051",
                    {
                        "cpus": 2.0,
                        "gpus": 0.0,
                        "mem": 1024.0,
                        "disk": 100.5,
                        "ports": "[31000-32000]",
                    },
                    1700000000.0,
                    True,
                )
            ],
            frameworks=[mesos_console.FrameworkRow("F<b>", "<i>marathon</i>", True, 1, 1.0)],
            active_tasks=[task],
        )
    )
    tags = parsed(page)
    assert tags.tags <= TAGS, tags.tags - TAGS
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "t&lt;script&gt;1" in page
    assert "<td>100.5 MB</td>" in page and "31000" not in page  # no ports, as the real UI
    # the sandbox links: the path is a query parameter, quoted, never markup
    stdout = "http://127.0.0.2:5051/files/read?path=%2Fvar%2Flib%2Fmesos%2Fx%3Cy%3E%26z%2Fstdout&offset=0"
    assert stdout in tags.hrefs
    assert (
        "http://127.0.0.2:5051/files/browse?path=%2Fvar%2Flib%2Fmesos%2Fx%3Cy%3E%26z" in tags.hrefs
    )
    assert (
        "http://127.0.0.2:5051/files/download?path=%2Fvar%2Flib%2Fmesos%2Fx%3Cy%3E%26z%2Fstderr"
        in tags.hrefs
    )
    assert mesos_console.banner() == (
        f"mesoslab rehearsal lab \u2014 an emulation of Mesos {MESOS_VERSION}, not Apache Mesos"
    )
    assert mesos_console.banner() in page
    assert not any(tag in page for tag in ("<form", "<button", "<input", "<script"))


def test_a_standby_masters_console_names_and_links_the_leader() -> None:
    leader = mesos_console.Leader("master<1>", "192.168.56.11", 5050)
    page = mesos_console.render(_view(leading=False, leader=leader, leader_is_self=False))
    tags = parsed(page)
    assert "http://192.168.56.11:5050/" in tags.hrefs  # the address, which a laptop reaches
    assert "This master is not the leader" in page and "master&lt;1&gt;:5050" in page
    assert 'id="agents"' not in page  # no data on a standby
    alone = mesos_console.render(_view(leading=False, leader=None, leader_is_self=False))
    assert "No master is currently leading ..." in alone
    recovering = mesos_console.render(_view(leading=False))
    assert "has not finished recovering" in recovering


def test_the_sandbox_path_is_the_agents_executor_run_path() -> None:
    agent = Agent("S1", "agent1", "10.0.0.2", 5051, [], [], "1.4.3", 1.0, work_dir="/srv/mesos/")
    task = Task("sleeper.1", "sleeper", "F-1", "S1", Amounts(), {})
    assert mesos_console.sandbox_of(task, agent) == mesos_console.Sandbox(
        "http://10.0.0.2:5051",
        "/srv/mesos/slaves/S1/frameworks/F-1/executors/sleeper.1/runs/latest",
    )
    task.last = {"state": "TASK_RUNNING", "container_status": {"container_id": {"value": "C9"}}}
    found = mesos_console.sandbox_of(task, agent)
    assert found is not None and found.directory.endswith("/executors/sleeper.1/runs/C9")
    agent.work_dir = ""  # an agent that did not say where its sandboxes are: no links
    assert mesos_console.sandbox_of(task, agent) is None
    assert "(agent gone)" in mesos_console.sandbox_links(None)


def test_the_console_reads_the_masters_own_model() -> None:
    """The collector over a real Cluster: a registered agent with a hostile hostname and a
    framework's task, as the model holds them."""
    cluster = Cluster("M", {})
    info = {"hostname": "<b>agent</b>", "ip": "10.0.0.2", "port": 5051, "work_dir": "/w"}
    agent_id, _ = cluster.register_agent({"info": info}, time.monotonic())
    framework = Framework("F-1", {"name": "marathon"}, registered_time=1.0)
    framework.tasks["t1"] = Task(
        "t1",
        "t-one",
        "F-1",
        agent_id,
        Amounts(),
        {},
        statuses=[{"state": "TASK_RUNNING", "timestamp": 5.0}],
    )
    cluster.frameworks["F-1"] = framework
    master = SimpleNamespace(
        cluster=cluster,
        elected=True,
        hostname="master1",
        ip="10.0.0.1",
        port=5050,
        id="M",
        flags={"cluster": "lab"},
        start_time=1.0,
        elected_time=2.0,
        leader_info=lambda: {
            "id": "M",
            "hostname": "master1",
            "port": 5050,
            "address": {"ip": "10.0.0.1"},
        },
    )
    found = mesos_console.view(master)  # type: ignore[arg-type]
    assert [a.id for a in found.agents] == [agent_id]
    assert [(t.id, t.agent_hostname, t.started) for t in found.active_tasks] == [
        ("t1", "<b>agent</b>", 5.0)
    ]
    assert found.active_tasks[0].sandbox is not None
    assert found.active_tasks[0].sandbox.directory == (
        f"/w/slaves/{agent_id}/frameworks/F-1/executors/t1/runs/latest"
    )
    page = mesos_console.render(found)
    assert "&lt;b&gt;agent&lt;/b&gt;" in page and "<b>agent" not in page
    assert "<td>lab</td>" in page


# ------------------------------------------------------------------ the lab


@dataclass
class ConsoleLab:
    twins: TwinLab
    master1: Daemon
    master2: Daemon
    agent: Daemon
    marathon: Daemon
    app: dict[str, Any]  # /v2/apps/console-demo with its running task


APP = {
    "id": "/console-demo",
    "cmd": 'echo "console says hello from $MESOS_TASK_ID"; echo "to stderr" >&2; sleep 600',
    "cpus": 0.1,
    "mem": 32,
    "instances": 1,
}


def elected(daemon: Daemon) -> bool:
    return bool(daemon.get("/metrics/snapshot", timeout=2).json()["master/elected"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleLab]:
    zkserver.require_zookeeper()
    base = tmp_path_factory.mktemp("consoles")
    server = zkserver.standalone(base / "zk")
    twins = TwinLab(base / "nodes", [MASTER1, AGENT1, MASTER2])
    try:
        server.start()
        zkserver.wait_for([server], lambda modes: modes == ["standalone"], timeout=40)
        zk_url = f"zk://{server.address}:{server.client_port}/mesos"
        master1 = twins.master("master1", MASTER1, zk=zk_url).start()
        master1.wait_http()
        wait_until("master1 to lead", lambda: elected(master1))
        master2 = twins.master("master2", MASTER2, zk=zk_url).start()
        agent = twins.agent("agent1", AGENT1, master=zk_url).start()
        marathon = twins.marathon("master1", MASTER1, master=zk_url).start()
        for daemon in (master2, agent):
            daemon.wait_http()
        marathon.wait_http("/ping", timeout=60)
        wait_until(
            "marathon and the agent registered",
            lambda: (
                master1.get("/master/frameworks").json()["frameworks"]
                and master1.get("/master/slaves").json()["slaves"]
            ),
        )
        created = http("POST", marathon.url + "/v2/apps", APP)
        assert created.status == 201, created.body

        def running() -> dict[str, Any] | None:
            app = dict(http("GET", marathon.url + "/v2/apps/console-demo").json()["app"])
            up = app["tasksRunning"] == 1 and not app["deployments"]
            return app if up else None

        app = wait_until("the app's task to run", running)
        # lesson 1's first task: a framework of its own that finishes
        run = twins.tool(
            "mesos-execute",
            f"--master={MASTER1}:{master1.port}",
            "--name=cluster-test",
            "--command=echo finished output of cluster-test",
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert not elected(master2)
        yield ConsoleLab(twins, master1, master2, agent, marathon, app)
    finally:
        twins.stop_all()
        server.stop()


def test_every_console_answer_is_marked_and_marathon_redirects_to_its_ui(
    lab: ConsoleLab,
) -> None:
    """Marathon's WebJarServlet: ``/`` is a 302 to ``ui/``, ``/ui`` one to ``/ui/``, behind
    the leader filter like every path. The master serves its console on ``/`` and, having no
    assets, nothing under ``/static/``."""
    root = lab.marathon.get("/", accept="text/html")
    assert (root.status, root.headers.get("Location")) == (302, "ui/")
    bare = lab.marathon.get("/ui", accept="text/html")
    assert (bare.status, bare.headers.get("Location")) == (302, "/ui/")
    for daemon, path in (
        (lab.marathon, "/"),
        (lab.marathon, "/ui"),
        (lab.marathon, "/ui/"),
        (lab.marathon, "/ui/index.html"),
        (lab.master1, "/"),
        (lab.master2, "/"),
        (lab.master1, "/static/js/app.js"),
    ):
        answer = daemon.get(path, accept="text/html")
        assert answer.headers.get("X-Mesoslab-Twin") == "emulation", (daemon.name, path)
        if answer.status == 200:
            assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
            assert len(answer.body) < 100_000, "a console page must stay small"
    assert lab.master1.get("/static/js/app.js").status == 404
    for path in ("/ui/", "/ui/index.html"):
        page = lab.marathon.get(path, accept="text/html")
        assert page.status == 200 and marathon_console.banner().encode() in page.body, path
        assert b"/console-demo" in page.body, path
    master_page = lab.master1.get("/", accept="text/html")
    assert master_page.status == 200 and mesos_console.banner().encode() in master_page.body
    assert page.headers.get("X-Marathon-Leader") == f"http://master1:{lab.marathon.port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium(1500, 1000) as driver:
        yield driver


def screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("MESOSLAB_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


def body_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def test_the_mesos_console_in_a_browser(lab: ConsoleLab, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    task = lab.app["tasks"][0]
    agent_id = lab.master1.get("/master/slaves").json()["slaves"][0]["id"]
    framework_id = lab.master1.get("/master/frameworks").json()["frameworks"][0]["id"]
    driver.get(lab.master1.url + "/")
    banner = driver.find_element(By.ID, "emulation-banner")
    assert banner.is_displayed()
    assert (
        banner.text
        == f"mesoslab rehearsal lab \u2014 an emulation of Mesos {MESOS_VERSION}, not Apache Mesos"
    )

    def column(table: str, index: int = 1) -> list[str]:
        cells = driver.find_elements(
            By.CSS_SELECTOR, f"table#{table} tbody tr td:nth-child({index})"
        )
        return [str(c.text) for c in cells]

    assert column("agents") == [agent_id]
    assert column("agents", 3) == ["2"]  # its CPUs, from the same model (no ports: real UI)
    assert framework_id in column("frameworks")
    assert task["id"] in column("active-tasks")
    row = driver.find_element(
        By.XPATH, f'//table[@id="active-tasks"]//tr[td[1][normalize-space()="{task["id"]}"]]'
    )
    assert "RUNNING" in row.text and "agent1" in row.text and framework_id in row.text
    screenshot(driver, "mesos-console.png")
    # the Sandbox links go to the agent's /files endpoints and show the task's real output
    row.find_element(By.LINK_TEXT, "stdout").click()
    wait_until(
        "the task's stdout in the browser",
        lambda: f"console says hello from {task['id']}" in body_text(driver),
        timeout=20,
    )
    assert driver.current_url.startswith(f"http://{AGENT1}:{lab.agent.port}/files/read?")
    driver.back()
    row = driver.find_element(
        By.XPATH, f'//table[@id="active-tasks"]//tr[td[1][normalize-space()="{task["id"]}"]]'
    )
    row.find_element(By.LINK_TEXT, "stderr").click()
    wait_until("the task's stderr", lambda: "to stderr" in body_text(driver), timeout=20)
    driver.back()
    row = driver.find_element(
        By.XPATH, f'//table[@id="active-tasks"]//tr[td[1][normalize-space()="{task["id"]}"]]'
    )
    row.find_element(By.LINK_TEXT, "browse").click()
    wait_until("the sandbox listing", lambda: "/stdout" in body_text(driver), timeout=20)
    # the fragments of the real UI land on the sections
    driver.get(lab.master1.url + "/#/frameworks")
    assert driver.find_element(By.ID, "/frameworks").is_displayed()


def test_a_standby_master_in_a_browser_points_at_the_leader(lab: ConsoleLab, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(lab.master2.url + "/")
    assert driver.find_element(By.ID, "emulation-banner").is_displayed()
    note = driver.find_element(By.ID, "leader-note")
    assert "not the leader" in note.text and f"master1:{lab.master1.port}" in note.text
    assert not driver.find_elements(By.ID, "agents")  # a standby shows no data
    note.find_element(By.LINK_TEXT, f"master1:{lab.master1.port}").click()
    wait_until(
        "the leader's console",
        lambda: (
            driver.current_url == lab.master1.url + "/" and driver.find_elements(By.ID, "agents")
        ),
        timeout=20,
    )


def test_the_marathon_console_in_a_browser(lab: ConsoleLab, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    task = lab.app["tasks"][0]
    driver.get(lab.marathon.url + "/")  # Marathon's redirect to /ui/, followed
    assert driver.current_url == lab.marathon.url + "/ui/"
    banner = driver.find_element(By.ID, "emulation-banner")
    assert banner.is_displayed()
    assert banner.text == (
        f"mesoslab rehearsal lab \u2014 an emulation of Marathon {MARATHON_VERSION}, "
        "not Mesosphere Marathon"
    )
    row = driver.find_element(
        By.XPATH, '//table[@id="apps"]//tr[td[1][normalize-space()="/console-demo"]]'
    )
    assert "1 running, 0 staged / 1 wanted" in row.text and "Running" in row.text
    assert "none (command)" in row.text and "no health checks" in row.text
    tasks = driver.find_element(By.ID, "tasks-%2Fconsole-demo")
    endpoint = f"{task['host']}:{task['ports'][0]}"
    assert task["host"] == "agent1" and endpoint in tasks.text and task["id"] in tasks.text
    assert "RUNNING" in tasks.text
    assert "No deployments in progress." in driver.find_element(By.ID, "deployments").text
    screenshot(driver, "marathon-console.png")


def test_a_finished_tasks_sandbox_is_the_one_the_agent_reports(
    lab: ConsoleLab, browser: Any
) -> None:
    """Lesson 1: the finished mesos-execute framework is under Completed Frameworks, and
    its task's Sandbox link opens the directory the agent's /state names for it."""
    from selenium.webdriver.common.by import By

    driver = browser
    agent_state = lab.agent.get("/state").json()
    (directory,) = [
        e["directory"]
        for f in agent_state["completed_frameworks"]
        for e in f["completed_executors"]
        if e["id"] == "cluster-test"
    ]
    driver.get(lab.master1.url + "/#/tasks")
    completed = driver.find_element(By.ID, "completed-frameworks")
    assert "mesos-execute instance" in completed.text
    row = driver.find_element(
        By.XPATH, '//table[@id="completed-tasks"]//tr[td[1][normalize-space()="cluster-test"]]'
    )
    assert "FINISHED" in row.text
    browse = row.find_element(By.LINK_TEXT, "browse").get_attribute("href")
    assert browse == f"http://{AGENT1}:{lab.agent.port}/files/browse?" + urlencode(
        {"path": directory}
    )
    row.find_element(By.LINK_TEXT, "stdout").click()
    wait_until(
        "the finished task's stdout",
        lambda: "finished output of cluster-test" in body_text(driver),
        timeout=20,
    )
