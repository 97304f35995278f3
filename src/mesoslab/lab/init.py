"""`mesoslab init`: write a commented lab.toml a person can edit, and the generic Vagrantfile.

The file is rendered from a template rather than dumped from data so that every key carries
a comment saying what it does and what is allowed, with the facts of 2026 where they matter
(Mesosphere repos gone, CentOS 7 EOL, VirtualBox host-only ranges, the LXC bridge).
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import mesoslab
from mesoslab.errors import InitError
from mesoslab.lab.address_clash import AddressClash, free_layout
from mesoslab.lab.presets import PRESETS
from mesoslab.lab.spec import (
    CHANNELS,
    DEFAULT_BOX,
    DEFAULT_SUBNET,
    LAB_FILE,
    MESOSPHERE_REPO_RPM,
    PLATFORMS,
    PROVIDERS,
    VAULT_URL,
    LabSpec,
    parse_lab,
)

VAGRANTFILE = "Vagrantfile"
DEFAULT_PRESET = "1m-2a"
# What `[resources]` says when nothing is given (the defaults of lab.toml parsing).
DEFAULT_CPUS = 1
DEFAULT_MEMORY = 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class InitResult:
    lab_file: Path
    spec: LabSpec  # what the written file parses to
    vagrantfile: str  # one line saying what happened to the Vagrantfile
    vagrantfile_ok: bool  # False when the lab has no usable Vagrantfile yet
    taken: tuple[AddressClash, ...] = ()  # default addresses another machine holds


def default_provider(platform: str | None) -> str:
    """The rehearsal box is an LXC container image; everything else defaults to VirtualBox."""
    return "lxc" if platform == "rehearsal" else "virtualbox"


def default_packages(platform: str) -> str:
    return "mesosphere" if platform == "centos7" else "prebaked"


def validate_packages(text: str) -> str:
    """``mesosphere``, ``aventer``, ``prebaked`` or ``local:PATH``; raise InitError otherwise."""
    channel, sep, path = text.partition(":")
    if channel not in CHANNELS or (channel == "local") != bool(sep) or (sep and not path):
        raise InitError(
            f"--packages {text!r} is not allowed; use mesosphere, aventer, prebaked or "
            "local:PATH (a folder of RPMs)"
        )
    return text


def validate_combination(provider: str, platform: str) -> None:
    if platform == "rehearsal" and provider != "lxc":
        raise InitError(
            f"--platform rehearsal runs on --provider lxc only (its box is an LXC container "
            f"image built locally), not on {provider}",
            hint="use --provider lxc, or --platform centos7 for VirtualBox/libvirt VMs",
        )


def bundled_vagrantfile() -> Path | None:
    """The generic Vagrantfile: the checkout's (editable install) or the packaged copy."""
    package = Path(mesoslab.__file__).resolve().parent
    for candidate in (package.parents[1] / VAGRANTFILE, package / "_data" / VAGRANTFILE):
        if candidate.is_file():
            return candidate
    return None


