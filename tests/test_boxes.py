"""Box recipes, the build cache, catalogs and `vagrant box add` (real Vagrant)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.errors import LabError
from mesoslab.lab import boxes
from mesoslab.lab.boxes import (
    REHEARSAL_BOX,
    build_box,
    cached_box_path,
    catalog_doc,
    ensure_box,
    prebake_plan,
    recipe_for,
    recipe_hash,
    write_catalog,
)
from mesoslab.lab.vagrant import box_add, box_list

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "boxes" / "rehearsal-debian12"
needs_vagrant = pytest.mark.skipif(shutil.which("vagrant") is None, reason="no vagrant")


# ---------------------------------------------------------------------- the recipe


def test_build_script_is_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run(
        ["shellcheck", str(RECIPE / "build.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_build_script_help_and_bad_option() -> None:
    usage = subprocess.run(["bash", str(RECIPE / "build.sh"), "--help"], capture_output=True)
    assert usage.returncode == 0
    assert b"OUTPUT.box" in usage.stdout
    bad = subprocess.run(["bash", str(RECIPE / "build.sh"), "--nope"], capture_output=True)
    assert bad.returncode == 2
    assert b"unknown option --nope" in bad.stderr


def test_an_up_to_date_output_is_not_rebuilt(tmp_path: Path) -> None:
    output = tmp_path / "done.box"
    output.write_bytes(b"built before")
    result = subprocess.run(
        ["bash", str(RECIPE / "build.sh"), str(output)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "already built" in result.stdout
    assert output.read_bytes() == b"built before"


def test_recipe_hash_follows_the_recipe_but_not_its_documentation(tmp_path: Path) -> None:
    copy = tmp_path / "recipe"
    shutil.copytree(RECIPE, copy)
    first = recipe_hash(copy)
    assert first == recipe_hash(RECIPE)
    (copy / "README.md").write_text("changed docs")
    assert recipe_hash(copy) == first
    with (copy / "build.sh").open("a") as script:
        script.write("# a change\n")
    assert recipe_hash(copy) != first


def test_builds_are_cached_under_xdg_cache_home_by_recipe_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    recipe = recipe_for("rehearsal", "lxc")
    path = cached_box_path(recipe, RECIPE)
    assert path.parent == tmp_path / "mesoslab" / "boxes"
    assert path.name == f"rehearsal-debian12-lxc-{recipe_hash(RECIPE)[:12]}.box"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a cached build")
    said: list[str] = []
    assert build_box("rehearsal", "lxc", on_line=lambda m, line: said.append(line)) == path
    assert said == [f"using the cached box {path}"]


def test_boxes_mesoslab_cannot_build_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(LabError, match="lxc provider only"):
        build_box("rehearsal", "virtualbox")
    with pytest.raises(LabError) as info:
        build_box("centos7", "virtualbox")
    if shutil.which("VBoxManage") is None:
        assert "VirtualBox (VBoxManage) is not installed" in str(info.value)
    assert "vagrant package prebake --output" in info.value.hint
    assert not (tmp_path / "mesoslab" / "boxes").exists()  # nothing was started


@pytest.mark.parametrize("provider", ["virtualbox", "libvirt"])
def test_prebake_plan_for_a_centos7_box(provider: str, tmp_path: Path) -> None:
    box = tmp_path / "centos7.box"
    plan = prebake_plan(provider, box)
    commands = [step.argv for step in plan]
    assert commands[0] == ("vagrant", "up", f"--provider={provider}", "--no-provision", "prebake")
    assert commands[1] == ()  # mesoslab provisions over SSH between up and package
    assert "every role's packages" in plan[1].what
    assert ("vagrant", "halt", "prebake") in commands
    assert ("vagrant", "package", "prebake", "--output", str(box)) in commands
    assert commands.index(("vagrant", "halt", "prebake")) < commands.index(
        ("vagrant", "package", "prebake", "--output", str(box))
    )
    assert commands[-1] == ("vagrant", "box", "add", str(tmp_path / "centos7.json"))
    with pytest.raises(LabError):
        prebake_plan("lxc", box)


# ---------------------------------------------------------------------- catalogs


def test_catalog_names_the_box_version_and_checksum(tmp_path: Path) -> None:
    box = tmp_path / "some.box"
    box.write_bytes(b"box content")
    os.utime(box, (1_795_301_000, 1_795_301_000))  # 2026-11-21 22:43:20 UTC
    path = write_catalog(box, "mesoslab/x", "lxc")
    assert path == tmp_path / "some.json"
    doc = json.loads(path.read_text())
    assert doc["name"] == "mesoslab/x"
    (version,) = doc["versions"]
    assert version["version"] == "2026.1121.224320"
    (provider,) = version["providers"]
    assert provider == {
        "name": "lxc",
        "url": box.resolve().as_uri(),
        "checksum_type": "sha256",
        "checksum": hashlib.sha256(b"box content").hexdigest(),
    }
    assert catalog_doc(box, "n", "lxc", "1.2.3", "abc")["versions"][0]["version"] == "1.2.3"


def _tiny_lxc_box(path: Path) -> Path:
    """A valid (if useless) vagrant-lxc box: metadata.json, lxc-config, rootfs.tar.gz."""
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w:gz") as tar:
        info = tarfile.TarInfo("./rootfs/bin/true")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
    members = {
        "metadata.json": json.dumps({"provider": "lxc", "version": "1.0.0"}).encode(),
        "lxc-config": b"lxc.arch = amd64\n",
        "rootfs.tar.gz": rootfs.getvalue(),
    }
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tiny_box(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"mesoslab-test/tiny-{os.getpid()}"
    box = _tiny_lxc_box(tmp_path / "tiny.box")
    try:
        yield name, box
    finally:
        subprocess.run(
            ["vagrant", "box", "remove", "--force", "--all", name],
            cwd=tmp_path,
            capture_output=True,
        )


@needs_vagrant
def test_box_added_through_a_catalog_has_a_known_version(tiny_box: tuple[str, Path]) -> None:
    name, box = tiny_box
    version = boxes.add_box(box, name, "lxc")
    assert re.fullmatch(r"\d{4}\.\d{3,4}\.\d{1,6}", version)
    listed = [b for b in box_list() if b.name == name]
    assert [(b.provider, b.version) for b in listed] == [("lxc", version)]
    # Already there: nothing is added again, and ensure_box uses it without building.
    assert boxes.add_box(box, name, "lxc") == version
    assert ensure_box(name, "rehearsal", "lxc") == version


@needs_vagrant
def test_box_add_failure_is_a_lab_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({"name": "x/y", "versions": []}))
    with pytest.raises(LabError) as info:
        box_add(missing)
    assert "`vagrant box add` failed" in str(info.value)


@needs_vagrant
def test_ensure_box_without_a_recipe_says_how_to_get_it() -> None:
    with pytest.raises(LabError) as info:
        ensure_box("mesoslab-test/no-such-box", "rehearsal", "lxc")
    assert "no recipe" in str(info.value)
    assert REHEARSAL_BOX in info.value.hint


# ---------------------------------------------------------------------- the real build


@pytest.mark.lab
def test_rehearsal_box_has_the_vagrant_lxc_layout() -> None:
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip("building the rehearsal box needs root and debootstrap")
    box = build_box("rehearsal", "lxc")  # cached after the first build
    with tarfile.open(box) as outer:
        assert sorted(outer.getnames()) == ["lxc-config", "metadata.json", "rootfs.tar.gz"]
        metadata = json.load(outer.extractfile("metadata.json"))  # type: ignore[arg-type]
        config = outer.extractfile("lxc-config").read().decode()  # type: ignore[union-attr]
        rootfs = outer.extractfile("rootfs.tar.gz")
        assert rootfs is not None
        with tarfile.open(fileobj=rootfs, mode="r|gz") as tar:
            names = {member.name for member in tar}
    assert metadata["provider"] == "lxc"
    assert metadata["version"] == "1.0.0"  # vagrant-lxc accepts 1.0.0, 2 and 3
    assert "built-on" in metadata
    assert "lxc.include = /usr/share/lxc/config/debian.common.conf" in config
    assert re.search(r"^lxc\.arch = \S+$", config, re.MULTILINE)
    assert all(name.startswith("./rootfs") for name in names)
    for wanted in (
        "./rootfs/home/vagrant/.ssh/authorized_keys",
        "./rootfs/etc/sudoers.d/vagrant",
        "./rootfs/usr/sbin/sshd",
        "./rootfs/usr/bin/python3",
        "./rootfs/usr/bin/curl",
        "./rootfs/usr/share/zookeeper/bin/zkServer.sh",
        "./rootfs/etc/systemd/system/ssh-host-keys.service",
    ):
        assert wanted in names, wanted
    assert not any("libLLVM" in name for name in names)  # headless Java only
    assert not any(name.startswith("./rootfs/etc/ssh/ssh_host_") for name in names)
