"""`mesoslab doctor` with the real commands of this machine; other machines are described
through `Host` (another PATH, architecture, /proc files, networks.conf), never mocks."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from mesoslab.cli.doctor_view import render
from mesoslab.cli.lab import doctor as doctor_cmd
from mesoslab.cli.main import _Group
from mesoslab.lab.doctor import (
    FAIL,
    OK,
    WARN,
    Finding,
    Host,
    doctor_for_dir,
    exit_status,
    run_doctor,
)
from mesoslab.lab.doctor.assess import parse_box_list
from mesoslab.lab.doctor.gather import parse_vm_stat, read_vbox_ranges
from mesoslab.lab.doctor.providers import bridge_addresses
from mesoslab.lab.init import write_lab
from mesoslab.lab.spec import LabSpec, load_lab

HAS_VAGRANT = shutil.which("vagrant") is not None
CPUINFO_NO_VT = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae hypervisor sse2\n"
CPUINFO_VT = "processor\t: 0\nflags\t\t: fpu vme vmx de pse tsc msr pae sse2\n"


def meminfo(mib: int) -> str:
    return f"MemTotal:  {mib * 2048} kB\nMemFree:  {mib * 512} kB\nMemAvailable:  {mib * 1024} kB\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "cpuinfo").write_text(CPUINFO_NO_VT)
    (tmp_path / "meminfo").write_text(meminfo(16 * 1024))
    (tmp_path / "empty-path").mkdir()
    return tmp_path


def tools(files: Path, *names: str) -> str:
    """A PATH holding only the named commands of this machine (the real programs)."""
    folder = files / ("tools-" + "-".join(names))
    folder.mkdir(exist_ok=True)
    for name in names:
        real = shutil.which(name)
        if real is None:
            continue  # not installed here: then it is missing on this PATH too
        link = folder / name
        if not link.exists():
            link.symlink_to(real)
    return str(folder)


def host(files: Path, **changes: object) -> Host:
    """/proc files and device paths from ``files``; no commands at all unless ``path`` (a
    PATH) says which: most tests are about what the files say, and Vagrant is slow."""
    base: dict[str, object] = {
        "path": str(files / "empty-path"),
        "cpuinfo": files / "cpuinfo",
        "meminfo": files / "meminfo",
        "networks_conf": files / "networks.conf",
        "vboxdrv": files / "vboxdrv",
        "kvm": files / "kvm",
        "arch": "x86_64",
        "system": "Linux",
    }
    base.update(changes)
    return Host(**base)  # type: ignore[arg-type]


def lab(tmp_path: Path, **options: str) -> LabSpec:
    folder = tmp_path / "lab"
    write_lab(folder, force=True, vagrantfile=None, check_addresses=False, **options)  # type: ignore[arg-type]
    return load_lab(folder)


def by_title(findings: list[Finding]) -> dict[str, Finding]:
    titles = [f.title for f in findings]
    assert len(titles) == len(set(titles)), titles
    return {f.title: f for f in findings}


# ------------------------------------------------------------------- this very machine


@pytest.mark.skipif(not HAS_VAGRANT, reason="vagrant is not installed here")
def test_this_machine_without_a_lab(files: Path) -> None:
    found = by_title(run_doctor(None, host(files, path=None)))
    assert found["lab.toml"].status == WARN and "mesoslab init" in found["lab.toml"].fix
    vagrant = found["Vagrant"]
    expected = subprocess.run(["vagrant", "--version"], capture_output=True, text=True).stdout
    assert vagrant.status == OK and vagrant.detail == expected.strip()
    for title in ("Provider VirtualBox", "Provider libvirt (KVM)", "Provider LXC"):
        assert found[title].status in (OK, WARN), found[title]
    assert found["Memory"].detail == "16.0 GiB available"


@pytest.mark.skipif(shutil.which("VBoxManage") is not None, reason="VirtualBox is installed")
def test_virtualbox_findings_say_what_is_missing_and_what_to_do(
    tmp_path: Path, files: Path
) -> None:
    spec = lab(tmp_path)  # provider virtualbox, platform centos7
    found = by_title(run_doctor(spec, host(files, path=tools(files, "VBoxManage", "ip"))))
    vbox = found["Provider VirtualBox"]
    assert vbox.status == FAIL
    assert "VBoxManage not found" in vbox.detail
    assert "VT-x/AMD-V" in vbox.detail  # the injected cpuinfo has no vmx/svm
    assert "virtualbox.org" in vbox.fix
    assert 'provider = "lxc"' in vbox.fix and 'platform = "rehearsal"' in vbox.fix
    hw = found["Hardware virtualization"]
    assert hw.status == FAIL and "no vmx/svm" in hw.detail and "lxc" in hw.fix
    assert found["VirtualBox host-only network"].status == OK
    assert exit_status(list(found.values())) == 1


def test_missing_vagrant_and_tools(tmp_path: Path, files: Path) -> None:
    empty = str(files / "empty-path")
    spec = lab(tmp_path, provider="lxc", platform="rehearsal")
    found = by_title(run_doctor(spec, host(files, path=empty)))
    assert found["Vagrant"].status == FAIL
    assert "vagrant not found" in found["Vagrant"].detail
    assert "apt-get install vagrant" in found["Vagrant"].fix
    lxc = found["Provider LXC"]
    assert lxc.status == FAIL and "lxc-create not found" in lxc.detail
    assert "apt-get install lxc" in lxc.fix
    assert "iproute2" in found["LXC bridge lxcbr0"].fix  # not even `ip` on this PATH
    on_mac = by_title(run_doctor(spec, host(files, path=empty, system="Darwin")))
    assert "hashicorp" in on_mac["Vagrant"].fix and "Linux only" in on_mac["Provider LXC"].detail


def test_a_slow_command_is_bounded(tmp_path: Path, files: Path) -> None:
    fake = files / "slow-path"
    fake.mkdir()
    script = fake / "vagrant"
    script.write_text("#!/bin/sh\n/bin/sleep 30 &\nexec /bin/sleep 30\n")  # a child too
    script.chmod(0o755)
    start = time.monotonic()
    found = by_title(
        run_doctor(None, host(files, path=str(fake), vagrant_timeout=0.5, timeout=0.5))
    )
    assert time.monotonic() - start < 10, "a hung command held doctor up"
    assert found["Vagrant"].status == FAIL
    assert "did not finish within 0.5 s" in found["Vagrant"].detail


# ------------------------------------------------------------------ architecture, memory


def test_arm64_refuses_centos7_with_the_reason(tmp_path: Path, files: Path) -> None:
    on_arm = host(files, arch="aarch64")
    centos = by_title(run_doctor(lab(tmp_path), on_arm))
    arch = centos["CPU architecture"]
    assert arch.status == FAIL and "x86_64" in arch.detail and "aarch64" in arch.detail
    assert "rehearsal" in arch.fix
    rehearsal = lab(tmp_path, provider="lxc", platform="rehearsal")
    assert by_title(run_doctor(rehearsal, on_arm))["CPU architecture"].status == OK
    assert by_title(run_doctor(None, on_arm))["CPU architecture"].status == WARN


@pytest.mark.parametrize(
    ("provider", "available_mib", "status"),
    [
        ("virtualbox", 32 * 1024, OK),
        ("virtualbox", 6 * 1024 + 512, WARN),  # fits the 6 machines, not the host headroom
        ("virtualbox", 4 * 1024, FAIL),  # cannot hold the machines
        ("lxc", 4 * 1024, WARN),  # containers share memory: never a hard stop
    ],
)
def test_memory_against_the_preset(
    tmp_path: Path, files: Path, provider: str, available_mib: int, status: str
) -> None:
    (files / "meminfo").write_text(meminfo(available_mib))
    platform = "rehearsal" if provider == "lxc" else "centos7"
    spec = lab(tmp_path, preset="3m-3a", provider=provider, platform=platform)
    memory = by_title(run_doctor(spec, host(files)))["Memory"]
    assert memory.status == status, memory
    assert "6.0 GiB" in memory.detail  # six nodes of 1024 MiB


def test_memory_unknown(tmp_path: Path, files: Path) -> None:
    (files / "meminfo").write_text("MemTotal: 1000 kB\n")
    memory = by_title(run_doctor(lab(tmp_path), host(files)))["Memory"]
    assert memory.status == WARN and "unknown" in memory.detail


def test_parse_vm_stat() -> None:
    text = (
        "Mach Virtual Memory Statistics: (page size of 16384 bytes)\n"
        "Pages free:                               65536.\n"
        "Pages active:                            100000.\n"
        "Pages inactive:                           65536.\n"
        "Pages speculative:                            0.\n"
    )
    assert parse_vm_stat(text) == 2048
    assert parse_vm_stat("garbage") is None


# ---------------------------------------------------------------- networks and bridges


def test_virtualbox_host_only_range(tmp_path: Path, files: Path) -> None:
    assert read_vbox_ranges(files / "networks.conf")[0] == ("192.168.56.0/21",)
    spec = lab(tmp_path)
    text = (tmp_path / "lab" / "lab.toml").read_text()
    (tmp_path / "lab" / "lab.toml").write_text(
        text.replace('subnet = "192.168.56.0/24"', 'subnet = "10.20.0.0/24"')
    )
    outside = load_lab(tmp_path / "lab")
    found = by_title(run_doctor(outside, host(files)))["VirtualBox host-only network"]
    assert found.status == FAIL and "192.168.56.0/21" in found.detail
    assert "networks.conf" in found.fix and "* 10.20.0.0/24" in found.fix
    (files / "networks.conf").write_text("# allowed\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n")
    assert by_title(run_doctor(outside, host(files)))["VirtualBox host-only network"].status == OK
    (files / "networks.conf").write_text("* 172.16.0.0/12\n")
    still = by_title(run_doctor(spec, host(files)))["VirtualBox host-only network"]
    assert still.status == FAIL and "172.16.0.0/12" in still.detail


def test_parsers() -> None:
    out = "5: lxcbr0    inet 10.0.3.1/24 brd 10.0.3.255 scope global lxcbr0\\  valid_lft forever"
    assert [str(a) for a in bridge_addresses(out)] == ["10.0.3.1/24"]
    boxes = "centos/7 (virtualbox, 2004.01)\nmesoslab/rehearsal-debian12 (lxc, 0, (amd64))\n"
    assert parse_box_list(boxes) == [
        ("centos/7", "virtualbox"),
        ("mesoslab/rehearsal-debian12", "lxc"),
    ]


@pytest.fixture
def bridge() -> Iterator[str]:
    """A real bridge with an address (root only): stands in for lxcbr0 under its own name."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("creating a bridge needs root and iproute2")
    name = f"mlt{os.getpid() % 100000}"
    made = subprocess.run(["ip", "link", "add", name, "type", "bridge"], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a bridge here: {made.stderr.decode().strip()}")
    try:
        subprocess.run(["ip", "addr", "add", "10.99.3.1/24", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_lxc_bridge_up_down_and_subnet(tmp_path: Path, files: Path, bridge: str) -> None:
    spec = lab(tmp_path, provider="lxc", platform="rehearsal")  # subnet 10.0.3.0/24
    title = f"LXC bridge {bridge}"
    with_ip = host(files, bridge=bridge, path=tools(files, "ip"))
    wrong = by_title(run_doctor(spec, with_ip))[title]
    assert wrong.status == FAIL and "10.99.3.1/24" in wrong.detail
    assert 'subnet = "10.99.3.0/24"' in wrong.fix and 'gateway = "10.99.3.1"' in wrong.fix
    text = (tmp_path / "lab" / "lab.toml").read_text()
    (tmp_path / "lab" / "lab.toml").write_text(
        text.replace('subnet = "10.0.3.0/24"', 'subnet = "10.99.3.0/24"')
    )
    fits = by_title(run_doctor(load_lab(tmp_path / "lab"), with_ip))[title]
    assert fits.status == OK, fits
    subprocess.run(["ip", "link", "del", bridge], check=True)
    gone = by_title(run_doctor(spec, with_ip))[title]
    assert gone.status == FAIL and "not up" in gone.detail and "lxc-net start" in gone.fix


# --------------------------------------------------------------------- box, lab, render


@pytest.mark.skipif(not HAS_VAGRANT, reason="vagrant is not installed here")
def test_missing_rehearsal_box_says_build_it(tmp_path: Path, files: Path) -> None:
    spec = lab(tmp_path, provider="lxc", platform="rehearsal")
    box = by_title(run_doctor(spec, host(files, path=tools(files, "vagrant"))))[f"Box {spec.box}"]
    # where Vagrant keeps boxes: $VAGRANT_HOME/boxes/<name with / as -VAGRANTSLASH->/<v>/<provider>
    home = Path(os.environ.get("VAGRANT_HOME", Path.home() / ".vagrant.d"))
    stored = home / "boxes" / spec.box.replace("/", "-VAGRANTSLASH-")
    if any(stored.glob("*/lxc")):
        assert box.status == OK
    else:
        assert box.status == FAIL and "not present for lxc" in box.detail
        assert "mesoslab box build" in box.fix


def test_broken_lab_toml_is_a_finding(tmp_path: Path, files: Path) -> None:
    (tmp_path / "lab.toml").write_text('provider = "hyperv"\n')
    findings = doctor_for_dir(tmp_path, host(files))
    first = findings[0]
    assert first.title == "lab.toml" and first.status == FAIL
    assert "hyperv" in first.detail and "virtualbox" in first.detail
    assert exit_status(findings) == 1


def test_folder_without_lab(tmp_path: Path, files: Path) -> None:
    first = doctor_for_dir(tmp_path, host(files))[0]
    assert first.status == WARN and str(tmp_path) in first.detail
    assert f"mesoslab init {tmp_path}" in first.fix


def test_render_and_exit_status() -> None:
    findings = [
        Finding(OK, "Vagrant", "Vagrant 2.3.4"),
        Finding(WARN, "Disk", "1.0 GiB free", "free some space"),
        Finding(FAIL, "Provider VirtualBox", "VBoxManage not found", "install it\nor use lxc"),
    ]
    out = io.StringIO()
    render(findings, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert "✔ Vagrant: Vagrant 2.3.4" in text
    assert "! Disk: 1.0 GiB free" in text
    assert "✘ Provider VirtualBox: VBoxManage not found" in text
    assert "→ install it" in text and "→ or use lxc" in text
    assert "1 problem(s), 1 warning(s)" in text
    assert exit_status(findings) == 1 and exit_status(findings[:2]) == 0


def test_cli_doctor_json_and_exit_status(tmp_path: Path) -> None:
    (tmp_path / "lab.toml").write_text('platform = "centos9"\n')
    group = _Group(name="mesoslab", commands={"doctor": doctor_cmd})
    result = CliRunner().invoke(group, ["doctor", "--lab", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["findings"][0]["status"] == "fail" and "centos9" in doc["findings"][0]["detail"]
    assert {"status", "title", "detail", "fix"} == set(doc["findings"][0])


def test_the_doctor_imports_no_rendering() -> None:
    """lab/ is below the front ends: the doctor gathers and assesses, the CLI renders."""
    code = (
        "import sys\n"
        "import mesoslab.lab.doctor\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'click', 'textual'})\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------- containers in the nodes

V2_MOUNTS = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n"
HYBRID_MOUNTS = (
    "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,memory 0 0\n"
)


def test_cgroup_mode_and_apparmor_are_read_from_the_kernels_files(tmp_path: Path) -> None:
    from mesoslab.lab.doctor.gather import apparmor_enabled, cgroup_mode

    mounts = tmp_path / "mounts"
    for text, mode in ((V2_MOUNTS, "v2"), (HYBRID_MOUNTS, "hybrid"), ("proc /proc proc 0 0\n", "")):
        mounts.write_text(text)
        assert cgroup_mode(mounts) == mode
    mounts.write_text(HYBRID_MOUNTS.replace("/sys/fs/cgroup/unified", "/elsewhere"))
    assert cgroup_mode(mounts) == "v1"
    enabled = tmp_path / "module" / "apparmor" / "parameters" / "enabled"
    assert apparmor_enabled(enabled) is False  # no apparmor module at all
    enabled.parent.mkdir(parents=True)
    enabled.write_text("Y\n")
    assert apparmor_enabled(enabled) is True
    enabled.write_text("N\n")
    assert apparmor_enabled(enabled) is False


def test_a_stock_debian_host_is_told_what_docker_in_the_nodes_needs(
    tmp_path: Path, files: Path
) -> None:
    spec = lab(tmp_path, provider="lxc", platform="rehearsal")
    mounts, enabled = files / "mounts", files / "apparmor-enabled"
    title = "Containers in the LXC nodes"
    mounts.write_text(HYBRID_MOUNTS)  # as measured here: v1 (hybrid), no AppArmor
    enabled.write_text("N\n")
    measured = by_title(run_doctor(spec, host(files, mounts=mounts, apparmor=enabled)))[title]
    assert measured.status == OK and "cgroups hybrid, AppArmor off" in measured.detail
    assert "cgroup:mixed:force" in measured.detail
    mounts.write_text(V2_MOUNTS)  # Debian 12's default: cgroup v2 and AppArmor on
    enabled.write_text("Y\n")
    stock = by_title(run_doctor(spec, host(files, mounts=mounts, apparmor=enabled)))[title]
    assert stock.status == WARN
    assert "cgroups v2" in stock.detail and "needs cgroups v1" in stock.detail
    assert "AppArmor is on" in stock.detail and "allow_nesting" in stock.detail
    assert "not measured" in stock.detail and "README.md" in stock.fix
