"""The twin as Debian packages named as Mesosphere's: ``mesos``, ``marathon``, ``chronos``,
``mesosphere-zookeeper`` (and ``mesoslab-twin``, the code they share), so that a rehearsal
lesson installs them as the seed does on Ubuntu: a ``sources.list.d/mesosphere.list`` line,
``apt-get update``, ``apt-get install mesos marathon chronos mesosphere-zookeeper``.

The files come from the twin's own installer: ``install.sh`` runs once with ``DESTDIR`` set
to a staging folder (``STAGING=1``: nothing of it runs on this machine), and each staged
file goes to the package that owns it (:data:`OWNERS`); a file no package claims is an error,
so a new file of the installer cannot be left out silently. Files under ``/etc`` are
conffiles: dpkg keeps a learner's changes across reinstalls, as ``install.sh`` leaves
existing files alone. The maintainer scripts do what the RPMs did: ``mesos`` enables both
``mesos-master`` and ``mesos-slave`` on its first install (lesson 1 turns off the one a node
must not run), ``mesosphere-zookeeper`` lays Debian's ZooKeeper out like Mesosphere's.

Packages are built with ``dpkg-deb`` into a folder named for a hash of their sources, so an
unchanged twin is not rebuilt (see :mod:`mesoslab.provision.apt_repo` for the index).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mesoslab import __version__
from mesoslab.errors import ChannelError

TWIN_PREFIX = "/opt/mesoslab-twin"
MAINTAINER = "mesoslab <mesoslab@localhost>"
HOMEPAGE = "the mesoslab rehearsal lab (an emulation, not the real software)"


@dataclass(frozen=True)
class PackageSpec:
    name: str
    version_key: str  # the twin's constant giving the version it emulates ("" = mesoslab's)
    depends: str
    summary: str
    owns: tuple[str, ...]  # path patterns (regular expressions) of the staged files it owns
    postinst: str = ""


TWIN_DEPENDS = "python3, python3-kazoo"
# Run by every unit-carrying package after its files are in place (and after removal).
RELOAD = "systemctl daemon-reload >/dev/null 2>&1 || true"

PACKAGES: tuple[PackageSpec, ...] = (
    PackageSpec(
        "mesoslab-twin",
        "",
        TWIN_DEPENDS,
        "mesoslab's emulated Mesos-family daemons (the code the packages share)",
        (r"opt/mesoslab-twin/.*",),
    ),
    PackageSpec(
        "mesos",
        "MESOS_VERSION",
        "mesoslab-twin (= {twin}), " + TWIN_DEPENDS,
        "Apache Mesos, emulated: mesos-master and mesos-slave units, mesos-execute, "
        "mesos-resolve, /etc/mesos*",
        (
            r"usr/bin/mesos-(init-wrapper|execute|resolve)",
            r"usr/sbin/mesos-(master|slave|agent)",
            r"usr/lib/systemd/system/mesos-(master|slave)\.service",
            r"etc/mesos(-master|-slave)?/.*",
            r"etc/default/mesos(-master|-slave)?",
            r"var/(lib|log)/mesos/",
        ),
        # As the Mesosphere RPMs: both units enabled on the first install ($2 is empty).
        postinst=(
            f"{RELOAD}\n"
            'if [ "$1" = configure ] && [ -z "${2:-}" ]; then\n'
            "  systemctl enable mesos-master.service mesos-slave.service >/dev/null 2>&1 || true\n"
            "fi\n"
        ),
    ),
    PackageSpec(
        "marathon",
        "MARATHON_VERSION",
        "mesoslab-twin (= {twin}), " + TWIN_DEPENDS,
        "Marathon, emulated: the marathon unit and /etc/marathon/conf",
        (r"usr/bin/marathon", r"usr/lib/systemd/system/marathon\.service", r"etc/marathon/.*"),
        postinst=RELOAD + "\n",
    ),
    PackageSpec(
        "chronos",
        "CHRONOS_VERSION",
        "mesoslab-twin (= {twin}), " + TWIN_DEPENDS,
        "Chronos, emulated: the chronos unit and /etc/chronos/conf",
        (r"usr/bin/chronos", r"usr/lib/systemd/system/chronos\.service", r"etc/chronos/.*"),
        postinst=RELOAD + "\n",
    ),
    PackageSpec(
        "mesosphere-zookeeper",
        "ZOOKEEPER_LAYOUT_VERSION",
        "zookeeper, mesoslab-twin (= {twin})",
        "Debian's ZooKeeper laid out as Mesosphere's package: dataDir /var/lib/zookeeper, "
        "/opt/mesosphere/zookeeper/bin/zkCli.sh",
        (r"opt/mesosphere/zookeeper/bin/zkCli\.sh",),
        postinst=f"sh {TWIN_PREFIX}/mesoslab_twin/zookeeper-layout.sh\n",
    ),
)


@dataclass(frozen=True)
class BuiltPackage:
    name: str
    version: str
    path: Path  # the .deb file
    control: str  # its control file, as dpkg-deb wrote it into the package


def source_hash(twin: Path) -> str:
    """A hash of everything the packages are made of: the twin's files and this module."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(twin.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(twin).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def twin_versions(twin: Path) -> dict[str, str]:
    """The versions the twin emulates, read from its ``__init__.py`` (not imported:
    mesoslab runs none of the twin's code)."""
    text = (twin / "__init__.py").read_text(encoding="utf-8")
    found = dict(re.findall(r'^([A-Z_]+_VERSION) = "([^"]+)"', text, re.MULTILINE))
    # mesosphere-zookeeper wraps the box's Debian ZooKeeper (3.8): it has no version of its own
    found.setdefault("ZOOKEEPER_LAYOUT_VERSION", "3.8.0")
    return found


