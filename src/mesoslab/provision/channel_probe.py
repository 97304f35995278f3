"""Probing the package channel from the host, before any node is touched: the HTTP status
of the Mesosphere repository RPM (its body is not read) and the metadata of the two
repositories its ``.repo`` file names, the AVENTER repository's metadata (and whether they
list the packages lesson 1 installs), the local folder of RPMs. A failure says why,
worded for people, and which other channels to use instead.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from mesoslab.errors import ChannelError, LabSpecError
from mesoslab.lab.spec import LabSpec
from mesoslab.provision.channels import (
    alternatives,
    local_problem,
    local_rpm_dir,
    required_packages,
    rpm_files,
    rpm_name,
)

if TYPE_CHECKING:
    import httpx

PROBE_TIMEOUT = 10.0
_MAX_METADATA = 64 * 1024 * 1024  # bytes of primary metadata read to list a repo's packages
_YUM_VARS = {"basearch": "x86_64", "arch": "x86_64", "releasever": "7"}


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
            + alternatives("mesosphere"),
        )
    if status == 404:
        return ChannelProbe(
            "mesosphere",
            False,
            url,
            f"{what} {url} answered 404: Mesosphere's repositories are gone. "
            + alternatives("mesosphere"),
            status=status,
        )
    if status >= 400:
        return ChannelProbe(
            "mesosphere",
            False,
            url,
            f"{what} {url} answered HTTP {status}. " + alternatives("mesosphere"),
            status=status,
        )
    return _probe_mesosphere_repos(url, http, timeout, status)


# The repository RPM sits in <el7>/noarch/RPMS/ and its mesosphere.repo names two
# repositories beside it: [mesosphere] <el7>/$basearch/ and [mesosphere-noarch] <el7>/noarch/.
_MESOSPHERE_RPM_RE = re.compile(r"^(?P<el7>.+/)noarch/RPMS/[^/]+\.rpm$")
_MESOSPHERE_REPOS = ("x86_64", "noarch")


def mesosphere_repo_bases(rpm_url: str) -> tuple[str, ...]:
    """The baseurls the Mesosphere repository RPM at ``rpm_url`` sets up (x86_64, noarch);
    empty when the URL is not laid out like repos.mesosphere.io."""
    match = _MESOSPHERE_RPM_RE.match(rpm_url)
    if not match:
        return ()
    return tuple(f"{match['el7']}{arch}/" for arch in _MESOSPHERE_REPOS)


def _probe_mesosphere_repos(
    url: str, http: httpx.Client, timeout: float, status: int
) -> ChannelProbe:
    """The repository RPM answers; yum needs the repositories it names to answer too."""
    what = "the Mesosphere repository RPM"
    bases = mesosphere_repo_bases(url)
    if not bases:
        return ChannelProbe(
            "mesosphere",
            True,
            url,
            f"{what} {url} is there",
            status=status,
            warnings=(
                f"{url} is not laid out like repos.mesosphere.io (<el7>/noarch/RPMS/): the "
                "repositories its .repo file names were not probed",
            ),
        )
    warnings: list[str] = []
    names: set[str] | None = set()
    for base in bases:
        repomd_url = urljoin(base, "repodata/repomd.xml")
        try:
            md_status, body = _get(http, repomd_url, timeout, limit=4 * 1024 * 1024)
        except _MetadataProblem as exc:
            warnings.append(str(exc))
            names = None
            continue
        except _Unreachable as exc:
            return ChannelProbe(
                "mesosphere",
                False,
                repomd_url,
                f"{what} {url} is there, but the repository it sets up does not answer "
                f"({repomd_url}: {exc.reason}), so yum install would fail. "
                + alternatives("mesosphere"),
                status=status,
            )
        if md_status >= 400:
            return ChannelProbe(
                "mesosphere",
                False,
                repomd_url,
                f"{what} {url} is there, but the repository it sets up answered HTTP "
                f"{md_status} for {repomd_url}, so yum install would fail. "
                + alternatives("mesosphere"),
                status=md_status,
            )
        try:
            listed = _repo_package_names(http, base, body, timeout)
        except _MetadataProblem as exc:
            warnings.append(f"could not list the packages of {base}: {exc}")
            names = None
            continue
        if names is not None and listed is not None:
            names |= listed
    warnings += _lacking(names, "the Mesosphere repositories have")
    return ChannelProbe(
        "mesosphere",
        True,
        url,
        f"{what} {url} is there, and so are the repositories it sets up",
        status=status,
        warnings=tuple(warnings),
    )


def _lacking(names: set[str] | None, where: str) -> list[str]:
    """The warning when the repositories (whose packages are ``names``) lack some that
    lesson 1 installs; none when they have them all or could not be listed."""
    missing = [p for p in required_packages() if names is not None and p not in names]
    if not missing:
        return []
    return [f"{where} no {', '.join(missing)}, which lesson 1 installs: that yum install will fail"]


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
            f"{exc.reason}. Check [mirrors] aventer_repo_url. " + alternatives("aventer"),
        )
    if status >= 400:
        return ChannelProbe(
            "aventer",
            False,
            repomd_url,
            f"the AVENTER repository answered HTTP {status} for {repomd_url}: "
            "[mirrors] aventer_repo_url must be the repository's baseurl (the folder that "
            "holds repodata/). " + alternatives("aventer"),
            status=status,
        )
    warnings: list[str] = []
    try:
        names = _repo_package_names(http, base, body, timeout)
    except _MetadataProblem as exc:
        warnings.append(f"could not list the repository's packages: {exc}")
        names = None
    warnings += _lacking(names, "the AVENTER repository has")
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
    rpms = rpm_files(folder)
    if rpms is None or not rpms:
        return ChannelProbe("local", False, str(folder), local_problem(folder, rpms))
    have = {rpm_name(p.name) for p in rpms}
    missing = [p for p in required_packages() if p not in have]
    warnings: tuple[str, ...] = ()
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
