"""The docker.* check kinds over real SSH (tests/support/sshd.py) against recorded answers of
a real dockerd (tests/recorded/docker): a `docker` stand-in first on the session's PATH
prints them. The kinds against a live Docker Engine and registry: the lab test
`test_real_docker_runs_the_boxs_images_and_the_lab_registry_serves_them`."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import Observation, Status
from mesoslab.checks.runner import attempt, plan
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import DEFAULT_PORTS, Inventory, Node
from mesoslab.remote.session import Session
from tests.support.fixture_server import FixtureServer, run_check
from tests.support.sshd import SshServer, sshd_server

__all__ = ["sshd_server"]  # fixture used by name

RECORDED = Path(__file__).parent / "recorded" / "docker"

# Answers like the docker client: from the recordings, or, with STATE/down present,
# the client's words when dockerd is not running.
DOCKER = """#!/bin/sh
state={state}
if [ -e "$state/down" ]; then
  case "$1" in
    info) cat "$state/info-daemon-down.json"; exit 0 ;;
    *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. \\
Is the docker daemon running?" >&2; exit 1 ;;
  esac
fi
case "$1" in
  ps) python3 -c 'import json,sys; [print(c["Id"]) for c in json.load(open(sys.argv[1]))]' \\
        "$state/inspect.json" ;;
  inspect) cat "$state/inspect.json" ;;
  info) cat "$state/info.json" ;;
  images) cat "$state/images.txt" ;;
  *) echo "unknown command $1" >&2; exit 125 ;;
