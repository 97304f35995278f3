"""``dcos_install.sh [options] <role>...`` on a node, emulated (DC/OS 1.10.0's
``gen/build_deploy/bash.py``): the preflight checks with their ``PASS``/``FAIL`` lines,
``/etc/mesosphere/roles/<role>`` and ``setup-flags``, the bootstrap tarball downloaded for
real from ``bootstrap_url`` into ``/opt/mesosphere``, the role's files and ``dcos-*`` units
(:mod:`.units`), then ``dcos.target`` started. ``MESOSLAB_TWIN_ROOT`` moves every path (tests);
``NO_SYSTEMCTL=1`` skips systemctl."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mesoslab_twin.common.config import Root
from mesoslab_twin.dcos import EMULATION_NOTE, OPT, units

ROLES = ("master", "slave", "slave_public")
MASTER_PORTS = (
    53,
    80,
    443,
    1050,
    2181,
    5050,
    7070,
    8080,
    8101,
    8123,
    8181,
    9000,
    9942,
    9990,
    15055,
    33107,
    36771,
    41281,
    42819,
    43911,
    46839,
    61053,
    61420,
    61421,
    62053,
    62080,
)
AGENT_PORTS = (53, 5051, 34451, 39851, 43995, 61001, 61420, 61421, 62053, 62080)
TOOLS = ("curl", "bash", "ping", "tar", "xz", "unzip", "ipset", "systemd-notify")
# tools the real preflight wants that the emulation never runs: missing is not fatal here
NOT_USED = ("unzip", "ipset", "xz")


class Preflight:
    def __init__(self, root: Root, roles: list[str], out: Any) -> None:
        self.root, self.roles, self.out = root, roles, out
        self.failed = 0

    def line(self, what: str, ok: bool, detail: str = "", fatal: bool = True) -> None:
        word = "PASS" if ok else "FAIL"
        if not ok and not fatal:
            detail = (
                detail + "; " if detail else ""
            ) + "not fatal on the rehearsal lab: the emulation does not use it"
        print(f"{what}: {word}" + (f" ({detail})" if detail else ""), file=self.out)
        if not ok and fatal:
            self.failed += 1

    def run(self) -> int:
        print("Running preflight checks", file=self.out)
        existing = (
            self.root.path("/etc/systemd/system/dcos.target").exists()
            or self.root.path(OPT).exists()
        )
        self.line(
            "Checking if DC/OS is already installed",
            not existing,
            "Found an existing DC/OS installation. To reinstall DC/OS on this machine you "
            "must first uninstall DC/OS then run dcos_install.sh"
            if existing
            else "Not installed",
        )
        enforcing = shutil.which("getenforce") is not None and _out(["getenforce"]) == "Enforcing"
        self.line(
            "Checking if SELinux is disabled", not enforcing, "Enforcing" if enforcing else ""
        )
        docker = shutil.which("docker") is not None
        self.line("Checking if docker is installed and in PATH", docker)
        version = _out(["docker", "version", "--format", "{{.Server.Version}}"]) if docker else ""
        self.line(
            "Checking docker version requirement (>= 1.6)",
            _at_least(version, (1, 6)),
            version or "the Docker daemon does not answer: is docker running?",
        )
        for tool in TOOLS:
            found = shutil.which(tool) is not None
            self.line(
                f"Checking if {tool} is installed and in PATH", found, fatal=tool not in NOT_USED
            )
        systemd = _out(["systemctl", "--version"]).split()
        number = systemd[1] if len(systemd) > 1 else ""
        self.line(
            "Checking systemd version requirement (>= 200)",
            number.isdigit() and int(number) >= 200,
            number,
        )
        group = (
            subprocess.run(
                ["getent", "group", "nogroup"], capture_output=True, check=False
            ).returncode
            == 0
        )
        self.line("Checking if group 'nogroup' exists", group)
        ports = set(MASTER_PORTS if "master" in self.roles else ()) | set(
            AGENT_PORTS if set(self.roles) & {"slave", "slave_public"} else ()
        )
        busy = listening_ports()
        for port in sorted(ports):
            self.line(
                f"Checking if port {port} is in use",
                port not in busy,
                "in use" if port in busy else "",
            )
        return self.failed


def _out(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _at_least(version: str, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


def listening_ports() -> set[int]:
    ports: set[int] = set()
    for table, state in (
        ("/proc/net/tcp", "0A"),
        ("/proc/net/tcp6", "0A"),
        ("/proc/net/udp", "07"),
        ("/proc/net/udp6", "07"),
    ):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            words = row.split()
            if len(words) > 3 and words[3] == state:
                ports.add(int(words[1].rsplit(":", 1)[1], 16))
    return ports


def detect_ip(root: Root) -> str:
    """Run /opt/mesosphere/bin/detect_ip (the cluster's ip-detect): one IPv4 address."""
    script = root.path(f"{OPT}/bin/detect_ip")
    try:
        done = subprocess.run(
            ["/bin/bash", str(script)], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SystemExit(f"ip-detect could not run: {exc}") from None
    words = done.stdout.split()
    if done.returncode != 0 or len(words) != 1:
        raise SystemExit(
            "ip-detect must print exactly one IPv4 address of this node; it printed "
            f"{done.stdout.strip()!r}"
            f" (exit {done.returncode}). Fix genconf/ip-detect, run dcos_generate_config.sh again."
        )
    try:
        ipaddress.IPv4Address(words[0])
    except ValueError:
        raise SystemExit(f"ip-detect printed {words[0]!r}, not an IPv4 address") from None
    return words[0]


def lab_registry(root: Root) -> str:
    """The rehearsal lab's registry, as Docker on this node knows it (the first of
    ``registry-mirrors`` in /etc/docker/daemon.json, which mesoslab's provisioning writes)."""
    try:
        doc = json.loads(root.path("/etc/docker/daemon.json").read_text())
    except (OSError, ValueError):
        return ""
    mirrors = doc.get("registry-mirrors") if isinstance(doc, dict) else None
    return str(mirrors[0]) if isinstance(mirrors, list) and mirrors else ""


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return bytes(answer.read())


def install(
    root: Root, roles: list[str], bootstrap_url: str, bid: str, out: Any, *, block: bool
) -> int:
    print("Creating directories under /etc/mesosphere", file=out)
    for role in roles:
        path = root.path(f"/etc/mesosphere/roles/{role}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        print(f"Creating role file for {role}", file=out)
    flags = root.path("/etc/mesosphere/setup-flags")
    flags.mkdir(parents=True, exist_ok=True)
    (flags / "repository-url").write_text(bootstrap_url + "\n")
    url = f"{bootstrap_url}/bootstrap/{bid}.bootstrap.tar.xz"
    print(f"Downloading {url}", file=out)
    try:
        blob = download(url)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(
            f"FAIL Could not download the bootstrap tarball from {url}: {exc}. Is the bootstrap"
            " node serving genconf/serve/ at bootstrap_url?",
            file=out,
        )
        return 1
    opt = root.path(OPT)
    opt.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:xz") as tar:
        try:
            tar.extractall(opt, filter="data")
        except TypeError:  # a Python without extraction filters (the tarball is ours)
            tar.extractall(opt)
    (flags / "cluster-packages.json").write_text(json.dumps([f"dcos-config--setup_{bid}"]) + "\n")
    args = json.loads((opt / "etc/dcos-config.json").read_text())
    ip = detect_ip(root)
    print(f"This node's IP (ip-detect): {ip}", file=out)
    registry = lab_registry(root)
    if registry and any(r.startswith("slave") for r in roles):
        print(
            f"mesoslab rehearsal: the Mesos containerizer pulls images from the lab registry"
            f" {registry} (real DC/OS keeps Mesos's default, Docker Hub, out of reach here)",
            file=out,
        )
    system = root.path("/etc/systemd/system")
    system.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for role in roles:
        for rel, text in units.files_for(role, args, ip, docker_registry=registry).items():
            path = opt / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for name, text in units.units_for(role, ip).items():
            (system / f"{name}.service").write_text(text)
            if name not in names:
                names.append(name)
    (system / "dcos.target").write_text(units.target(names))
    print("Installed: " + ", ".join(f"{n}.service" for n in names), file=out)
    if os.environ.get("NO_SYSTEMCTL") or str(root.base) != "/":
        return 0
    subprocess.run(["systemctl", "daemon-reload"], check=False)
    subprocess.run(["systemctl", "enable", "dcos.target"], check=False, capture_output=True)
    start = ["systemctl", "start", "dcos.target"] + ([] if block else ["--no-block"])
    done = subprocess.run(start, check=False)
    print(
        "Starting DC/OS: systemctl start dcos.target" + ("" if done.returncode == 0 else " FAILED"),
        file=out,
    )
    return 0 if done.returncode == 0 else 1


def run(root: Root, argv: list[str]) -> int:
    out = sys.stdout
    url = bid = ""
    options, roles = [], []
    for arg in argv:
        if arg.startswith("--bootstrap-url="):
            url = arg.split("=", 1)[1]
        elif arg.startswith("--bootstrap-id="):
            bid = arg.split("=", 1)[1]
        elif arg.startswith("--"):
            options.append(arg)
        else:
            roles.append(arg)
    print(f"Starting DC/OS Install Process ({EMULATION_NOTE})", file=out)
    if str(root.base) == "/" and os.geteuid() != 0:
        print("FAIL dcos_install.sh must be run as root (sudo bash dcos_install.sh ...)", file=out)
        return 1
    unknown = [
        o
        for o in options
        if o not in ("--disable-preflight", "--preflight-only", "--no-block-dcos-setup")
    ]
    if unknown or not roles:
        print(
            "Usage: dcos_install.sh [--disable-preflight|--preflight-only|"
            "--no-block-dcos-setup] <role>...",
            file=out,
        )
        return 1
    for role in roles:
        if role not in ROLES:
            print(
                f"FAIL Invalid role {role}. Role must be one of {{master,slave,slave_public}}",
                file=out,
            )
            return 1
    if "--disable-preflight" not in options:
        failed = Preflight(root, roles, out).run()
        if failed:
            print(
                f"Preflight checks: {failed} FAIL. Fix them and run dcos_install.sh again.",
                file=out,
            )
            return 1
        if "--preflight-only" in options:
            return 0
    return install(root, roles, url, bid, out, block="--no-block-dcos-setup" not in options)