def _toml_str(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def render_lab_toml(
    *,
    name: str,
    preset: str = DEFAULT_PRESET,
    provider: str | None = None,
    platform: str = "centos7",
    packages: str | None = None,
    addresses: Mapping[str, str] | None = None,
    taken: Sequence[AddressClash] = (),
) -> str:
    """The commented lab.toml for these options (they must be valid).

    ``addresses`` (node → address) moves the preset's nodes: they are written as [[node]]
    tables, after a comment naming who holds the default addresses (``taken``)."""
    provider = provider or default_provider(platform)
    packages = packages or default_packages(platform)
    subnet = DEFAULT_SUBNET[provider]
    box = DEFAULT_BOX[platform]
    preview = parse_lab(
        {
            "name": name,
            "preset": preset,
            "provider": provider,
            "platform": platform,
            "packages": packages,
        }
    )
    s = _toml_str
    lines = [
        f"# mesoslab lab {name!r}: written by `mesoslab init`, yours to edit.",
        "# `mesoslab doctor` checks that this machine can run it; `mesoslab up` builds it.",
        "# A key you delete takes its default (shown in its comment).",
        "",
        "# The lab's name: shown by `mesoslab status` and used in the Vagrant machine names.",
        f"name = {s(name)}",
        "",
        "# The node layout the lessons need (each lesson names the preset it expects):",
        '#   "1m-2a"  one master running zookeeper, marathon and chronos; two agents (3 machines)',
        '#   "3m-3a"  three masters each running zookeeper (marathon and chronos on master1);',
        "#            three agents (6 machines) - the HA lessons",
        '#   "dcos"   a DC/OS bootstrap node, one master, two private agents and one public',
        "#            agent (5 machines) - lesson 10",
        "# [[node]] tables (see the end of this file) replace the preset's nodes.",
        f"preset = {s(preset)}",
        "",
        "# How the machines run. Allowed values:",
        '#   "virtualbox"  VMs; needs VT-x/AMD-V and, on Linux, the vboxdrv kernel module',
        '#   "libvirt"     KVM VMs on Linux; needs the vagrant-libvirt plugin and /dev/kvm',
        '#   "lxc"         containers on Linux; needs the vagrant-lxc plugin, root (or sudo) and',
        "#                 the lxcbr0 bridge; no hardware virtualization needed (cloud VMs,",
        "#                 laptops without VT-x), no snapshots",
        f"provider = {s(provider)}",
        "",
        "# What runs on the machines. Allowed values:",
        '#   "centos7"    CentOS 7 x86_64 boxes with the real Mesos, Marathon, Chronos and',
        "#                ZooKeeper packages, as in the lessons (x86_64 only: not Apple Silicon)",
        '#   "rehearsal"  a Debian 12 LXC box built locally by `mesoslab box build`: real',
        "#                ZooKeeper, systemd and SSH; emulated Mesos, Marathon and Chronos. For",
        "#                authors, instructors, CI and machines that cannot run VMs.",
        f"platform = {s(platform)}",
        "",
        f'# The Vagrant box of every machine. Default: "{DEFAULT_BOX["centos7"]}" (centos7),',
        f'# "{DEFAULT_BOX["rehearsal"]}" (rehearsal).',
        "# Public box hosting is being wound down (2026): a pre-baked local box is the",
        "# dependable choice (`vagrant box add --name NAME path/to/file.box`, see boxes/).",
        f"box = {s(box)}",
        "",
        "# Where the Mesos-family packages come from (platform centos7). Allowed values:",
        '#   "mesosphere"  the original repos.mesosphere.io el7 repo RPM. Mesosphere/D2iQ',
        "#                 services are off and several versions answer 404 in 2026: mesoslab",
        "#                 probes it first and tells you when it is gone",
        '#   "aventer"     the community RPMs of AVENTER (Mesos 1.11)',
        '#   "local:PATH"  a folder of RPMs on this machine, served to the nodes as a yum repo',
        '#   "prebaked"    the box already has everything installed: no downloads',
        '# Default: "mesosphere" for centos7, "prebaked" for rehearsal.',
        f"packages = {s(packages)}",
        "",
        "# Mirrors (uncomment [mirrors] and a key to change it). CentOS 7 is end-of-life: its",
        "# base repos are gone from mirror.centos.org and mesoslab rewrites them to vault_url.",
        "# [mirrors]",
        f"# vault_url = {s(VAULT_URL)}",
        f"# mesosphere_repo_rpm = {s(MESOSPHERE_REPO_RPM)}",
        '# aventer_repo_url = "https://..."   # a mirror of the AVENTER repository',
        "",
        "[network]",
        "# The nodes' network. Preset masters get .11 .12 .13, agents .21 .22 .23 of it.",
        "# VirtualBox (6.1.28+) allows host-only networks only inside 192.168.56.0/21 unless",
        "# /etc/vbox/networks.conf lists more, e.g. the line `* 10.20.0.0/16`.",
        "# LXC attaches the containers to the lxc-net bridge lxcbr0 (10.0.3.0/24 on Debian) with",
        "# static addresses, so the subnet must be the bridge's.",
        f'# Default: "{DEFAULT_SUBNET["virtualbox"]}" (virtualbox, libvirt), '
        f'"{DEFAULT_SUBNET["lxc"]}" (lxc).',
        f"subnet = {s(subnet)}",
    ]
    if provider == "lxc":
        lines += [
            "# The bridge's address the containers route through (default: the subnet's first",
            "# address; lxcbr0 is 10.0.3.1 on Debian).",
            f"# gateway = {s(preview.gateway or '')}",
        ]
    lines += [
        "",
        "[resources]",
        "# CPUs and memory (MiB) of every node unless a [[node]] says otherwise. A master",
        "# that also runs zookeeper, marathon and chronos is happier with 2048.",
        f"cpus = {DEFAULT_CPUS}",
        f"memory = {DEFAULT_MEMORY}",
        "",
        f"# The nodes of preset {preset!r}, as [[node]] tables. Uncomment them all to lay the",
        "# lab out yourself (add, remove, rename nodes, change roles). Keys: name (letters,",
        "# digits, dashes), roles (master, agent, zookeeper, marathon, chronos, marathon-lb,",
        "# mesos-dns, dcos-bootstrap), address (inside network.subnet), cpus, memory.",
    ]
    mark = "# "
    if addresses:
        mark = ""
        lines += [
            "#",
            "# `mesoslab init` moved them off the preset's addresses, which were taken:",
            *(f"#   {clash.line()}" for clash in taken),
        ]
    for node in preview.nodes:
        roles = ", ".join(s(r) for r in node.roles)
        address = (addresses or {}).get(node.name, node.address)
        lines += [
            "#",
            f"{mark}[[node]]",
            f"{mark}name = {s(node.name)}",
            f"{mark}roles = [{roles}]",
            f"{mark}address = {s(address)}",
            f"{mark}cpus = {node.cpus}",
            f"{mark}memory = {node.memory}",
        ]
    return "\n".join(lines) + "\n"


def write_lab(
    directory: str | Path = ".",
    *,
    name: str | None = None,
    preset: str = DEFAULT_PRESET,
    provider: str | None = None,
    platform: str = "centos7",
    packages: str | None = None,
    force: bool = False,
    vagrantfile: Path | None = None,
    check_addresses: bool = True,
) -> InitResult:
    """Write ``directory/lab.toml`` (and copy ``vagrantfile``, default: the bundled one).

    With ``check_addresses``, preset addresses that another machine holds are moved to
    free ones (see :func:`free_layout`), and lab.toml says why.

    Raises InitError when an option is invalid or lab.toml exists and ``force`` is off.
    """
    if preset not in PRESETS:
        raise InitError(f"--preset {preset!r} is not allowed; use one of {', '.join(PRESETS)}")
    if platform not in PLATFORMS:
        raise InitError(
            f"--platform {platform!r} is not allowed; use one of {', '.join(PLATFORMS)}"
        )
    provider = provider or default_provider(platform)
    if provider not in PROVIDERS:
        raise InitError(
            f"--provider {provider!r} is not allowed; use one of {', '.join(PROVIDERS)}"
        )
    validate_combination(provider, platform)
    packages = validate_packages(packages or default_packages(platform))
    target = Path(directory).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} exists and is not a folder")
    if name is None:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", target.name).strip("-._") or "mesoslab"
    if not _NAME_RE.match(name):
        raise InitError(
            f"--name {name!r} is not allowed; use letters, digits, dots, dashes and "
            "underscores, starting with a letter or digit"
        )
    lab_file = target / LAB_FILE
    if lab_file.exists() and not force:
        raise InitError(
            f"{lab_file} already exists; mesoslab init does not overwrite it",
            hint="edit it, or pass --force to replace it with a fresh one",
        )
    text = render_lab_toml(
        name=name, preset=preset, provider=provider, platform=platform, packages=packages
    )
    spec = parse_lab(tomllib.loads(text), directory=target, source=str(lab_file))
    taken: list[AddressClash] = []
    if check_addresses:
        taken, moved = free_layout(spec)
        if moved:
            text = render_lab_toml(
                name=name,
                preset=preset,
                provider=provider,
                platform=platform,
                packages=packages,
                addresses=moved,
                taken=taken,
            )
            spec = parse_lab(tomllib.loads(text), directory=target, source=str(lab_file))
    target.mkdir(parents=True, exist_ok=True)
    tmp = lab_file.with_name(f".{LAB_FILE}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(lab_file)
    message, ok = _install_vagrantfile(
        target, vagrantfile if vagrantfile is not None else bundled_vagrantfile(), force
    )
    return InitResult(
        lab_file=lab_file, spec=spec, vagrantfile=message, vagrantfile_ok=ok, taken=tuple(taken)
    )


def _install_vagrantfile(target: Path, source: Path | None, force: bool) -> tuple[str, bool]:
    dest = target / VAGRANTFILE
    if source is None:
        if dest.is_file():
            return f"kept the existing {dest}", True
        return (
            "the generic Vagrantfile was not found in this mesoslab installation: copy "
            "Vagrantfile from the mesoslab repository into the lab folder",
            False,
        )
    source = source.resolve()
    if source.parent == target:
        return "this is the mesoslab checkout: its own Vagrantfile serves the lab", True
    if dest.is_file():
        if dest.read_bytes() == source.read_bytes():
            return f"{dest} is already mesoslab's generic Vagrantfile", True
        if not force:
            return (
                f"kept your {dest}: it differs from mesoslab's generic Vagrantfile "
                "(--force replaces it)",
                True,
            )
    shutil.copyfile(source, dest)
    return f"copied the generic Vagrantfile to {dest}", True
