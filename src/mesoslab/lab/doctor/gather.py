"""Gather: what this machine has. Every probe runs at once (each command bounded by a
timeout, in threads): Vagrant and its plugins and boxes, the providers' tools, /dev/kvm and
the CPU's flags, the LXC bridge, sudo, memory, disk and VirtualBox's allowed networks.
Where the probes look is a :class:`~.facts.Host`; nothing here judges what it saw.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import re
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mesoslab.lab.address_clash import AddressClash, find_clashes
from mesoslab.lab.doctor.facts import (
    GIB,
    VBOX_DEFAULT_RANGES,
    X86,
    Command,
    Facts,
    Host,
    KvmState,
)
from mesoslab.lab.spec import LabSpec

KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00); KVM_API_VERSION is 12


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
        clashes = pool.submit(_clashes, spec, host) if spec is not None else None
        facts.commands = {name: future.result() for name, future in futures.items()}
        facts.kvm = kvm_future.result()
        facts.clashes = clashes.result() if clashes is not None else None
    if host.system == "Darwin":
        facts.mem_available_mib, facts.mem_source = _darwin_memory(facts)
    else:
        facts.mem_available_mib, facts.mem_source = read_meminfo(host.meminfo)
    place = lab_dir or (spec.directory if spec is not None else Path.cwd())
    facts.disk_path, facts.disk_free = _disk_free(place)
    facts.vbox_ranges, facts.vbox_ranges_source = read_vbox_ranges(host.networks_conf)
    if host.system == "Linux":
        facts.cgroups = cgroup_mode(host.mounts)
        facts.apparmor = apparmor_enabled(host.apparmor)
    if host.system == "Darwin":
        hv = facts.cmd("hv_support")
        hardware = hv.ok and hv.output.strip() == "1"
        seen = f"sysctl kern.hv_support = {hv.output.strip()}" if hv.ok else hv.why()
        facts.kvm = KvmState(False, f"macOS, {seen}", hardware if hv.ok else None)
    return facts


def _clashes(spec: LabSpec, host: Host) -> list[AddressClash]:
    """Who else holds the lab's addresses (the provider tools looked up on ``host.path``)."""

    def run(argv: list[str]) -> str | None:
        done = run_command(argv, host, 10)
        return done.output if done.ok else None

    return find_clashes(spec, run=run)


def cgroup_mode(mounts: Path) -> str:
    """How the cgroup file systems are mounted, from a /proc/mounts-style file: "v2" (one
    cgroup2 at /sys/fs/cgroup, Debian 12's default), "hybrid" (v1 controllers, cgroup2 at
    /sys/fs/cgroup/unified), "v1", or "" when it cannot tell."""
    try:
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    types = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 3:
            types[fields[1]] = fields[2]
    root = types.get("/sys/fs/cgroup")
    if root == "cgroup2":
        return "v2"
    if root is None and not any(t == "cgroup" for t in types.values()):
        return ""
    return "hybrid" if types.get("/sys/fs/cgroup/unified") == "cgroup2" else "v1"


def apparmor_enabled(path: Path) -> bool | None:
    """The kernel's AppArmor switch ("Y"/"N"); False when the kernel has none at all."""
    try:
        return path.read_text().strip().upper().startswith("Y")
    except FileNotFoundError:
        return False if not path.parent.parent.exists() else None
    except OSError:
        return None


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
