"""Every mesoslab machine on this host, asked of the providers themselves.

A lab's containers and VMs are named ``mesoslab-<lab>-<hash>-<node>`` (see
:func:`mesoslab.lab.machines.machine_prefix`; the hash is of the lab's folder). ``lxc-ls``
and ``VBoxManage`` list them whether or not anyone still knows the folder. The folder
comes from Vagrant's own machine index (``$VAGRANT_HOME/data/machine-index/index``), which
keeps each machine's Vagrantfile folder even after that folder was deleted: its hash must
match the one in the machine's name. Nothing is cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mesoslab.lab.machine_state import Run, run_tool

PREFIX = "mesoslab-"
_NAME = re.compile(r"^mesoslab-(?P<lab>.+?)-(?P<digest>[0-9a-f]{6})-(?P<node>.+)$")
_LXC_STATES = {"RUNNING": "running", "STOPPED": "stopped", "FROZEN": "frozen"}


@dataclass(frozen=True)
class HostMachine:
    """One mesoslab container or VM on this host."""

    name: str  # the container's or VM's name
    provider: str  # lxc, virtualbox
    state: str  # Vagrant's words: running, stopped, poweroff, ...
    addresses: tuple[str, ...]  # IPv4 addresses the provider reports (LXC only)
    lab: str  # its lab.toml's name; without the folder, as in the machine name (shortened)
    digest: str  # the hash of the lab's folder in the machine name
    node: str
    folder: Path | None  # the lab's folder per Vagrant's index; None when unknown

    @property
    def orphaned(self) -> bool:
        """Its lab folder is gone (or nobody knows it): no `mesoslab destroy` can reach it."""
        return self.folder is None or not (self.folder / "lab.toml").is_file()

    def where(self) -> str:
        if self.folder is None:
            return "folder unknown"
        return str(self.folder) if not self.orphaned else f"{self.folder} (gone)"


def folder_digest(folder: Path) -> str:
    """The folder hash that :func:`machine_prefix` puts in machine names."""
    return hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:6]


LxcRow = tuple[str, str, tuple[str, ...]]  # name, state, addresses


def host_machines(
    *,
    run: Run | None = None,
    vagrant_home: Path | None = None,
    lxc: Sequence[LxcRow] | None = None,
) -> list[HostMachine]:
    """Every mesoslab machine the providers on this host know, with its lab folder.

    ``lxc``: the rows of :func:`lxc_rows` when the caller has them already."""
    run = run or run_tool
    folders = vagrant_index_folders(vagrant_home or _vagrant_home())
    rows = lxc_rows(run) if lxc is None else lxc
    found: list[HostMachine] = []
    containers = [(name, "lxc", state, ips) for name, state, ips in rows]
    for name, provider, state, addresses in [*containers, *_virtualbox(run)]:
        match = _NAME.match(name)
        if match is None:
            continue
        digest, node = match.group("digest"), match.group("node")
        folder = folders.get((digest, node))
        found.append(
            HostMachine(
                name=name,
                provider=provider,
                state=state,
                addresses=addresses,
                lab=_lab_name(folder) or match.group("lab"),
                digest=digest,
                node=node,
                folder=folder,
            )
        )
    return sorted(found, key=lambda m: (m.lab, m.digest, m.node))


def _lab_name(folder: Path | None) -> str | None:
    """The name in the lab's lab.toml, when the folder is still there to say it."""
    if folder is None:
        return None
    try:
        name = tomllib.loads((folder / "lab.toml").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) and name else None


def vagrant_index_folders(vagrant_home: Path) -> dict[tuple[str, str], Path]:
    """``{(folder hash, machine name): folder}`` from Vagrant's machine index."""
    try:
        data = json.loads((vagrant_home / "data" / "machine-index" / "index").read_text())
    except (OSError, ValueError):
        return {}
    machines = data.get("machines") if isinstance(data, dict) else None
    out: dict[tuple[str, str], Path] = {}
    for entry in (machines or {}).values():
        if not isinstance(entry, dict):
            continue
        folder, name = entry.get("vagrantfile_path"), entry.get("name")
        if isinstance(folder, str) and isinstance(name, str):
            out[(folder_digest(Path(folder)), name)] = Path(folder)
    return out


