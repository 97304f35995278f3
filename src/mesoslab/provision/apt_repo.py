"""A flat apt repository of the rehearsal packages (``deb [trusted=yes] http://HOST:PORT/ ./``):
the ``.deb`` files, a ``Packages`` index (and ``Packages.gz``) with the fields apt reads, and a
``Release`` file listing their hashes (apt refuses a repository without one). Unsigned:
the sources line says ``trusted=yes``, as for any local repository.

:func:`repository` builds it in the user's cache, once per set of twin sources.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from mesoslab.provision.debs import BuiltPackage, build_packages, source_hash

KEEP_UNUSED_S = 24 * 3600  # another build (another checkout, a lab still syncing it) is kept a day
REPO_PORT = 8000  # where the lab serves it (the first master's mesoslab-repo unit)
ORIGIN = "mesoslab"
LABEL = "mesoslab rehearsal packages"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mesoslab" / "apt-repo"


def repository(twin: Path, root: Path | None = None) -> Path:
    """The folder of the repository for the twin at ``twin``: built if missing, reused when
    the twin's sources have not changed.

    Several processes may ask at once (two labs coming up, two checkouts): each builds in a
    folder of its own and renames it into place, the first rename wins and the others drop
    theirs. Builds of other sources are removed only once unused for a day, since a lab
    brought up from another checkout may still be reading one."""
    base = root or cache_root()
    folder = base / source_hash(twin)
    if not (folder / "Release").is_file():
        base.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f"{folder.name}.building-", dir=base))
        building.chmod(0o755)
        try:
            write_index(building, build_packages(twin, building))
            if folder.exists() and not (folder / "Release").is_file():
                shutil.rmtree(folder, ignore_errors=True)  # an interrupted build of old
            building.rename(folder)
        except OSError:
            if not (folder / "Release").is_file():
                raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    os.utime(folder)  # in use: keeps it from another build's pruning
    _prune(base, keep=folder)
    return folder


def _prune(base: Path, keep: Path) -> None:
    cutoff = time.time() - KEEP_UNUSED_S
    for old in base.iterdir():
        if old == keep or not old.is_dir():
            continue
        try:
            unused = old.stat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if unused:
            shutil.rmtree(old, ignore_errors=True)


def write_index(folder: Path, packages: list[BuiltPackage]) -> None:
    """``Packages``, ``Packages.gz`` and ``Release`` for the .deb files in ``folder``."""
    stanzas = []
    for package in sorted(packages, key=lambda p: p.name):
        data = package.path.read_bytes()
        stanzas.append(
            package.control.rstrip("\n")
            + f"\nFilename: ./{package.path.name}\nSize: {len(data)}\n"
            + f"MD5sum: {hashlib.md5(data).hexdigest()}\n"
            + f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
        )
    index = "\n".join(stanzas).encode()
    (folder / "Packages").write_bytes(index)
    (folder / "Packages.gz").write_bytes(gzip.compress(index, mtime=0))
    lines = [
        f"Origin: {ORIGIN}",
        f"Label: {LABEL}",
        "Architectures: all",
        f"Date: {email.utils.formatdate(usegmt=True)}",
    ]
    for field, algorithm in (("MD5Sum", "md5"), ("SHA256", "sha256")):
        lines.append(f"{field}:")
        for name in ("Packages", "Packages.gz"):
            data = (folder / name).read_bytes()
            digest = hashlib.new(algorithm, data).hexdigest()
            lines.append(f" {digest} {len(data):>8} {name}")
    (folder / "Release").write_text("\n".join(lines) + "\n", encoding="utf-8")
