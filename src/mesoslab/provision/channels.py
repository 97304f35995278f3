"""The package channel (``packages`` in lab.toml): where lesson 1's ``yum install`` finds
Mesos, Marathon, Chronos and ZooKeeper on CentOS 7, and the node-side step that sets it up.

* ``mesosphere``: the original repository RPM (``[mirrors] mesosphere_repo_rpm``). Mesosphere
  shut its services down, so it is probed from the host first
  (:mod:`mesoslab.provision.channel_probe`) and the error says what to use instead.
* ``aventer``: a yum repository at ``[mirrors] aventer_repo_url`` (its baseurl, the folder
  holding ``repodata/``). mesoslab does not guess that URL.
* ``local:PATH``: a folder of RPMs on the host, copied to every node into
  ``/var/lib/mesoslab/rpms`` (only files that changed) and made a yum repository there.
* ``prebaked``: the box already has the packages; the step only confirms it.

What the channel must provide is read from lesson 1 itself (:func:`required_packages`), so
the probe follows the lesson when the lesson changes.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from mesoslab.errors import ChannelError, LabSpecError
from mesoslab.lab.spec import LabSpec
from mesoslab.provision.steps import (
    CHANGED_MARK,
    PUT_FILE_FN,
    FileSync,
    ProvisionStep,
    SyncFile,
    heredoc,
    script,
)

if TYPE_CHECKING:
    from mesoslab.lessons.model import Lesson

log = logging.getLogger(__name__)

LOCAL_REPO_DIR = "/var/lib/mesoslab/rpms"
LOCAL_REPO_FILE = "/etc/yum.repos.d/mesoslab-local.repo"
LOCAL_REPO_ID = "mesoslab-local"
AVENTER_REPO_FILE = "/etc/yum.repos.d/aventer.repo"
MESOSPHERE_REPO_PACKAGE = "mesosphere-el-repo"

# What the Mesosphere repository (and, for lesson 1 to work, any channel) provides: the
# packages lesson 1 installs that do not come from the CentOS base repositories.
STACK_PACKAGES = ("mesos", "marathon", "chronos", "mesosphere-zookeeper")
# Packages the lessons install from the CentOS 7 base repositories (os, updates, extras),
# which provisioning points at the vault: no channel needs to carry these. Only packages
# that really are there belong here: `jq`, for one, is EPEL's, and provisioning does not
# set up EPEL, so a lesson that installs it must say where it comes from.
CENTOS_BASE_PACKAGES = frozenset(
    {
        "java-1.8.0-openjdk",
        "java-1.8.0-openjdk-headless",
        "nmap-ncat",
        "nc",  # provided by nmap-ncat
        "docker",  # extras: Docker 1.13
        "yum-utils",
        "createrepo",
        "chrony",
        "curl",
        "wget",
    }
)
_URL_RE = re.compile(r"^(https?|ftp|file)://[^\s'\"\\`$]+$")
_YUM_URL_RE = re.compile(r"^(https?|ftp|file)://[^\s'\"\\`]+$")  # $basearch allowed


# ---------------------------------------------------------------------- lesson 1's packages


def yum_install_packages(lesson: Lesson, platform: str = "centos7") -> tuple[str, ...]:
    """Every package a ``yum install`` in the lesson's command blocks names, in order."""
    found: list[str] = []
    for step in lesson.steps:
        for action in step.actions_for(platform):
            for package in _packages_in(action.code):
                if package not in found:
                    found.append(package)
    return tuple(found)


