"""`mesoslab status`: every node of the lab, its machine state and the live health of its
services, in one table.

Every probe (node x service) runs at once, one thread each, each bounded by a short
timeout, so a dead lab answers about as fast as its slowest single probe. The machine
states come from a callable run beside the probes (the provider's own tool, or the Vagrant
driver, for a lab directory); when it is missing or fails, the state is "unknown" with the
reason. Nothing here renders: the CLI draws the table in :mod:`mesoslab.cli.status_view`,
the TUI in its node table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesoslab.lab.inventory import Inventory, Node
from mesoslab.remote.at_once import run_at_once
from mesoslab.remote.http import ProbeError, get, parse_json, split_location
from mesoslab.remote.session import CheckContext, Session

if TYPE_CHECKING:
    from mesoslab.lab.spec import LabSpec

PROBE_TIMEOUT = 2.0  # one service probe, all its requests included
# `vagrant status` must not hold status up forever, but it is slow: 3-10 s for six LXC nodes on
# a quiet machine, and over 30 s on a busy one, where the VM column then said "unknown".
VM_STATES_TIMEOUT = 60.0
# Role -> the service probed for it, in display order.
SERVICES = ("master", "agent", "zookeeper", "marathon", "chronos")
OK, WARN, DOWN = "ok", "warn", "down"
OFF = "off"  # the node's machine is known not to run: its services are not probed for errors
# Vagrant's machine states (VirtualBox, libvirt, LXC) in which nothing on the node can answer.
MACHINE_OFF_STATES = frozenset(
    {"not created", "poweroff", "stopped", "shutoff", "saved", "aborted", "frozen"}
)
REHEARSAL_BANNER = (
    "Rehearsal lab: Mesos, Marathon and Chronos here are mesoslab's emulations; "
    "ZooKeeper, systemd and SSH are real."
)

VmStates = Callable[[], dict[str, str]]


@dataclass(frozen=True)
class ServiceStatus:
    service: str  # master | agent | zookeeper | marathon | chronos
    state: str  # leader, standby, no leader, registered, follower, up, down, ...
    health: str  # ok | warn | down
    detail: str = ""  # why (for anything but a plain ok), or what else was seen


@dataclass(frozen=True)
class NodeStatus:
    name: str
    roles: tuple[str, ...]
    address: str
    vm_state: str  # from Vagrant: running, stopped, not created, ...; "unknown"; "-" (no lab)
    vm_detail: str = ""
    services: tuple[ServiceStatus, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class LabStatus:
    """What `mesoslab status` shows: the rows plus what lab they belong to."""

    nodes: list[NodeStatus]
    source: str  # the inventory's source (a file, or "lab NAME")
    lab_name: str | None = None
    rehearsal: bool = False
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.lab_name,
            "rehearsal": self.rehearsal,
            "source": self.source,
            "elapsed_seconds": round(self.elapsed, 3),
            "nodes": [
                {
                    "name": n.name,
                    "roles": list(n.roles),
                    "address": n.address,
                    "vm": {"state": n.vm_state, "detail": n.vm_detail},
                    "services": [asdict(s) for s in n.services],
                }
                for n in self.nodes
            ],
        }


# --------------------------------------------------------------------------- probes


def node_services(node: Node) -> list[str]:
    return [s for s in SERVICES if s in node.roles]


def probe_service(
    session: Session, node: Node, service: str, timeout: float = PROBE_TIMEOUT
) -> ServiceStatus:
    """One bounded look at one service of one node. Never raises for a predictable problem."""
    ctx = CheckContext(session=session, deadline=time.monotonic() + timeout)
    probe = _PROBES[service]
    try:
        return probe(ctx, node)
    except ProbeError as exc:
        return ServiceStatus(service, "down", DOWN, exc.summary)


def _master(ctx: CheckContext, node: Node) -> ServiceStatus:
    """Leader or standby: ``/master/redirect`` answers 307 to the leader (even on the leader
    itself, Mesos >= 1.0) and 503 when no leader is elected."""
    response = get(ctx, node, "mesos_master", "/master/redirect", allow=(503,))
    if response.status_code == 503:
        return ServiceStatus("master", "no leader", WARN, "up, but no leader is elected")
    if response.status_code in (301, 302, 303, 307, 308):
        host, _ = split_location(response.headers.get("location", ""))
        leader = ctx.inventory.find_host(host) if host else None
        if leader is not None:
            if leader.name == node.name:
                return ServiceStatus("master", "leader", OK)
            return ServiceStatus("master", "standby", OK, f"leader is {leader.name}")
        elected = _master_elected(ctx, node)
        if elected is not None:
            where = f"leader at {host}" if host else "leader unknown"
            return ServiceStatus(
                "master", "leader" if elected else "standby", OK, "" if elected else where
            )
        return ServiceStatus(
            "master", "up", WARN, f"redirects to {host or 'nowhere'}, not a node of the inventory"
        )
    elected = _master_elected(ctx, node)
    if elected is not None:
        return ServiceStatus("master", "leader" if elected else "standby", OK)
    return ServiceStatus(
        "master",
        "unexpected",
        WARN,
        f"answers, but not like a Mesos master: /master/redirect gave HTTP {response.status_code}",
    )


def _master_elected(ctx: CheckContext, node: Node) -> bool | None:
    """``master/elected`` of ``/metrics/snapshot``; None when it cannot be read."""
    try:
        response = get(ctx, node, "mesos_master", "/metrics/snapshot")
        if response.status_code != 200:
            return None
        value = parse_json(response).get("master/elected")
    except (ProbeError, AttributeError):
        return None
    return None if not isinstance(value, int | float) else value >= 1


def _agent(ctx: CheckContext, node: Node) -> ServiceStatus:
    """Registered with a master: ``slave/registered`` of ``/metrics/snapshot`` is 1.0."""
    response = get(ctx, node, "mesos_agent", "/metrics/snapshot")
    value = None
    if response.status_code == 200:
        try:
            value = parse_json(response).get("slave/registered")
        except (ProbeError, AttributeError):
            value = None
    if isinstance(value, int | float):
        if value >= 1:
            return ServiceStatus("agent", "registered", OK)
        return ServiceStatus(
            "agent", "not registered", WARN, "up, but not registered with a master"
        )
    health = get(ctx, node, "mesos_agent", "/health")
    if health.status_code == 200:
        return ServiceStatus("agent", "up", WARN, "up; registration unknown (no metrics)")
    return ServiceStatus(
        "agent",
        "unexpected",
        WARN,
        f"answers, but not like a Mesos agent: /health gave HTTP {health.status_code}",
    )


def _zookeeper(ctx: CheckContext, node: Node) -> ServiceStatus:
    from mesoslab.remote.zk4lw import FourLetterRefused, NotServing, parse_srvr, send_4lw

    where = f"{node.address}:{ctx.port('zookeeper')}"
    text = send_4lw(node.address, ctx.port("zookeeper"), "srvr", ctx.request_timeout())
    try:
        info = parse_srvr(text, where)
    except NotServing:
        return ServiceStatus("zookeeper", "not serving", WARN, "up, but not in a quorum")
    except FourLetterRefused:
        return ServiceStatus("zookeeper", "up", WARN, "srvr is not in 4lw.commands.whitelist")
    health = OK if info.serving else WARN
    return ServiceStatus("zookeeper", info.mode, health, f"ZooKeeper {info.short_version}")


def _marathon(ctx: CheckContext, node: Node) -> ServiceStatus:
    response = get(ctx, node, "marathon", "/ping", accept="text/plain, */*")
    if response.status_code == 200 and response.text.strip().strip('"') == "pong":
        return ServiceStatus("marathon", "up", OK)
    body = " ".join(response.text.split())[:80]
    return ServiceStatus(
        "marathon",
        "unexpected",
        WARN,
        f"/ping answered HTTP {response.status_code}" + (f": {body}" if body else ""),
    )


def _chronos(ctx: CheckContext, node: Node) -> ServiceStatus:
    """Chronos 2.x serves ``/scheduler/jobs``; 3.x moved it to ``/v1/scheduler/jobs``."""
    response = get(ctx, node, "chronos", "/scheduler/jobs")
    if response.status_code == 404:
        response = get(ctx, node, "chronos", "/v1/scheduler/jobs")
    if response.status_code == 200:
        return ServiceStatus("chronos", "up", OK)
    return ServiceStatus(
        "chronos", "unexpected", WARN, f"/scheduler/jobs answered HTTP {response.status_code}"
    )


_PROBES: dict[str, Callable[[CheckContext, Node], ServiceStatus]] = {
    "master": _master,
    "agent": _agent,
    "zookeeper": _zookeeper,
    "marathon": _marathon,
    "chronos": _chronos,
}


# ---------------------------------------------------------------------------- the rows


def _call_vm_states(vm_states: VmStates, timeout: float) -> tuple[dict[str, str] | None, str]:
    """Run ``vm_states`` in a daemon thread: a hung Vagrant never holds status up."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["states"] = vm_states()
        except Exception as exc:  # the driver's failure is shown, never raised
            box["error"] = _reason(exc)

    thread = threading.Thread(target=work, name="status-vm-states", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, f"Vagrant did not answer within {timeout:g} s"
    if "error" in box:
        return None, box["error"]
    return {str(k): str(v) for k, v in dict(box["states"]).items()}, ""


def _reason(exc: BaseException) -> str:
    from mesoslab.errors import MesoslabError

    if isinstance(exc, MesoslabError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0]}" if text else exc.__class__.__name__


