"""The generic Vagrantfile and the machines.json mesoslab writes for it (real Vagrant)."""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mesoslab.lab.machines import (
    install_vagrantfile,
    machine_prefix,
    machines_doc,
    vagrantfile_source,
    write_machines,
)
from mesoslab.lab.presets import PRESETS
from mesoslab.lab.spec import LabSpec, parse_lab

REPO = Path(__file__).resolve().parents[1]
PROVIDERS = ("virtualbox", "libvirt", "lxc")
VAGRANT = shutil.which("vagrant")
needs_vagrant = pytest.mark.skipif(VAGRANT is None, reason="vagrant is not installed")


def make_lab(directory: Path, preset: str, provider: str, **extra: object) -> LabSpec:
    data: dict[str, object] = {
        "name": "test lab",
        "provider": provider,
        "platform": "rehearsal" if provider == "lxc" else "centos7",
        "preset": preset,
        **extra,
    }
    directory.mkdir(parents=True, exist_ok=True)
    spec = parse_lab(data, directory=directory)
    install_vagrantfile(directory)
    write_machines(spec)
    return spec


def vagrant(
    lab: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "VAGRANT_NO_COLOR": "1", "VAGRANT_CHECKPOINT_DISABLE": "1"}
    full_env.update(env or {})
    return subprocess.run(
        [VAGRANT or "vagrant", *args],
        cwd=lab,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@functools.cache
def plugin_installed(name: str) -> bool:
    result = subprocess.run(
        [VAGRANT or "vagrant", "plugin", "list"], capture_output=True, text=True, check=False
    )
    return name in result.stdout


# ---------------------------------------------------------------------- machines.json


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_machines_doc_lists_every_node_with_its_settings(
    tmp_path: Path, preset: str, provider: str
) -> None:
    spec = parse_lab(
        {"name": "demo", "provider": provider, "preset": preset, "resources": {"cpus": 2}},
        directory=tmp_path,
    )
    doc = machines_doc(spec)
    network = ipaddress.ip_network(spec.subnet)
    assert doc["schema"] == 1
    assert doc["provider"] == provider
    assert doc["prefix"] == network.prefixlen == 24
    assert doc["netmask"] == "255.255.255.0"
    assert [m["name"] for m in doc["machines"]] == [p.name for p in PRESETS[preset]]
    for machine, node in zip(doc["machines"], spec.nodes, strict=True):
        assert machine["address"] == node.address
        assert ipaddress.ip_address(machine["address"]) in network
        assert machine["hostname"] == node.name
        assert machine["cpus"] == 2
        assert machine["memory"] == node.memory
        assert machine["box"] == spec.box
        assert machine["vm_name"] == machine_prefix(spec) + node.name
    if provider == "lxc":
        assert doc["gateway"] == "10.0.3.1"
        assert doc["subnet"] == "10.0.3.0/24"
    else:
        assert doc["subnet"] == "192.168.56.0/24"
        assert doc["gateway"] is None


def test_machine_names_differ_between_lab_folders_with_the_same_lab_name(tmp_path: Path) -> None:
    one = parse_lab({"name": "Demo Lab!", "provider": "lxc"}, directory=tmp_path / "a")
    two = parse_lab({"name": "Demo Lab!", "provider": "lxc"}, directory=tmp_path / "b")
    assert machine_prefix(one) != machine_prefix(two)
    assert machine_prefix(one).startswith("mesoslab-demo-lab-")
    for name in (m["vm_name"] for m in machines_doc(one)["machines"]):
        assert len(name) < 64 and name.replace("-", "").isalnum()


def test_write_machines_is_atomic_and_leaves_an_unchanged_file_alone(tmp_path: Path) -> None:
    spec = parse_lab({"name": "demo", "provider": "lxc"}, directory=tmp_path)
    path = write_machines(spec)
    assert path == tmp_path / ".mesoslab" / "machines.json"
    assert json.loads(path.read_text()) == machines_doc(spec)
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    write_machines(spec)
    assert path.stat().st_mtime_ns == before - 10**9  # same content: not rewritten
    changed = parse_lab(
        {"name": "demo", "provider": "lxc", "resources": {"memory": 512}}, directory=tmp_path
    )
    write_machines(changed)
    assert json.loads(path.read_text())["machines"][0]["memory"] == 512
    assert sorted(p.name for p in path.parent.iterdir()) == ["machines.json"]  # no temp left


def test_install_vagrantfile_copies_the_repository_vagrantfile(tmp_path: Path) -> None:
    assert vagrantfile_source() == REPO / "Vagrantfile"
    target = install_vagrantfile(tmp_path)
    assert target.read_bytes() == (REPO / "Vagrantfile").read_bytes()


def test_vagrantfile_has_no_provisioning() -> None:
    text = (REPO / "Vagrantfile").read_text()
    assert "vm.provision" not in text  # mesoslab provisions over SSH
    assert 'synced_folder ".", "/vagrant", disabled: true' in text


# ---------------------------------------------------------------------- vagrant validate


@needs_vagrant
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_vagrant_validate_virtualbox_lab_without_provider_config(
    tmp_path: Path, preset: str
) -> None:
    # Runs everywhere: the machine definitions, boxes, networks and hostnames are checked;
    # only the VirtualBox provider block is skipped (it needs VirtualBox installed).
    make_lab(tmp_path, preset, "virtualbox")
    result = vagrant(tmp_path, "validate", "--ignore-provider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout


@needs_vagrant
@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_vagrant_validate_with_provider_config(tmp_path: Path, preset: str, provider: str) -> None:
    if provider == "virtualbox" and shutil.which("VBoxManage") is None:
        pytest.skip(
            "VirtualBox is not installed, and Vagrant refuses to validate a VirtualBox "
            "provider block without it; the rest of the Vagrantfile is validated by "
            "test_vagrant_validate_virtualbox_lab_without_provider_config"
        )
    if provider in ("lxc", "libvirt") and not plugin_installed(f"vagrant-{provider}"):
        pytest.skip(f"the vagrant-{provider} plugin is not installed")
    make_lab(tmp_path, preset, provider)
    result = vagrant(tmp_path, "validate")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_vagrant
@pytest.mark.parametrize(("preset", "provider"), [("1m-2a", "libvirt"), ("3m-3a", "lxc")])
def test_vagrant_status_lists_the_preset_machines_with_the_lab_provider(
    tmp_path: Path, preset: str, provider: str
) -> None:
    if not plugin_installed(f"vagrant-{provider}"):
        pytest.skip(f"the vagrant-{provider} plugin is not installed")
    make_lab(tmp_path, preset, provider)
    result = vagrant(tmp_path, "status", "--machine-readable")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split(",", 3) for line in result.stdout.splitlines()]
    states = {row[1]: row[3] for row in rows if len(row) == 4 and row[2] == "state"}
    providers = {row[3] for row in rows if len(row) == 4 and row[2] == "provider-name"}
    assert list(states) == [p.name for p in PRESETS[preset]]
    assert set(states.values()) == {"not_created"}
    assert providers == {provider}
    assert not (tmp_path / ".vagrant" / "machines" / "master1" / provider / "id").exists()


@needs_vagrant
def test_vagrantfile_without_machines_json_says_to_run_mesoslab_up(tmp_path: Path) -> None:
    install_vagrantfile(tmp_path)
    result = vagrant(tmp_path, "validate")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "machines.json is missing" in output
    assert "run `mesoslab up`" in output


@needs_vagrant
def test_vagrantfile_rejects_a_broken_machines_json(tmp_path: Path) -> None:
    install_vagrantfile(tmp_path)
    (tmp_path / ".mesoslab").mkdir()
    (tmp_path / ".mesoslab" / "machines.json").write_text("{not json")
    result = vagrant(tmp_path, "validate")
    assert result.returncode != 0
    assert "is not valid JSON" in result.stdout + result.stderr


@needs_vagrant
def test_mesoslab_machines_variable_points_at_another_file(tmp_path: Path) -> None:
    spec = make_lab(tmp_path / "lab", "1m-2a", "lxc")
    moved = tmp_path / "elsewhere.json"
    shutil.move(spec.state_dir / "machines.json", moved)
    doc = json.loads(moved.read_text())
    doc["machines"] = doc["machines"][:1]
    moved.write_text(json.dumps(doc))
    result = vagrant(
        tmp_path / "lab", "status", "--machine-readable", env={"MESOSLAB_MACHINES": str(moved)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    names = {line.split(",")[1] for line in result.stdout.splitlines() if ",state," in line}
    assert names == {"master1"}
