"""Bringing a lab up: box, machines, `vagrant up`, inventory, provisioning, catch-up.

One library function for the CLI (`mesoslab up`, `mesoslab provision`) and the TUI; every
long phase reports progress through callbacks and can be cancelled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mesoslab.lab.address_clash import find_clashes, refuse_clashes
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lab.lab_inventory import inventory_path, lab_inventory, write_inventory
from mesoslab.lab.machines import install_vagrantfile, write_machines
from mesoslab.lab.spec import LabSpec
from mesoslab.lessons.model import Action, Lesson
from mesoslab.ops.catchup import CatchUpReport, catch_up, check_lab_fits, lessons_through
from mesoslab.provision.runner import provision_lab
from mesoslab.provision.steps import ProgressEvent, ProvisionReport, StepOutcome
from mesoslab.remote.session import Session

OnPhase = Callable[[str, str], None]  # (phase, message)
OnLine = Callable[[str, str], None]  # (node or "", line)


@dataclass
class UpCallbacks:
    on_phase: OnPhase | None = None
    on_line: OnLine | None = None  # vagrant and command output, by node
    on_provision: Callable[[ProgressEvent | StepOutcome], None] | None = None
    on_action: Callable[[Action, list[str]], None] | None = None  # catch-up command blocks

    def phase(self, phase: str, message: str) -> None:
        if self.on_phase is not None:
            self.on_phase(phase, message)


@dataclass
class UpReport:
    inventory: Inventory
    inventory_path: Path
    provision: ProvisionReport | None = None
    catch_up: CatchUpReport | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        provision_ok = self.provision is None or not self.provision.failed
        return provision_ok and (self.catch_up is None or self.catch_up.ok)


def refresh_inventory(spec: LabSpec) -> tuple[Inventory, Path]:
    """Ask Vagrant how to log in to each running machine; write .mesoslab/inventory.toml."""
    from mesoslab.lab.vagrant import VagrantDriver

    driver = VagrantDriver(spec.directory)
    running = [name for name, state in driver.status().items() if state == "running"]
    ssh = driver.ssh_config(running) if running else {}
    inventory = lab_inventory(spec, ssh)
    return inventory, write_inventory(inventory, inventory_path(spec))


def bring_up(
    spec: LabSpec,
    *,
    nodes: Sequence[str] = (),
    through: str | None = None,
    provision: bool = True,
    callbacks: UpCallbacks | None = None,
    cancel: threading.Event | None = None,
) -> UpReport:
    """`mesoslab up`: the machines, then provisioning, then (optionally) lessons 1…N."""
    from mesoslab.lab.boxes import ensure_box
    from mesoslab.lab.vagrant import VagrantDriver

    cb = callbacks or UpCallbacks()
    timings: dict[str, float] = {}
    if through is not None:  # fail before minutes of work, not after
        check_lab_fits(lessons_through(through), lab_inventory(spec))
    start = time.monotonic()
    if spec.platform == "rehearsal" and spec.provider == "lxc":
        cb.phase("box", f"checking box {spec.box}")
        ensure_box(spec.box, spec.platform, spec.provider, on_line=cb.on_line, cancel=cancel)
        timings["box"] = time.monotonic() - start
    cb.phase("network", "checking that no other machine holds the lab's addresses")
    refuse_clashes(find_clashes(spec))
    if not (spec.directory / "Vagrantfile").is_file():
        install_vagrantfile(spec.directory)
    write_machines(spec)
    started = time.monotonic()
    names = list(nodes)
    cb.phase("vagrant", f"vagrant up {' '.join(names) or '(all machines)'}")
    VagrantDriver(spec.directory).up(names, spec.provider, on_line=cb.on_line, cancel=cancel)
    timings["vagrant"] = time.monotonic() - started
    report = provision_and_catch_up(
        spec,
        nodes=names,
        through=through if provision else None,
        provision=provision,
        callbacks=cb,
        cancel=cancel,
    )
    report.timings.update(timings)
    return report


def provision_and_catch_up(
    spec: LabSpec,
    *,
    nodes: Sequence[str] = (),
    through: str | None = None,
    provision: bool = True,
    callbacks: UpCallbacks | None = None,
    cancel: threading.Event | None = None,
) -> UpReport:
    """`mesoslab provision`: refresh the inventory, provision, then catch up if asked."""
    cb = callbacks or UpCallbacks()
    cb.phase("inventory", "reading ssh-config of the machines")
    inventory, path = refresh_inventory(spec)
    report = UpReport(inventory=inventory, inventory_path=path)
    if not provision:
        return report
    with Session(inventory) as session:
        if cancel is not None:
            session.cancelled = cancel  # cancelling stops the catch-up and its checks too
        started = time.monotonic()
        cb.phase("provision", f"provisioning for lesson 1 ({spec.platform})")

        def output(node: str, line: str) -> None:
            if cb.on_line is not None:
                cb.on_line(node, line)

        report.provision = provision_lab(
            spec,
            inventory,
            session.ssh,
            nodes=list(nodes) or None,
            on_event=cb.on_provision,
            on_output=output,
            cancel=cancel,
        )
        report.timings["provision"] = time.monotonic() - started
        if report.provision.failed or through is None or session.cancelled.is_set():
            return report
        started = time.monotonic()
        cb.phase("catch-up", f"applying the lessons' solutions through {through}")

        def on_step(lesson: Lesson, number: int, title: str) -> None:
            cb.phase("catch-up", f"{lesson.id} step {number}: {title}")

        def on_action(action: Action, targets: list[Node]) -> None:
            if cb.on_action is not None:
                cb.on_action(action, [n.name for n in targets])

        def on_output(node: Node, line: str) -> None:
            output(node.name, line)

        report.catch_up = catch_up(
            through,
            inventory,
            platform=spec.platform,
            session=session,
            on_step=on_step,
            on_action=on_action,
            on_output=on_output,
        )
        report.timings["catch-up"] = time.monotonic() - started
    return report