def parse_lxc_ls(output: str) -> list[LxcRow]:
    """``(name, state, addresses)`` rows of ``lxc-ls -f -F NAME,STATE,IPV4``."""
    rows = []
    for line in output.splitlines()[1:]:  # the first line is the header
        fields = line.split(None, 2)
        if len(fields) < 2:
            continue
        name, state = fields[0], fields[1]
        ips = fields[2] if len(fields) > 2 else "-"
        addresses = tuple(ip.strip() for ip in ips.split(",") if ip.strip() not in ("", "-"))
        rows.append((name, _LXC_STATES.get(state, state.lower()), addresses))
    return rows


def lxc_rows(run: Run | None = None) -> list[LxcRow]:
    """Every LXC container on this host (``[]`` without LXC)."""
    output = (run or run_tool)(["lxc-ls", "-f", "-F", "NAME,STATE,IPV4"])
    return parse_lxc_ls(output) if output else []


def _virtualbox(run: Run) -> Iterable[tuple[str, str, str, tuple[str, ...]]]:
    every, running = run(["VBoxManage", "list", "vms"]), run(["VBoxManage", "list", "runningvms"])
    if every is None:
        return []
    on = set(re.findall(r'^"([^"]+)"', running or "", re.MULTILINE))
    names = re.findall(r'^"([^"]+)"', every, re.MULTILINE)
    return [(n, "virtualbox", "running" if n in on else "poweroff", ()) for n in names]


def _vagrant_home() -> Path:
    return Path(os.environ.get("VAGRANT_HOME") or Path.home() / ".vagrant.d")


@dataclass(frozen=True)
class HostLab:
    """The machines of one lab (one folder) on this host."""

    lab: str
    digest: str
    folder: Path | None
    machines: tuple[HostMachine, ...]

    @property
    def provider(self) -> str:
        return self.machines[0].provider

    @property
    def orphaned(self) -> bool:
        return all(m.orphaned for m in self.machines)

    def to_json(self) -> dict[str, object]:
        return {
            "lab": self.lab,
            "folder": str(self.folder) if self.folder else None,
            "folder_exists": not self.orphaned,
            "provider": self.provider,
            "machines": [
                {"node": m.node, "name": m.name, "state": m.state, "addresses": list(m.addresses)}
                for m in self.machines
            ],
        }


def host_labs(machines: Sequence[HostMachine]) -> list[HostLab]:
    """``machines`` grouped by lab folder (the hash in their names)."""
    groups: dict[tuple[str, str], list[HostMachine]] = {}
    for machine in machines:
        groups.setdefault((machine.lab, machine.digest), []).append(machine)
    return [
        HostLab(lab, digest, next((m.folder for m in ms if m.folder), None), tuple(ms))
        for (lab, digest), ms in sorted(groups.items())
    ]


def remove_machine(machine: HostMachine, run: Run | None = None) -> str | None:
    """Stop and delete one machine with its provider's own tool; why not, if it failed."""
    run = run or run_tool
    if machine.provider == "lxc":
        run(["lxc-stop", "--kill", "--name", machine.name])  # fails when already stopped
        done = run(["lxc-destroy", "--force", "--name", machine.name])
        fix = f"lxc-destroy -f -n {machine.name}"
    else:
        run(["VBoxManage", "controlvm", machine.name, "poweroff"])
        done = run(["VBoxManage", "unregistervm", machine.name, "--delete"])
        fix = f"VBoxManage unregistervm {machine.name} --delete"
    return None if done is not None else f"could not remove {machine.name}: try `{fix}`"


def forget_in_vagrant() -> None:
    """Let Vagrant drop index entries of machines that are gone (best effort; Ruby is slow
    to start, hence the long timeout)."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            ["vagrant", "global-status", "--prune"], capture_output=True, check=False, timeout=120
        )
