"""The Docker containerizer's calls around `docker run` (MESOS@1.4.3 src/docker/docker.cpp
Docker::pull, src/docker/executor.cpp's inspect loop), against the CLI's test double and
the recorded `docker inspect` of a real Docker 20.10."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mesoslab_twin.mesos import docker_calls
from tests.support import docker_double

RECORDED = Path(__file__).parent / "recorded" / "docker"


@pytest.fixture
def client(tmp_path: Path) -> list[str]:
    docker = docker_double.install(tmp_path / "bin")
    return [str(docker), "-H", f"unix://{tmp_path / 'run' / 'docker.sock'}"]


def _calls(client: list[str]) -> list[str]:
    socket = Path(client[2].removeprefix("unix://"))
    return (socket.parent / "docker-double" / "calls.log").read_text().splitlines()


def test_an_image_without_a_tag_is_looked_up_as_latest() -> None:
    assert docker_calls.with_tag("busybox") == "busybox:latest"
    assert docker_calls.with_tag("master1:5000/busybox") == "master1:5000/busybox:latest"
    assert docker_calls.with_tag("master1:5000/python:3.11") == "master1:5000/python:3.11"


def test_a_present_image_is_inspected_not_pulled(client: list[str]) -> None:
    docker_calls.ensure_image(client, "busybox")
    assert _calls(client) == ["inspect busybox:latest"]


def test_force_pull_skips_the_inspect_and_pulls_the_name_as_given(client: list[str]) -> None:
    docker_calls.ensure_image(client, "busybox", force=True)
    assert _calls(client) == ["pull busybox"]


def test_a_failed_pull_says_what_mesos_says(client: list[str]) -> None:
    with pytest.raises(docker_calls.PullError) as failed:
        docker_calls.ensure_image(client, "missing/nothing")
    assert _calls(client) == ["inspect missing/nothing:latest", "pull missing/nothing:latest"]
    assert str(failed.value) == (
        f"Failed to run '{' '.join(client)} pull missing/nothing:latest': exited with status 1;"
        " stderr='Error response from daemon: pull access denied for missing/nothing,"
        " repository does not exist or may require 'docker login'\n'"
    )


def test_started_reads_the_address_of_the_containers_own_network() -> None:
    """Recorded: nginx started with no --net (NetworkMode `default`: the address is in the
    old NetworkSettings.IPAddress), and a busybox that has run and exited."""
    web, done = json.loads((RECORDED / "inspect.json").read_text())
    started = docker_calls.started(web)
    assert started is not None and started.ip == "172.17.0.2" and started.pid > 0
    assert started.network == "default"
    finished = docker_calls.started(done)
    assert finished is not None and finished.pid == 0 and finished.ip == ""
    on_host = web | {"HostConfig": {"NetworkMode": "host"}}
    on_host["NetworkSettings"] = {"IPAddress": "", "Networks": {"host": {"IPAddress": ""}}}
    assert docker_calls.started(on_host) == docker_calls.Started(web["State"]["Pid"], "", "host")
    created = web | {"State": web["State"] | {"StartedAt": docker_calls.NOT_STARTED, "Pid": 0}}
    assert docker_calls.started(created) is None


def test_waiting_for_a_container_ends_when_it_starts_or_its_client_exits(
    client: list[str],
) -> None:
    assert docker_calls.wait_started(client, "mesos-none", lambda: False) is None
    runner = subprocess.Popen(
        [*client, "run", "--net", "bridge", "--name", "mesos-C1", "busybox", "sleep", "30"]
    )
    try:
        found = docker_calls.wait_started(client, "mesos-C1", lambda: runner.poll() is None)
        assert found is not None and found.network == "bridge" and found.ip == "172.17.0.2"
    finally:
        runner.kill()
        runner.wait()
