"""Each machine's state, asked of the provider itself where it can answer directly.

``vagrant status`` spends 3-10 s starting Ruby before it says anything, while the
provider's own tool answers in milliseconds. Vagrant keeps each machine's provider id in
``.vagrant/machines/<name>/<provider>/id``: the container name for LXC, the VM's UUID for
VirtualBox and libvirt. With it, ``lxc-ls``, ``VBoxManage`` or ``virsh`` say the state;
a machine without an id file was never created (that is what Vagrant itself concludes).
Whenever the provider's tool is missing, fails, or does not know a machine that has an id,
the answer comes from ``vagrant status`` instead. Nothing is cached: every call asks again.

States use Vagrant's words with spaces (``running``, ``stopped``, ``not created``,
``poweroff``, ``shutoff``), so the two sources read the same.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

NOT_CREATED = "not created"
TOOL_TIMEOUT = 10.0  # a provider tool that takes longer is treated as failed: Vagrant answers

# LXC's states (lxc-ls -f) -> vagrant-lxc's.
_LXC_STATES = {"RUNNING": "running", "STOPPED": "stopped", "FROZEN": "frozen"}
# VirtualBox's VMState (showvminfo --machinereadable) -> Vagrant's VirtualBox provider's.
_VBOX_STATES = {
    "running": "running",
    "poweroff": "poweroff",
    "saved": "saved",
    "aborted": "aborted",
    "paused": "paused",
    "gurumeditation": "gurumeditation",
}
# virsh domstate -> vagrant-libvirt's.
_VIRSH_STATES = {"running": "running", "shut off": "shutoff", "paused": "paused"}

Run = Callable[[list[str]], str | None]  # a command's stdout, None when it failed


def machine_ids(lab_dir: Path, provider: str, names: Sequence[str]) -> dict[str, str | None]:
    """``{machine: provider id}``; None for a machine Vagrant has not created."""
    out: dict[str, str | None] = {}
    for name in names:
        path = lab_dir / ".vagrant" / "machines" / name / provider / "id"
        try:
            out[name] = path.read_text(encoding="utf-8").strip() or None
        except OSError:
            out[name] = None
    return out


def provider_states(
    lab_dir: Path, provider: str, names: Sequence[str], *, run: Run | None = None
) -> dict[str, str] | None:
    """The state of every machine in ``names`` from the provider's own tool, or None when
    it cannot tell for all of them (then ask Vagrant)."""
    run = run or _run
    ids = machine_ids(lab_dir, provider, names)
    created = {name: ident for name, ident in ids.items() if ident is not None}
    states = {name: NOT_CREATED for name, ident in ids.items() if ident is None}
    if not created:
        return states
    asked = {"lxc": _lxc, "virtualbox": _virtualbox, "libvirt": _libvirt}.get(provider)
    found = asked(created, run) if asked is not None else None
    if found is None or set(found) != set(created):
        return None
    states.update(found)
    return {name: states[name] for name in names}


def _lxc(ids: dict[str, str], run: Run) -> dict[str, str] | None:
    text = run(["lxc-ls", "--fancy", "--fancy-format", "NAME,STATE"])
    if text is None:
        return None
    listed: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            listed[fields[0]] = _LXC_STATES.get(fields[1], fields[1].lower())
    # A container that lxc-ls does not list (another lxcpath, no permission) is not known to
    # be gone: only Vagrant can say.
    return {name: listed[ident] for name, ident in ids.items() if ident in listed}


def _virtualbox(ids: dict[str, str], run: Run) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for name, ident in ids.items():
        text = run(["VBoxManage", "showvminfo", ident, "--machinereadable"])
        if text is None:
            return None
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key == "VMState":
                state = value.strip().strip('"')
                out[name] = _VBOX_STATES.get(state, state)
    return out


def _libvirt(ids: dict[str, str], run: Run) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for name, ident in ids.items():
        text = run(["virsh", "--connect", "qemu:///system", "domstate", ident])
        if text is None:
            return None
        state = text.strip().splitlines()[0].strip() if text.strip() else ""
        if state:
            out[name] = _VIRSH_STATES.get(state, state.replace(" ", ""))
    return out


def _run(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