def status_rows(
    inventory: Inventory,
    session: Session,
    vm_states: VmStates | None = None,
    *,
    timeout: float = PROBE_TIMEOUT,
    vm_timeout: float = VM_STATES_TIMEOUT,
) -> list[NodeStatus]:
    """Probe every service of every node at once; one NodeStatus per node, in inventory order.

    ``vm_states`` (node name -> machine state) runs beside the probes; None means the
    inventory is not a lab mesoslab builds (the VM column then says "-").
    """
    jobs = [(node, service) for node in inventory.nodes for service in node_services(node)]
    calls: list[Callable[[], Any]] = [
        partial(probe_service, session, node, service, timeout) for node, service in jobs
    ]
    if vm_states is not None:
        calls.append(partial(_call_vm_states, vm_states, vm_timeout))
    outcomes = [outcome.result() for outcome in run_at_once(calls, name="status")]
    results: dict[tuple[str, str], ServiceStatus] = {
        (node.name, service): outcome
        for (node, service), outcome in zip(jobs, outcomes, strict=False)
    }
    states: dict[str, str] | None = None
    vm_error = ""
    if vm_states is not None:
        states, vm_error = outcomes[-1]
    rows = []
    for node in inventory.nodes:
        if vm_states is None:
            vm_state, vm_detail = "-", ""
        elif states is None:
            vm_state, vm_detail = "unknown", vm_error
        else:
            vm_state = states.get(node.name, "unknown")
            vm_detail = "" if node.name in states else "Vagrant does not know this machine"
        row = NodeStatus(
            name=node.name,
            roles=node.roles,
            address=node.address,
            vm_state=vm_state,
            vm_detail=vm_detail,
            services=tuple(results[(node.name, s)] for s in node_services(node)),
        )
        rows.append(machine_off(row))
    return rows


