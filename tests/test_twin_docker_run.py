"""The twin agent's `docker run` is the one Mesos 1.4's docker containerizer builds
(src/docker/docker.cpp Docker::RunOptions::create and Docker::run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesoslab_twin.mesos.docker_run import container_name, names_in_ps, run_argv, user_network

SANDBOX = Path("/var/lib/mesos/slaves/S0/frameworks/F0/executors/web.1/runs/C1")


def task(command: dict[str, object], **docker: object) -> dict[str, object]:
    return {
        "task_id": "web.1",
        "resources": {"scalars": {"cpus": 0.001, "mem": 16}},  # the twin's wire form
        "command": command,
        "container": {"type": "DOCKER", "docker": {"image": "busybox", **docker}},
    }


def test_container_names_are_read_from_docker_ps() -> None:
    """What the agent's recovery reads from `docker ps -a` (recorded from Debian's docker.io
    20.10 on a rehearsal agent) to find orphaned mesos-… containers."""
    table = (Path(__file__).parent / "recorded" / "docker" / "ps-a.txt").read_text()
    assert names_in_ps(table) == ["mesos-d127b04c-ea5d-4397-8e5e-cee48ff3f202"]
    header = table.splitlines()[0]
    assert names_in_ps(header + "\n") == []
    assert names_in_ps(header + "\nabc  busybox  true  1s  Exited  a,b\n") == ["a", "b"]
    assert names_in_ps("Cannot connect to the Docker daemon") == []


def test_names_follow_the_mesos_version() -> None:
    assert container_name("1.4.3", "S0", "C1") == "mesos-C1"
    assert container_name("1.3.2", "S0", "C1") == "mesos-S0.C1"  # 0.23 to 1.3
    assert container_name("0.22.1", "S0", "C1") == "mesos-C1"


def test_a_shell_command_overrides_the_entrypoint_and_limits_have_floors() -> None:
    argv = run_argv(
        task({"shell": True, "value": "echo hi", "environment": {"variables": [
            {"name": "PORT0", "value": "31000"}]}}, network="HOST"),
        SANDBOX, "mesos-C1", socket="/var/run/docker.sock",
    )  # fmt: skip
    assert argv[:4] == ["docker", "-H", "unix:///var/run/docker.sock", "run"]
    # 0.001 cpus and 16 MB are raised to Mesos's minimums: 2 shares, 32 MB
    assert argv[4:8] == ["--cpu-shares", "2", "--memory", str(32 * 1024 * 1024)]
    env = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    assert env == ["MESOS_CONTAINER_NAME=mesos-C1", "MESOS_SANDBOX=/mnt/mesos/sandbox",
                   "PORT0=31000"]  # fmt: skip
    assert argv[argv.index("-v") + 1] == f"{SANDBOX}:/mnt/mesos/sandbox"
    assert argv[argv.index("--net") + 1] == "host" and "-p" not in argv  # HOST: no mappings
    assert argv[-5:] == ["--name", "mesos-C1", "busybox", "-c", "echo hi"]
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"


def test_arguments_volumes_ports_and_parameters() -> None:
    info = task(
        {"shell": False, "arguments": ["httpd", "-f", "-p", "8000"]},
        network="BRIDGE",
        port_mappings=[{"host_port": 31005, "container_port": 8000, "protocol": "tcp"}],
        parameters=[{"key": "label", "value": "team=lab"}],
    )
    info["container"]["volumes"] = [  # type: ignore[index]
        {"container_path": "data", "host_path": "/srv/data", "mode": "RO"},
        {"containerPath": "/cache", "hostPath": "cache", "mode": "RW"},  # Marathon's keys
    ]
    argv = run_argv(info, SANDBOX, "mesos-C1", socket="/run/d.sock", docker="/usr/bin/docker")
    volumes = [argv[i + 1] for i, a in enumerate(argv) if a == "-v"]
    assert volumes == [
        f"{SANDBOX}:/mnt/mesos/sandbox",
        "/srv/data:/mnt/mesos/sandbox/data:ro",  # a relative container path: in the sandbox
        f"{SANDBOX}/cache:/cache:rw",  # a relative host path: from the sandbox
    ]
    assert argv[argv.index("-p") + 1] == "31005:8000/tcp"
    assert "--entrypoint" not in argv
    assert argv[-6:] == ["--label=team=lab", "busybox", "httpd", "-f", "-p", "8000"]


def test_a_shell_task_without_a_command_is_refused_with_mesos_words() -> None:
    with pytest.raises(ValueError, match="Shell specified but no command value provided"):
        run_argv(task({"shell": True}), SANDBOX, "mesos-C1", socket="/var/run/docker.sock")


def test_a_user_network_is_named_by_the_container_info() -> None:
    on_dcos = task({"shell": False}, network="USER")
    on_dcos["container"]["network_infos"] = [{"name": "dcos"}]  # type: ignore[index]
    assert user_network(on_dcos) == "dcos"
    argv = run_argv(on_dcos, SANDBOX, "mesos-C1", socket="/s")
    assert argv[argv.index("--net") + 1] == "dcos"
    assert user_network(task({"shell": False}, network="BRIDGE")) == ""
