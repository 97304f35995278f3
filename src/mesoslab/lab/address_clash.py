"""Find out, before Vagrant starts, whether another machine holds one of the lab's addresses.

Without this, a second lab with the first one's addresses makes `vagrant up` retry
"Authentication failure" for minutes against the other lab's containers. Three sources,
in the order they can name the holder best:

1. a mesoslab machine of another lab (``lxc-ls``; its lab and folder from
   :mod:`mesoslab.lab.host_labs`);
2. another LXC container;
3. any host answering on the address (a TCP connection to port 22 that is accepted or
   refused: refused still means a host is there). The lab's own running machines are not
   asked, of course.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from mesoslab.errors import LabError
from mesoslab.lab.host_labs import HostMachine, host_machines, lxc_rows
from mesoslab.lab.machine_state import Run, provider_states, run_tool
from mesoslab.lab.machines import machine_prefix
from mesoslab.lab.spec import LabSpec

PROBE_PORT = 22
PROBE_TIMEOUT = 0.3  # a host on the lab's network answers within milliseconds

Probe = Callable[[str], bool]  # does anything answer on this address?


@dataclass(frozen=True)
class AddressClash:
    """One of the lab's addresses, and who holds it."""

    address: str
    node: str  # the node of this lab that wants the address
    holder: str  # who has it, in words
    folder: Path | None = None  # the holder's lab folder, when it is a mesoslab lab

    def line(self) -> str:
        return f"{self.address} ({self.node}) is held by {self.holder}"


def find_clashes(
    spec: LabSpec,
    *,
    machines: Sequence[HostMachine] | None = None,
    run: Run | None = None,
    probe: Probe | None = None,
) -> list[AddressClash]:
    """Every address of ``spec`` that something other than the lab itself holds."""
    run = run or run_tool
    probe = probe or answers
    ours = machine_prefix(spec)
    containers = lxc_rows(run)
    machines = host_machines(run=run, lxc=containers) if machines is None else machines
    links = local_links(run)
    holders: dict[str, AddressClash] = {}  # address -> who, without the node yet

    def hold(address: str, holder: str, folder: Path | None = None) -> None:
        holders.setdefault(address, AddressClash(address, "", holder, folder))

    for machine in machines:
        if not machine.name.startswith(ours):
            for address in machine.addresses:
                hold(address, f"{machine.node} of lab '{machine.lab}' ({machine.where()})",
                     machine.folder)  # fmt: skip
    own_running = _own_running_addresses(spec)
    for name, state, addresses in containers:
        if name.startswith(ours):
            own_running.update(addresses if state == "running" else ())
        else:
            for address in addresses:
                hold(address, f"the LXC container {name}")
    for interface, _network, own in links:
        hold(own, f"this host's own interface {interface}")
    # Only addresses on a network this host is on are probed: elsewhere the provider makes
    # the network, and a firewall's reset on the way out would look like an answer.
    to_probe = [
        node.address
        for node in spec.nodes
        if node.address not in holders
        and node.address not in own_running
        and any(ipaddress.ip_address(node.address) in net for _, net, _ in links)
    ]
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(to_probe)))) as pool:
        for address, yes in zip(to_probe, pool.map(probe, to_probe), strict=True):
            if yes:
                hold(address, f"a host that already answers on {address}")
    return [
        replace(holders[node.address], node=node.name)
        for node in spec.nodes
        if node.address in holders
    ]


def free_layout(
    spec: LabSpec,
    *,
    run: Run | None = None,
    probe: Probe | None = None,
    step: int = 40,
) -> tuple[list[AddressClash], dict[str, str]]:
    """The clashes at ``spec``'s addresses and, when there are some, the nearest layout
    with none: every address moved by the same ``step``·k (so .11/.21/.22 become
    .51/.61/.62, keeping the lab readable). ``{}`` when there is no clash or no room."""
    run = _remembering(run or run_tool)  # ask the providers once, not once per layout
    clashes = find_clashes(spec, run=run, probe=probe)
    if not clashes:
        return [], {}
    network = ipaddress.ip_network(spec.subnet, strict=False)
    reserved = {network.network_address, network.broadcast_address}
    if spec.gateway:
        reserved.add(ipaddress.ip_address(spec.gateway))
    for k in range(1, 256 // step + 1):
        moved = {n.name: ipaddress.ip_address(n.address) + step * k for n in spec.nodes}
        if any(a not in network or a in reserved for a in moved.values()):
            break
        shifted = replace(
            spec, nodes=tuple(replace(n, address=str(moved[n.name])) for n in spec.nodes)
        )
        if not find_clashes(shifted, run=run, probe=probe):
            return clashes, {name: str(address) for name, address in moved.items()}
    return clashes, {}


def _remembering(run: Run) -> Run:
    seen: dict[tuple[str, ...], str | None] = {}

    def remembered(argv: list[str]) -> str | None:
        key = tuple(argv)
        if key not in seen:
            seen[key] = run(argv)
        return seen[key]

    return remembered


def way_out(clashes: Sequence[AddressClash]) -> str:
    """The two ways out of a clash: remove the other lab, or move this one."""
    first = clashes[0]
    there = f"`mesoslab destroy -C {first.folder}`" if first.folder else "`mesoslab destroy` there"
    return (
        f"run {there} to remove the other lab, or give this lab other addresses in "
        "lab.toml: [network] subnet, or each [[node]]'s address"
    )


def refuse_clashes(clashes: Sequence[AddressClash]) -> None:
    """Raise the one-line refusal for ``clashes`` (nothing when there are none)."""
    if not clashes:
        return
    more = f" (and {len(clashes) - 1} more, below)" if len(clashes) > 1 else ""
    raise LabError(
        f"{clashes[0].line()}{more}",
        hint=way_out(clashes),
        details=tuple(c.line() for c in clashes[1:]),
    )


def answers(address: str, port: int = PROBE_PORT, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when a host accepts or refuses a TCP connection on ``address``: it exists."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except ConnectionRefusedError:
        return True
    except OSError as exc:  # timeout, no route, host unreachable: nobody there
        return exc.errno == errno.ECONNRESET


def local_links(run: Run) -> list[tuple[str, ipaddress.IPv4Network, str]]:
    """``(interface, network, own address)`` of every IPv4 address of this host
    (``ip -o -4 addr show``), loopback left out."""
    links: list[tuple[str, ipaddress.IPv4Network, str]] = []
    for line in (run(["ip", "-o", "-4", "addr", "show"]) or "").splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] != "inet" or fields[1] == "lo":
            continue
        with contextlib.suppress(ValueError):
            interface = ipaddress.IPv4Interface(fields[3])
            links.append((fields[1], interface.network, str(interface.ip)))
    return links


def _own_running_addresses(spec: LabSpec) -> set[str]:
    """Addresses of this lab's machines that run now (they answer, and that is no clash)."""
    if spec.provider == "lxc":
        return set()  # lxc-ls already listed our running containers with their addresses
    names = [n.name for n in spec.nodes]
    states = provider_states(spec.directory, spec.provider, names)
    if states is None:  # the provider's tool cannot tell: ask Vagrant (slow, but right)
        from mesoslab.lab.vagrant import VagrantDriver

        try:
            states = VagrantDriver(spec.directory).status(names)
        except LabError:
            states = {}
    return {n.address for n in spec.nodes if states.get(n.name) == "running"}
