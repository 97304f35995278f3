"""The master's read-only web console on ``GET /``, in place of the Mesos web UI.

Mesos 1.4 serves its Angular UI at ``/`` (``master/static/index.html``) with its assets under
``/static/`` (MESOS@1.4.3 ``src/master/master.cpp`` L1150-1151), and the UI polls the
leader's ``/master/state``. This console is one server-rendered page drawn from the same
in-process model that serves ``/master/state`` (no second request, no scripts, no assets,
so no ``/static/``), its sections at the UI's fragments ``#/agents``, ``#/frameworks`` and
``#/tasks``, every page under a banner saying it is an emulation.

Sandbox links point straight at the agent's ``/files`` endpoints. The real UI asks the
agent's ``/state`` for the executor's ``directory`` (``controllers.js``
``AgentTaskAndExecutorRerouterCtrl``, "the directory to browse is known by the agent but
not by the master"); the twin's agent tells its master its work dir when it registers, so
the console builds the same path, ``<work_dir>/slaves/<agent>/frameworks/<framework>/
executors/<executor>/runs/<container>`` (MESOS@1.4.3 ``src/slave/paths.cpp``
``getExecutorRunPath``), with the command executor's id, which is the task's id, and
``runs/latest`` while the container id is not known yet. Links use the agent's address
(from its pid), not its hostname, which a learner's laptop may not resolve.

A master that does not lead shows no data: it names the leader and links to it (the real UI
reads the leader's state through ``leader_info``; with none it says "No master is currently
leading ...", ``index.html``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from mesoslab_twin import MESOS_VERSION
from mesoslab_twin.common import html
from mesoslab_twin.common.html import Html
from mesoslab_twin.mesos.master_model import TERMINAL_STATES, Agent, Framework, Task

if TYPE_CHECKING:
    from mesoslab_twin.mesos.master import Master

COMPLETED_SHOWN = 100  # completed tasks listed, newest first: the page stays small
NAV = (
    ("#/agents", "Agents"),
    ("#/frameworks", "Frameworks"),
    ("#/tasks", "Tasks"),
    ("/master/state", "/master/state (JSON)"),
)


@dataclass
class AgentRow:
    id: str
    hostname: str
    address: str  # ip:port, from its pid
    resources: dict[str, Any]
    registered_time: float
    active: bool


@dataclass
class FrameworkRow:
    id: str
    name: str
    active: bool
    tasks: int  # active tasks
    registered_time: float


@dataclass
class Sandbox:
    agent_url: str  # http://ip:port of the agent
    directory: str

    def url(self, endpoint: str, path: str, **extra: str) -> str:
        return f"{self.agent_url}/files/{endpoint}?{urlencode({'path': path, **extra})}"


@dataclass
class TaskRow:
    id: str
    name: str
    state: str
    framework_id: str
    framework_name: str
    agent_id: str
    agent_hostname: str  # "" when the agent is gone
    started: float | None
    stopped: float | None
    sandbox: Sandbox | None


@dataclass
class Leader:
    hostname: str
    address: str  # ip or hostname to link to
    port: int


@dataclass
class MasterView:
    hostname: str
    address: str
    leading: bool
    leader: Leader | None
    leader_is_self: bool = False
    cluster: str = ""
    start_time: float = 0.0
    elected_time: float | None = None
    agents: list[AgentRow] = field(default_factory=list)
    frameworks: list[FrameworkRow] = field(default_factory=list)
    completed_frameworks: list[FrameworkRow] = field(default_factory=list)
    active_tasks: list[TaskRow] = field(default_factory=list)
    completed_tasks: list[TaskRow] = field(default_factory=list)


# ------------------------------------------------------------------ the model -> rows


def view(master: Master) -> MasterView:
    """What the page shows, read from the master's model (call with ``master.lock`` held)."""
    leader_info = master.leader_info()
    leader = None
    if leader_info is not None:
        address = leader_info.get("address") or {}
        leader = Leader(
            hostname=str(leader_info.get("hostname", "")),
            address=str(address.get("ip") or leader_info.get("hostname", "")),
            port=int(leader_info.get("port", 5050)),
        )
    found = MasterView(
        hostname=master.hostname,
        address=f"{master.ip}:{master.port}",
        leading=master.elected,
        leader=leader,
        leader_is_self=leader_info is not None and leader_info.get("id") == master.id,
        cluster=str(master.flags.get("cluster", "")),
        start_time=master.start_time,
        elected_time=master.elected_time,
    )
    if not master.elected:
        return found
    cluster = master.cluster
    found.agents = [_agent_row(a) for a in cluster.agents.values()]
    found.frameworks = [_framework_row(f) for f in cluster.frameworks.values()]
    found.completed_frameworks = [_framework_row(f) for f in cluster.completed_frameworks]
    every = [*cluster.frameworks.values(), *cluster.completed_frameworks]
    agents = cluster.agents
    found.active_tasks = [
        task_row(t, f, agents.get(t.agent_id)) for f in every for t in f.tasks.values()
    ]
    done = [(t, f) for f in every for t in f.completed]
    done.sort(key=lambda pair: _last_time(pair[0]), reverse=True)
    found.completed_tasks = [
        task_row(t, f, agents.get(t.agent_id)) for t, f in done[:COMPLETED_SHOWN]
    ]
    return found