def machine_off(row: NodeStatus) -> NodeStatus:
    """A node whose machine is not running: its services say so, not why they failed."""
    state = row.vm_state.replace("_", " ")
    if state not in MACHINE_OFF_STATES:
        return row
    services = tuple(ServiceStatus(s.service, f"machine {state}", OFF) for s in row.services)
    return replace(row, services=services)


# ------------------------------------------------------------------ which lab, which VMs


def machine_states(spec: LabSpec) -> VmStates:
    """A callable giving each machine's state: from the provider itself where it can say
    (``lxc-ls``, ``VBoxManage``, ``virsh``: milliseconds), else from ``vagrant status``
    (seconds). Asked afresh on every call."""

    def states() -> dict[str, str]:
        from mesoslab.lab.machine_state import provider_states
        from mesoslab.lab.machines import MACHINES_FILE

        direct = None
        if (spec.state_dir / MACHINES_FILE).is_file():  # else Vagrant says to run `up`
            names = [node.name for node in spec.nodes]
            direct = provider_states(spec.directory, spec.provider, names)
        return direct if direct is not None else vagrant_states(spec.directory)()

    return states


def vagrant_states(lab_dir: Path) -> VmStates:
    """A callable giving each machine's state from the lab's Vagrant driver.

    The driver is imported when called, so a missing or broken driver shows as "unknown"
    with the reason rather than stopping status.
    """

    def states() -> dict[str, str]:
        try:
            from mesoslab.lab.vagrant import VagrantDriver
        except ImportError as exc:
            raise RuntimeError(f"mesoslab's Vagrant driver is not available ({exc})") from None

        result = VagrantDriver(lab_dir).status()
        if isinstance(result, dict):
            return {str(k): _state_text(v) for k, v in result.items()}
        return {str(item.name): _state_text(item) for item in result}

    return states


