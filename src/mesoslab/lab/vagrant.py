"""Drive Vagrant for a lab directory (DESIGN §3 "Driving Vagrant").

Short commands (status, ssh-config, halt, destroy, boxes, snapshots) go through
python-vagrant; ``vagrant up`` runs in our own subprocess (:mod:`mesoslab.lab.vagrant_up`)
for live output and cancellation. ``vagrant`` (python-vagrant) is imported only when a
command runs, so importing this module costs nothing (``mesoslab --help`` stays fast).

Every failure is a :class:`~mesoslab.errors.LabError` that says which command failed,
for which machines, with the last lines Vagrant printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from mesoslab.errors import LabError
from mesoslab.lab.inventory import SshTarget
from mesoslab.lab.machines import MACHINES_FILE
from mesoslab.lab.spec import STATE_DIR
from mesoslab.lab.sshconfig import parse_ssh_config
from mesoslab.lab.vagrant_up import OnLine, failure_error, run_streaming

if TYPE_CHECKING:
    import vagrant as python_vagrant

T = TypeVar("T")

SNAPSHOT_PROVIDERS = ("virtualbox", "libvirt")
ERROR_TAIL = 10
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Known failures and what to do about them (matched against Vagrant's output).
_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"lxcbr0", re.IGNORECASE),
        "the LXC bridge lxcbr0 is down: start it with `/usr/libexec/lxc/lxc-net start` "
        "(or `systemctl start lxc-net`)",
    ),
    (
        re.compile(r"box '([^']+)' could not be found|could not find the box", re.IGNORECASE),
        "the box is not installed: `mesoslab box build` makes mesoslab's own boxes; "
        "add any other with `vagrant box add NAME`",
    ),
    (
        re.compile(r"could not detect VirtualBox", re.IGNORECASE),
        "VirtualBox is not installed: install it or use another provider in lab.toml",
    ),
    (
        re.compile(r"sudo: a terminal is required|sudo: a password is required", re.IGNORECASE),
        "vagrant-lxc needs root: run as root or set up `vagrant lxc sudoers`",
    ),
)


@dataclass(frozen=True)
class BoxInfo:
    name: str
    provider: str | None
    version: str | None


def vagrant_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for Vagrant: no colours, no update checks over the network."""
    env = dict(os.environ if base is None else base)
    env["VAGRANT_NO_COLOR"] = "1"
    env["VAGRANT_CHECKPOINT_DISABLE"] = "1"
    env.pop("VAGRANT_LOG", None)
    return env


def vagrant_executable() -> str:
    exe = shutil.which("vagrant")
    if exe is None:
        raise LabError(
            "vagrant is not installed (no `vagrant` on PATH)",
            hint="install Vagrant (Debian/Ubuntu: apt-get install vagrant; others: "
            "https://developer.hashicorp.com/vagrant/install), then run `mesoslab doctor`",
        )
    return exe


def supports_snapshots(provider: str) -> bool:
    return provider in SNAPSHOT_PROVIDERS


