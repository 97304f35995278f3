#!/usr/bin/python3
"""Serve the Debian packages a node has installed as a flat apt repository, for the lesson-9
image builds: ``node-packages.py OUT PACKAGE...``.

The lab has no Debian mirror, and its repository on master1:8000 holds only mesoslab's
packages, while ``mesos`` needs ``python3-kazoo`` (and what that needs), the agent image
Docker's client (``docker.io``) and the ZooKeeper image ``zookeeper``. The box has all of
them installed, so, as ``dpkg-repack`` does, each PACKAGE and every package it depends on
(Depends, Pre-Depends; the first installed alternative) is rebuilt from dpkg's database --
its control fields, its file list, its conffiles and maintainer scripts -- into
``OUT/<name>_<version>_<arch>.deb``, then ``Packages`` and ``Release`` are written.
Essential and ``Priority: required`` packages are left out: every Debian image has them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STATUS = Path("/var/lib/dpkg/status")
INFO = Path("/var/lib/dpkg/info")
SCRIPTS = ("preinst", "postinst", "prerm", "postrm", "triggers", "templates", "config")
DROP = {"Status", "Conffiles", "Config-Version"}


def read_status() -> dict[str, dict[str, str]]:
    installed: dict[str, dict[str, str]] = {}
    for stanza in STATUS.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            installed[fields["Package"]] = fields
    return installed


def closure(roots: list[str], installed: dict[str, dict[str, str]]) -> list[str]:
    provides: dict[str, str] = {}
    for name, fields in installed.items():
        for item in fields.get("Provides", "").split(","):
            if item.strip():
                provides.setdefault(item.split("(")[0].strip(), name)
    wanted: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop()
        name = name if name in installed else provides.get(name, name)
        if name in wanted:
            continue
        entry = installed.get(name)
        if entry is None:
            raise SystemExit(f"node-packages: {name} is not installed on this node")
        if entry.get("Essential") == "yes" or entry.get("Priority") == "required":
            continue
        wanted.append(name)
        depends = ", ".join(entry.get(k, "") for k in ("Pre-Depends", "Depends"))
        for group in depends.split(","):
            names = [re.split(r"[\s(:]", alt.strip())[0] for alt in group.split("|")]
            names = [n for n in names if n]
            chosen = next((n for n in names if n in installed or n in provides), None)
            if chosen:
                todo.append(chosen)
    return wanted


def info_file(name: str, arch: str, suffix: str) -> Path | None:
    for candidate in (INFO / f"{name}:{arch}.{suffix}", INFO / f"{name}.{suffix}"):
        if candidate.exists():
            return candidate
    return None


def repack(fields: dict[str, str], out: Path, work: Path) -> Path:
    name, arch = fields["Package"], fields.get("Architecture", "all")
    root = work / name
    listing = info_file(name, arch, "list")
    for line in listing.read_text().splitlines() if listing else []:
        source = Path(line)
        if line in ("/", "/.") or not (source.is_symlink() or source.exists()):
            continue
        target = root / line.lstrip("/")
        if source.is_dir():  # a folder, or a merged-/usr link to one (/lib -> usr/lib)
            target.mkdir(parents=True, exist_ok=True)
        elif source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_symlink():
                os.symlink(os.readlink(source), target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    debian = root / "DEBIAN"
    debian.mkdir(parents=True, exist_ok=True)
    control = "".join(f"{k}: {v}\n" for k, v in fields.items() if k not in DROP)
    (debian / "control").write_text(control, encoding="utf-8")
    conffiles = [c.split()[0] for c in fields.get("Conffiles", "").splitlines() if c.strip()]
    conffiles = [c for c in conffiles if (root / c.lstrip("/")).is_file()]
    if conffiles:
        (debian / "conffiles").write_text("\n".join(conffiles) + "\n", encoding="utf-8")
    for script in SCRIPTS:
        found = info_file(name, arch, script)
        if found:
            shutil.copy2(found, debian / script)
    version = fields["Version"].replace(":", "%3a")
    deb = out / f"{name}_{version}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "-Znone", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return deb


def write_index(out: Path, debs: list[Path]) -> None:
    stanzas = []
    for deb in sorted(debs):
        control = subprocess.run(
            ["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True
        ).stdout.rstrip("\n")
        data = deb.read_bytes()
        stanzas.append(
            f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
            f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
        )
    index = "\n".join(stanzas).encode()
    (out / "Packages").write_bytes(index)
    digest = hashlib.sha256(index).hexdigest()
    (out / "Release").write_text(
        "Origin: mesoslab\nLabel: packages of a lab node\n"
        f"SHA256:\n {digest} {len(index)} Packages\n",
        encoding="utf-8",
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, roots = Path(argv[0]), argv[1:]
    installed = read_status()
    names = closure(roots, installed)
    out.mkdir(parents=True, exist_ok=True)
    debs = []
    with tempfile.TemporaryDirectory(prefix="node-packages-") as tmp:
        for name in names:
            version = installed[name]["Version"].replace(":", "%3a")
            arch = installed[name].get("Architecture", "all")
            existing = out / f"{name}_{version}_{arch}.deb"
            debs.append(existing if existing.exists() else repack(installed[name], out, Path(tmp)))
    write_index(out, debs)
    print(f"{len(debs)} packages in {out}: {' '.join(sorted(names))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
