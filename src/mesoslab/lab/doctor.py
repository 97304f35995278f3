"""`mesoslab doctor`: can this machine run the lab? Say so before anything fails.

Two stages. :func:`gather` runs every probe of the machine at once (each command bounded by
a timeout, in threads) and returns :class:`Facts`; :func:`assess` turns the facts and the lab
spec into :class:`Finding` s, each with what to do. :func:`run_doctor` does both. Where the
probes look is a :class:`Host` (default: this machine), so tests point them at other files,
another architecture or another PATH without mocking anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import platform
import re
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mesoslab.errors import LabSpecError
from mesoslab.lab.spec import DEFAULT_SUBNET, LAB_FILE, LabSpec, find_lab_dir, load_lab

if TYPE_CHECKING:
    from rich.console import Console

OK, WARN, FAIL = "ok", "warn", "fail"
VM_PROVIDERS = ("virtualbox", "libvirt")
GIB = 1024**3
HOST_HEADROOM_MIB = 1024  # what the host itself needs beside the lab's machines
DISK_WARN_GIB = {"vm": 10, "lxc": 2}
VBOX_DEFAULT_RANGES = ("192.168.56.0/21",)  # VirtualBox 6.1.28+ without networks.conf
X86 = ("x86_64", "amd64", "i686", "i386")
ARM = ("arm64", "aarch64")
KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00); KVM_API_VERSION is 12
LXC_NET_SCRIPTS = (
    "/usr/libexec/lxc/lxc-net",
    "/usr/lib/x86_64-linux-gnu/lxc/lxc-net",
    "/usr/lib/lxc/lxc-net",
)
LIBVIRT_SOCKETS = ("/var/run/libvirt/libvirt-sock", "/run/libvirt/libvirt-sock")


ProviderCheck = tuple[list[str], list[str], list[str]]  # problems, fixes, notes


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

    def cmd(self, name: str) -> Command:
        return self.commands.get(name, Command((name,), found=False, error="not probed"))


# ------------------------------------------------------------------------------ probing


def run_command(argv: list[str], host: Host, timeout: float | None = None) -> Command:
    """Run ``argv`` bounded by ``timeout``; never raises for a predictable problem."""
    timeout = host.timeout if timeout is None else timeout
    exe = shutil.which(argv[0], path=host.path)
    if exe is None:
        return Command(tuple(argv), found=False)
    env = dict(os.environ, VAGRANT_NO_COLOR="1", VAGRANT_CHECKPOINT_DISABLE="1", LC_ALL="C")
    if host.path is not None:
        env["PATH"] = host.path
    try:
        # A session of its own: on timeout the whole group goes, children included, so
        # nothing keeps the pipes open past the deadline.
        proc = subprocess.Popen(
            [exe, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return Command(tuple(argv), True, None, "", f"cannot run {argv[0]}: {exc.strerror}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.communicate(timeout=1)
        except subprocess.TimeoutExpired:  # a grandchild left the group and holds a pipe
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait()
        return Command(
            tuple(argv), True, None, "", f"`{' '.join(argv)}` did not finish within {timeout:g} s"
        )
    return Command(tuple(argv), True, proc.returncode, (out or "") + (err or ""))


def _commands_to_run(spec: LabSpec | None, host: Host) -> dict[str, tuple[list[str], float]]:
    t, vt = host.timeout, host.vagrant_timeout
    todo: dict[str, tuple[list[str], float]] = {
        "vagrant": (["vagrant", "--version"], vt),
        "plugins": (["vagrant", "plugin", "list"], vt),
        "vbox": (["VBoxManage", "--version"], t),
        "virsh": (["virsh", "--version"], t),
        "lxc-create": (["lxc-create", "--version"], t),
    }
    if spec is not None:
        todo["boxes"] = (["vagrant", "box", "list"], vt)
    if host.system == "Linux":
        todo["bridge"] = (["ip", "-o", "addr", "show", host.bridge], t)
        if not host.is_root:
            todo["sudo"] = (["sudo", "-n", "true"], t)
    if host.system == "Darwin":
        todo["memsize"] = (["sysctl", "-n", "hw.memsize"], t)
        todo["vm_stat"] = (["vm_stat"], t)
        todo["hv_support"] = (["sysctl", "-n", "kern.hv_support"], t)
    return todo


def gather(spec: LabSpec | None, host: Host | None = None, lab_dir: Path | None = None) -> Facts:
    """Probe the machine: every command at once, each bounded by its timeout."""
    host = host or Host()
    facts = Facts(host=host, lab_dir=lab_dir)
    todo = _commands_to_run(spec, host)
    with ThreadPoolExecutor(max_workers=len(todo) + 1, thread_name_prefix="doctor") as pool:
        futures = {
            name: pool.submit(run_command, argv, host, timeout)
            for name, (argv, timeout) in todo.items()
        }
        kvm_future = pool.submit(kvm_state, host)
        facts.commands = {name: future.result() for name, future in futures.items()}
        facts.kvm = kvm_future.result()
    if host.system == "Darwin":
        facts.mem_available_mib, facts.mem_source = _darwin_memory(facts)
    else:
        facts.mem_available_mib, facts.mem_source = read_meminfo(host.meminfo)
    place = lab_dir or (spec.directory if spec is not None else Path.cwd())
    facts.disk_path, facts.disk_free = _disk_free(place)
    facts.vbox_ranges, facts.vbox_ranges_source = read_vbox_ranges(host.networks_conf)
    if host.system == "Darwin":
        hv = facts.cmd("hv_support")
        hardware = hv.ok and hv.output.strip() == "1"
        seen = f"sysctl kern.hv_support = {hv.output.strip()}" if hv.ok else hv.why()
        facts.kvm = KvmState(False, f"macOS, {seen}", hardware if hv.ok else None)
    return facts


def read_meminfo(path: Path) -> tuple[int | None, str]:
    """MemAvailable (MiB) from a /proc/meminfo-style file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror}"
    match = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, re.M)
    if match is None:
        return None, f"{path} has no MemAvailable line"
    return int(match.group(1)) // 1024, f"MemAvailable in {path}"