esac
"""


@pytest.fixture
def docker_state(sshd_server: SshServer, tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "docker"
    shutil.copytree(RECORDED, state)
    script = sshd_server.bin_dir / "docker"
    script.write_text(DOCKER.format(state=state))
    script.chmod(0o755)
    yield state
    script.unlink()


@pytest.fixture
def node(sshd_server: SshServer) -> Node:
    return sshd_server.node("agent1")


def check(node: Node, kind: str, **params: Any) -> Observation:
    assert catalogue()[kind].problems(params) == [], "test uses invalid params"
    spec = CheckSpec(kind=kind, params=params, on=node.name, hint="a hint")
    [planned] = plan([spec], Inventory(nodes=(node,)))
    with Session(Inventory(nodes=(node,)), attempt_timeout=30) as session:
        return attempt(planned, session, time.monotonic() + 30)


def passes(obs: Observation) -> None:
    assert obs.status is Status.PASS, f"{obs.summary} | {obs.observed}"


def fails(obs: Observation) -> str:
    assert obs.status is Status.FAIL, f"{obs.summary} | {obs.observed}"
    return obs.summary


def test_a_running_container_with_its_port_mapping(docker_state: Path, node: Node) -> None:
    obs = check(node, "docker.container", name="lab-*", image="nginx:latest", port=80)
    passes(obs)
    assert "lab-web: 80/tcp → agent1:31080" in obs.summary
    passes(check(node, "docker.container", label="org.example.app=web", host_port=31080, port=80))
    wrong_port = check(node, "docker.container", name="lab-web", port=80, host_port=31081)
    assert "does not publish 80/tcp" in fails(wrong_port)
    assert wrong_port.observed == "lab-web: 80/tcp → 31080"
    assert "port 80/tcp published on 31081" in wrong_port.expected


def test_stopped_and_missing_containers(docker_state: Path, node: Node) -> None:
    passes(check(node, "docker.container", name="lab-done", image="busybox", running=False))
    still = check(node, "docker.container", name="lab-done")
    assert "0 of the 1 container(s) named lab-done running" in fails(still)
    assert "agent1: lab-done (busybox, exited)" in still.observed
    missing = check(node, "docker.container", name="mesos-*")
    assert fails(missing) == "no container named mesos-* on agent1"
    assert "lab-web (nginx, running)" in missing.observed
    two = check(node, "docker.container", image="nginx", count=2)
    assert "1 of the 1 container(s) of image nginx running; 2 expected" in fails(two)
    assert catalogue()["docker.container"].problems({}) == [
        "docker.container: say which container: give 'name', 'label' or 'image'"
    ]


def test_images_and_the_daemon(docker_state: Path, node: Node) -> None:
    passes(check(node, "docker.image", image="python:3.11"))
    passes(check(node, "docker.image", image="docker.io/library/busybox"))
    missing = check(node, "docker.image", image="nginx:9.9")
    assert fails(missing) == "image nginx:9.9 is not on agent1"
    passes(
        check(
            node,
            "docker.daemon",
            storage_driver="overlay2",
            cgroup_version="1",
            insecure_registry="master1:5000",
            mirror="http://master1:5000",
        )
    )
    wrong = check(node, "docker.daemon", cgroup_driver="systemd", insecure_registry="other:5000")
    assert fails(wrong) == (
        "dockerd on agent1: cgroup_driver is cgroupfs, not systemd; "
        "other:5000 is not among its insecure registries"
    )
    assert "insecure 10.0.3.71:5000, 127.0.0.0/8, master1:5000" in wrong.observed


def test_a_stopped_daemon_is_a_failure_that_says_so(docker_state: Path, node: Node) -> None:
    (docker_state / "down").touch()
    for kind, params in (
        ("docker.container", {"name": "lab-web"}),
        ("docker.image", {"image": "nginx"}),
        ("docker.daemon", {"storage_driver": "overlay2"}),
    ):
        summary = fails(check(node, kind, **params))
        assert summary == "Docker is not running on agent1 (start it: sudo systemctl start docker)"


def test_recordings_are_what_the_kinds_read() -> None:
    """The recordings are real docker output: guard against an edit that breaks them."""
    containers = json.loads((RECORDED / "inspect.json").read_text())
    assert [c["Name"] for c in containers] == ["/lab-web", "/lab-done"]
    info = json.loads((RECORDED / "info.json").read_text())
    assert info["ServerVersion"] == "20.10.24+dfsg1"
    assert "ServerErrors" in json.loads((RECORDED / "info-daemon-down.json").read_text())


def test_the_registry_catalogue_is_read_from_the_master_that_serves_it() -> None:
    """docker.registry asks the masters in turn: master2 refuses (no registry there), master1
    answers as Docker Registry v2 does (the 404 body of an unknown repository included)."""
    with FixtureServer("127.0.0.1") as registry:
        registry.json("/v2/python/tags/list", {"name": "python", "tags": ["3", "3.11", "latest"]})
        unknown = {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]}
        registry.json("/v2/nosuch/tags/list", unknown, status=404)
        registry.json("/v2/locked/tags/list", {"errors": [{"code": "UNAUTHORIZED"}]}, status=401)
        inventory = Inventory(
            nodes=(
                Node("master2", "127.0.0.2", ("master",)),
                Node("master1", "127.0.0.1", ("master",)),
            ),
            ports={**DEFAULT_PORTS, "docker_registry": registry.port},
        )
        ok = run_check(inventory, "docker.registry", {"repository": "python", "tags": ["3.11"]})
        assert ok.status is Status.PASS, ok
        assert ok.observed == "python: 3, 3.11, latest"
        assert ok.summary == f"the registry on master1:{registry.port} serves python with tags 3.11"
        lacking = run_check(inventory, "docker.registry", {"repository": "python", "tags": ["2"]})
        assert lacking.summary == f"python on master1:{registry.port} lacks tag(s) 2"
        none = run_check(inventory, "docker.registry", {"repository": "nosuch"})
        assert none.status is Status.FAIL
        assert none.summary == f"the registry on master1:{registry.port} has no repository nosuch"
        auth = run_check(inventory, "docker.registry", {"repository": "locked"})
        assert auth.status is Status.FAIL
        assert "answered HTTP 401 (auth is on: the lab registry runs without it)" in auth.summary
