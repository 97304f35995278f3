"""Shared helpers for the real LXC lab tests (root, LXC, Vagrant with vagrant-lxc)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.prerequisites import missing

NOT_ROOT = "LXC lab tests need root (vagrant-lxc creates privileged containers)"


def lab_prerequisites() -> str:
    if os.geteuid() != 0:
        return NOT_ROOT
    for tool in ("lxc-create", "vagrant", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install lxc vagrant vagrant-lxc debootstrap)"
    plugins = subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True)
    if "vagrant-lxc" not in plugins.stdout:
        return "the vagrant-lxc plugin is not installed (apt-get install vagrant-lxc)"
    return ""


def bridge_up() -> None:
    if subprocess.run(["ip", "link", "show", "lxcbr0"], capture_output=True).returncode == 0:
        return
    starter = Path("/usr/libexec/lxc/lxc-net")
    if not starter.exists():
        pytest.fail("the LXC bridge lxcbr0 is down and /usr/libexec/lxc/lxc-net is missing")
    subprocess.run([str(starter), "start"], check=True, capture_output=True)


@pytest.fixture(scope="module")
def lxc_box() -> str:
    reason = lab_prerequisites()
    if reason:
        missing(reason, ci_installs_it=reason != NOT_ROOT)
    bridge_up()
    from mesoslab.lab.boxes import ensure_box

    return ensure_box(current=True)  # builds the box the first time (minutes), then cached


def free_addresses(count: int) -> list[str]:
    used = set()
    listing = subprocess.run(["lxc-ls", "-f", "-F", "IPV4"], capture_output=True, text=True)
    for line in listing.stdout.splitlines()[1:]:
        used.update(a.strip() for a in line.split(","))
    start = 150 + (os.getpid() % 25) * 4  # spread by pid; wraps round within .150-.249
    order = [*range(start, 250), *range(150, start)]
    free = [f"10.0.3.{i}" for i in order if f"10.0.3.{i}" not in used]
    assert len(free) >= count, f"fewer than {count} free addresses in 10.0.3.150-249"
    return free[:count]


def without_node_tables(text: str) -> str:
    """lab.toml without its [[node]] tables: `init` writes them when the preset's addresses
    are taken (another lab runs there), and the tests give their own."""
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip() == "[[node]]"), len(lines))
    return "".join(lines[:first])


def tempfile_dir(factory: pytest.TempPathFactory) -> Path:
    # Short and unique: the lab name becomes part of container names.
    return factory.mktemp(f"l{os.getpid() % 10000}-", numbered=True)


def mesoslab(
    lab: Path, *args: str, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`mesoslab ARGS` run in ``lab`` as a user would (a real process, no terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "mesoslab", *args],
        cwd=lab,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "150", **(env or {})},
    )


@contextlib.contextmanager
def new_lab(factory: pytest.TempPathFactory, name: str, preset: str) -> Iterator[Path]:
    """`mesoslab init` of a rehearsal LXC lab on addresses no other container uses; destroyed
    (and any container left behind removed) afterwards. Not brought up."""
    from mesoslab.lab.machines import machines_doc
    from mesoslab.lab.spec import load_lab
    from mesoslab.lab.vagrant import lxc_containers

    directory = tempfile_dir(factory) / name
    out = mesoslab(
        directory.parent,
        *("init", str(directory), "--preset", preset),
        *("--provider", "lxc", "--platform", "rehearsal"),
    )
    assert out.returncode == 0, out.stderr
    nodes = load_lab(directory).nodes
    text = without_node_tables((directory / "lab.toml").read_text())
    text += "\n" + "".join(
        f'\n[[node]]\nname = "{n.name}"\nroles = {json.dumps(list(n.roles))}\n'
        f'address = "{address}"\n'
        for n, address in zip(nodes, free_addresses(len(nodes)), strict=True)
    )
    (directory / "lab.toml").write_text(text)
    containers = [m["vm_name"] for m in machines_doc(load_lab(directory))["machines"]]
    try:
        yield directory
    finally:
        mesoslab(directory, "destroy", "--yes")
        for container in set(containers) & set(lxc_containers()):
            subprocess.run(["lxc-destroy", "-f", "-n", container], capture_output=True)