def _state_text(value: Any) -> str:
    state = getattr(value, "state", value)
    return str(state).replace("_", " ")


@dataclass(frozen=True)
class StatusTarget:
    inventory: Inventory
    spec: LabSpec | None
    vm_states: VmStates | None


def resolve_target(directory: str | None, inventory: str | None) -> StatusTarget:
    """What to show.

    ``--inventory FILE`` names the nodes (with DIR, that lab's VMs are shown too). DIR alone:
    its ``.mesoslab/inventory.toml`` when built, else the nodes of its lab.toml. Neither:
    ``$MESOSLAB_INVENTORY`` or the ``.mesoslab/inventory.toml`` around the current folder,
    else the lab.toml around it.
    """
    from mesoslab.errors import UsageError
    from mesoslab.lab.current import find_inventory_path, resolve_lab
    from mesoslab.lab.inventory import load_inventory
    from mesoslab.lab.lab_inventory import inventory_path, lab_inventory
    from mesoslab.lab.spec import LAB_FILE, find_lab_dir, load_lab

    if directory:
        folder = Path(directory).expanduser().resolve()
        if not (folder / LAB_FILE).is_file():
            raise UsageError(
                f"no {LAB_FILE} in {folder}",
                hint="create one with `mesoslab init`, or pass --inventory FILE",
            )
        spec: LabSpec | None = load_lab(folder)
    else:
        found = find_lab_dir()
        spec = load_lab(found) if found is not None else None
    if inventory:
        spec = spec if directory else None  # an explicit cluster is not the lab around us
        return StatusTarget(resolve_lab(inventory).inventory, spec, _vms(spec))
    built = inventory_path(spec) if spec is not None else None
    path = built if directory else find_inventory_path(None)
    if path is not None and path.is_file():
        if spec is not None and built is not None and path.resolve() != built.resolve():
            spec = None  # $MESOSLAB_INVENTORY names another cluster than this lab
        return StatusTarget(load_inventory(path), spec, _vms(spec))
    if spec is not None:
        return StatusTarget(lab_inventory(spec), spec, _vms(spec))
    raise UsageError(
        "no lab here: run inside a lab folder (one with lab.toml), give its folder "
        "(mesoslab status -C DIR), or pass --inventory FILE",
        hint="create a lab with `mesoslab init`",
    )


def _vms(spec: LabSpec | None) -> VmStates | None:
    return machine_states(spec) if spec is not None else None


def lab_status(
    target: StatusTarget, *, timeout: float = PROBE_TIMEOUT, session: Session | None = None
) -> LabStatus:
    start = time.monotonic()
    own = session is None
    session = session or Session(target.inventory)
    try:
        rows = status_rows(target.inventory, session, target.vm_states, timeout=timeout)
    finally:
        if own:
            session.close()
    spec = target.spec
    return LabStatus(
        nodes=rows,
        source=target.inventory.source,
        lab_name=spec.name if spec is not None else None,
        rehearsal=spec is not None and spec.platform == "rehearsal",
        elapsed=time.monotonic() - start,
    )
