"""What the doctor works with: where the probes look (:class:`Host`), what they saw
(:class:`Command`, :class:`KvmState`, :class:`Facts`) and what that means for the lab
(:class:`Finding`, one of :data:`OK`, :data:`WARN`, :data:`FAIL`)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mesoslab.lab.address_clash import AddressClash

OK, WARN, FAIL = "ok", "warn", "fail"
GIB = 1024**3
VBOX_DEFAULT_RANGES = ("192.168.56.0/21",)  # VirtualBox 6.1.28+ without networks.conf
X86 = ("x86_64", "amd64", "i686", "i386")
ARM = ("arm64", "aarch64")


@dataclass(frozen=True)
class Finding:
    status: str  # ok | warn | fail
    title: str
    detail: str = ""
    fix: str = ""  # what to do (may span lines); empty when nothing is needed


@dataclass(frozen=True)
class Host:
    """Where the probes look. The defaults are this machine."""

    arch: str = field(default_factory=platform.machine)
    system: str = field(default_factory=platform.system)  # Linux, Darwin, ...
    meminfo: Path = Path("/proc/meminfo")
    cpuinfo: Path = Path("/proc/cpuinfo")
    networks_conf: Path = Path("/etc/vbox/networks.conf")
    kvm: Path = Path("/dev/kvm")
    vboxdrv: Path = Path("/dev/vboxdrv")
    sys_module: Path = Path("/sys/module")
    bridge: str = "lxcbr0"  # the lxc-net bridge the containers attach to
    mounts: Path = Path("/proc/self/mounts")  # how /sys/fs/cgroup is mounted: v1, hybrid, v2
    apparmor: Path = Path("/sys/module/apparmor/parameters/enabled")  # "Y" when it is on
    is_root: bool = field(default_factory=lambda: os.geteuid() == 0)
    path: str | None = None  # PATH for finding commands (None: this process's PATH)
    timeout: float = 5.0  # per command
    vagrant_timeout: float = 10.0  # Ruby start-up is slow on some laptops


@dataclass(frozen=True)
class Command:
    """What one command said."""

    argv: tuple[str, ...]
    found: bool  # the program is on PATH
    code: int | None = None  # None: not run to the end (timeout or OS error)
    output: str = ""  # stdout + stderr
    error: str = ""  # why it did not run to the end

    @property
    def ok(self) -> bool:
        return self.found and self.code == 0

    def why(self) -> str:
        """One line saying why the command did not succeed."""
        if not self.found:
            return f"{self.argv[0]} not found"
        if self.error:
            return self.error
        last = self.output.strip().splitlines()[-1:] or ["no output"]
        return f"`{' '.join(self.argv)}` exited {self.code}: {last[0]}"


@dataclass(frozen=True)
class KvmState:
    usable: bool
    reason: str  # why not (or what was seen when usable)
    hardware: bool | None  # VT-x/AMD-V offered by the CPU; None when unknown


@dataclass
class Facts:
    host: Host
    commands: dict[str, Command] = field(default_factory=dict)
    kvm: KvmState = field(default_factory=lambda: KvmState(False, "not probed", None))
    mem_available_mib: int | None = None
    mem_source: str = ""
    disk_free: int | None = None  # bytes free where the lab lives
    disk_path: Path | None = None
    vbox_ranges: tuple[str, ...] = VBOX_DEFAULT_RANGES
    vbox_ranges_source: str = "VirtualBox default (no /etc/vbox/networks.conf)"
    lab_dir: Path | None = None  # the folder asked about (None: none given, none found)
    lab_error: str = ""  # why its lab.toml could not be read
    clashes: list[AddressClash] | None = None  # who holds the lab's addresses; None: not asked
    cgroups: str = ""  # "v1", "hybrid" or "v2" (unified); "": unknown
    apparmor: bool | None = None  # the kernel's AppArmor is on; None: unknown

    def cmd(self, name: str) -> Command:
        return self.commands.get(name, Command((name,), found=False, error="not probed"))
