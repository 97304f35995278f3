"""The lab screen: every node with its live health, and the lab's actions (up, provision, halt,
destroy, checkpoints, ssh) with their output streamed into a log panel.

Every Vagrant, SSH and HTTP call runs in a thread worker; results come back as messages
posted to the screen (handled on the event loop, in the order they were posted) and output
lines through the log panel's thread-safe feed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static
from textual.worker import Worker

from mesoslab.errors import MesoslabError
from mesoslab.lab.machine_state import NOT_CREATED
from mesoslab.tui.errors import error_parts
from mesoslab.tui.screens import lab_actions
from mesoslab.tui.screens.base import BaseScreen
from mesoslab.tui.screens.lab_messages import (
    DriverDone,
    OpCancelled,
    OpFailed,
    OpFinished,
    ProvisionEvent,
    ServicesProbed,
    UpFinished,
    UpPhase,
    VmStatesRead,
)
from mesoslab.tui.widgets.footer import KeyFooter
from mesoslab.tui.widgets.log_panel import LogPanel
from mesoslab.tui.widgets.node_progress import NodeProgress
from mesoslab.tui.widgets.node_table import NodeTable
from mesoslab.tui.widgets.rehearsal_banner import RehearsalBanner

if TYPE_CHECKING:
    from mesoslab.ops.status import NodeStatus
    from mesoslab.ops.up import UpCallbacks
    from mesoslab.provision.steps import ProgressEvent, StepOutcome

VM_ACTIONS = frozenset({"up", "provision", "halt", "destroy", "checkpoint", "restore"})
VM_EVERY = 6  # refresh the machine states every 6th health refresh (`vagrant status` is slow)


class LabScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "up", "Up"),
        Binding("p", "provision", "Provision"),
        Binding("h", "halt", "Halt"),
        Binding("D", "destroy", "Destroy"),
        Binding("s", "ssh", "SSH"),
        Binding("l", "lessons", "Lessons"),
        Binding("c", "checkpoint", "Checkpoint", show=False),
        Binding("C", "restore", "Restore checkpoint", show=False),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("x", "stop", "Stop", show=False),
    ]

    def __init__(self, *, start_up: bool = False) -> None:
        super().__init__(id="lab")
        self.start_up = start_up
        self._op: Worker[None] | None = None
        self._op_ended = asyncio.Event()  # set when the screen has handled the op's OpFinished
        self._op_name = ""
        self._cancel = threading.Event()
        self._cancellable = False
        self._status_worker: Worker[None] | None = None
        self._vm: tuple[dict[str, str] | None, BaseException | None] = (None, None)
        self._ticks = 0
        self._rows: list[NodeStatus] = []

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        ctx = self.mapp.context
        yield Header(show_clock=False)
        if ctx.rehearsal:
            yield RehearsalBanner()
        yield Static(self._title_text(), id="lab-title")
        yield NodeTable(with_vm=ctx.has_vms, id="nodes")
        yield Static(id="notes")
        progress = NodeProgress(id="progress")
        progress.display = False
        yield progress
        log = LogPanel(id="log")
        log.border_title = "output"
        if ctx.has_vms:
            log.border_subtitle = "up, provision, halt and destroy stream their output here"
        yield log
        yield KeyFooter()

    def _title_text(self) -> Text:
        ctx = self.mapp.context
        inventory = ctx.inventory
        count = len(inventory.nodes) if inventory is not None else 0
        if ctx.spec is not None:
            spec = ctx.spec
            return Text.assemble(
                (f"lab {spec.name}", "bold"),
                f" · {spec.provider} · {spec.platform} · {count} nodes",
            )
        name = ctx.inventory_path.name if ctx.inventory_path else "inventory"
        return Text.assemble(
            (name, "bold"), f" · {count} nodes · no VM actions (not a lab made by init)"
        )

    @property
    def table(self) -> NodeTable:
        return self.query_one(NodeTable)

    @property
    def log_panel(self) -> LogPanel:
        return self.query_one(LogPanel)

    @property
    def progress(self) -> NodeProgress:
        return self.query_one(NodeProgress)

    def on_mount(self) -> None:
        ctx = self.mapp.context
        self.sub_title = ctx.label
        if ctx.inventory is not None:
            self.table.show_inventory(ctx.inventory)
            self.log_panel.set_nodes([n.name for n in ctx.inventory.nodes])
        self.call_after_refresh(self._intro)
        self.table.focus()
        self.refresh_status(with_vms=True)
        if self.mapp.refresh_every > 0:
            self.set_interval(self.mapp.refresh_every, self._tick)

    def _intro(self) -> None:
        """Start `up` once the screen is laid out (the output panel knows its width)."""
        if self.start_up:
            self.start_up = False
            self.action_up()

    def palette_commands(self) -> list[tuple[str, str, str]]:
        commands = [
            ("Lab: refresh health", "Probe every service of every node now", "refresh"),
            ("Lab: ssh to the selected node", "Open a shell on it; exit returns here", "ssh"),
            ("Lessons", "The lessons and your progress", "lessons"),
        ]
        if self.mapp.context.has_vms:
            commands += [
                ("Lab: up", "Create and start the machines, then provision them", "up"),
                ("Lab: provision", "Run provisioning again (idempotent)", "provision"),
                ("Lab: halt", "Stop every machine (asks first)", "halt"),
                ("Lab: destroy", "Delete every machine (asks first)", "destroy"),
                ("Lab: save checkpoint", "Snapshot every machine under a name", "checkpoint"),
                ("Lab: restore checkpoint", "Go back to a snapshot (asks first)", "restore"),
                ("Lab: stop the running up/provision", "Cancel it; Vagrant is stopped", "stop"),
            ]
        return commands

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in VM_ACTIONS:
            if not self.mapp.context.has_vms:
                return False
            if self.busy:
                return None
        if action == "stop":
            return self.busy and self._cancellable
        return True

    # ------------------------------------------------------------------ health

    def _tick(self) -> None:
        self._ticks += 1
        self.refresh_status(with_vms=self._ticks % VM_EVERY == 0)

    def action_refresh(self) -> None:
        self.refresh_status(with_vms=True)

    def refresh_status(self, *, with_vms: bool) -> None:
        if self._status_worker is not None and self._status_worker.is_running:
            return
        if self.mapp.context.inventory is None:
            return
        if with_vms and self.mapp.context.has_vms:
            self._refresh_vms()
        self._status_worker = self._probe_services()

    @work(thread=True, group="vm-states", exclusive=True, exit_on_error=False)
    def _refresh_vms(self) -> None:
        from mesoslab.lab.machines import MACHINES_FILE
        from mesoslab.ops.status import machine_states

        spec = self.mapp.context.spec
        if spec is None:
            return
        if not (spec.state_dir / MACHINES_FILE).is_file():
            read = VmStatesRead({n.name: NOT_CREATED for n in spec.nodes}, None)
        else:
            try:
                read = VmStatesRead(machine_states(spec)(), None)
            except Exception as exc:  # shown as the machine state's reason, never raised
                read = VmStatesRead(None, exc)
        self.post_message(read)

    def on_vm_states_read(self, message: VmStatesRead) -> None:
        self._vm = (message.states, message.error)
        self._render_rows()

    @work(thread=True, group="status", exit_on_error=False)
    def _probe_services(self) -> None:
        from mesoslab.ops.status import status_rows
        from mesoslab.remote.session import Session

        inventory = self.mapp.context.inventory
        if inventory is None:
            return
        with Session(inventory) as session:
            rows = status_rows(inventory, session, None, timeout=self.mapp.probe_timeout)
        self.post_message(ServicesProbed(rows))

    def on_services_probed(self, message: ServicesProbed) -> None:
        self._rows = message.rows
        self._render_rows()

    def _with_vm_state(self, row: NodeStatus) -> NodeStatus:
        from dataclasses import replace

        states, error = self._vm
        if error is not None:
            _, message = error_parts(error)
            return replace(row, vm_state="unknown", vm_detail=message.splitlines()[0])
        if states is None:
            return replace(row, vm_state="…", vm_detail="")
        if row.name in states:
            return replace(row, vm_state=states[row.name].replace("_", " "), vm_detail="")
        return replace(row, vm_state="unknown", vm_detail="Vagrant does not know this machine")

    def _render_rows(self) -> None:
        if not self._rows:
            return
        rows = self._rows
        if self.mapp.context.has_vms:
            from mesoslab.ops.status import machine_off

            rows = [machine_off(self._with_vm_state(r)) for r in rows]
        self.table.show_status(rows)
        notes: list[str] = []
        details = {r.vm_detail for r in rows}
        if len(rows) > 1 and len(details) == 1 and (shared := details.pop()):
            notes.append(f"vm: {shared}")
        else:
            notes += [f"{r.name} vm: {r.vm_detail}" for r in rows if r.vm_detail]
        for row in rows:
            for svc in row.services:
                if svc.health != "ok" and svc.detail:
                    notes.append(f"{row.name} {svc.service}: {svc.detail}")
        notes_widget = self.query_one("#notes", Static)
        notes_widget.update(Text("\n".join(dict.fromkeys(notes)), style="dim"))
        notes_widget.display = bool(notes)

    # ------------------------------------------------------------------ lab actions

    @property
    def busy(self) -> bool:
        """An operation runs, or what it posted is not all handled yet: the screen may get to
        its messages after the worker has returned, so busy lasts until OpFinished (its last
        message) is handled. Not busy means its output and last word are on the screen."""
        if self._op is None:
            return False
        return self._op.is_running or not self._op_ended.is_set()

    @property
    def op_name(self) -> str:
        return self._op_name

    @property
    def cancellable(self) -> bool:
        return self.busy and self._cancellable

    def _start_op(
        self,
        name: str,
        job: Callable[[threading.Event], None],
        *,
        cancellable: bool = False,
        progress: bool = False,
    ) -> None:
        if self.busy:
            self.notify(f"`{self._op_name}` is still running", severity="warning")
            return
        self._op_name = name
        self._cancel = threading.Event()
        self._cancellable = cancellable
        self._op_ended = asyncio.Event()
        self.log_panel.note(f"── {name} ──")
        if progress and self.mapp.context.spec is not None:
            self.progress.start([n.name for n in self.mapp.context.spec.nodes])
        self._op = self._run_op(name, job, self._cancel)
        self.refresh_bindings()

    @work(thread=True, group="lab-op", exit_on_error=False)
    def _run_op(
        self, name: str, job: Callable[[threading.Event], None], cancel: threading.Event
    ) -> None:
        from mesoslab.errors import LabCancelled

        ok = False
        try:
            job(cancel)
            ok = True
        except LabCancelled:
            self.post_message(OpCancelled(name))
        except MesoslabError as exc:
            self.post_message(OpFailed(exc))
        finally:
            self.post_message(OpFinished(name, ok))

    def on_op_failed(self, message: OpFailed) -> None:
        self.mapp.show_error(message.exc)

    def on_op_cancelled(self, message: OpCancelled) -> None:
        name = message.name
        self.log_panel.note(f"{name} cancelled: Vagrant and what it started were stopped", "yellow")
        self.notify(f"{name} cancelled", severity="warning")

    def on_op_finished(self, message: OpFinished) -> None:
        name, ok = message.name, message.ok
        self.log_panel.flush()  # every line of the operation before its last word
        if self.progress.display:
            self.progress.finish(ok)
        if ok:
            self.log_panel.note(f"── {name}: done ──", "green")
        self._op_ended.set()
        self.refresh_bindings()
        self.mapp.context.reload_inventory()
        self._status_worker = None
        self.refresh_status(with_vms=True)

    def cancel_op(self) -> bool:
        """Stop a running up/provision (the driver kills Vagrant's process group)."""
        if not self.cancellable:
            return False
        self._cancel.set()
        self.log_panel.note(f"stopping {self._op_name}…", "yellow")
        return True

    async def op_over(self) -> None:
        """Until the operation has ended and its end is on the screen (quitting waits)."""
        if self._op is None:
            return
        await self._op_ended.wait()  # OpFinished handled: its output and last word are shown
        await self._op.wait()  # and the worker has returned

    def action_stop(self) -> None:
        if not self.cancel_op():
            self.notify("nothing to stop", severity="information")

    def _up_callbacks(self) -> UpCallbacks:
        from mesoslab.lab.vagrant_up import split_machine_line
        from mesoslab.ops.up import UpCallbacks

        log = self.log_panel

        def on_action(action: Any, nodes: list[str]) -> None:
            first = action.code.strip().splitlines()[0] if action.code.strip() else ""
            log.note(f"▶ {', '.join(nodes)}: {first}", "cyan")

        def on_line(node: str, line: str) -> None:
            machine, message = split_machine_line(line)
            log.feed(node, message if machine and machine == node else line)

        def on_phase(phase: str, message: str) -> None:
            # into the log from here, as the lines are: the phase's line comes before its output
            log.note(f"▸ {phase}: {message}", "bold cyan")
            self.post_message(UpPhase(phase, message))

        def on_provision(event: ProgressEvent | StepOutcome) -> None:
            self.post_message(ProvisionEvent(event))

        return UpCallbacks(
            on_phase=on_phase,
            on_line=on_line,
            on_provision=on_provision,
            on_action=on_action,
        )

    def on_up_phase(self, message: UpPhase) -> None:
        self.progress.phase(f"{message.phase}: {message.message}")

    def on_provision_event(self, message: ProvisionEvent) -> None:
        event: Any = message.event
        if hasattr(event, "index"):  # ProgressEvent: a step starts on a node
            self.progress.step_started(event.node, event.index, event.total, event.title)
        else:  # StepOutcome
            self.progress.step_done(event.node, event.ok, event.title, event.message)

    def on_up_finished(self, message: UpFinished) -> None:
        report, name = message.report, message.name
        ctx = self.mapp.context
        ctx.inventory = report.inventory
        self.log_panel.set_nodes([n.name for n in report.inventory.nodes])
        provision = report.provision
        if provision is not None:
            for note in provision.notes:
                self.log_panel.note(note, "dim")
            for outcome in provision.failed:
                self.log_panel.note(f"✘ {outcome.node} {outcome.title}: {outcome.message}", "red")
                for line in outcome.tail.splitlines()[-5:]:
                    self.log_panel.feed(outcome.node, line)
            self.log_panel.note(provision.summary(), "bold")
        if report.ok:
            self.notify(f"{name}: the lab is ready. Press l for the lessons.", title="Lab ready")
        else:
            failed = sorted({o.node for o in provision.failed}) if provision else []
            self.notify(
                f"{name} finished with failures on {', '.join(failed) or 'the lab'}: see the "
                "output panel; fix and press p to provision again",
                title="Provisioning failed",
                severity="error",
                timeout=15,
            )

    def action_up(self) -> None:
        spec = self.mapp.context.spec
        if spec is None:
            return

        def job(cancel: threading.Event) -> None:
            from mesoslab.ops.up import bring_up

            report = bring_up(spec, callbacks=self._up_callbacks(), cancel=cancel)
            self.post_message(UpFinished(report, "up"))

        self._start_op("up", job, cancellable=True, progress=True)

    def action_provision(self) -> None:
        spec = self.mapp.context.spec
        if spec is None:
            return

        def job(cancel: threading.Event) -> None:
            from mesoslab.ops.up import provision_and_catch_up

            report = provision_and_catch_up(spec, callbacks=self._up_callbacks(), cancel=cancel)
            self.post_message(UpFinished(report, "provision"))

        self._start_op("provision", job, cancellable=True, progress=True)

    def driver_op(self, name: str, call: Callable[[Any], None], done: str) -> None:
        spec = self.mapp.context.spec
        if spec is None:
            return

        def job(cancel: threading.Event) -> None:
            from mesoslab.lab.vagrant import VagrantDriver

            call(VagrantDriver(spec.directory))
            self.post_message(DriverDone(name, done))

        self._start_op(name, job)

    def on_driver_done(self, message: DriverDone) -> None:
        self.notify(message.summary, title=message.name)

    # ------------------------------------------------------------------ machines (lab_actions)

    def action_halt(self) -> None:
        lab_actions.halt(self)

    def action_destroy(self) -> None:
        lab_actions.destroy(self)

    def action_checkpoint(self) -> None:
        lab_actions.checkpoint(self)

    def action_restore(self) -> None:
        lab_actions.restore(self)

    def action_ssh(self) -> None:
        lab_actions.ssh(self)

    # ------------------------------------------------------------------ elsewhere

    def action_lessons(self) -> None:
        self.mapp.open_lessons()

    def log_error(self, title: str, message: str) -> bool:
        self.log_panel.note(f"✘ {title}: {message}", "red")
        return True
