"""The Docker image store under ``--docker_store_dir`` (default ``/tmp/mesos/store/docker``).

Layout of MESOS@1.4.3 src/slave/containerizer/mesos/provisioner/docker/paths.hpp L29-47::

    staging/<XXXXXX>/            a pull in progress (manifest, blobs or the archive)
    layers/<layer id>/rootfs     the layer, extracted (whiteout files kept as they are)
    layers/<layer id>/json       the layer's v1 manifest (the top one holds the image config)
    storedImages                 the images cached: reference -> layer ids

Mesos writes ``storedImages`` as a binary protobuf (``Images``); the twin writes the same
content as JSON. An image whose layers are all present is not pulled again, unless the
task's image says ``cached: false``. The image's configuration (Entrypoint, Cmd, Env,
WorkingDir) comes from the top layer's ``json`` (store.cpp L340-360).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesoslab_twin.mesos.ucr import archives, registry
from mesoslab_twin.mesos.ucr.reference import ImageReference, parse
from mesoslab_twin.mesos.ucr.registry import PulledLayer, PullError


@dataclass
class StoredImage:
    reference: str
    layer_ids: list[str]
    layer_paths: list[Path]
    config: dict[str, Any] = field(default_factory=dict)


class Store:
    def __init__(self, store_dir: Path, default_registry: str) -> None:
        self.dir = store_dir
        self.default_registry = default_registry
        self.lock = threading.Lock()

    @property
    def staging(self) -> Path:
        return self.dir / "staging"

    @property
    def layers(self) -> Path:
        return self.dir / "layers"

    @property
    def stored_images(self) -> Path:
        return self.dir / "storedImages"

    def _stored(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.stored_images.read_text(encoding="utf-8"))
            return {str(i["reference"]): [str(x) for x in i["layer_ids"]] for i in data["images"]}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _save_stored(self, images: dict[str, list[str]]) -> None:
        doc = {"images": [{"reference": r, "layer_ids": ids} for r, ids in sorted(images.items())]}
        temp = self.stored_images.with_name("storedImages.tmp")
        temp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        temp.replace(self.stored_images)

    def get(self, name: str, *, cached: bool = True) -> StoredImage:
        """The image ``name`` (as the task gave it), pulled first when need be."""
        try:
            reference = parse(name)
        except ValueError as exc:
            raise PullError(f"Failed to parse docker image '{name}': {exc}") from None
        with self.lock:
            for folder in (self.staging, self.layers):
                folder.mkdir(parents=True, exist_ok=True)
            images = self._stored()
            ids = images.get(str(reference))
            if not (cached and ids and all((self.layers / i / "rootfs").is_dir() for i in ids)):
                ids = self._pull(reference)
                images[str(reference)] = ids
                self._save_stored(images)
        return self._image(str(reference), ids)

    def _image(self, reference: str, ids: list[str]) -> StoredImage:
        config: dict[str, Any] = {}
        if ids:
            try:
                top = json.loads((self.layers / ids[-1] / "json").read_text(encoding="utf-8"))
            except OSError as exc:
                raise PullError(f"Failed to read manifest: {exc.strerror}") from None
            except ValueError as exc:
                raise PullError(f"Failed to parse docker v1 manifest: {exc}") from None
            config = dict(top.get("config") or top.get("container_config") or {})
        return StoredImage(reference, ids, [self.layers / i / "rootfs" for i in ids], config)

    def _pull(self, reference: ImageReference) -> list[str]:
        staging = Path(tempfile.mkdtemp(dir=self.staging))
        try:
            if self.default_registry.startswith("/") and not reference.registry:
                pulled = archives.pull(reference, Path(self.default_registry), staging)
            else:
                pulled = registry.pull(reference, self.default_registry, staging)
            for layer in pulled:
                self._move_in(layer, staging)
            return [layer.id for layer in pulled]
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _move_in(self, layer: PulledLayer, staging: Path) -> None:
        final = self.layers / layer.id
        if (final / "rootfs").is_dir():
            return
        work = staging / f"layer-{layer.id}"
        work.mkdir()
        archives.untar(layer.tar, work / "rootfs")
        (work / "json").write_text(layer.v1_json, encoding="utf-8")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(final)
        os.replace(work, final)
