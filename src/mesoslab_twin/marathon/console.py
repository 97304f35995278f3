"""Marathon's read-only web console, in place of the Marathon UI.

Marathon 1.4 serves its UI at ``/ui/`` (``index.html``), answers ``/`` with a 302 to
``ui/`` and ``/ui`` with a 302 to ``/ui/`` (MARATHON@v1.4.12 ``api/WebJarServlet.scala``
L58-63, served for ``/``, ``/ui``, ``/ui/*`` in ``MarathonRestModule.scala`` L86, behind the
LeaderProxyFilter like every path). The twin does the same, and ``/ui/`` is one
server-rendered page drawn from the leader's in-process model that serves ``/v2/apps``: the
apps (instances running, staged and wanted, resources, container, health, status), each
app's tasks (host and ports, state, start), and the deployments in progress. No forms, no
scripts: it changes nothing. Its sections sit at the UI's fragments ``#/apps`` and
``#/deployments``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mesoslab_twin import MARATHON_VERSION
from mesoslab_twin.common import html
from mesoslab_twin.common.html import Html
from mesoslab_twin.marathon.apps import App, MTask, container_type
from mesoslab_twin.marathon.deployments import Deployment

if TYPE_CHECKING:
    from mesoslab_twin.marathon.daemon import Marathon

NAV = (
    ("#/apps", "Applications"),
    ("#/deployments", "Deployments"),
    ("/v2/apps", "/v2/apps (JSON)"),
)


@dataclass
class TaskRow:
    id: str
    host: str
    ports: list[int]
    state: str
    staged_at: str
    started_at: str
    health: str  # "healthy", "unhealthy", "" (no health check result)
    version: str

    @property
    def endpoints(self) -> list[str]:
        """``host:port`` for each port, as the UI lists a task (the host alone without)."""
        return [f"{self.host}:{p}" for p in self.ports] or [self.host]


@dataclass
class AppRow:
    id: str
    instances: int
    running: int
    staged: int
    healthy: int
    unhealthy: int
    health_checks: int
    cpus: float
    mem: float
    container: str  # DOCKER, MESOS or "" (a plain command)
    image: str
    status: str  # Deploying, Delayed, Suspended, Waiting, Running
    cmd: str
    tasks: list[TaskRow] = field(default_factory=list)
    last_failure: dict[str, Any] | None = None

    @property
    def anchor(self) -> str:
        return "/apps/" + quote(self.id, safe="")


@dataclass
class DeploymentRow:
    id: str
    apps: list[str]
    current_step: int
    total_steps: int
    actions: list[tuple[str, str]]  # (action, app id) of the current step


@dataclass
class MarathonView:
    me: str
    leader: str
    framework_id: str
    master: str
    apps: list[AppRow] = field(default_factory=list)
    deployments: list[DeploymentRow] = field(default_factory=list)


# ------------------------------------------------------------------ the model -> rows


def view(marathon: Marathon) -> MarathonView:
    """What the page shows (call with ``marathon.lock`` held)."""
    running = list(marathon.deployer.running.values())
    return snapshot(
        marathon.apps.values(),
        running,
        me=marathon.me,
        leader=marathon.leader or marathon.me,
        framework_id=marathon.framework_id,
        master=marathon.master,
    )


def snapshot(
    apps: Any,
    deployments: list[Deployment],
    *,
    me: str,
    leader: str,
    framework_id: str,
    master: str,
) -> MarathonView:
    deploying = {app_id for plan in deployments for app_id in plan.changes}
    now = time.monotonic()
    return MarathonView(
        me=me,
        leader=leader,
        framework_id=framework_id,
        master=master,
        apps=[app_row(a, a.id in deploying, now) for a in sorted(apps, key=lambda a: a.id)],
        deployments=[deployment_row(d) for d in deployments],
    )


def _health(task: MTask) -> str:
    if not task.health:
        return ""
    return "healthy" if all(h.get("alive") for h in task.health) else "unhealthy"


def task_row(task: MTask) -> TaskRow:
    return TaskRow(
        id=task.id,
        host=task.host,
        ports=list(task.ports),
        state=task.state,
        staged_at=task.staged_at,
        started_at=task.started_at or "",
        health=_health(task),
        version=task.version,
    )


def app_row(app: App, deploying: bool, now: float) -> AppRow:
    """Status as the UI's app list tells it: deploying, delayed (backing off after failed
    tasks), suspended (0 instances), waiting (fewer tasks than wanted), else running."""
    definition = app.definition
    counts = app.counts()
    instances = int(definition.get("instances", 0))
    live = len(app.live())
    if deploying:
        status = "Deploying"
    elif app.delay_until > now and live < instances:
        status = "Delayed"
    elif instances == 0 and live == 0:
        status = "Suspended"
    elif counts["tasksRunning"] < instances:
        status = "Waiting"
    else:
        status = "Running"
    container = definition.get("container") or {}
    docker = container.get("docker") if isinstance(container, dict) else None
    return AppRow(
        id=app.id,
        instances=instances,
        running=counts["tasksRunning"],
        staged=counts["tasksStaged"],
        healthy=counts["tasksHealthy"],
        unhealthy=counts["tasksUnhealthy"],
        health_checks=len(definition.get("healthChecks") or []),
        cpus=float(definition.get("cpus", 0)),
        mem=float(definition.get("mem", 0)),
        container=container_type(definition) or "",
        image=str(docker.get("image") or "") if isinstance(docker, dict) else "",
        status=status,
        cmd=str(definition.get("cmd") or " ".join(definition.get("args") or [])),
        tasks=[task_row(t) for t in sorted(app.tasks.values(), key=lambda t: t.staged_at)],
        last_failure=app.last_failure,
    )


def deployment_row(plan: Deployment) -> DeploymentRow:
    return DeploymentRow(
        id=plan.id,
        apps=plan.apps,
        current_step=plan.current + 1,
        total_steps=len(plan.steps),
        actions=list(plan.actions),
    )


# ------------------------------------------------------------------ rows -> HTML


def banner() -> str:
    return html.banner_text("Marathon", MARATHON_VERSION, "Mesosphere Marathon")


def render(found: MarathonView) -> str:
    facts = Html(
        '<table id="marathon-facts">'
        + "".join(
            f"<tr><th>{html.text(k)}</th><td>{html.text(v)}</td></tr>"
            for k, v in (
                ("Served by", found.me),
                ("Leader", found.leader),
                ("Version", MARATHON_VERSION),
                ("Framework ID", found.framework_id or "(not registered yet)"),
                ("Mesos master", found.master),
            )
        )
        + "</table>"
    )
    return html.page(
        f"Marathon on {found.me} (mesoslab emulation)",
        banner(),
        NAV,
        facts,
        html.section("/apps", "Applications", apps_table(found.apps)),
        *(app_section(a) for a in found.apps),
        html.section("/deployments", "Deployments", deployments_table(found.deployments)),
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def health_text(app: AppRow) -> str:
    if not app.health_checks:
        return "no health checks"
    unknown = max(0, app.running - app.healthy - app.unhealthy)
    return f"{app.healthy} healthy, {app.unhealthy} unhealthy, {unknown} unknown"


def container_text(app: AppRow) -> Html:
    if not app.container:
        return html.text("none (command)")
    if app.image:
        return html.join([app.container, html.code(app.image)])
    return html.text(app.container)


def apps_table(apps: list[AppRow]) -> Html:
    rows = [
        (
            html.link("#" + a.anchor, a.id),
            a.status,
            f"{a.running} running, {a.staged} staged / {a.instances} wanted",
            _number(a.cpus),
            f"{_number(a.mem)} MiB",
            container_text(a),
            health_text(a),
        )
        for a in apps
    ]
    headings = ("ID", "Status", "Instances", "CPUs", "Mem", "Container", "Health")
    return html.table(headings, rows, empty="No applications.", css_id="apps")


def app_section(app: AppRow) -> Html:
    rows = [
        (
            t.id,
            html.join(t.endpoints, ", "),
            t.state.removeprefix("TASK_"),
            t.health or "\u2014",
            t.started_at or html.Html('<span class="muted">not started</span>'),
            t.staged_at,
            t.version,
        )
        for t in app.tasks
    ]
    headings = ("Task ID", "Host:Ports", "State", "Health", "Started", "Staged", "Version")
    parts: list[object] = []
    if app.cmd:
        parts.append(html.join(["Command:", html.code(app.cmd)]))
    failure = app.last_failure
    if failure:
        parts.append(
            html.join(
                [
                    Html("<br>Last task failure:"),
                    str(failure.get("state", "")),
                    html.code(failure.get("message", "")),
                    f"on {failure.get('host', '')} at {failure.get('timestamp', '')}",
                ]
            )
        )
    intro = Html(f"<p>{''.join(html.markup(p) for p in parts)}</p>") if parts else Html("")
    table = html.table(headings, rows, empty="No tasks.", css_id="tasks-" + quote(app.id, safe=""))
    return html.section(app.anchor, f"App {app.id}: tasks", intro, table)


def deployments_table(deployments: list[DeploymentRow]) -> Html:
    rows = [
        (
            d.id,
            ", ".join(d.apps),
            f"{d.current_step} of {d.total_steps}",
            ", ".join(f"{action} {app}" for action, app in d.actions),
        )
        for d in deployments
    ]
    headings = ("ID", "Affected apps", "Step", "Current actions")
    return html.table(headings, rows, empty="No deployments in progress.", css_id="deployments")
