"""A container's root filesystem from an image's layers: Mesos's ``copy`` backend.

Where (MESOS@1.4.3 src/slave/containerizer/mesos/provisioner/paths.hpp L33-50):
``<work_dir>/provisioner/containers/<container id>/backends/copy/rootfses/<rootfs id>``.
How (backends/copy.cpp L130-300): layer by layer, lowest first, the AUFS whiteouts of the
layer are applied to what is below it (``.wh.<name>`` removes ``<name>``, ``.wh..wh..opq``
empties its folder), then the layer is copied over with ``cp -aT layer rootfs`` and the
whiteout files are removed from the rootfs. The container's destruction removes it all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
BACKEND = "copy"


class ProvisionError(Exception):
    pass


def container_dir(work_dir: Path, container_id: str) -> Path:
    return work_dir / "provisioner" / "containers" / container_id


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _apply_whiteouts(layer: Path, rootfs: Path) -> list[Path]:
    """Remove from ``rootfs`` what ``layer`` whites out; the whiteout files' paths in rootfs."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(layer):
        rel = Path(dirpath).relative_to(layer)
        for name in filenames + dirnames:
            if not name.startswith(WHITEOUT):
                continue
            found.append(rootfs / rel / name)
            target_dir = rootfs / rel
            if name == OPAQUE:
                if target_dir.is_dir() and not target_dir.is_symlink():
                    for child in list(target_dir.iterdir()):
                        _remove(child)
            else:
                _remove(target_dir / name[len(WHITEOUT) :])
    return found


def provision(work_dir: Path, container_id: str, layers: list[Path]) -> Path:
    """Build the rootfs from ``layers`` (lowest first); its path."""
    rootfs = (
        container_dir(work_dir, container_id)
        / "backends"
        / BACKEND
        / "rootfses"
        / str(uuid.uuid4())
    )
    rootfs.mkdir(parents=True)
    for layer in layers:
        whiteouts = _apply_whiteouts(layer, rootfs)
        done = subprocess.run(
            ["cp", "-aT", str(layer), str(rootfs)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ProvisionError(
                f"Failed to copy layer '{layer}' to rootfs '{rootfs}': {done.stderr.strip()}"
            )
        for path in whiteouts:
            _remove(path)
    return rootfs


def destroy(work_dir: Path, container_id: str) -> None:
    """Remove the container's rootfs (its mounts went with its mount namespace)."""
    shutil.rmtree(container_dir(work_dir, container_id), ignore_errors=True)