class VagrantDriver:
    """Vagrant commands for the lab in ``lab_dir`` (the folder with the Vagrantfile)."""

    def __init__(self, lab_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.lab_dir = Path(lab_dir).resolve()
        self._env = vagrant_env(env)

    # ------------------------------------------------------------------ the lab

    @property
    def machines_file(self) -> Path:
        override = self._env.get("MESOSLAB_MACHINES")
        return Path(override) if override else self.lab_dir / STATE_DIR / MACHINES_FILE

    def machines_doc(self) -> dict[str, Any]:
        path = self.machines_file
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LabError(
                f"{path} is missing, so Vagrant does not know the lab's machines",
                hint="run `mesoslab up`, which writes it from lab.toml",
            ) from None
        except (OSError, ValueError) as exc:
            raise LabError(
                f"cannot read {path}: {exc}", hint="run `mesoslab up` to write it again"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("machines"), list):
            raise LabError(f"{path} is not a mesoslab machines file", hint="run `mesoslab up`")
        return data

    def machine_names(self) -> list[str]:
        return [str(m["name"]) for m in self.machines_doc()["machines"]]

    def provider(self) -> str:
        return str(self.machines_doc()["provider"])

    # ------------------------------------------------------------------ short commands

    def status(self, names: Sequence[str] = ()) -> dict[str, str]:
        """``{machine: state}``, e.g. running, not_created, stopped (LXC), poweroff."""
        wanted = _names(names)
        statuses = self._call("status", (), lambda v: v.status())
        result = {str(s.name): str(s.state) for s in statuses if s.name}
        if wanted:
            missing = [n for n in wanted if n not in result]
            if missing:
                raise LabError(
                    f"no machine named {', '.join(missing)} in this lab; machines: "
                    f"{', '.join(result) or 'none'}"
                )
            result = {n: result[n] for n in wanted}
        return result

    def ssh_config(self, names: Sequence[str] = ()) -> dict[str, SshTarget]:
        """How to reach each machine: HostName, Port, User and every IdentityFile."""
        wanted = _names(names) or self.machine_names()
        text = self._call("ssh-config", wanted, lambda v: _run_output(v, ["ssh-config", *wanted]))
        parsed = parse_ssh_config(text)
        missing = [n for n in wanted if n not in parsed]
        if missing:
            raise LabError(
                f"`vagrant ssh-config` printed no Host section for {', '.join(missing)}",
                machines=tuple(missing),
            )
        return {name: parsed[name] for name in wanted}

    def halt(self, names: Sequence[str] = (), *, force: bool = False) -> None:
        wanted = _names(names)
        if not wanted:
            self._call("halt", (), lambda v: v.halt(force=force))
        else:
            args = ["halt", *wanted, *(["--force"] if force else [])]
            self._call("halt", wanted, lambda v: _run_call(v, args))

    def destroy(self, names: Sequence[str] = ()) -> None:
        """Destroy machines (all without ``names``), without asking; LXC leftovers too."""
        wanted = _names(names)
        if not wanted:
            self._call("destroy", (), lambda v: v.destroy())
        else:
            self._call("destroy", wanted, lambda v: _run_call(v, ["destroy", "--force", *wanted]))
        if self.provider() == "lxc":
            self._sweep_containers(wanted or self.machine_names())

    def _remove_orphans(self, names: Sequence[str]) -> None:
        """Remove containers of these machines that exist while Vagrant says not_created
        (left by a cancelled ``up``): creating them again would fail."""
        doc = self.machines_doc()
        ours = {str(m["vm_name"]): str(m["name"]) for m in doc["machines"] if m["name"] in names}
        present = [machine for vm, machine in ours.items() if vm in set(lxc_containers())]
        if not present:
            return
        states = self.status(present)
        orphans = [machine for machine in present if states.get(machine) == "not_created"]
        if orphans:
            self._sweep_containers(orphans)

    def _sweep_containers(self, names: Sequence[str]) -> None:
        """Destroy containers of these machines that Vagrant lost track of.

        A ``vagrant up`` killed between ``lxc-create`` and Vagrant saving the machine id
        leaves a container Vagrant does not know; its name (``vm_name`` in machines.json)
        is still ours, so remove it.
        """
        ours = {
            str(m["vm_name"]) for m in self.machines_doc()["machines"] if m["name"] in set(names)
        }
        for container in sorted(ours & set(lxc_containers())):
            result = subprocess.run(
                ["lxc-destroy", "--force", "--name", container],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0 and container in lxc_containers():
                raise LabError(
                    f"cannot remove the leftover container {container}: "
                    f"{result.stderr.strip() or result.stdout.strip()}",
                    hint=f"remove it by hand: lxc-destroy -f -n {container}",
                )

    def snapshot_save(self, name: str) -> None:
        """Snapshot every machine of the lab under ``name`` (a lesson checkpoint)."""
        self._require_snapshots("save", name)
        self._call("snapshot save", (), lambda v: v.snapshot_save(name))

    def snapshot_restore(self, name: str) -> None:
        self._require_snapshots("restore", name)
        self._call("snapshot restore", (), lambda v: v.snapshot_restore(name))

    def _require_snapshots(self, what: str, name: str) -> None:
        if not _NAME_RE.match(name):
            raise LabError(f"snapshot name {name!r} must be letters, digits, '.', '_' or '-'")
        provider = self.provider()
        if supports_snapshots(provider):
            return
        raise LabError(
            f"cannot {what} snapshot {name!r}: the {provider} provider has no snapshots "
            "(vagrant-lxc does not implement them)",
            hint="rebuild the state instead: `mesoslab destroy`, then `mesoslab up --through "
            "lesson-N` re-provisions the lab up to that lesson",
        )

    # ------------------------------------------------------------------ boxes

    def box_list(self) -> list[BoxInfo]:
        return box_list(self._env)

    def box_add(
        self,
        source: Path | str,
        name: str | None = None,
        *,
        provider: str | None = None,
        force: bool = False,
    ) -> None:
        box_add(source, name, provider=provider, force=force, env=self._env)

    # ------------------------------------------------------------------ long commands

    def up(
        self,
        names: Sequence[str],
        provider: str,
        on_line: OnLine | None = None,
        cancel: threading.Event | None = None,
        *,
        grace: float = 30.0,
        on_start: Callable[[int], None] | None = None,
    ) -> None:
        """``vagrant up --provider=X --no-provision [names]`` with live output.

        ``on_line(machine, line)`` gets every output line as Vagrant prints it (machine is
        "" for lines that name none). Setting ``cancel`` (or Ctrl-C) stops Vagrant and all
        it started (LabCancelled); a failure raises LabError naming the failing machines.
        """
        wanted = _names(names)
        machines = self.machine_names()
        unknown = [n for n in wanted if n not in machines]
        if unknown:
            raise LabError(
                f"no machine named {', '.join(unknown)} in this lab; machines: "
                f"{', '.join(machines)}"
            )
        if provider == "lxc":
            self._remove_orphans(wanted or machines)
        command = [vagrant_executable(), "up", f"--provider={provider}", "--no-provision"]
        outcome = run_streaming(
            [*command, *wanted],
            cwd=self.lab_dir,
            env=self._env,
            machines=machines,
            on_line=on_line,
            cancel=cancel,
            grace=grace,
            on_start=on_start,
        )
        if outcome.returncode != 0:
            error = failure_error(outcome, wanted or machines)
            hint = _hint_for(outcome.lines)
            if hint:
                error.hint = hint
            raise error

    def package(self, name: str, output: Path) -> None:
        """``vagrant package NAME --output FILE``: a provisioned machine as a .box
        (VirtualBox; vagrant-libvirt implements it for libvirt)."""
        self._call("package", (name,), lambda v: v.package(vm_name=name, output=str(output)))

    # ------------------------------------------------------------------ plumbing

    def _call(
        self,
        action: str,
        names: Sequence[str],
        call: Callable[[python_vagrant.Vagrant], T],
    ) -> T:
        if not self.machines_file.is_file():
            self.machines_doc()  # raises the "run mesoslab up" error
        return _call(action, names, call, root=self.lab_dir, env=self._env)


def _call(
    action: str,
    names: Sequence[str],
    call: Callable[[python_vagrant.Vagrant], T],
    *,
    root: Path,
    env: dict[str, str],
) -> T:
    """Run one python-vagrant call; turn its failures into LabError with the output."""
    vagrant_executable()
    with tempfile.TemporaryFile() as log:
        client = _client(root, env, log)
        try:
            return call(client)
        except subprocess.CalledProcessError as exc:
            log.seek(0)
            lines = log.read().decode("utf-8", "replace").splitlines()
            output = exc.output.decode("utf-8", "replace") if exc.output else ""
            lines = [line for line in [*output.splitlines(), *lines] if line.strip()]
            where = f" for {', '.join(names)}" if names else ""
            last = "; its last lines follow" if lines else "; it printed nothing"
            raise LabError(
                f"`vagrant {action}`{where} failed (exit status {exc.returncode}){last}",
                machines=tuple(names),
                details=tuple(lines[-ERROR_TAIL:]),
                hint=_hint_for(lines),
            ) from None
        except OSError as exc:
            raise LabError(f"cannot run vagrant {action}: {exc}") from None


def box_list(env: dict[str, str] | None = None) -> list[BoxInfo]:
    """The boxes Vagrant has (``vagrant box list``), with provider and version."""
    with _neutral_dir() as root:
        boxes = _call("box list", (), lambda v: v.box_list(), root=root, env=vagrant_env(env))
    return [BoxInfo(str(b.name), b.provider, b.version) for b in boxes]


def box_add(
    source: Path | str,
    name: str | None = None,
    *,
    provider: str | None = None,
    force: bool = False,
    env: dict[str, str] | None = None,
) -> None:
    """``vagrant box add``: a catalog metadata JSON file (name and version come from it),
    or a .box file/URL added under ``name``."""
    text = str(source)
    is_catalog = text.endswith(".json")
    if not is_catalog and not name:
        raise LabError(f"adding the box file {text} needs a box name")

    def add(v: python_vagrant.Vagrant) -> None:
        if is_catalog:
            # python-vagrant drops None arguments: this runs `vagrant box add <catalog>`.
            v.box_add(text, None, provider=provider, force=force)
        else:
            v.box_add(name, text, provider=provider, force=force)

    with _neutral_dir() as root:
        _call("box add", (), add, root=root, env=vagrant_env(env))


def _client(root: Path, env: dict[str, str], log: IO[bytes]) -> python_vagrant.Vagrant:
    import vagrant  # imported on use: keeps `mesoslab --help` fast

    @contextlib.contextmanager
    def to_log() -> Iterator[IO[bytes]]:
        yield log

    return vagrant.Vagrant(root=str(root), env=env, out_cm=to_log, err_cm=to_log)


# python-vagrant's public methods take one machine at a time, and every Vagrant start-up
# costs about 2 s; for several machines its command runner serves them all in one start-up.
def _run_output(client: python_vagrant.Vagrant, args: list[str]) -> str:
    return str(client._run_vagrant_command(args))


def _run_call(client: python_vagrant.Vagrant, args: list[str]) -> None:
    client._call_vagrant_command(args)


@contextlib.contextmanager
def _neutral_dir() -> Iterator[Path]:
    """An empty working directory for box commands (no lab Vagrantfile to load)."""
    with tempfile.TemporaryDirectory(prefix="mesoslab-vagrant-") as folder:
        yield Path(folder)


def _names(names: Sequence[str]) -> list[str]:
    if isinstance(names, str):
        names = [names]
    result = []
    for name in names:
        if not _NAME_RE.match(name):
            raise LabError(f"{name!r} is not a machine name")
        if name not in result:
            result.append(name)
    return result


def _hint_for(lines: Sequence[str]) -> str:
    text = "\n".join(lines)
    for pattern, hint in _HINTS:
        if pattern.search(text):
            return hint
    return ""


def lxc_containers() -> list[str]:
    """Names of the LXC containers on this host ([] when LXC is not installed)."""
    try:
        result = subprocess.run(
            ["lxc-ls", "-1"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]
