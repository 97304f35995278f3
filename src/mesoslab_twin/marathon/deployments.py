"""Deployments: the plan Marathon makes for every change of an app, and its steps.

A plan goes from the original to the target definition in steps done one after another
(MARATHON@v1.4.12 ``upgrade/DeploymentPlan.scala`` L283-348): a new app is
``[StartApplication]`` (to 0 instances) then ``[ScaleApplication]``; a removed one
``[StopApplication]``; a change of instances only ``[ScaleApplication]``; any other change
(and a restart, which only changes the version) ``[RestartApplication]`` (L244-272).
``/v2/deployments`` shows each running plan with its current step (``Formats.scala``
L552-577); while an app has one, a change of it without ``?force=true`` is refused with 409
(``Exception.scala`` L27-32, ``upgrade/DeploymentManager.scala`` L209-233,
``api/MarathonExceptionMapper.scala`` L51, L66-70); with it the running plan is cancelled
and fails (``deployment_failed``, ``MarathonSchedulerActor.scala`` L278-285).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesoslab_twin.common.httpd import BadRequest

if TYPE_CHECKING:
    from mesoslab_twin.marathon.daemon import Marathon

START, SCALE, RESTART, STOP = (
    "StartApplication",
    "ScaleApplication",
    "RestartApplication",
    "StopApplication",
)
LOCKED = (
    "App is locked by one or more deployments. Override with the option '?force=true'. "
    "View details at '/v2/deployments/<DEPLOYMENT_ID>'."
)


class AppLocked(BadRequest):
    """409 with the ids of the deployments that hold the app (MarathonExceptionMapper)."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(LOCKED, 409)
        self.ids = ids


Change = tuple[dict[str, Any] | None, dict[str, Any] | None]  # (original, target) of an app


@dataclass
class Deployment:
    """One plan: for each app it changes, its definition before (None: new) and after
    (None: removed); its steps, each a list of (action, app id); ``roots`` are the root
    group's apps before and after, as the plan in the events shows them."""

    version: str
    changes: dict[str, Change]
    steps: list[list[tuple[str, str]]]
    roots: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    current: int = 0  # index of the step in progress

    @property
    def apps(self) -> list[str]:
        return sorted(self.changes)

    @property
    def actions(self) -> list[tuple[str, str]]:
        return self.steps[min(self.current, len(self.steps) - 1)] if self.steps else []

    def step_json(self, index: int) -> dict[str, Any]:
        steps = self.steps[index] if index < len(self.steps) else []
        return {"actions": [{"action": action, "app": app} for action, app in steps]}

    def info_json(self) -> dict[str, Any]:
        """As ``GET /v2/deployments`` lists it (DeploymentStepInfoWrites)."""
        return {
            "id": self.id,
            "version": self.version,
            "affectedApps": self.apps,
            "affectedPods": [],  # Marathon 1.4 has pods; the twin has none
            "steps": [self.step_json(i) for i in range(len(self.steps))],
            "currentActions": [
                {"action": action, "app": app, "readinessCheckResults": []}
                for action, app in self.actions
            ],
            "currentStep": self.current + 1,
            "totalSteps": len(self.steps),
        }

    def plan_json(self) -> dict[str, Any]:
        """As the deployment events carry it (DeploymentPlanWrites: the root group before
        and after)."""
        before, after = self.roots
        return {
            "id": self.id,
            "original": root_group(before, self.version),
            "target": root_group(after, self.version),
            "steps": [self.step_json(i) for i in range(len(self.steps))],
            "version": self.version,
        }


def root_group(apps: list[dict[str, Any]], version: str) -> dict[str, Any]:
    return {"id": "/", "apps": apps, "groups": [], "dependencies": [], "version": version}


