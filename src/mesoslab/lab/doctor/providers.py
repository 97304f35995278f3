"""Providers: what each of VirtualBox, libvirt (KVM) and LXC needs, and what stands in
its way on this machine; with hardware virtualization, VirtualBox's host-only ranges and
the LXC bridge. Each provider check gives (problems, fixes, notes); :func:`provider_finding`
turns them into one finding that also names the providers that would work instead.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from mesoslab.lab.doctor.facts import ARM, FAIL, OK, WARN, Facts, Finding
from mesoslab.lab.spec import DEFAULT_SUBNET, LabSpec

LXC_NET_SCRIPTS = (
    "/usr/libexec/lxc/lxc-net",
    "/usr/lib/x86_64-linux-gnu/lxc/lxc-net",
    "/usr/lib/lxc/lxc-net",
)
LIBVIRT_SOCKETS = ("/var/run/libvirt/libvirt-sock", "/run/libvirt/libvirt-sock")
PROVIDER_TITLES = {"virtualbox": "VirtualBox", "libvirt": "libvirt (KVM)", "lxc": "LXC"}

ProviderCheck = tuple[list[str], list[str], list[str]]  # problems, fixes, notes


LXC_FIX = (
    'VirtualBox and libvirt cannot run here: use provider = "lxc" with platform = '
    '"rehearsal" (mesoslab init --provider lxc --platform rehearsal)'
)


def virtualization_finding(spec: LabSpec | None, facts: Facts) -> Finding:
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


def check_providers(facts: Facts) -> dict[str, ProviderCheck]:
    """(problems, fixes, notes) of every provider, in the order findings list them."""
    return {
        "virtualbox": _virtualbox(facts),
        "libvirt": _libvirt(facts),
        "lxc": _lxc(facts),
    }


def provider_finding(
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


def hostonly_finding(spec: LabSpec, facts: Facts) -> Finding:
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


def bridge_finding(spec: LabSpec | None, facts: Facts) -> Finding:
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


NESTED_TITLE = "Containers in the LXC nodes"
NESTED_README = "boxes/rehearsal-debian12/README.md (Docker in the nodes)"


def nested_containers_finding(facts: Facts) -> Finding:
    """What Docker (and an emulated unified containerizer) inside the rehearsal nodes gets
    from this host. Measured on a cgroup-v1 (hybrid) host without AppArmor; a stock Debian
    12 host has cgroup v2 and AppArmor, which were not measured: the finding says so."""
    mode, apparmor = facts.cgroups, facts.apparmor
    if not mode:
        return Finding(WARN, NESTED_TITLE, "cannot tell how cgroups are mounted here")
    notes: list[str] = []
    if mode == "v2":
        notes.append(
            "cgroups v2 (unified): Docker 20.10 in the nodes supports it, but this was not "
            "measured with mesoslab; released Mesos (1.11 and older) needs cgroups v1, so on "
            "this host lessons 7 and 9 run on the rehearsal lab's emulation only"
        )
    if apparmor:
        notes.append(
            "AppArmor is on: the nodes need vagrant-lxc's nesting profile (its default "
            "lxc.apparmor.allow_nesting = 1) and the box's apparmor package for Docker's "
            "docker-default profile (not measured with mesoslab)"
        )
    if notes:
        return Finding(
            WARN,
            NESTED_TITLE,
            "; ".join(notes),
            f"if `docker run` fails in a node, see {NESTED_README}",
        )
    how = "AppArmor off" if apparmor is False else "AppArmor unknown"
    return Finding(
        OK,
        NESTED_TITLE,
        f"cgroups {mode}, {how}: Docker runs in the nodes (measured); CPU limits through "
        "the Vagrantfile's lxc.mount.auto = cgroup:mixed:force",
    )
