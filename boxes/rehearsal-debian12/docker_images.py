#!/usr/bin/env python3
"""Write Docker images from root folders, without Docker: the rehearsal box's images.

The lab has no Docker Hub, so build.sh makes its images from Debian packages and this
script writes each one twice, in the two forms the lab's Docker and Mesos read:

* a ``docker save`` archive, ``ARCHIVES/<name>:<tag>.tar`` (``manifest.json``, the image
  config, one ``<id>/layer.tar`` per layer with its legacy ``json`` and ``VERSION``, and
  ``repositories``): ``docker load -i`` reads it, and so does Mesos's local puller
  (``--docker_registry=ARCHIVES``, files named ``<repo>:<tag>.tar``);
* a registry's storage under ``REGISTRY`` (docker-distribution's filesystem driver layout:
  blobs by digest, repositories linking to them, schema 2 manifests), so the lab registry
  serves the images the moment it starts.

Layers are given as folders; a layer folder holds only what it adds to the layers below
it (see ``diff``). Everything is deterministic: the same folders give the same digests.

    docker_images.py diff LOWER UPPER OUT          # copy into OUT what UPPER adds to LOWER
    docker_images.py image --layer DIR [--layer DIR ...] --tag NAME:TAG [--tag ...]
        [--cmd JSON] [--entrypoint JSON] [--env K=V ...] [--label K=V ...] [--expose 80/tcp]
        [--workdir DIR] [--stop-signal SIG] --archives DIR --registry DIR
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

CREATED = "2026-01-01T00:00:00Z"  # fixed: digests do not change with the build time
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------- layers


def layer_tar(folder: Path) -> bytes:
    """The folder as an uncompressed tar with numeric owners, sorted, fixed mtimes kept."""
    out = subprocess.run(
        ["tar", "--numeric-owner", "--sort=name", "--xattrs", "-C", str(folder), "-cf", "-", "."],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return out


def _same(a: os.stat_result, b: os.stat_result, pa: Path, pb: Path) -> bool:
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode) or a.st_mode != b.st_mode:
        return False
    if (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid):
        return False
    if stat.S_ISLNK(a.st_mode):
        return os.readlink(pa) == os.readlink(pb)
    if stat.S_ISREG(a.st_mode):
        if a.st_size != b.st_size:
            return False
        with pa.open("rb") as fa, pb.open("rb") as fb:
            while True:
                chunk = fa.read(1 << 20)
                if chunk != fb.read(1 << 20):
                    return False
                if not chunk:
                    return True
    if stat.S_ISCHR(a.st_mode) or stat.S_ISBLK(a.st_mode):
        return a.st_rdev == b.st_rdev
    return True  # directories, fifos: their entries are compared one by one


def diff(lower: Path, upper: Path, out: Path) -> int:
    """Copy into ``out`` every entry of ``upper`` that ``lower`` lacks or has otherwise
    (content, mode, owner, link target), with the folders leading to it; the number of
    entries copied. What ``upper`` removed is not recorded (an install removes nothing the
    lessons look at)."""
    paths: list[str] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(upper)
        for name in sorted(dirnames + filenames):
            rel = rel_dir / name
            pu, pl = upper / rel, lower / rel
            su = pu.lstat()
            try:
                sl = pl.lstat()
            except FileNotFoundError:
                paths.append(rel.as_posix())
                continue
            if not _same(sl, su, pl, pu) and not (
                stat.S_ISDIR(su.st_mode) and stat.S_ISDIR(sl.st_mode) and su.st_mode == sl.st_mode
            ):
                paths.append(rel.as_posix())
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if paths:
        # --no-recursion: only the listed entries; tar creates the parent folders on extract,
        # so they are added with their owners and modes first
        parents = sorted({p.rsplit("/", i)[0] for p in paths for i in range(1, p.count("/") + 1)})
        listing = "\n".join([*parents, *paths]).encode() + b"\n"
        pack = subprocess.Popen(
            ["tar", "--numeric-owner", "--no-recursion", "--xattrs", "-C", str(upper),
             "-cf", "-", "-T", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        unpack = subprocess.Popen(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(out), "-xpf", "-"],
            stdin=pack.stdout,
        )
        assert pack.stdin is not None and pack.stdout is not None
        pack.stdout.close()
        pack.stdin.write(listing)
        pack.stdin.close()
        if pack.wait() != 0 or unpack.wait() != 0:
            raise SystemExit("docker_images.py: tar failed while writing the layer")
    return len(paths)


# ---------------------------------------------------------------------------- images


@dataclass
class Layer:
    tar: bytes
    diff_id: str  # sha256 of the uncompressed tar
    gz: bytes
    blob: str  # sha256 of the gzipped tar (the registry's digest)


def make_layer(folder: Path) -> Layer:
    tar = layer_tar(folder)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(tar)
    data = buf.getvalue()
    return Layer(tar, sha256(tar), data, sha256(data))


def image_config(layers: list[Layer], args: argparse.Namespace) -> bytes:
    config: dict[str, object] = {
        "Env": args.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Labels": dict(item.split("=", 1) for item in args.label),
    }
    if args.cmd:
        config["Cmd"] = json.loads(args.cmd)
    if args.entrypoint:
        config["Entrypoint"] = json.loads(args.entrypoint)
    if args.expose:
        config["ExposedPorts"] = {port: {} for port in args.expose}
    if args.workdir:
        config["WorkingDir"] = args.workdir
    if args.stop_signal:
        config["StopSignal"] = args.stop_signal
    doc = {
        "architecture": args.arch,
        "os": "linux",
        "created": CREATED,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer.diff_id}" for layer in layers]},
        "history": [
            {
                "created": CREATED,
                "created_by": f"mesoslab box recipe: layer {i + 1} of {len(layers)}",
            }
            for i in range(len(layers))
        ],
    }
    return canonical(doc)


def legacy_ids(layers: list[Layer], config: bytes) -> list[str]:
    """The v1 layer ids ``docker save`` writes (chained: each depends on its parent)."""
    ids, parent = [], ""
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        ids.append(sha256(f"{parent}\n{layer.diff_id}\n{sha256(config) if last else ''}".encode()))
        parent = ids[-1]
    return ids


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    tar.addfile(info)


def write_archive(path: Path, tags: list[str], layers: list[Layer], config: bytes) -> None:
    config_id = sha256(config)
    ids = legacy_ids(layers, config)
    cfg = json.loads(config)
    tmp = path.with_suffix(".partial")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for i, (layer, layer_id) in enumerate(zip(layers, ids, strict=True)):
            _add_dir(tar, layer_id)
            _add(tar, f"{layer_id}/VERSION", b"1.0")
            legacy: dict[str, object] = {"id": layer_id, "created": CREATED, "os": "linux"}
            if i:
                legacy["parent"] = ids[i - 1]
            if i == len(layers) - 1:
                legacy.update(config=cfg["config"], architecture=cfg["architecture"])
            _add(tar, f"{layer_id}/json", canonical(legacy))
            _add(tar, f"{layer_id}/layer.tar", layer.tar)
        _add(tar, f"{config_id}.json", config)
        manifest = [
            {
                "Config": f"{config_id}.json",
                "RepoTags": tags,
                "Layers": [f"{layer_id}/layer.tar" for layer_id in ids],
            }
        ]
        _add(tar, "manifest.json", canonical(manifest))
        repositories: dict[str, dict[str, str]] = {}
        for tag in tags:
            repo, _, version = tag.rpartition(":")
            repositories.setdefault(repo, {})[version] = ids[-1]
        _add(tar, "repositories", canonical(repositories))
    tmp.replace(path)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # a blob is named by its digest: one there is the same
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(data)
        Path(tmp.name).replace(path)


def blob(root: Path, digest: str, data: bytes) -> None:
    _write(root / "docker/registry/v2/blobs/sha256" / digest[:2] / digest / "data", data)


def link(path: Path, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"sha256:{digest}")


def write_registry(root: Path, repo: str, tag: str, layers: list[Layer], config: bytes) -> str:
    """Store the image as ``repo:tag`` in a registry's filesystem storage; its manifest
    digest."""
    config_digest = sha256(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {
                "mediaType": CONFIG_V1,
                "size": len(config),
                "digest": f"sha256:{config_digest}",
            },
            "layers": [
                {"mediaType": LAYER_GZIP, "size": len(layer.gz), "digest": f"sha256:{layer.blob}"}
                for layer in layers
            ],
        },
        indent=3,
    ).encode()
    manifest_digest = sha256(manifest)
    repo_dir = root / "docker/registry/v2/repositories" / repo
    blob(root, config_digest, config)
    link(repo_dir / "_layers/sha256" / config_digest / "link", config_digest)
    for layer in layers:
        blob(root, layer.blob, layer.gz)
        link(repo_dir / "_layers/sha256" / layer.blob / "link", layer.blob)
    blob(root, manifest_digest, manifest)
    link(repo_dir / "_manifests/revisions/sha256" / manifest_digest / "link", manifest_digest)
    tag_dir = repo_dir / "_manifests/tags" / tag
    link(tag_dir / "current/link", manifest_digest)
    link(tag_dir / "index/sha256" / manifest_digest / "link", manifest_digest)
    return manifest_digest


def build_image(args: argparse.Namespace) -> None:
    layers = [make_layer(Path(folder)) for folder in args.layer]
    config = image_config(layers, args)
    archives = Path(args.archives)
    archives.mkdir(parents=True, exist_ok=True)
    # one archive with every tag (docker load tags them all), under each tag's name: Mesos's
    # local puller opens <repo>:<tag>.tar; hard links, so it is stored once
    first = archives / f"{args.tag[0]}.tar"
    write_archive(first, args.tag, layers, config)
    for tag in args.tag[1:]:
        other = archives / f"{tag}.tar"
        other.unlink(missing_ok=True)
        os.link(first, other)
    registry = Path(args.registry)
    for tag in args.tag:
        repo, _, version = tag.rpartition(":")
        # `master1:5000/nginx`, and `library/nginx` for a dockerd that uses the registry as
        # its Docker Hub mirror (`docker pull nginx`)
        for name in {repo, repo if "/" in repo else f"library/{repo}"}:
            digest = write_registry(registry, name, version, layers, config)
    size = sum(len(layer.tar) for layer in layers)
    print(
        f"docker_images.py: {', '.join(args.tag)}: {len(layers)} layer(s), "
        f"{size / 1e6:.1f} MB, image id sha256:{sha256(config)[:12]}, manifest sha256:{digest[:12]}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diff", help="copy into OUT what UPPER adds to LOWER")
    d.add_argument("lower")
    d.add_argument("upper")
    d.add_argument("out")
    i = sub.add_parser("image", help="write an image as a docker-save archive and into a registry")
    i.add_argument("--layer", action="append", required=True, help="a layer's folder, lowest first")
    i.add_argument("--tag", action="append", required=True, help="NAME:TAG (repeatable)")
    i.add_argument("--cmd", help='JSON list, e.g. ["nginx", "-g", "daemon off;"]')
    i.add_argument("--entrypoint", help="JSON list")
    i.add_argument("--env", action="append", default=[], help="K=V (repeatable)")
    i.add_argument("--label", action="append", default=[], help="K=V (repeatable)")
    i.add_argument("--expose", action="append", default=[], help="PORT/PROTO (repeatable)")
    i.add_argument("--workdir")
    i.add_argument("--stop-signal")
    i.add_argument("--arch", default="amd64", help="Docker's name of the architecture")
    i.add_argument("--archives", required=True, help="folder of docker-save archives")
    i.add_argument("--registry", required=True, help="a registry's storage root folder")
    args = parser.parse_args(argv)
    if args.command == "diff":
        count = diff(Path(args.lower), Path(args.upper), Path(args.out))
        print(f"docker_images.py: {count} entries of {args.upper} are not in {args.lower}")
        return 0
    build_image(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