def steps_for(changes: dict[str, Change]) -> list[list[tuple[str, str]]]:
    """The steps DeploymentPlan.apply makes: stop the removed apps, start the new ones (to
    0), then scale or restart each (the twin knows no ``dependencies``: one step)."""
    stop = [(STOP, a) for a, (before, after) in sorted(changes.items()) if after is None]
    start = [(START, a) for a, (before, after) in sorted(changes.items()) if before is None]
    last: list[tuple[str, str]] = []
    for app_id, (before, after) in sorted(changes.items()):
        if after is None:
            continue
        restart = before is not None and (
            before["versionInfo"]["lastConfigChangeAt"]
            != after["versionInfo"]["lastConfigChangeAt"]
        )
        last.append((RESTART if restart else SCALE, app_id))
    return [step for step in (stop, start, last) if step]


# Fields whose change is not a change of configuration: scaling, and what Marathon sets.
NOT_CONFIG = frozenset({"instances", "version", "versionInfo", "ports"})


def config_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(
        before.get(k) != after.get(k) for k in set(before) | set(after) if k not in NOT_CONFIG
    )


class Deployer:
    """The running plans of one Marathon, moved on step by step (called with its lock)."""

    def __init__(self, marathon: Marathon) -> None:
        self.m = marathon
        self.running: dict[str, Deployment] = {}

    def of(self, app_ids: Iterable[str]) -> list[Deployment]:
        wanted = set(app_ids)
        return [d for d in self.running.values() if wanted & set(d.changes)]

    def check(self, app_ids: Iterable[str], force: bool) -> None:
        """Refuse a change of a locked app unless forced (before anything is changed)."""
        held = self.of(app_ids)
        if held and not force:
            raise AppLocked([d.id for d in held])

    def snapshot(self) -> list[dict[str, Any]]:
        """The root group's apps now (definitions are replaced, never changed in place)."""
        return [a.definition for a in sorted(self.m.apps.values(), key=lambda a: a.id)]

    def begin(
        self, version: str, changes: dict[str, Change], before: list[dict[str, Any]]
    ) -> Deployment:
        """Start the plan of a change already made: the plans holding its apps are
        cancelled (a forced change) and the first step begins (``deployment_info``,
        ``DeploymentActor.scala`` L125-132). A plan with no step is done at once."""
        for held in self.of(changes):
            self.cancel(held)
        plan = Deployment(version, changes, steps_for(changes), (before, self.snapshot()))
        self.m.root_version = version
        self.running[plan.id] = plan
        if plan.steps:
            self._publish("deployment_info", plan)
        self.m.changed()
        return plan

    def cancel(self, plan: Deployment) -> None:
        """Stop a plan where it is: it fails (``MarathonSchedulerActor.scala`` L285)."""
        if self.running.pop(plan.id, None) is not None:
            self.m.events.publish("deployment_failed", id=plan.id, plan=plan.plan_json())

    def progress(self, done: Callable[[str, str], bool]) -> None:
        """Finish the steps whose every action is done: ``deployment_step_success``, then
        the next step's ``deployment_info`` or, after the last, ``deployment_success``
        (``DeploymentActor.scala`` L146-155, ``MarathonSchedulerActor.scala`` L278) and,
        for each stopped app, ``app_terminated_event`` (L396)."""
        for plan in list(self.running.values()):
            while plan.id in self.running and all(done(*a) for a in plan.actions):
                if plan.steps:
                    self._publish("deployment_step_success", plan)
                    for action, app_id in plan.actions:
                        if action == STOP:
                            self.m.events.publish("app_terminated_event", appId=app_id)
                plan.current += 1
                if plan.current < len(plan.steps):
                    self._publish("deployment_info", plan)
                    continue
                del self.running[plan.id]
                self.m.events.publish("deployment_success", id=plan.id, plan=plan.plan_json())
                self.m.changed()

    def _publish(self, event_type: str, plan: Deployment) -> None:
        self.m.events.publish(
            event_type, plan=plan.plan_json(), currentStep=plan.step_json(plan.current)
        )
