"""Assess: turn the gathered facts and the lab spec into findings, each with what to do,
in reading order: the lab, Vagrant, the CPU, providers, network, box, memory and disk."""

from __future__ import annotations

import re

from mesoslab.lab.address_clash import AddressClash, way_out
from mesoslab.lab.doctor.facts import ARM, FAIL, GIB, OK, WARN, X86, Facts, Finding
from mesoslab.lab.doctor.providers import (
    ProviderCheck,
    bridge_finding,
    check_providers,
    hostonly_finding,
    nested_containers_finding,
    provider_finding,
    virtualization_finding,
)
from mesoslab.lab.spec import LAB_FILE, LabSpec

VM_PROVIDERS = ("virtualbox", "libvirt")
HOST_HEADROOM_MIB = 1024  # what the host itself needs beside the lab's machines
DISK_WARN_GIB = {"vm": 10, "lxc": 2}


def assess(spec: LabSpec | None, facts: Facts) -> list[Finding]:
    """Findings in reading order: the lab, Vagrant, the CPU, providers, network, box, room."""
    usable = check_providers(facts)
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
        findings.append(virtualization_finding(spec, facts))
    if spec is None:
        for name, (problems, fixes, notes) in usable.items():
            findings.append(provider_finding(name, problems, fixes, notes, WARN, usable))
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
        findings.append(provider_finding(spec.provider, problems, fixes, notes, FAIL, usable))
    if spec is not None and spec.provider == "virtualbox":
        findings.append(hostonly_finding(spec, facts))
    if (spec is not None and spec.provider == "lxc") or (
        spec is None and facts.host.system == "Linux" and facts.cmd("lxc-create").found
    ):
        findings.append(bridge_finding(spec, facts))
        findings.append(nested_containers_finding(facts))
    if spec is not None and facts.clashes is not None:
        findings.append(_addresses(spec, facts.clashes))
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


def _addresses(spec: LabSpec, clashes: list[AddressClash]) -> Finding:
    if not clashes:
        free = ", ".join(node.address for node in spec.nodes)
        return Finding(OK, "Addresses", f"free: {free}")
    return Finding(FAIL, "Addresses", "; ".join(c.line() for c in clashes), way_out(clashes))


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


def exit_status(findings: list[Finding]) -> int:
    """1 when a finding blocks the lab (``fail``), else 0."""
    return 1 if any(f.status == FAIL for f in findings) else 0
