"""The package channel (``packages`` in lab.toml): where lesson 1's ``yum install`` finds
Mesos, Marathon, Chronos and ZooKeeper on CentOS 7.

* ``mesosphere``: the original repository RPM (``[mirrors] mesosphere_repo_rpm``). Mesosphere
  shut its services down, so it is probed from the host first and the error says what to
  use instead.
* ``aventer``: a yum repository at ``[mirrors] aventer_repo_url`` (its baseurl, the folder
  holding ``repodata/``). mesoslab does not guess that URL.
* ``local:PATH``: a folder of RPMs on the host, copied to every node into
  ``/var/lib/mesoslab/rpms`` (only files that changed) and made a yum repository there.
* ``prebaked``: the box already has the packages; the step only confirms it.

What the channel must provide is read from lesson 1 itself (:func:`required_packages`), so
the probe follows the lesson when the lesson changes.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import hashlib
import logging
import lzma
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

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
    import httpx

    from mesoslab.lessons.model import Lesson

log = logging.getLogger(__name__)

LOCAL_REPO_DIR = "/var/lib/mesoslab/rpms"
LOCAL_REPO_FILE = "/etc/yum.repos.d/mesoslab-local.repo"
LOCAL_REPO_ID = "mesoslab-local"
AVENTER_REPO_FILE = "/etc/yum.repos.d/aventer.repo"
MESOSPHERE_REPO_PACKAGE = "mesosphere-el-repo"
PROBE_TIMEOUT = 10.0
_MAX_METADATA = 64 * 1024 * 1024  # bytes of primary metadata read to list a repo's packages

# What the Mesosphere repository (and, for lesson 1 to work, any channel) provides: the
# packages lesson 1 installs that do not come from the CentOS base repositories.
STACK_PACKAGES = ("mesos", "marathon", "chronos", "mesosphere-zookeeper")
# Packages the lessons install from the CentOS 7 base repositories (os, updates, extras),
# which provisioning points at the vault: no channel needs to carry these.
CENTOS_BASE_PACKAGES = frozenset(
    {
        "java-1.8.0-openjdk",
        "java-1.8.0-openjdk-headless",
        "nmap-ncat",
        "nc",
        "docker",
        "createrepo",
        "chrony",
        "curl",
        "wget",
        "jq",
    }
)
_YUM_VARS = {"basearch": "x86_64", "arch": "x86_64", "releasever": "7"}
_URL_RE = re.compile(r"^(https?|ftp|file)://[^\s'\"\\`$]+$")
_YUM_URL_RE = re.compile(r"^(https?|ftp|file)://[^\s'\"\\`]+$")  # $basearch allowed


@dataclass(frozen=True)
class ChannelProbe:
    """What probing the channel from the host found."""

    channel: str
    ok: bool
    target: str  # the URL or folder probed ("" when there is nothing to probe)
    summary: str  # one line; the full error (with the alternatives) when not ok
    status: int | None = None  # HTTP status, when there was an answer
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise ChannelError(self.summary)


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
    advice = shlex.quote(_alternatives("mesosphere"))
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
    rpms = _rpm_files(folder)
    if rpms is None or not rpms:
        raise ChannelError(_local_problem(folder, rpms))
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


# ---------------------------------------------------------------------- probing from the host


def _alternatives(failed: str) -> str:
    options = []
    if failed != "aventer":
        options.append('packages = "aventer" (set [mirrors] aventer_repo_url)')
    if failed != "local":
        options.append('packages = "local:PATH" with a folder of RPMs')
    options.append("a prebaked box (mesoslab box build)")
    return "Use " + ", ".join(options[:-1]) + ", or " + options[-1]


def probe_channel(
    spec: LabSpec, *, timeout: float = PROBE_TIMEOUT, client: httpx.Client | None = None
) -> ChannelProbe:
    """Ask, from the host, whether the channel can work, before touching any node."""
    channel = spec.packages.channel
    if channel == "prebaked":
        return ChannelProbe(channel, True, "", "prebaked box: nothing to probe")
    if channel == "local":
        return _probe_local(spec)
    import httpx

    own = client is None
    http = client or httpx.Client(follow_redirects=True, timeout=timeout)
    try:
        if channel == "mesosphere":
            return _probe_mesosphere(spec, http, timeout)
        if channel == "aventer":
            return _probe_aventer(spec, http, timeout)
    finally:
        if own:
            http.close()
    raise LabSpecError(f"unknown package channel {channel!r}")


def ensure_channel(spec: LabSpec, *, timeout: float = PROBE_TIMEOUT) -> ChannelProbe:
    """:func:`probe_channel`, raising ChannelError when the channel cannot work."""
    probe = probe_channel(spec, timeout=timeout)
    probe.raise_for_failure()
    return probe


def _probe_mesosphere(spec: LabSpec, http: httpx.Client, timeout: float) -> ChannelProbe:
    url = spec.packages.mesosphere_repo_rpm
    what = "the Mesosphere repository RPM"
    if not url.startswith(("http://", "https://")):
        return ChannelProbe("mesosphere", True, url, f"{what} {url}: not probed from the host")
    try:
        status, _ = _get(http, url, timeout, limit=0)
    except _Unreachable as exc:
        return ChannelProbe(
            "mesosphere",
            False,
            url,
            f"cannot reach {what} {url} from this machine: {exc.reason}. Mesosphere has shut "
            "its repositories down (where they still answer, it is often with 404). "
            + _alternatives("mesosphere"),
        )
    if status == 404:
        return ChannelProbe(
            "mesosphere",
            False,
            url,
            f"{what} {url} answered 404: Mesosphere's repositories are gone. "
            + _alternatives("mesosphere"),
            status=status,
        )
    if status >= 400:
        return ChannelProbe(
            "mesosphere",
            False,
            url,
            f"{what} {url} answered HTTP {status}. " + _alternatives("mesosphere"),
            status=status,
        )
    return ChannelProbe("mesosphere", True, url, f"{what} {url} is there", status=status)


def _probe_aventer(spec: LabSpec, http: httpx.Client, timeout: float) -> ChannelProbe:
    raw = spec.packages.aventer_repo_url
    if not raw:
        return ChannelProbe(
            "aventer",
            False,
            "",
            'packages = "aventer" needs [mirrors] aventer_repo_url in lab.toml: the baseurl '
            "of the AVENTER yum repository (the folder that holds repodata/)",
        )
    base = _expand_yum_vars(raw).rstrip("/") + "/"
    if not base.startswith(("http://", "https://")):
        return ChannelProbe("aventer", True, raw, f"{raw}: not probed from the host")
    repomd_url = urljoin(base, "repodata/repomd.xml")
    try:
        status, body = _get(http, repomd_url, timeout, limit=4 * 1024 * 1024)
    except _MetadataProblem as exc:
        return ChannelProbe(
            "aventer", True, repomd_url, f"AVENTER repository {base} answers", warnings=(str(exc),)
        )
    except _Unreachable as exc:
        return ChannelProbe(
            "aventer",
            False,
            repomd_url,
            f"cannot reach the AVENTER repository {repomd_url} from this machine: "
            f"{exc.reason}. Check [mirrors] aventer_repo_url. " + _alternatives("aventer"),
        )
    if status >= 400:
        return ChannelProbe(
            "aventer",
            False,
            repomd_url,
            f"the AVENTER repository answered HTTP {status} for {repomd_url}: "
            "[mirrors] aventer_repo_url must be the repository's baseurl (the folder that "
            "holds repodata/). " + _alternatives("aventer"),
            status=status,
        )
    warnings: list[str] = []
    try:
        names = _repo_package_names(http, base, body, timeout)
    except _MetadataProblem as exc:
        warnings.append(f"could not list the repository's packages: {exc}")
        names = None
    if names is not None:
        missing = [p for p in required_packages() if p not in names]
        if missing:
            warnings.append(
                f"the AVENTER repository has no {', '.join(missing)}, which lesson 1 "
                "installs: that yum install will fail"
            )
    return ChannelProbe(
        "aventer",
        True,
        repomd_url,
        f"AVENTER repository {base} answers",
        status=status,
        warnings=tuple(warnings),
    )


def _probe_local(spec: LabSpec) -> ChannelProbe:
    folder = local_rpm_dir(spec)
    rpms = _rpm_files(folder)
    if rpms is None or not rpms:
        return ChannelProbe("local", False, str(folder), _local_problem(folder, rpms))
    have = {rpm_name(p.name) for p in rpms}
    missing = [p for p in required_packages() if p not in have]
    warnings = ()
    if missing:
        warnings = (
            f"{folder} has no RPM of {', '.join(missing)}, which lesson 1 installs: that "
            "yum install will fail",
        )
    return ChannelProbe(
        "local",
        True,
        str(folder),
        f"{len(rpms)} RPM(s) in {folder}",
        warnings=warnings,
    )


def _local_problem(folder: Path, rpms: list[Path] | None) -> str:
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


def _rpm_files(folder: Path) -> list[Path] | None:
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


def _expand_yum_vars(url: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return _YUM_VARS.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, url)


class _Unreachable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _MetadataProblem(Exception):
    pass


def _get(http: httpx.Client, url: str, timeout: float, *, limit: int) -> tuple[int, bytes]:
    """Status and at most ``limit`` bytes of the body of GET ``url``."""
    import httpx

    host = urlsplit(url).hostname or url
    try:
        with http.stream("GET", url, timeout=timeout) as response:
            body = b""
            if response.status_code < 400 and limit:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        raise _MetadataProblem(f"{url} is larger than {limit} bytes")
                body = b"".join(chunks)
            return response.status_code, body
    except httpx.TimeoutException:
        raise _Unreachable(f"no answer within {timeout:g}s") from None
    except httpx.ConnectError as exc:
        raise _Unreachable(_connect_reason(str(exc), host)) from None
    except httpx.HTTPError as exc:
        raise _Unreachable(f"{exc.__class__.__name__}: {exc}") from None


def _connect_reason(text: str, host: str) -> str:
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if any(
        s in lowered
        for s in ("name or service not known", "name resolution", "nodename nor servname")
    ):
        return f"cannot resolve {host} (no DNS, or no internet access)"
    if "unreachable" in lowered:
        return "network unreachable (no internet access?)"
    return text or "cannot connect"


_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
_COMMON_NS = "{http://linux.duke.edu/metadata/common}"


def _repo_package_names(
    http: httpx.Client, base: str, repomd: bytes, timeout: float
) -> set[str] | None:
    """Package names listed in the repository's primary metadata."""
    try:
        root = ET.fromstring(repomd)
    except ET.ParseError as exc:
        raise _MetadataProblem(f"repodata/repomd.xml is not XML: {exc}") from None
    href = None
    for data in root.iter(f"{_REPO_NS}data"):
        if data.get("type") == "primary":
            location = data.find(f"{_REPO_NS}location")
            href = location.get("href") if location is not None else None
    if not href:
        raise _MetadataProblem("repodata/repomd.xml names no primary metadata")
    url = urljoin(base, href)
    try:
        status, raw = _get(http, url, timeout, limit=_MAX_METADATA)
    except _Unreachable as exc:
        raise _MetadataProblem(f"{url}: {exc.reason}") from None
    if status >= 400:
        raise _MetadataProblem(f"{url} answered HTTP {status}")
    try:
        if href.endswith(".gz"):
            raw = gzip.decompress(raw)
        elif href.endswith(".bz2"):
            raw = bz2.decompress(raw)
        elif href.endswith(".xz"):
            raw = lzma.decompress(raw)
        elif not href.endswith(".xml"):
            raise _MetadataProblem(f"cannot read {href.rsplit('.', 1)[-1]}-compressed metadata")
        primary = ET.fromstring(raw)
    except (OSError, EOFError, lzma.LZMAError, ET.ParseError) as exc:
        raise _MetadataProblem(f"cannot read {url}: {exc}") from None
    return {
        (name.text or "").strip()
        for package in primary.iter(f"{_COMMON_NS}package")
        if (name := package.find(f"{_COMMON_NS}name")) is not None
    }