def build_packages(twin: Path, out: Path) -> list[BuiltPackage]:
    """Build every package of :data:`PACKAGES` from the twin folder ``twin`` into ``out``
    (a folder of its own: what is there is replaced)."""
    if shutil.which("dpkg-deb") is None:
        raise ChannelError(
            "dpkg-deb is missing: it builds the rehearsal lab's packages",
            hint="apt-get install dpkg (Debian and Ubuntu have it)",
        )
    build = source_hash(twin)
    versions = twin_versions(twin)
    twin_version = f"{__version__}+{build}"
    with tempfile.TemporaryDirectory(prefix="mesoslab-debs-") as tmp:
        stage = Path(tmp) / "stage"
        _stage(twin, stage)
        owned = _assign(stage)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        built = []
        for spec in PACKAGES:
            version = (
                f"{versions[spec.version_key]}-mesoslab+{build}"
                if spec.version_key
                else twin_version
            )
            built.append(
                _build_one(spec, version, twin_version, stage, owned[spec.name], Path(tmp), out)
            )
    return built


def _stage(twin: Path, stage: Path) -> None:
    code = stage / TWIN_PREFIX.lstrip("/") / "mesoslab_twin"
    shutil.copytree(twin, code, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "DESTDIR": str(stage), "NO_SYSTEMCTL": "1", "STAGING": "1"}
    done = subprocess.run(
        ["sh", str(code / "install.sh"), TWIN_PREFIX],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise ChannelError(
            "staging the twin's packages failed: " + (done.stderr.strip() or done.stdout.strip())
        )


def _assign(stage: Path) -> dict[str, list[str]]:
    """Each staged path (files, and empty folders as ``dir/``) to the package owning it."""
    owned: dict[str, list[str]] = {spec.name: [] for spec in PACKAGES}
    unclaimed = []
    for path in sorted(stage.rglob("*")):
        if path.is_dir() and any(path.iterdir()):
            continue
        relative = path.relative_to(stage).as_posix() + ("/" if path.is_dir() else "")
        owner = next(
            (s.name for s in PACKAGES if any(re.fullmatch(p, relative) for p in s.owns)), None
        )
        if owner is None:
            unclaimed.append(relative)
        else:
            owned[owner].append(relative)
    if unclaimed:
        raise ChannelError(
            "no rehearsal package owns " + ", ".join(unclaimed),
            hint="add the path to a package in mesoslab/provision/debs.py",
        )
    return owned


def _build_one(
    spec: PackageSpec,
    version: str,
    twin_version: str,
    stage: Path,
    paths: list[str],
    tmp: Path,
    out: Path,
) -> BuiltPackage:
    root = tmp / spec.name
    for relative in paths:
        target = root / relative
        if relative.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(stage / relative, target)
    debian = root / "DEBIAN"
    debian.mkdir(parents=True)
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024 + 1
    control = (
        f"Package: {spec.name}\n"
        f"Version: {version}\n"
        "Architecture: all\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {spec.depends.format(twin=twin_version)}\n"
        "Section: admin\n"
        "Priority: optional\n"
        f"Description: {spec.summary}\n"
        f" Built by mesoslab for {HOMEPAGE}.\n"
    )
    (debian / "control").write_text(control, encoding="utf-8")
    conffiles = [f"/{p}" for p in paths if p.startswith("etc/") and not p.endswith("/")]
    if conffiles:
        (debian / "conffiles").write_text("\n".join(conffiles) + "\n", encoding="utf-8")
    if spec.postinst:
        for script in ("postinst", "postrm"):
            body = spec.postinst if script == "postinst" else RELOAD + "\n"
            path = debian / script
            path.write_text(f"#!/bin/sh\nset -e\n{body}", encoding="utf-8")
            path.chmod(0o755)
    deb = out / f"{spec.name}_{version}_all.deb"
    done = subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise ChannelError(f"dpkg-deb could not build {spec.name}: {done.stderr.strip()}")
    return BuiltPackage(spec.name, version, deb, control)