def _packages_in(code: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", code)
    packages: list[str] = []
    for line in joined.splitlines():
        for command in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(command, comments=True)
            except ValueError:
                continue
            while words and (words[0] in ("sudo", "-n", "exec") or "=" in words[0]):
                words.pop(0)
            if not words or words[0] not in ("yum", "dnf"):
                continue
            rest = [w for w in words[1:] if not w.startswith("-")]
            if rest and rest[0] == "install":
                packages.extend(w for w in rest[1:] if not w.startswith(("http:", "https:")))
    return packages


@functools.cache
def required_packages() -> tuple[str, ...]:
    """The packages the channel must provide: what lesson 1 installs on CentOS 7, less what
    the CentOS base repositories have. Falls back to :data:`STACK_PACKAGES` (with a log
    warning) when lesson 1 cannot be loaded."""
    from mesoslab.errors import LessonError
    from mesoslab.lessons import catalog

    try:
        lesson = catalog.load("lesson-1")
    except LessonError as exc:
        log.warning("cannot read lesson 1 for its packages (%s); assuming %s", exc, STACK_PACKAGES)
        return STACK_PACKAGES
    wanted = tuple(p for p in yum_install_packages(lesson) if p not in CENTOS_BASE_PACKAGES)
    return wanted or STACK_PACKAGES


# ---------------------------------------------------------------------- the channel's step


def channel_steps(spec: LabSpec) -> list[ProvisionStep]:
    channel = spec.packages.channel
    if channel == "mesosphere":
        return [mesosphere_step(spec)]
    if channel == "aventer":
        return [aventer_step(spec)]
    if channel == "local":
        return [local_step(spec)]
    if channel == "prebaked":
        return [prebaked_step()]
    raise LabSpecError(f"unknown package channel {channel!r}")


def mesosphere_step(spec: LabSpec) -> ProvisionStep:
    url = checked_url(spec.packages.mesosphere_repo_rpm, "[mirrors] mesosphere_repo_rpm")
    pkg = MESOSPHERE_REPO_PACKAGE
    advice = shlex.quote(alternatives("mesosphere"))
    body = f"""
if rpm -q {pkg} >/dev/null 2>&1; then
  echo "the Mesosphere repository is set up ($(rpm -q {pkg}))"
  exit 0
fi
if ! yum -y install {shlex.quote(url)}; then
  echo "cannot install the Mesosphere repository RPM {url} (see above)." >&2
  echo {advice} >&2
  exit 1
fi
echo {CHANGED_MARK}
"""
    return ProvisionStep(
        id="channel-mesosphere",
        title="Package channel: Mesosphere repository RPM",
        script=script(body),
    )


def aventer_step(spec: LabSpec) -> ProvisionStep:
    raw = spec.packages.aventer_repo_url
    if not raw:
        raise LabSpecError(
            'packages = "aventer" needs the address of the AVENTER yum repository: set '
            "[mirrors] aventer_repo_url in lab.toml to its baseurl (the folder that holds "
            "repodata/)",
            hint="mesoslab does not guess it; take it from AVENTER's installation notes",
        )
    url = checked_url(raw, "[mirrors] aventer_repo_url", yum_vars=True)
    repo = "\n".join(
        [
            '# Managed by mesoslab (packages = "aventer" in lab.toml)',
            "[aventer]",
            "name=AVENTER packages of Mesos, Marathon and Chronos",
            f"baseurl={url}",
            "enabled=1",
            "# no signing key is configured for this repository in lab.toml",
            "gpgcheck=0",
        ]
    )
    body = f"""
{PUT_FILE_FN.strip()}

put_file "$root{AVENTER_REPO_FILE}" 644 {heredoc(repo)}
"""
    return ProvisionStep(
        id="channel-aventer",
        title="Package channel: AVENTER yum repository",
        script=script(body),
    )


def local_rpm_dir(spec: LabSpec) -> Path:
    """The host folder of ``packages = "local:PATH"`` (relative paths: to lab.toml's folder)."""
    path = Path(spec.packages.local_path or "").expanduser()
    return path if path.is_absolute() else spec.directory / path


def local_step(spec: LabSpec, dest: str = LOCAL_REPO_DIR) -> ProvisionStep:
    folder = local_rpm_dir(spec)
    rpms = rpm_files(folder)
    if rpms is None or not rpms:
        raise ChannelError(local_problem(folder, rpms))
    files = tuple(SyncFile(p.name, p, p.stat().st_size, _sha256(p)) for p in sorted(rpms, key=str))
    repo = "\n".join(
        [
            '# Managed by mesoslab (packages = "local:PATH" in lab.toml)',
            f"[{LOCAL_REPO_ID}]",
            "name=mesoslab local RPMs (copied from the host)",
            f"baseurl=file://{dest}",
            "enabled=1",
            "gpgcheck=0",
        ]
    )
    body = f"""
{PUT_FILE_FN.strip()}

dir="$root"{shlex.quote(dest)}
stamp="$dir.stamp"
if ! rpm -q createrepo >/dev/null 2>&1; then
  yum -y install createrepo
  echo {CHANGED_MARK}
fi
now=$(find "$dir" -maxdepth 1 -name '*.rpm' -printf '%f %s %T@\\n' | sort)
if [ ! -f "$dir/repodata/repomd.xml" ] || [ "$now" != "$(cat "$stamp" 2>/dev/null || true)" ]
then
  createrepo -q "$dir"
  printf '%s\\n' "$now" > "$stamp"
  yum -q --disablerepo='*' --enablerepo={LOCAL_REPO_ID} clean metadata || true
  echo "yum repository {dest} rebuilt ($(printf '%s\\n' "$now" | wc -l) RPMs)"
  echo {CHANGED_MARK}
fi
put_file "$root{LOCAL_REPO_FILE}" 644 {heredoc(repo)}
"""
    return ProvisionStep(
        id="channel-local",
        title=f"Package channel: local RPMs from {folder}",
        script=script(body),
        sync=FileSync(dest=dest, files=files, pattern="*.rpm"),
        timeout=1800.0,
    )


def prebaked_step() -> ProvisionStep:
    packages = " ".join(required_packages())
    body = f"""
missing=""
for p in {packages}; do
  if ! rpm -q "$p" >/dev/null 2>&1 && ! yum -q list "$p" >/dev/null 2>&1; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  echo "packages = \\"prebaked\\" but the box neither has nor can install:$missing" >&2
  echo "build the box with mesoslab box build, or choose another package channel" >&2
  exit 1
fi
echo "prebaked box: it has every package lesson 1 installs ({packages})"
"""
    return ProvisionStep(
        id="channel-prebaked",
        title="Package channel: prebaked box (check that the packages are there)",
        script=script(body),
    )


def checked_url(value: str, key: str, *, yum_vars: bool = False) -> str:
    """``value`` when it is a plain http(s)/ftp/file URL that is safe inside a script."""
    pattern = _YUM_URL_RE if yum_vars else _URL_RE
    if not isinstance(value, str) or not pattern.match(value):
        raise LabSpecError(
            f"{key} = {value!r} is not a usable URL: write it as http://…, https://… or "
            "file://…, without spaces or quotes"
        )
    return value


# ---------------------------------------------------------------------- shared with the probe


def alternatives(failed: str) -> str:
    """What to write in lab.toml instead of the channel that failed."""
    options = []
    if failed != "aventer":
        options.append('packages = "aventer" (set [mirrors] aventer_repo_url)')
    if failed != "local":
        options.append('packages = "local:PATH" with a folder of RPMs')
    options.append("a prebaked box (mesoslab box build)")
    return "Use " + ", ".join(options[:-1]) + ", or " + options[-1]


def local_problem(folder: Path, rpms: list[Path] | None) -> str:
    """Why the local folder cannot be the channel (``rpms``: :func:`rpm_files` of it)."""
    needed = ", ".join(required_packages())
    if rpms is None:
        return (
            f'packages = "local:PATH": the folder {folder} does not exist. Put the RPMs '
            f"lesson 1 installs there ({needed}, with their dependencies that CentOS 7 "
            "does not have), or change the path in lab.toml"
        )
    return (
        f'packages = "local:PATH": {folder} holds no .rpm files. Put the RPMs lesson 1 '
        f"installs there ({needed}, with their dependencies that CentOS 7 does not have)"
    )


def rpm_files(folder: Path) -> list[Path] | None:
    """The .rpm files in ``folder``; None when there is no such folder."""
    if not folder.is_dir():
        return None
    return sorted(p for p in folder.glob("*.rpm") if p.is_file())


def rpm_name(filename: str) -> str:
    """The package name of an RPM file named name-version-release.arch.rpm."""
    stem = filename.removesuffix(".rpm")
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else stem


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