def parse_vm_stat(text: str) -> int | None:
    """Available MiB from macOS ``vm_stat``: free + inactive + speculative pages."""
    size = re.search(r"page size of (\d+) bytes", text)
    if size is None:
        return None
    pages = 0
    found = False
    for key in ("Pages free", "Pages inactive", "Pages speculative"):
        match = re.search(rf"^{key}:\s+(\d+)", text, re.M)
        if match:
            pages += int(match.group(1))
            found = True
    return pages * int(size.group(1)) // (1024 * 1024) if found else None


def _darwin_memory(facts: Facts) -> tuple[int | None, str]:
    stat = facts.cmd("vm_stat")
    if stat.ok and (mib := parse_vm_stat(stat.output)) is not None:
        return mib, "vm_stat (free + inactive pages)"
    size = facts.cmd("memsize")
    if size.ok and size.output.strip().isdigit():
        return None, f"total {int(size.output.strip()) // GIB} GiB; free memory unknown"
    return None, "free memory unknown (vm_stat and sysctl hw.memsize gave nothing)"


def _disk_free(place: Path) -> tuple[Path, int | None]:
    place = place.resolve()
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        return place, shutil.disk_usage(place).free
    except OSError:
        return place, None


def read_vbox_ranges(path: Path) -> tuple[tuple[str, ...], str]:
    """The host-only ranges VirtualBox allows: ``* 10.0.0.0/8 192.168.0.0/16`` lines."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return VBOX_DEFAULT_RANGES, f"VirtualBox default (no {path})"
    except OSError as exc:
        return VBOX_DEFAULT_RANGES, f"cannot read {path} ({exc.strerror}): assuming the default"
    ranges: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["*"]:
            for word in words[1:]:
                try:
                    ranges.append(str(ipaddress.ip_network(word, strict=False)))
                except ValueError:
                    continue
    return tuple(ranges), str(path)


def cpu_virtualization(cpuinfo: Path, arch: str) -> bool | None:
    """True when the CPU offers VT-x/AMD-V (vmx/svm flag); None when it cannot be told."""
    if arch not in X86:
        return None
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    if not flags:
        return None
    return bool(flags & {"vmx", "svm"})


def kvm_state(host: Host) -> KvmState:
    """Whether ordinary KVM guests can run: /dev/kvm opens, answers, and the CPU has VT-x/AMD-V."""
    if host.system != "Linux":
        return KvmState(False, f"KVM exists on Linux only (this is {host.system})", None)
    hardware = cpu_virtualization(host.cpuinfo, host.arch)
    no_hw = (
        "the CPU offers no VT-x/AMD-V (no vmx/svm flag in "
        f"{host.cpuinfo}; a VM without nested virtualization?)"
    )
    if not host.kvm.exists():
        reason = (
            no_hw if hardware is False else f"{host.kvm} does not exist (kvm module not loaded)"
        )
        return KvmState(False, reason, hardware)
    try:
        fd = os.open(host.kvm, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return KvmState(
                False,
                f"no permission to open {host.kvm} (add yourself to the kvm group)",
                hardware,
            )
        return KvmState(False, f"cannot open {host.kvm}: {exc.strerror}", hardware)
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as exc:
        return KvmState(False, f"{host.kvm} does not answer like KVM: {exc.strerror}", hardware)
    finally:
        os.close(fd)
    if version != 12:
        return KvmState(False, f"{host.kvm} speaks KVM API {version}, not 12", hardware)
    if hardware is False:
        vendor = [m for m in ("kvm_intel", "kvm_amd") if (host.sys_module / m).exists()]
        shim = "" if vendor else " (no kvm_intel/kvm_amd module: a paravirtual KVM)"
        return KvmState(False, f"{host.kvm} opens{shim}, but {no_hw}", hardware)
    return KvmState(True, f"{host.kvm} usable", hardware)


# ---------------------------------------------------------------------------- assessing


def run_doctor(
    spec: LabSpec | None, host: Host | None = None, *, lab_dir: Path | None = None
) -> list[Finding]:
    """Probe this machine (or ``host``) and say what stands between it and the lab."""
    return assess(spec, gather(spec, host, lab_dir))


def doctor_for_dir(directory: str | Path | None, host: Host | None = None) -> list[Finding]:
    """Doctor for the lab in ``directory`` (default: the lab around the current folder, if
    any). A lab.toml that does not parse is a finding, not an exception."""
    folder = Path(directory).resolve() if directory is not None else find_lab_dir()
    spec: LabSpec | None = None
    error = ""
    if folder is not None and (folder / LAB_FILE).is_file():
        try:
            spec = load_lab(folder)
        except LabSpecError as exc:
            error = str(exc)
    facts = gather(spec, host, folder)
    facts.lab_error = error
    return assess(spec, facts)


def assess(spec: LabSpec | None, facts: Facts) -> list[Finding]:
    """Findings in reading order: the lab, Vagrant, the CPU, providers, network, box, room."""
    usable = {
        "virtualbox": _virtualbox(facts),
        "libvirt": _libvirt(facts),
        "lxc": _lxc(facts),
    }
    findings = [_lab_file(spec, facts, usable), _vagrant(facts), _arch(spec, facts)]
    if spec is not None and spec.platform == "rehearsal" and spec.provider != "lxc":
        findings.append(
            Finding(
                FAIL,
                "Platform and provider",
                f"platform rehearsal runs on LXC only; this lab says provider = {spec.provider!r}",
                'set provider = "lxc" in lab.toml',
            )
        )
    if spec is None or spec.provider in VM_PROVIDERS:
        findings.append(_virtualization(spec, facts))
    if spec is None:
        for name, (problems, fixes, notes) in usable.items():
            findings.append(_provider_finding(name, problems, fixes, notes, WARN, usable))
        if not any(not problems for problems, _, _ in usable.values()):
            findings.append(
                Finding(
                    FAIL,
                    "Providers",
                    "no provider can run a lab on this machine",
                    "see the provider lines above; LXC needs no hardware virtualization",
                )
            )
    else:
        problems, fixes, notes = usable[spec.provider]
        findings.append(_provider_finding(spec.provider, problems, fixes, notes, FAIL, usable))
    if spec is not None and spec.provider == "virtualbox":
        findings.append(_hostonly_range(spec, facts))
    if (spec is not None and spec.provider == "lxc") or (
        spec is None and facts.host.system == "Linux" and facts.cmd("lxc-create").found
    ):
        findings.append(_bridge(spec, facts))
    if spec is not None and facts.cmd("vagrant").ok:
        findings.append(_box(spec, facts))
    findings.append(_memory(spec, facts))
    findings.append(_disk(spec, facts))
    return findings


def _lab_file(spec: LabSpec | None, facts: Facts, usable: dict[str, ProviderCheck]) -> Finding:
    if facts.lab_error:
        return Finding(FAIL, "lab.toml", facts.lab_error, "fix the key it names, then run again")
    if spec is None:
        if not usable["virtualbox"][0]:
            options = ""
        elif not usable["libvirt"][0]:
            options = " --provider libvirt"
        else:
            options = " --provider lxc --platform rehearsal"
        if facts.lab_dir is not None:
            where = f"no {LAB_FILE} in {facts.lab_dir}"
            fix = f"create one: mesoslab init {facts.lab_dir}{options}"
        else:
            where = f"no {LAB_FILE} in this folder or above it"
            fix = f"create a lab: mesoslab init mylab{options}, then cd mylab"
        return Finding(WARN, "lab.toml", f"{where}: checked this machine only", fix)
    preset = f"preset {spec.preset}, " if spec.preset else ""
    return Finding(
        OK,
        "lab.toml",
        f"lab {spec.name!r}: {preset}{len(spec.nodes)} nodes, provider {spec.provider}, "
        f"platform {spec.platform}, box {spec.box}",
    )


def _vagrant(facts: Facts) -> Finding:
    cmd = facts.cmd("vagrant")
    if cmd.ok:
        version = cmd.output.strip().splitlines()[0] if cmd.output.strip() else "Vagrant"
        match = re.search(r"(\d+)\.(\d+)", version)
        if match and (int(match.group(1)), int(match.group(2))) < (2, 2):
            return Finding(WARN, "Vagrant", f"{version} is old", "install Vagrant 2.3 or newer")
        return Finding(OK, "Vagrant", version)
    if facts.host.system == "Darwin":
        fix = (
            "install Vagrant: brew install hashicorp/tap/hashicorp-vagrant, or the installer "
            "from https://developer.hashicorp.com/vagrant/install"
        )
    else:
        fix = (
            "install Vagrant: apt-get install vagrant (Debian/Ubuntu), or the package from "
            "https://developer.hashicorp.com/vagrant/install"
        )
    return Finding(FAIL, "Vagrant", cmd.why(), fix if not cmd.found else "check the error above")


def _arch(spec: LabSpec | None, facts: Facts) -> Finding:
    arch = facts.host.arch
    if arch in X86:
        if spec is not None and spec.platform == "rehearsal":
            return Finding(OK, "CPU architecture", arch)
        return Finding(OK, "CPU architecture", f"{arch}: CentOS 7 x86_64 boxes can run here")
    if arch in ARM:
        detail = (
            f"this machine is {arch} (Apple Silicon or another ARM CPU); CentOS 7 boxes are "
            "x86_64 only and do not run on it"
        )
        if spec is not None and spec.platform == "rehearsal":
            return Finding(OK, "CPU architecture", f"{arch}: the rehearsal box is built locally")
        fix = (
            'use platform = "rehearsal" on a Linux machine (its box is built for the local CPU), '
            "or run the lab on an x86_64 machine (a classroom server or cloud VM)"
        )
        return Finding(FAIL if spec is not None else WARN, "CPU architecture", detail, fix)
    return Finding(
        WARN,
        "CPU architecture",
        f"{arch}: not a CPU mesoslab knows; CentOS 7 boxes need x86_64",
        "run the lab on an x86_64 machine",
    )


LXC_FIX = (
    'VirtualBox and libvirt cannot run here: use provider = "lxc" with platform = '
    '"rehearsal" (mesoslab init --provider lxc --platform rehearsal)'
)


def _virtualization(spec: LabSpec | None, facts: Facts) -> Finding:
    kvm = facts.kvm
    bad = FAIL if spec is not None else WARN
    title = "Hardware virtualization"
    if kvm.hardware is False:
        return Finding(
            bad,
            title,
            kvm.reason,
            LXC_FIX + ", or enable VT-x/AMD-V (a firmware setting, or nested virtualization "
            "for a cloud VM)",
        )
    if kvm.hardware is None:
        if kvm.usable:
            return Finding(OK, title, kvm.reason)
        return Finding(WARN, title, f"could not tell whether VMs can run here: {kvm.reason}")
    if facts.host.system == "Linux" and not kvm.usable:
        if spec is None or spec.provider == "libvirt":
            return Finding(
                bad,
                title,
                f"VT-x/AMD-V present, but KVM is not usable: {kvm.reason}",
                "load KVM: modprobe kvm_intel (Intel) or kvm_amd (AMD); to use it without "
                "root: usermod -aG kvm $USER, then log in again",
            )
        return Finding(OK, title, "VT-x/AMD-V available (VirtualBox does not need KVM)")
    return Finding(OK, title, "VT-x/AMD-V available" + (f"; {kvm.reason}" if kvm.usable else ""))


def _virtualbox(facts: Facts) -> ProviderCheck:
    host = facts.host
    problems: list[str] = []
    fixes: list[str] = []
    notes: list[str] = []
    vbox = facts.cmd("vbox")
    if host.arch in ARM:
        problems.append(f"VirtualBox cannot run x86_64 CentOS 7 guests on {host.arch}")
        fixes.append("use an x86_64 machine, or the rehearsal lab on Linux")
    if not vbox.ok:
        problems.append(
            "VirtualBox is not installed (VBoxManage not found)" if not vbox.found else vbox.why()
        )
        fixes.append(
            "install VirtualBox 7 from https://www.virtualbox.org/wiki/Downloads"
            + (" (Intel Macs only)" if host.system == "Darwin" else "")
        )
    else:
        notes.append(f"VirtualBox {vbox.output.strip().splitlines()[0]}")
    if vbox.found and host.system == "Linux" and not host.vboxdrv.exists():
        problems.append(f"{host.vboxdrv} missing: the vboxdrv kernel module is not loaded")
        fixes.append(
            "load it: sudo /sbin/vboxconfig (needs linux-headers-$(uname -r); with Secure "
            "Boot the module must be signed)"
        )
    if facts.kvm.hardware is False:
        problems.append("the CPU offers no VT-x/AMD-V, which VirtualBox needs")
        fixes.append(LXC_FIX)
    elif vbox.ok and host.system == "Linux":
        loaded = [m for m in ("kvm_intel", "kvm_amd") if (host.sys_module / m).exists()]
        match = re.match(r"(\d+)\.(\d+)", vbox.output.strip())
        old = match is not None and (int(match.group(1)), int(match.group(2))) < (7, 2)
        if loaded and old:
            notes.append(
                f"{loaded[0]} is loaded: on Linux 6.12+ KVM holds VT-x/AMD-V and VirtualBox "
                "before 7.2 fails with VERR_VMX_IN_VMX_ROOT_MODE / VERR_SVM_IN_USE; if it "
                f"does, unload it (sudo modprobe -r {loaded[0]}) or update VirtualBox"
            )
    return problems, fixes, notes


def _libvirt(facts: Facts) -> ProviderCheck:
    host = facts.host
    problems: list[str] = []
    fixes: list[str] = []
    notes: list[str] = []
    if host.system != "Linux":
        return [f"mesoslab uses libvirt on Linux only (this is {host.system})"], [], []
    virsh = facts.cmd("virsh")
    if not virsh.ok:
        problems.append(
            "libvirt is not installed (virsh not found)" if not virsh.found else virsh.why()
        )
        fixes.append("apt-get install libvirt-daemon-system libvirt-clients")
    elif not any(Path(p).exists() for p in LIBVIRT_SOCKETS):
        problems.append("libvirtd is not running (no libvirt socket)")
        fixes.append("start it: systemctl start libvirtd")
    plugins = installed_plugins(facts)
    if plugins is not None and "vagrant-libvirt" not in plugins:
        problems.append("the vagrant-libvirt plugin is not installed")
        fixes.append("apt-get install vagrant-libvirt (or: vagrant plugin install vagrant-libvirt)")
    if not facts.kvm.usable:
        problems.append(f"KVM is not usable: {facts.kvm.reason}")
        fixes.append(LXC_FIX if facts.kvm.hardware is not True else "load kvm_intel or kvm_amd")
    return problems, fixes, notes


def _lxc(facts: Facts) -> ProviderCheck:
    host = facts.host
    if host.system != "Linux":
        return (
            [f"LXC runs on Linux only (this is {host.system})"],
            ["use VirtualBox here, or a Linux machine for the rehearsal lab"],
            [],
        )
    problems: list[str] = []
    fixes: list[str] = []
    notes: list[str] = []
    plugins = installed_plugins(facts)
    if plugins is not None and "vagrant-lxc" not in plugins:
        problems.append("the vagrant-lxc plugin is not installed")
        fixes.append("apt-get install vagrant-lxc (or: vagrant plugin install vagrant-lxc)")
    elif plugins is not None:
        notes.append(f"vagrant-lxc {plugins['vagrant-lxc']}")
    lxc = facts.cmd("lxc-create")
    if not lxc.found:
        problems.append("LXC is not installed (lxc-create not found)")
        fixes.append("apt-get install lxc dnsmasq-base")
    elif lxc.ok and lxc.output.strip():
        notes.append(f"LXC {lxc.output.strip().splitlines()[0]}")
    if not host.is_root:
        sudo = facts.cmd("sudo")
        if not sudo.ok:
            problems.append(
                "vagrant-lxc needs root: not root, and sudo asks for a password"
                if sudo.found
                else "vagrant-lxc needs root: not root and sudo is not installed"
            )
            fixes.append(
                "run mesoslab as root, or allow vagrant-lxc's commands: vagrant lxc sudoers"
            )
    return problems, fixes, notes


def installed_plugins(facts: Facts) -> dict[str, str] | None:
    """``{plugin: version}`` from ``vagrant plugin list``; None when it could not run."""
    cmd = facts.cmd("plugins")
    if not cmd.ok:
        return None
    plugins: dict[str, str] = {}
    for line in cmd.output.splitlines():
        match = re.match(r"^([\w.-]+)\s+\(([^,)]+)", line.strip())
        if match:
            plugins[match.group(1)] = match.group(2)
    return plugins


PROVIDER_TITLES = {"virtualbox": "VirtualBox", "libvirt": "libvirt (KVM)", "lxc": "LXC"}


def _provider_finding(
    name: str,
    problems: list[str],
    fixes: list[str],
    notes: list[str],
    bad: str,
    usable: dict[str, ProviderCheck],
) -> Finding:
    title = f"Provider {PROVIDER_TITLES[name]}"
    if not problems:
        status = WARN if any("VERR_" in n for n in notes) else OK
        return Finding(status, title, "usable" + (f" ({'; '.join(notes)})" if notes else ""))
    others = [n for n, (p, _, _) in usable.items() if n != name and not p]
    fix_lines = list(dict.fromkeys(fixes))
    if bad == FAIL and others:
        fix_lines.append(f"or use a provider that works here: {', '.join(others)}")
    return Finding(bad, title, "; ".join(problems), "\n".join(fix_lines))


def _hostonly_range(spec: LabSpec, facts: Facts) -> Finding:
    subnet = ipaddress.ip_network(spec.subnet, strict=False)
    allowed = [ipaddress.ip_network(r, strict=False) for r in facts.vbox_ranges]
    shown = ", ".join(facts.vbox_ranges) or "none"
    if any(_within(subnet, r) for r in allowed):
        return Finding(
            OK,
            "VirtualBox host-only network",
            f"{subnet} is allowed ({shown}; {facts.vbox_ranges_source})",
        )
    conf = facts.host.networks_conf
    return Finding(
        FAIL,
        "VirtualBox host-only network",
        f"lab subnet {subnet} is outside the ranges VirtualBox allows: {shown} "
        f"({facts.vbox_ranges_source})",
        f'set network.subnet = "{DEFAULT_SUBNET["virtualbox"]}" in lab.toml, or allow the '
        f"range: add the line `* {subnet}` to {conf}",
    )


def _within(
    inner: ipaddress.IPv4Network | ipaddress.IPv6Network,
    outer: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def bridge_addresses(output: str) -> list[ipaddress.IPv4Interface]:
    """IPv4 interface addresses from ``ip -o addr show DEV``."""
    found = []
    for match in re.finditer(r"\binet\s+(\d+\.\d+\.\d+\.\d+/\d+)", output):
        found.append(ipaddress.IPv4Interface(match.group(1)))
    return found


def lxc_net_command() -> str:
    for script in LXC_NET_SCRIPTS:
        if Path(script).exists():
            return f"{script} start"
    return "/usr/libexec/lxc/lxc-net start"


def _bridge(spec: LabSpec | None, facts: Facts) -> Finding:
    bad = FAIL if spec is not None else WARN
    name = facts.host.bridge
    title = f"LXC bridge {name}"
    cmd = facts.cmd("bridge")
    start = (
        f"start the LXC bridge: {lxc_net_command()} (or: systemctl start lxc-net); "
        "it needs dnsmasq-base"
    )
    if not cmd.found:
        return Finding(bad, title, "cannot check: `ip` not found", "apt-get install iproute2")
    if not cmd.ok:
        return Finding(bad, title, f"{name} is not up ({cmd.why()})", start)
    addresses = bridge_addresses(cmd.output)
    if not addresses:
        return Finding(bad, title, f"{name} exists but has no IPv4 address", start)
    bridge = addresses[0]
    if spec is None:
        return Finding(OK, title, f"up, {bridge}")
    subnet = ipaddress.ip_network(spec.subnet, strict=False)
    if not _within(subnet, bridge.network):
        return Finding(
            FAIL,
            title,
            f"{name} is {bridge} but the lab's subnet is {subnet}: the containers would be "
            "unreachable",
            f'set in lab.toml [network]: subnet = "{bridge.network}" and gateway = "{bridge.ip}"',
        )
    if spec.gateway and spec.gateway != str(bridge.ip):
        return Finding(
            FAIL,
            title,
            f"{name} is {bridge.ip} but the lab routes through gateway {spec.gateway}",
            f'set in lab.toml [network]: gateway = "{bridge.ip}"',
        )
    return Finding(OK, title, f"up, {bridge}; the lab's subnet {subnet} fits")


def parse_box_list(output: str) -> list[tuple[str, str]]:
    """``[(box, provider)]`` from ``vagrant box list``."""
    boxes = []
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+\(([^,)]+)", line.strip())
        if match:
            boxes.append((match.group(1), match.group(2).strip()))
    return boxes


def _box(spec: LabSpec, facts: Facts) -> Finding:
    cmd = facts.cmd("boxes")
    title = f"Box {spec.box}"
    if not cmd.ok:
        return Finding(WARN, title, f"cannot list boxes: {cmd.why()}")
    boxes = parse_box_list(cmd.output)
    providers = sorted({p for b, p in boxes if b == spec.box})
    if spec.provider in providers:
        return Finding(OK, title, f"present for {spec.provider}")
    if spec.platform == "rehearsal":
        fix = "build it: mesoslab box build (the rehearsal box is built locally, never downloaded)"
        status = FAIL
    else:
        fix = (
            f"vagrant up will try to download it; to add it now: vagrant box add {spec.box} "
            f"--provider {spec.provider}. Public box hosting is being wound down: if that fails, "
            f"add a pre-baked box file: vagrant box add --name {spec.box} FILE.box"
        )
        status = WARN
    where = f" (present for {', '.join(providers)} only)" if providers else ""
    return Finding(status, title, f"not present for {spec.provider}{where}", fix)


def _memory(spec: LabSpec | None, facts: Facts) -> Finding:
    available = facts.mem_available_mib
    if available is None:
        return Finding(WARN, "Memory", f"free memory unknown: {facts.mem_source}")
    if spec is None:
        return Finding(OK, "Memory", f"{available / 1024:.1f} GiB available")
    machines = sum(n.memory for n in spec.nodes)
    need = machines + HOST_HEADROOM_MIB
    detail = (
        f"{available / 1024:.1f} GiB available; the lab's {len(spec.nodes)} nodes ask for "
        f"{machines / 1024:.1f} GiB + {HOST_HEADROOM_MIB / 1024:.0f} GiB for the host"
    )
    if available >= need:
        return Finding(OK, "Memory", detail)
    fix = (
        "close other programs, lower [resources] memory in lab.toml, or use the smaller "
        "preset 1m-2a"
    )
    if spec.provider == "lxc":
        return Finding(
            WARN, "Memory", detail + " (containers share the host's memory: may still fit)", fix
        )
    return Finding(FAIL if available < machines else WARN, "Memory", detail, fix)


def _disk(spec: LabSpec | None, facts: Facts) -> Finding:
    if facts.disk_free is None:
        return Finding(WARN, "Disk", f"free space of {facts.disk_path} unknown")
    kind = "lxc" if spec is not None and spec.provider == "lxc" else "vm"
    if spec is None:
        kind = "lxc"
    limit = DISK_WARN_GIB[kind]
    free = facts.disk_free / GIB
    detail = f"{free:.1f} GiB free at {facts.disk_path}"
    if free >= limit:
        return Finding(OK, "Disk", detail)
    what = "containers" if kind == "lxc" else "VMs"
    return Finding(
        WARN,
        "Disk",
        f"{detail}; a lab of {what} wants about {limit} GiB",
        "free some space (vagrant box prune removes old boxes)",
    )


# ----------------------------------------------------------------------------- rendering

SYMBOLS = {OK: ("✔", "green"), WARN: ("!", "yellow"), FAIL: ("✘", "red")}


def exit_status(findings: list[Finding]) -> int:
    return 1 if any(f.status == FAIL for f in findings) else 0


def render(findings: list[Finding], console: Console) -> None:
    """One line per finding (symbol, title, detail) and its fix lines, wrapped in place."""
    from rich.markup import escape
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for finding in findings:
        symbol, colour = SYMBOLS[finding.status]
        text = f"[bold]{escape(finding.title)}[/]"
        if finding.detail:
            text += f": {escape(finding.detail)}"
        for fix in finding.fix.splitlines():
            text += f"\n[{colour}]→[/] {escape(fix)}"
        grid.add_row(f"[{colour}]{symbol}[/]", text)
    console.print(grid, highlight=False)
    fails = sum(f.status == FAIL for f in findings)
    warns = sum(f.status == WARN for f in findings)
    if fails:
        console.print(f"\n[red]{fails} problem(s)[/], {warns} warning(s): fix the ✘ lines first.")
    elif warns:
        console.print(f"\n[yellow]{warns} warning(s)[/], nothing blocking.")
    else:
        console.print("\n[green]All good.[/]")