def _agent_row(agent: Agent) -> AgentRow:
    return AgentRow(
        id=agent.id,
        hostname=agent.hostname,
        address=agent.address,
        resources=agent.total.to_json(),
        registered_time=agent.registered_time,
        active=agent.active,
    )


def _framework_row(framework: Framework) -> FrameworkRow:
    return FrameworkRow(
        id=framework.id,
        name=framework.name,
        active=framework.active,
        tasks=len(framework.tasks),
        registered_time=framework.registered_time,
    )


def _last_time(task: Task) -> float:
    return float(task.statuses[-1]["timestamp"]) if task.statuses else 0.0


def container_id(task: Task) -> str:
    """The container id the agent reported for this task, or "" before it did."""
    for status in [task.last, *reversed(task.statuses)]:
        value = ((status.get("container_status") or {}).get("container_id") or {}).get("value")
        if value:
            return str(value)
    return ""


def sandbox_of(task: Task, agent: Agent | None) -> Sandbox | None:
    if agent is None or not agent.work_dir:
        return None
    run = container_id(task) or "latest"
    directory = "/".join(
        (
            agent.work_dir.rstrip("/"),
            "slaves",
            agent.id,
            "frameworks",
            task.framework_id,
            "executors",
            task.id,  # the command executor's id is its task's (as the UI's executor_id || id)
            "runs",
            run,
        )
    )
    return Sandbox(f"http://{agent.address}", directory)


def task_row(task: Task, framework: Framework, agent: Agent | None) -> TaskRow:
    """Started/stopped as the UI's setTaskMetadata: the first status unless it is terminal,
    the last one when the task is."""
    first = task.statuses[0] if task.statuses else None
    last = task.statuses[-1] if task.statuses else None
    return TaskRow(
        id=task.id,
        name=task.name,
        state=task.state,
        framework_id=framework.id,
        framework_name=framework.name,
        agent_id=task.agent_id,
        agent_hostname=agent.hostname if agent else "",
        started=float(first["timestamp"])
        if first and first["state"] not in TERMINAL_STATES
        else None,
        stopped=float(last["timestamp"]) if last and task.state in TERMINAL_STATES else None,
        sandbox=sandbox_of(task, agent),
    )


# ------------------------------------------------------------------ rows -> HTML


def banner() -> str:
    return html.banner_text("Mesos", MESOS_VERSION, "Apache Mesos")


def render(found: MasterView) -> str:
    title = f"Mesos master {found.hostname} (mesoslab emulation)"
    facts = _facts(found)
    if not found.leading:
        return html.page(title, banner(), NAV[3:], facts, note=_not_leading(found))
    return html.page(
        title,
        banner(),
        NAV,
        facts,
        html.section("/agents", "Agents", agents_table(found.agents)),
        html.section(
            "/frameworks",
            "Frameworks",
            frameworks_table(found.frameworks, "frameworks", "No active frameworks."),
            Html("<h3>Completed Frameworks</h3>"),
            frameworks_table(
                found.completed_frameworks, "completed-frameworks", "No completed frameworks."
            ),
        ),
        html.section(
            "/tasks",
            "Tasks",
            Html("<h3>Active Tasks</h3>"),
            tasks_table(found.active_tasks, "active-tasks", "No active tasks."),
            Html("<h3>Completed Tasks</h3>"),
            tasks_table(found.completed_tasks, "completed-tasks", "No completed tasks."),
        ),
    )


