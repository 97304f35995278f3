"""Pulling an image from a folder of ``docker save`` archives (``--docker_registry=/dir``),
as Mesos 1.4.3's local puller does (MESOS@1.4.3
src/slave/containerizer/mesos/provisioner/docker/local_puller.cpp L138-260, paths.cpp L94):
the archive is ``<dir>/<image reference>.tar`` exactly as the reference is written (so image
``busybox`` needs ``busybox.tar``, ``busybox:latest`` needs ``busybox:latest.tar``); its
``repositories`` file names the top layer of the tag (``latest`` when none), each
``<layer>/json`` its parent; ``<layer>/layer.tar`` is the layer.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mesoslab_twin.mesos.ucr.reference import ImageReference
from mesoslab_twin.mesos.ucr.registry import PulledLayer, PullError


def untar(archive: Path, directory: Path) -> None:
    """``tar -C DIR -x -f TAR`` (Mesos's command::untar); compression is detected."""
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["tar", "--numeric-owner", "-C", str(directory), "-x", "-f", str(archive)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        why = done.stderr.strip() or f"exit status {done.returncode}"
        raise PullError(f"Failed to untar '{archive}' to '{directory}': {why}")


def pull(reference: ImageReference, folder: Path, staging: Path) -> list[PulledLayer]:
    archive = folder / f"{reference}.tar"
    if not archive.exists():
        raise PullError(f"Failed to find archive for image '{reference}' at '{archive}'")
    untar(archive, staging)
    try:
        repositories = json.loads((staging / "repositories").read_text(encoding="utf-8"))
    except OSError as exc:
        raise PullError(f"Failed to read 'repositories': {exc.strerror}") from None
    except ValueError as exc:
        raise PullError(f"Failed to parse 'repositories': {exc}") from None
    repo = repositories.get(reference.repository)
    if repo is None and reference.registry:
        repo = repositories.get(f"{reference.registry}/{reference.repository}")
    if not isinstance(repo, dict):
        raise PullError(f"Repository '{reference.repository}' does not exist in 'repositories'")
    tag = reference.tag or "latest"
    layer_id = repo.get(tag)
    if not isinstance(layer_id, str):
        raise PullError(
            f"Failed to find layer id of tag '{tag}' in repository '{reference.repository}'"
        )
    layers: list[PulledLayer] = []
    while layer_id:
        try:
            text = (staging / layer_id / "json").read_text(encoding="utf-8")
            parent = str(json.loads(text).get("parent") or "")
        except (OSError, ValueError) as exc:
            raise PullError(f"Failed to read the manifest of layer '{layer_id}': {exc}") from None
        layers.insert(0, PulledLayer(layer_id, text, staging / layer_id / "layer.tar"))
        layer_id = parent
    return layers
