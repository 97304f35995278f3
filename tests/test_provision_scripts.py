"""Provisioning scripts: rendered for every platform, channel and preset, shellchecked, run
against a scratch root (``MESOSLAB_ROOT``) to prove them idempotent, and compared with the
packages lesson 1 installs. Channel probes run against real HTTP servers on loopback.

The CentOS tools the scripts call (yum, rpm, createrepo, systemctl) do not exist on the
Debian test machine; where a script is run here, small stand-ins on PATH play them so that
the scripts' own logic (what they write, when they say "changed") is what is tested.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mesoslab.errors import ChannelError, LabSpecError
from mesoslab.lab.spec import LabSpec, parse_lab
from mesoslab.lessons import catalog
from mesoslab.provision import channel_probe, channels
from mesoslab.provision.centos7 import base_repo_file, centos7_steps
from mesoslab.provision.channel_probe import probe_channel
from mesoslab.provision.channels import (
    CENTOS_BASE_PACKAGES,
    STACK_PACKAGES,
    required_packages,
    rpm_name,
    yum_install_packages,
)
from mesoslab.provision.rehearsal import rehearsal_steps
from mesoslab.provision.runner import steps_for
from mesoslab.provision.steps import CHANGED_MARK, HOSTS_BEGIN, HOSTS_END, ProvisionStep
from tests.support.fixture_server import FixtureServer, Reply
from tests.support.ports import free_port

PRESETS = ("1m-2a", "3m-3a")
AVENTER_URL = "http://aventer.example.test/el7/$basearch/"

STOCK_CENTOS_BASE = """\
[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

[updates]
name=CentOS-$releasever - Updates
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7
"""
STOCK_FASTESTMIRROR = "[main]\nenabled=1\nverbose=0\n"


def fake_rpms(folder: Path, names: tuple[str, ...] = STACK_PACKAGES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}-1.0-1.el7.x86_64.rpm").write_bytes(name.encode() * 10)
    return folder


def make_spec(tmp_path: Path, channel: str, preset: str, **mirrors: str) -> LabSpec:
    data: dict[str, object] = {"platform": "centos7", "preset": preset}
    if channel == "local":
        fake_rpms(tmp_path / "rpms")
        data["packages"] = "local:rpms"
    else:
        data["packages"] = channel
    if channel == "aventer":
        mirrors.setdefault("aventer_repo_url", AVENTER_URL)
    spec = parse_lab(data, directory=tmp_path)
    if mirrors:  # [mirrors] set on the parsed spec (see PackageSpec)
        from dataclasses import replace

        spec = replace(spec, packages=replace(spec.packages, **mirrors))
    return spec


# ---------------------------------------------------------------------- rendering + shellcheck

CASES = [
    (platform, channel, preset)
    for preset in PRESETS
    for platform, channel in [
        ("centos7", "mesosphere"),
        ("centos7", "aventer"),
        ("centos7", "local"),
        ("centos7", "prebaked"),
        ("rehearsal", "prebaked"),
    ]
]


@pytest.mark.parametrize(("platform", "channel", "preset"), CASES)
def test_every_script_passes_shellcheck(
    tmp_path: Path, platform: str, channel: str, preset: str
) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (.ci/run installs it)")
    spec = make_spec(tmp_path, channel, preset)
    if platform == "rehearsal":
        from dataclasses import replace

        spec = replace(spec, platform="rehearsal")
    steps = steps_for(spec)
    assert steps and len({s.id for s in steps}) == len(steps)
    files = []
    for step in steps:
        assert step.script.startswith("set -eu\n"), step.id
        path = tmp_path / f"{step.id}.sh"
        path.write_text(step.script, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        [shellcheck, "-s", "sh", "-S", "style", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_centos7_steps_in_order_for_each_channel(tmp_path: Path) -> None:
    for channel in ("mesosphere", "aventer", "local", "prebaked"):
        ids = [s.id for s in centos7_steps(make_spec(tmp_path, channel, "1m-2a"))]
        assert ids == ["hosts", "base-repos", "time-sync", f"channel-{channel}"]
    assert [s.id for s in rehearsal_steps(make_spec(tmp_path, "prebaked", "3m-3a"))] == [
        "hosts",
        "tools",
        "twin-code",
        "twin-units",
        "docker-config",
        "registry",
        "apt-offline",
        "package-repo",
        "pylib",
    ]


def test_base_provisioning_leaves_firewalld_to_lesson_1(tmp_path: Path) -> None:
    # Lesson 1 step 1 has the learner switch firewalld off; its check must fail before that.
    for channel in ("mesosphere", "local"):
        for step in centos7_steps(make_spec(tmp_path, channel, "3m-3a")):
            assert "firewalld" not in step.script, step.id
            assert "mesos-master" not in step.script and "zookeeper/conf" not in step.script


@pytest.mark.parametrize("preset", PRESETS)
def test_hosts_block_lists_every_node(tmp_path: Path, preset: str) -> None:
    spec = make_spec(tmp_path, "prebaked", preset)
    hosts = next(s for s in steps_for(spec) if s.id == "hosts").script
    block = hosts.split(HOSTS_BEGIN + "\n", 1)[1].split(HOSTS_END, 1)[0].splitlines()
    assert [line.split() for line in block] == [[n.address, n.name] for n in spec.nodes]
    assert len(block) == (3 if preset == "1m-2a" else 6)


def test_vault_url_used_and_mirrorlist_gone(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "mesosphere", "1m-2a")
    script = next(s for s in steps_for(spec) if s.id == "base-repos").script
    for folder in ("os", "updates", "extras"):
        assert f"baseurl=http://vault.centos.org/7.9.2009/{folder}/$basearch/" in script
    assert "mirrorlist=" not in script
    custom = make_spec(tmp_path, "mesosphere", "1m-2a", vault_url="https://mirror.test/c/7.9.2009")
    script = next(s for s in steps_for(custom) if s.id == "base-repos").script
    assert "baseurl=https://mirror.test/c/7.9.2009/os/$basearch/" in script
    assert "vault.centos.org" not in script


def test_mesosphere_channel_installs_the_configured_repo_rpm(tmp_path: Path) -> None:
    url = "http://repo.test/mesosphere-el-repo-7-1.noarch.rpm"
    spec = make_spec(tmp_path, "mesosphere", "1m-2a", mesosphere_repo_rpm=url)
    script = steps_for(spec)[-1].script
    assert "rpm -q mesosphere-el-repo" in script
    assert f"yum -y install {url}" in script
    assert 'packages = "aventer"' in script  # the alternatives, when the install fails


def test_aventer_channel_needs_its_url(tmp_path: Path) -> None:
    spec = parse_lab({"platform": "centos7", "packages": "aventer"}, directory=tmp_path)
    with pytest.raises(LabSpecError) as caught:
        centos7_steps(spec)
    assert "[mirrors] aventer_repo_url" in str(caught.value)
    assert "baseurl" in str(caught.value)
    script = steps_for(make_spec(tmp_path, "aventer", "1m-2a"))[-1].script
    assert f"baseurl={AVENTER_URL}\n" in script
    assert "/etc/yum.repos.d/aventer.repo" in script


@pytest.mark.parametrize(
    "bad", ["http://x.test/a b", "http://x.test/'; rm -rf /", "ftp:/x", "vault.centos.org"]
)
def test_urls_that_could_break_a_script_are_refused(tmp_path: Path, bad: str) -> None:
    spec = make_spec(tmp_path, "mesosphere", "1m-2a", vault_url=bad)
    with pytest.raises(LabSpecError, match="vault_url"):
        centos7_steps(spec)
    with pytest.raises(LabSpecError, match="not a usable URL"):
        base_repo_file(bad)


def test_local_channel_copies_the_folder_and_builds_a_repo(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "local", "1m-2a")
    step = steps_for(spec)[-1]
    assert step.sync is not None
    assert step.sync.dest == "/var/lib/mesoslab/rpms"
    assert sorted(f.name for f in step.sync.files) == sorted(
        f"{n}-1.0-1.el7.x86_64.rpm" for n in STACK_PACKAGES
    )
    assert all(len(f.sha256) == 64 and f.size > 0 for f in step.sync.files)
    assert "createrepo" in step.script
    assert "baseurl=file:///var/lib/mesoslab/rpms" in step.script
    assert "gpgcheck=0" in step.script


def test_local_channel_without_its_folder_is_a_clear_error(tmp_path: Path) -> None:
    spec = parse_lab({"packages": "local:nowhere"}, directory=tmp_path)
    with pytest.raises(ChannelError, match="does not exist"):
        centos7_steps(spec)
    (tmp_path / "nowhere").mkdir()
    with pytest.raises(ChannelError, match=r"holds no \.rpm files"):
        centos7_steps(spec)


# ---------------------------------------------------------------------- compared to lesson 1


def test_lesson_1_packages_come_from_the_base_repos_or_the_channel() -> None:
    lesson = catalog.load("lesson-1")
    named = yum_install_packages(lesson)
    assert {"mesos", "marathon", "chronos", "mesosphere-zookeeper"} <= set(named)
    unknown = [p for p in named if p not in CENTOS_BASE_PACKAGES and p not in STACK_PACKAGES]
    assert unknown == [], (
        f"lesson 1 installs {unknown}, which neither the CentOS base repositories nor the "
        "package channels are known to provide: update channels.py"
    )
    required = required_packages()
    assert set(required) == set(named) - CENTOS_BASE_PACKAGES
    assert "java-1.8.0-openjdk" in named and "java-1.8.0-openjdk" not in required
    assert "jq" not in CENTOS_BASE_PACKAGES  # EPEL's, not CentOS's (audit 1-2 finding 16)


LESSON_1 = Path(__file__).resolve().parents[1] / "lessons" / "01-first-cluster" / "lesson.md"
_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<code>.*?)^```$", re.M | re.S)
_YUM_INSTALL = re.compile(r"^\s*(?:sudo\s+)?yum\s+(?:-\S+\s+)*install\s+(?P<args>[^#;&|\n]+)", re.M)


def lesson_1_centos_yum_packages() -> set[str]:
    """The package names of the `yum install` lines in lesson 1's command blocks that run on
    CentOS 7, read straight from the Markdown (not through mesoslab's lesson loader)."""
    names: set[str] = set()
    for fence in _FENCE.finditer(LESSON_1.read_text(encoding="utf-8")):
        info = fence["info"].split()
        if not any(w.startswith("on=") for w in info) or "platform=rehearsal" in info:
            continue
        for line in _YUM_INSTALL.finditer(fence["code"]):
            names.update(w for w in line["args"].split() if not w.startswith("-"))
    return names


def test_prebaked_step_checks_exactly_the_packages_lesson_1_installs(tmp_path: Path) -> None:
    script = steps_for(make_spec(tmp_path, "prebaked", "1m-2a"))[-1].script
    loop = next(line for line in script.splitlines() if line.startswith("for p in "))
    checked = loop.removeprefix("for p in ").removesuffix("; do").split()
    named = lesson_1_centos_yum_packages()
    assert {"mesos", "marathon", "chronos", "mesosphere-zookeeper"} <= named
    assert sorted(checked) == sorted(named - CENTOS_BASE_PACKAGES)
    assert len(checked) == len(set(checked))


def test_yum_parsing_follows_the_commands() -> None:
    parse = channels._packages_in
    assert parse("yum -y install a b\nsudo yum install -y c # not-a-package\n") == ["a", "b", "c"]
    assert parse("yum -y install \\\n  d e && systemctl start d") == ["d", "e"]
    assert parse("rpm -Uvh x.rpm; yum remove f; yum list g") == []
    assert rpm_name("mesosphere-zookeeper-3.4.6-0.1.20141204175332.centos7.x86_64.rpm") == (
        "mesosphere-zookeeper"
    )


# ---------------------------------------------------------------------- running the scripts


def stand_ins(folder: Path, scripts: dict[str, str]) -> dict[str, str]:
    """An environment whose PATH starts with ``folder`` holding the given commands."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = folder / name
        path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
        path.chmod(0o755)
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def run_step(step: ProvisionStep, root: Path, node: str = "master1", **env: str):
    environ = {**os.environ, "MESOSLAB_ROOT": str(root), "MESOSLAB_NODE": node, **env}
    return subprocess.run(
        ["sh", "-c", step.script], capture_output=True, text=True, env=environ, timeout=30
    )


def changed(result: subprocess.CompletedProcess[str]) -> bool:
    return CHANGED_MARK in result.stdout.splitlines()


def test_hosts_step_writes_the_block_and_frees_the_loopback_names(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "prebaked", "1m-2a")
    step = steps_for(spec)[0]
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hosts").write_text(
        "127.0.0.1   localhost localhost.localdomain\n"
        "127.0.0.1\tmaster1\tmaster1\n"
        "127.0.1.1 master1.example.test master1 # added by the box\n"
        "::1 localhost ip6-localhost\n"
        "10.9.9.9 other\n"
    )
    (root / "etc" / "hostname").write_text("localhost.localdomain\n")
    first = run_step(step, root)
    assert first.returncode == 0, first.stderr
    assert changed(first)
    hosts = (root / "etc" / "hosts").read_text()
    assert hosts == (
        "127.0.0.1   localhost localhost.localdomain\n"
        "::1 localhost ip6-localhost\n"
        "10.9.9.9 other\n"
        "# mesoslab begin\n"
        "192.168.56.11 master1\n"
        "192.168.56.21 agent1\n"
        "192.168.56.22 agent2\n"
        "# mesoslab end\n"
    )
    assert (root / "etc" / "hostname").read_text() == "master1\n"
    second = run_step(step, root)
    assert second.returncode == 0 and not changed(second), second.stdout
    assert (root / "etc" / "hosts").read_text() == hosts
    # A lab with another node: the block is replaced in place, nothing else moves.
    bigger = make_spec(tmp_path, "prebaked", "3m-3a")
    third = run_step(steps_for(bigger)[0], root)
    assert changed(third)
    text = (root / "etc" / "hosts").read_text()
    assert text.count(HOSTS_BEGIN) == 1 and "192.168.56.23 agent3\n" in text
    assert text.startswith("127.0.0.1   localhost localhost.localdomain\n")


def test_hosts_step_needs_the_node_name(tmp_path: Path) -> None:
    step = steps_for(make_spec(tmp_path, "prebaked", "1m-2a"))[0]
    result = run_step(step, tmp_path, node="")
    assert result.returncode != 0
    assert "MESOSLAB_NODE" in result.stderr


def test_base_repos_step_rewrites_once(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "mesosphere", "1m-2a")
    step = next(s for s in steps_for(spec) if s.id == "base-repos")
    root = tmp_path / "root"
    repo = root / "etc" / "yum.repos.d" / "CentOS-Base.repo"
    repo.parent.mkdir(parents=True)
    repo.write_text(STOCK_CENTOS_BASE)
    fastest = root / "etc" / "yum" / "pluginconf.d" / "fastestmirror.conf"
    fastest.parent.mkdir(parents=True)
    fastest.write_text(STOCK_FASTESTMIRROR)
    log = tmp_path / "yum.log"
    env = stand_ins(tmp_path / "bin", {"yum": f'echo "$*" >> {log}'})
    first = run_step(step, root, **env)
    assert first.returncode == 0, first.stderr
    assert changed(first)
    assert repo.read_text() == base_repo_file(spec.packages.vault_url) + "\n"
    assert (repo.parent / "CentOS-Base.repo.mesoslab-orig").read_text() == STOCK_CENTOS_BASE
    assert fastest.read_text() == "[main]\nenabled=0\nverbose=0\n"
    assert log.read_text().splitlines() == ["-q clean all", "-q makecache fast"]
    second = run_step(step, root, **env)
    assert second.returncode == 0 and not changed(second), second.stdout
    assert "base repositories point at http://vault.centos.org/7.9.2009" in second.stdout
    assert log.read_text().splitlines()[-1] == "-q makecache fast"


def test_base_repos_step_fails_precisely_when_the_vault_is_unreachable(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "mesosphere", "1m-2a", vault_url="http://mirror.test/7.9.2009")
    step = next(s for s in steps_for(spec) if s.id == "base-repos")
    env = stand_ins(
        tmp_path / "bin",
        {
            "yum": '[ "$2" = makecache ] && '
            '{ echo "Cannot find a valid baseurl for repo: base/7/x86_64" >&2; exit 1; }'
        },
    )
    result = run_step(step, tmp_path / "root", **env)
    assert result.returncode == 1
    assert "Cannot find a valid baseurl for repo: base/7/x86_64" in result.stderr
    assert "metadata of repository base (see above)" in result.stderr
    assert "can the node reach http://mirror.test/7.9.2009?" in result.stderr
    assert "[mirrors] vault_url" in result.stderr


# What yum 3 on CentOS 7 prints when an enabled repository's repodata answers 404.
YUM_REPO_404 = """\
failure: repodata/repomd.xml from mesosphere: [Errno 256] No more mirrors to try.
http://repos.mesosphere.io/el/7/x86_64/repodata/repomd.xml: [Errno 14] HTTP Error 404 - Not Found
"""


def test_base_repos_step_names_another_failing_repo_instead_of_the_vault(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "mesosphere", "1m-2a")
    step = next(s for s in steps_for(spec) if s.id == "base-repos")
    (tmp_path / "yum.err").write_text(YUM_REPO_404)
    env = stand_ins(
        tmp_path / "bin",
        {"yum": f'[ "$2" = makecache ] && {{ cat {tmp_path / "yum.err"} >&2; exit 1; }}'},
    )
    result = run_step(step, tmp_path / "root", **env)
    assert result.returncode == 1
    assert "HTTP Error 404" in result.stderr  # yum's own words are kept
    assert "metadata of repository mesosphere (see above), which is" in result.stderr
    assert "not a CentOS base repository" in result.stderr
    assert "vault" not in result.stderr.split("HTTP Error 404 - Not Found", 1)[1]


def test_base_repos_step_lists_the_repos_when_yum_names_none(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "mesosphere", "1m-2a")
    step = next(s for s in steps_for(spec) if s.id == "base-repos")
    root = tmp_path / "root"
    (root / "etc" / "yum.repos.d").mkdir(parents=True)
    (root / "etc" / "yum.repos.d" / "docker-ce.repo").write_text("[docker-ce-stable]\nenabled=1\n")
    env = stand_ins(
        tmp_path / "bin", {"yum": '[ "$2" = makecache ] && { echo "timeout" >&2; exit 1; }'}
    )
    result = run_step(step, root, **env)
    assert result.returncode == 1
    assert "yum gives up when any repository fails" in result.stderr
    listed = result.stderr.split("the node has: ", 1)[1].split(".", 1)[0]
    assert listed.split() == ["base", "updates", "extras", "centosplus", "docker-ce-stable"]


def test_aventer_repo_file_is_written_once(tmp_path: Path) -> None:
    step = steps_for(make_spec(tmp_path, "aventer", "1m-2a"))[-1]
    root = tmp_path / "root"
    first = run_step(step, root)
    assert first.returncode == 0 and changed(first), first.stderr
    text = (root / "etc" / "yum.repos.d" / "aventer.repo").read_text()
    assert f"baseurl={AVENTER_URL}\n" in text  # $basearch left for yum to expand
    assert oct((root / "etc" / "yum.repos.d" / "aventer.repo").stat().st_mode & 0o777) == "0o644"
    second = run_step(step, root)
    assert second.returncode == 0 and not changed(second)


def test_local_repo_is_rebuilt_only_when_the_rpms_change(tmp_path: Path) -> None:
    step = steps_for(make_spec(tmp_path, "local", "1m-2a"))[-1]
    root = tmp_path / "root"
    rpms = root / "var" / "lib" / "mesoslab" / "rpms"
    rpms.mkdir(parents=True)
    for item in step.sync.files:  # what the runner's sync put there
        shutil.copy(item.path, rpms / item.name)
    log = tmp_path / "calls.log"
    env = stand_ins(
        tmp_path / "bin",
        {
            "rpm": f'echo "rpm $*" >> {log}; exit 0',
            "yum": f'echo "yum $*" >> {log}',
            "createrepo": f'echo "createrepo $*" >> {log}; mkdir -p "$2/repodata"; '
            'touch "$2/repodata/repomd.xml"',
        },
    )
    first = run_step(step, root, **env)
    assert first.returncode == 0, first.stderr
    assert changed(first)
    assert "rebuilt (4 RPMs)" in first.stdout
    repo = (root / "etc" / "yum.repos.d" / "mesoslab-local.repo").read_text()
    assert "baseurl=file:///var/lib/mesoslab/rpms\n" in repo
    assert f"createrepo -q {rpms}" in log.read_text()
    second = run_step(step, root, **env)
    assert second.returncode == 0 and not changed(second), second.stdout
    assert log.read_text().count("createrepo -q") == 1
    (rpms / "extra-1-1.noarch.rpm").write_bytes(b"new")
    third = run_step(step, root, **env)
    assert changed(third) and "rebuilt (5 RPMs)" in third.stdout


def test_time_sync_step_notes_a_missing_chrony_and_goes_on(tmp_path: Path) -> None:
    step = next(
        s for s in centos7_steps(make_spec(tmp_path, "prebaked", "1m-2a")) if s.id == "time-sync"
    )
    env = stand_ins(tmp_path / "bin", {"rpm": "exit 1", "yum": "exit 1"})
    result = run_step(step, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "chrony is not available" in result.stdout
    assert not changed(result)


# ---------------------------------------------------------------------- channel probes


@pytest.fixture
def http_server():
    server = FixtureServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_mesosphere_probe_404_names_the_alternatives(tmp_path: Path, http_server) -> None:
    url = f"{http_server.url}/el/7/noarch/RPMS/mesosphere-el-repo-7-3.noarch.rpm"
    probe = probe_channel(make_spec(tmp_path, "mesosphere", "1m-2a", mesosphere_repo_rpm=url))
    assert not probe.ok and probe.status == 404
    assert probe.summary == (
        f"the Mesosphere repository RPM {url} answered 404: Mesosphere's repositories are "
        'gone. Use packages = "aventer" (set [mirrors] aventer_repo_url), packages = '
        '"local:PATH" with a folder of RPMs, or a prebaked box (mesoslab box build)'
    )
    with pytest.raises(ChannelError) as caught:
        probe.raise_for_failure()
    assert "answered 404" in str(caught.value)


def test_mesosphere_probe_200_is_ok(tmp_path: Path, http_server) -> None:
    http_server.route("/repo.rpm", Reply(200, b"\xed\xab\xee\xdb rpm"))
    url = f"{http_server.url}/repo.rpm"
    probe = probe_channel(make_spec(tmp_path, "mesosphere", "1m-2a", mesosphere_repo_rpm=url))
    assert probe.ok and probe.status == 200 and probe.target == url
    assert "were not probed" in probe.warnings[0]  # not laid out like repos.mesosphere.io


def test_mesosphere_probe_refused_and_timeout(tmp_path: Path, http_server) -> None:
    url = f"http://127.0.0.1:{free_port()}/repo.rpm"
    probe = probe_channel(make_spec(tmp_path, "mesosphere", "1m-2a", mesosphere_repo_rpm=url))
    assert not probe.ok
    assert f"cannot reach the Mesosphere repository RPM {url} from this machine: " in (
        probe.summary
    )
    assert "connection refused" in probe.summary and "local:PATH" in probe.summary
    http_server.route("/slow.rpm", Reply(200, b"late", delay=2.0))
    slow = f"{http_server.url}/slow.rpm"
    spec = make_spec(tmp_path, "mesosphere", "1m-2a", mesosphere_repo_rpm=slow)
    probe = probe_channel(spec, timeout=0.3)
    assert not probe.ok and "no answer within 0.3s" in probe.summary


def test_connect_reasons_are_worded_for_people() -> None:
    reason = channel_probe._connect_reason
    assert reason("[Errno -2] Name or service not known", "repos.mesosphere.io") == (
        "cannot resolve repos.mesosphere.io (no DNS, or no internet access)"
    )
    assert reason("[Errno 101] Network is unreachable", "h") == (
        "network unreachable (no internet access?)"
    )


def _repo_metadata(server: FixtureServer, prefix: str, packages: list[str]) -> None:
    primary = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<metadata xmlns="http://linux.duke.edu/metadata/common" '
        f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{len(packages)}">\n'
        + "".join(
            f'<package type="rpm"><name>{p}</name><arch>x86_64</arch></package>\n' for p in packages
        )
        + "</metadata>\n"
    )
    repomd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<repomd xmlns="http://linux.duke.edu/metadata/repo">\n'
        '<data type="other"><location href="repodata/abc-other.xml.gz"/></data>\n'
        '<data type="primary"><location href="repodata/abc-primary.xml.gz"/></data>\n'
        "</repomd>\n"
    )
    server.route(f"{prefix}/repodata/repomd.xml", Reply(200, repomd.encode()))
    server.route(
        f"{prefix}/repodata/abc-primary.xml.gz", Reply(200, gzip.compress(primary.encode()))
    )


def test_mesosphere_probe_reads_the_repositories_the_rpm_sets_up(
    tmp_path: Path, http_server
) -> None:
    rpm = "/el/7/noarch/RPMS/mesosphere-el-repo-7-3.noarch.rpm"
    http_server.route(rpm, Reply(200, b"\xed\xab\xee\xdb rpm"))
    url = f"{http_server.url}{rpm}"
    spec = make_spec(tmp_path, "mesosphere", "1m-2a", mesosphere_repo_rpm=url)
    # The RPM answers but its repositories are gone: yum install would fail.
    probe = probe_channel(spec)
    assert not probe.ok and probe.status == 404
    assert probe.target == f"{http_server.url}/el/7/x86_64/repodata/repomd.xml"
    assert "is there, but the repository it sets up answered HTTP 404" in probe.summary
    assert "local:PATH" in probe.summary
    # Both repositories answer: mesos in x86_64, the JVM packages in noarch.
    _repo_metadata(http_server, "/el/7/x86_64", ["mesos", "mesos-devel"])
    _repo_metadata(http_server, "/el/7/noarch", ["marathon", "chronos"])
    probe = probe_channel(spec)
    assert probe.ok and probe.status == 200
    assert probe.warnings == (
        "the Mesosphere repositories have no mesosphere-zookeeper, which lesson 1 installs: "
        "that yum install will fail",
    )
    _repo_metadata(http_server, "/el/7/noarch", ["marathon", "chronos", "mesosphere-zookeeper"])
    probe = probe_channel(spec)
    assert probe.ok and probe.warnings == ()


def test_mesosphere_repo_bases_follow_the_rpm_url() -> None:
    bases = channel_probe.mesosphere_repo_bases
    assert bases(
        "http://repos.mesosphere.io/el/7/noarch/RPMS/mesosphere-el-repo-7-1.noarch.rpm"
    ) == (
        "http://repos.mesosphere.io/el/7/x86_64/",
        "http://repos.mesosphere.io/el/7/noarch/",
    )
    assert bases("http://mirror.test/repo.rpm") == ()


def test_aventer_probe_reads_the_repository(tmp_path: Path, http_server) -> None:
    _repo_metadata(http_server, "/el7/x86_64", [*STACK_PACKAGES, "mesos-devel"])
    spec = make_spec(
        tmp_path, "aventer", "1m-2a", aventer_repo_url=f"{http_server.url}/el7/$basearch/"
    )
    probe = probe_channel(spec)
    assert probe.ok, probe.summary
    assert probe.warnings == ()
    assert probe.target == f"{http_server.url}/el7/x86_64/repodata/repomd.xml"
    _repo_metadata(http_server, "/el7/x86_64", ["mesos", "marathon"])
    probe = probe_channel(spec)
    assert probe.ok
    assert len(probe.warnings) == 1
    assert "no chronos, mesosphere-zookeeper, which lesson 1 installs" in probe.warnings[0]


def test_aventer_probe_404_and_missing_url(tmp_path: Path, http_server) -> None:
    spec = make_spec(tmp_path, "aventer", "1m-2a", aventer_repo_url=f"{http_server.url}/wrong")
    probe = probe_channel(spec)
    assert not probe.ok and probe.status == 404
    assert "answered HTTP 404" in probe.summary and "baseurl" in probe.summary
    assert 'packages = "aventer"' not in probe.summary and "local:PATH" in probe.summary
    bare = parse_lab({"packages": "aventer"}, directory=tmp_path)
    probe = probe_channel(bare)
    assert not probe.ok and "[mirrors] aventer_repo_url" in probe.summary


def test_local_probe_checks_the_folder(tmp_path: Path) -> None:
    spec = parse_lab({"packages": "local:rpms"}, directory=tmp_path)
    probe = probe_channel(spec)
    assert not probe.ok and "does not exist" in probe.summary
    assert all(p in probe.summary for p in required_packages())
    (tmp_path / "rpms").mkdir()
    assert "holds no .rpm files" in probe_channel(spec).summary
    fake_rpms(tmp_path / "rpms", ("mesos", "marathon"))
    probe = probe_channel(spec)
    assert probe.ok and probe.summary == f"2 RPM(s) in {tmp_path / 'rpms'}"
    assert "chronos, mesosphere-zookeeper" in probe.warnings[0]
    fake_rpms(tmp_path / "rpms")
    assert probe_channel(spec).warnings == ()


def test_prebaked_probe_has_nothing_to_do(tmp_path: Path) -> None:
    probe = probe_channel(make_spec(tmp_path, "prebaked", "1m-2a"))
    assert probe.ok and probe.target == ""