def _facts(found: MasterView) -> Html:
    role = "leading master" if found.leading else "not the leading master"
    leader: object = "(Unknown)"
    if found.leader is not None:
        leader = leader_link(found.leader)
    rows = [
        ("This master", html.join([found.hostname, f"({found.address}),", role])),
        ("Cluster", found.cluster or "(Unnamed)"),
        ("Leader", leader),
        ("Version", MESOS_VERSION),
        ("Started", html.when(found.start_time)),
        ("Elected", html.when(found.elected_time) if found.leading else ""),
    ]
    cells = "".join(f"<tr><th>{html.text(k)}</th><td>{html.markup(v)}</td></tr>" for k, v in rows)
    return Html(f'<table id="master-facts">{cells}</table>')


def leader_link(leader: Leader) -> Html:
    return html.link(
        f"http://{leader.address}:{leader.port}/",
        f"{leader.hostname}:{leader.port}",
        title="the leading master's console",
    )


def _not_leading(found: MasterView) -> Html:
    if found.leader is None:
        message: object = html.join(
            ["No master is currently leading ...", "(no leader in ZooKeeper yet)."]
        )
    elif found.leader_is_self:
        message = html.text(
            "This master leads but has not finished recovering the registry "
            "(a quorum of its replicated log is not there yet); no data until it has."
        )
    else:
        message = html.join(
            [
                "This master is not the leader. The leading master is",
                leader_link(found.leader),
                html.text("\u2014 its console shows the cluster."),
            ]
        )
    return Html(f'<p class="note" id="leader-note">{html.markup(message)}</p>')


def _muted(value: object) -> Html:
    return Html(f'<span class="muted">{html.text(value)}</span>')


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def agents_table(agents: list[AgentRow]) -> Html:
    rows = [
        (
            a.id,
            html.join([a.hostname, _muted(f"({a.address})")]),
            _number(a.resources.get("cpus", 0)),
            _number(a.resources.get("gpus", 0)),
            f"{_number(a.resources.get('mem', 0))} MB",
            f"{_number(a.resources.get('disk', 0))} MB",
            html.when(a.registered_time),
            "yes" if a.active else "no",
        )
        for a in agents
    ]
    # As the real UI's Agents page: CPUs, GPUs, memory and disk, never ports (lessons 1 and
    # 3 teach where ports are: the JSON of /master/slaves and the agent's /state)
    headings = ("ID", "Host", "CPUs", "GPUs", "Mem", "Disk", "Registered", "Active")
    return html.table(headings, rows, empty="No agents.", css_id="agents")


def frameworks_table(frameworks: list[FrameworkRow], css_id: str, empty: str) -> Html:
    rows = [
        (f.id, f.name, "yes" if f.active else "no", f.tasks, html.when(f.registered_time))
        for f in frameworks
    ]
    headings = ("ID", "Name", "Active", "Active Tasks", "Registered")
    return html.table(headings, rows, empty=empty, css_id=css_id)


def sandbox_links(sandbox: Sandbox | None) -> Html:
    if sandbox is None:
        return html.text("(agent gone)")
    parts = [html.link(sandbox.url("browse", sandbox.directory), "browse")]
    for name in ("stdout", "stderr"):
        path = f"{sandbox.directory}/{name}"
        parts.append(html.link(sandbox.url("read", path, offset="0"), name))
        parts.append(html.link(sandbox.url("download", path), "\u2193", title=f"download {name}"))
    return html.join(parts)


def tasks_table(tasks: list[TaskRow], css_id: str, empty: str) -> Html:
    rows = [
        (
            t.id,
            t.name,
            t.state.removeprefix("TASK_"),
            html.join([t.framework_name, _muted(t.framework_id)]),
            html.join([t.agent_hostname, _muted(t.agent_id)])
            if t.agent_hostname
            else _muted("Agent offline"),
            html.when(t.started),
            html.when(t.stopped),
            sandbox_links(t.sandbox),
        )
        for t in tasks
    ]
    headings = ("ID", "Name", "State", "Framework", "Agent", "Started", "Stopped", "Sandbox")
    return html.table(headings, rows, empty=empty, css_id=css_id)
