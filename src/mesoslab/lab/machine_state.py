"""Each machine's state, asked of the provider itself where it can answer directly.

``vagrant status`` spends 3-10 s starting Ruby before it says anything, while the
provider's own tool answers in milliseconds. Vagrant keeps each machine's provider id in
``.vagrant/machines/<name>/<provider>/id``: the container name for LXC, the VM's UUID for
VirtualBox and libvirt. With it, ``VBoxManage`` or ``virsh`` say the state. For LXC, the
kernel's table of unix sockets says it first: a running container's monitor listens on
LXC's command socket ``@<lxcpath>/<name>/command``, the socket ``lxc-ls`` and ``lxc-info``
ask (reading the table takes 0.1 ms, ``lxc-ls`` 3 ms); when a container is not there,
``lxc-ls`` (and the container's folder) answer. A machine without an id file was never
created (that is what Vagrant itself concludes).
Whenever the provider's tool is missing, fails, or does not know a machine that has an id,
the answer comes from ``vagrant status`` instead. Nothing is cached: every call asks again.

States use Vagrant's words with spaces (``running``, ``stopped``, ``not created``,
``poweroff``, ``shutoff``), so the two sources read the same.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

NOT_CREATED = "not created"
LXC_PATH = Path("/var/lib/lxc")  # LXC's system lxcpath, where vagrant-lxc's containers live
UNIX_SOCKETS = Path("/proc/net/unix")  # the kernel's unix sockets (of this network namespace)
_LISTENING = 0x10000  # __SO_ACCEPTCON in that table's Flags column
TOOL_TIMEOUT = 10.0  # a provider tool that takes longer is treated as failed: Vagrant answers

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
    lab_dir: Path,
    provider: str,
    names: Sequence[str],
    *,
    run: Run | None = None,
    lxc_path: Path = LXC_PATH,
    unix_sockets: Path = UNIX_SOCKETS,
) -> dict[str, str] | None:
    """The state of every machine in ``names`` from the provider's own tool, or None when
    it cannot tell for all of them (then ask Vagrant)."""
    run = run or run_tool
    ids = machine_ids(lab_dir, provider, names)
    created = {name: ident for name, ident in ids.items() if ident is not None}
    states = {name: NOT_CREATED for name, ident in ids.items() if ident is None}
    if not created:
        return states
    tools: dict[str, Callable[[dict[str, str], Run], dict[str, str] | None]] = {
        "lxc": partial(_lxc, lxc_path=lxc_path, unix_sockets=unix_sockets),
        "virtualbox": _virtualbox,
        "libvirt": _libvirt,
    }
    asked = tools.get(provider)
    found = asked(created, run) if asked is not None else None
    if found is None or set(found) != set(created):
        return None
    states.update(found)
    return {name: states[name] for name in names}


def _lxc(
    ids: dict[str, str], run: Run, lxc_path: Path = LXC_PATH, unix_sockets: Path = UNIX_SOCKETS
) -> dict[str, str] | None:
    monitored = lxc_monitors(lxc_path, unix_sockets)
    if monitored is not None and all(ident in monitored for ident in ids.values()):
        return dict.fromkeys(ids, "running")
    # `lxc-ls --running -1` only names the running containers: a third of the time of
    # `lxc-ls --fancy`, which asks every container for its addresses too. A container
    # that is not running but has its folder under the lxcpath is stopped.
    text = run(["lxc-ls", "--running", "-1"])
    if text is None:
        return None
    running = {line.strip() for line in text.splitlines() if line.strip()}
    out: dict[str, str] = {}
    for name, ident in ids.items():
        if ident in running:
            out[name] = "running"
        elif (lxc_path / ident / "config").is_file():
            out[name] = "stopped"
        # else: not known to be gone (another lxcpath, no permission): only Vagrant can say
    return out


def lxc_monitors(lxc_path: Path = LXC_PATH, unix_sockets: Path = UNIX_SOCKETS) -> set[str] | None:
    """The containers of ``lxc_path`` whose monitor listens on its command socket (they are
    running, or starting, stopping or frozen, as ``lxc-ls --running`` counts them); None
    when the table cannot be read. A name too long for a socket path (LXC then hashes it) is
    missing here, so the caller asks ``lxc-ls``."""
    try:
        text = unix_sockets.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    prefix, suffix = f"@{lxc_path}/", "/command"
    found: set[str] = set()
    for line in text.splitlines()[1:]:  # Num RefCount Protocol Flags Type St Inode Path
        fields = line.split(None, 7)
        if len(fields) < 8:
            continue
        try:
            listening = int(fields[3], 16) & _LISTENING
        except ValueError:
            continue
        path = fields[7]
        if listening and path.startswith(prefix) and path.endswith(suffix):
            found.add(path[len(prefix) : -len(suffix)])
    return found


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


def run_tool(argv: list[str]) -> str | None:
    """A provider tool's stdout; None when it is missing, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
