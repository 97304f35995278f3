"""Two labs on one host, on real LXC: a second lab on the first one's addresses is refused
before Vagrant starts (up and doctor), `mesoslab labs` lists the first from its machines, and
once its folder is gone `mesoslab destroy --orphans` removes its containers."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.lab.vagrant import lxc_containers
from tests.support.lxc import (
    free_addresses,
    lxc_box,
    mesoslab,
    tempfile_dir,
    without_node_tables,
)

__all__ = ["lxc_box"]  # a fixture, used by name

pytestmark = pytest.mark.lab


def _one_node_lab(folder: Path, name: str, address: str) -> Path:
    out = mesoslab(
        folder.parent, "init", str(folder), "--provider", "lxc", "--platform", "rehearsal"
    )
    assert out.returncode == 0, out.stderr
    text = without_node_tables((folder / "lab.toml").read_text())
    text = text.replace(f'name = "{folder.name}"', f'name = "{name}"', 1)
    text += (
        f'\n[[node]]\nname = "master1"\nroles = ["master", "zookeeper"]\naddress = "{address}"\n'
    )
    (folder / "lab.toml").write_text(text)
    return folder


@pytest.fixture(scope="module")
def first_lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tempfile_dir(tmp_path_factory)
    folder = _one_node_lab(base / "first", "first", free_addresses(1)[0])
    before = set(lxc_containers())
    try:
        out = mesoslab(folder, "up", "--no-provision")
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
        yield folder
    finally:
        if folder.is_dir():
            mesoslab(folder, "destroy", "--yes")
        for container in set(lxc_containers()) - before:
            if container.startswith("mesoslab-first-"):
                subprocess.run(["lxc-destroy", "-f", "-n", container], capture_output=True)


def _address(folder: Path) -> str:
    return str(
        json.loads((folder / ".mesoslab" / "machines.json").read_text())["machines"][0]["address"]
    )


def test_a_second_lab_on_the_same_address_is_refused_before_vagrant(
    first_lab: Path, tmp_path: Path
) -> None:
    address = _address(first_lab)
    second = _one_node_lab(tmp_path / "second", "second", address)
    started = time.monotonic()
    out = mesoslab(second, "up")
    took = time.monotonic() - started
    assert out.returncode != 0
    first_line = next(line for line in out.stderr.splitlines() if line.strip())
    assert f"{address} (master1) is held by master1 of lab 'first' ({first_lab.resolve()})" in (
        first_line
    ), out.stderr
    assert f"mesoslab destroy -C {first_lab.resolve()}" in out.stderr
    assert "[network] subnet" in out.stderr
    assert "Authentication failure" not in out.stdout + out.stderr  # Vagrant never ran
    assert not (second / ".vagrant").exists()
    assert took < 60, f"refusing took {took:.0f} s"  # not minutes of Vagrant retries
    doctor = mesoslab(second, "doctor")
    assert doctor.returncode == 1
    assert "Addresses" in doctor.stdout and "lab 'first'" in doctor.stdout


def test_labs_lists_the_lab_and_orphans_are_removed_once_its_folder_is_gone(
    first_lab: Path, tmp_path: Path
) -> None:
    listing = mesoslab(tmp_path, "labs", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    ours = [
        lab
        for lab in json.loads(listing.stdout)["labs"]
        if lab["folder"] == str(first_lab.resolve())
    ]
    assert len(ours) == 1, listing.stdout
    lab = ours[0]
    assert lab["lab"] == "first" and lab["provider"] == "lxc" and lab["folder_exists"]
    assert [(m["node"], m["state"]) for m in lab["machines"]] == [("master1", "running")]
    assert _address(first_lab) in lab["machines"][0]["addresses"]
    container = lab["machines"][0]["name"]
    nothing = mesoslab(tmp_path, "destroy", "--orphans", "--yes")
    assert container in lxc_containers(), nothing.stdout  # its folder is there: not an orphan
    shutil.rmtree(first_lab)  # the folder goes; the container stays behind
    text = mesoslab(tmp_path, "labs")
    assert f"{first_lab.resolve()} (gone)" in text.stdout
    assert "mesoslab destroy --orphans" in text.stdout
    removed = mesoslab(tmp_path, "destroy", "--orphans", "--yes")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert container in removed.stdout
    assert container not in lxc_containers()
