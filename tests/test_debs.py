"""The rehearsal packages (mesoslab.provision.debs) and their apt repository, read by the real
dpkg-deb and the real apt-get over a real HTTP server, as the lab's nodes read it."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.provision.apt_repo import repository
from mesoslab.provision.debs import PACKAGES
from mesoslab.provision.rehearsal import twin_source

needs_apt = pytest.mark.skipif(
    shutil.which("dpkg-deb") is None or shutil.which("apt-get") is None,
    reason="needs dpkg-deb and apt-get: a Debian or Ubuntu machine",
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repository(twin_source(), tmp_path_factory.mktemp("apt-repo"))


def _contents(deb: Path) -> list[str]:
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True)
    return [line.split()[-1].removeprefix(".") for line in out.stdout.splitlines()]


def _field(deb: Path, name: str) -> str:
    out = subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@needs_apt
def test_each_package_holds_what_the_real_one_holds(repo: Path) -> None:
    debs = {_field(p, "Package"): p for p in repo.glob("*.deb")}
    assert sorted(debs) == sorted(spec.name for spec in PACKAGES)
    mesos = _contents(debs["mesos"])
    for path in (
        "/usr/bin/mesos-init-wrapper",
        "/usr/bin/mesos-execute",
        "/etc/mesos/zk",
        "/usr/lib/systemd/system/mesos-slave.service",
        "/etc/default/mesos-master",
    ):
        assert path in mesos, mesos
    assert "/usr/bin/marathon" in _contents(debs["marathon"])
    assert "/etc/chronos/conf/http_port" in _contents(debs["chronos"])
    assert "/opt/mesosphere/zookeeper/bin/zkCli.sh" in _contents(debs["mesosphere-zookeeper"])
    assert "/opt/mesoslab-twin/mesoslab_twin/__init__.py" in _contents(debs["mesoslab-twin"])
    assert not any("__pycache__" in p for p in _contents(debs["mesoslab-twin"]))
    assert _field(debs["mesos"], "Version").startswith("1.4.3-mesoslab+")
    assert _field(debs["marathon"], "Version").startswith("1.4.12-mesoslab+")
    assert "zookeeper" in _field(debs["mesosphere-zookeeper"], "Depends")
    # the learner's configuration survives a reinstall: /etc files are conffiles
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(debs["mesos"])], capture_output=True, check=True
    ).stdout
    assert b"./conffiles" in conffiles
    # the launchers run the code where the mesoslab-twin package puts it
    extracted = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(debs["mesos"])], capture_output=True, check=True
    ).stdout
    assert b"PYTHONPATH=/opt/mesoslab-twin" in extracted


@pytest.fixture
def served(repo: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@needs_apt
def test_apt_reads_the_repository(served: str, tmp_path: Path) -> None:
    """apt-get update, apt-cache show and apt-get download against the repository alone
    (a private apt state: nothing on this machine changes). The install itself runs on the
    lab's nodes: lesson 1 in tests/test_rehearsal_e2e.py."""
    for folder in ("lists/partial", "cache/archives/partial", "etc/preferences.d"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "etc/sources.list").write_text(f"deb [trusted=yes] {served} ./\n")
    options = [
        f"-oDir::State::Lists={tmp_path / 'lists'}",
        f"-oDir::Cache={tmp_path / 'cache'}",
        f"-oDir::Etc::SourceList={tmp_path / 'etc/sources.list'}",
        "-oDir::Etc::SourceParts=/nonexistent",
        f"-oDir::Etc::Preferences={tmp_path / 'etc/preferences'}",
        f"-oDir::Etc::PreferencesParts={tmp_path / 'etc/preferences.d'}",
        "-oDebug::NoLocking=1",
    ]
    update = subprocess.run(["apt-get", *options, "update"], capture_output=True, text=True)
    assert update.returncode == 0, update.stdout + update.stderr
    assert "does not have a Release file" not in update.stdout + update.stderr
    shown = subprocess.run(
        ["apt-cache", *options, "show", "mesos"], capture_output=True, text=True, check=True
    )
    assert "Version: 1.4.3-mesoslab+" in shown.stdout
    fetched = subprocess.run(
        ["apt-get", *options, "download", "mesos"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert list(tmp_path.glob("mesos_1.4.3-mesoslab*_all.deb")), fetched.stdout


def test_concurrent_builds_agree_and_other_builds_stay_while_recent(tmp_path: Path) -> None:
    """Two labs coming up at once both get a whole repository (each builds aside and the
    first rename wins), and another checkout's recent build is not pulled from under it."""
    import os
    import time
    from concurrent.futures import ThreadPoolExecutor

    from mesoslab.provision import apt_repo

    other = tmp_path / "0123456789ab"  # another checkout's build, in use an hour ago
    other.mkdir()
    (other / "Release").write_text("Origin: mesoslab\n")
    hour_ago = time.time() - 3600
    os.utime(other, (hour_ago, hour_ago))
    stale = tmp_path / "ba9876543210"  # unused for two days
    stale.mkdir()
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    with ThreadPoolExecutor(max_workers=3) as pool:
        folders = list(pool.map(lambda _: repository(twin_source(), tmp_path), range(3)))
    assert len(set(folders)) == 1
    (folder,) = set(folders)
    assert (folder / "Release").is_file() and (folder / "Packages").is_file()
    assert {p.name for p in tmp_path.iterdir()} == {folder.name, other.name}
    assert time.time() - other.stat().st_mtime < apt_repo.KEEP_UNUSED_S
