"""The twin loads flags as Mesos's stout does (lessons-5-10-facts §6.2, §0.6): ``MESOS_*``
environment variables of known flags, the command line winning over them, unknown variables
ignored (the seed's ``MESOS_ISOLATOR``), unknown ``--flags`` fatal -- for the daemons run
directly (``mesos-master``/``mesos-slave``, a Docker image's entrypoint) and through
``mesos-init-wrapper``'s files; and Marathon's ``MARATHON_*`` variables as options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mesoslab_twin.common.config import ConfigError, Root, load_mesos_flags
from tests.support.ports import free_port
from tests.support.twin_lab import Daemon, twin_env, wait_until, write


def test_known_environment_variables_become_flags_and_unknown_ones_are_ignored(
    tmp_path: Path,
) -> None:
    env = {
        "MESOS_PORT": "5056",
        "MESOS_work_dir": "/var/tmp/mesos",  # PREFIX_name works too
        "MESOS_ISOLATOR": "cgroups/cpu,cgroups/mem",  # the seed's typo: no such flag
        "MESOS_CONTAINERIZERS": "docker,mesos",
        "MESOSLAB_TWIN_ROOT": "/x",  # not MESOS_ + a flag
        "PATH": "/usr/bin",
    }
    config = load_mesos_flags("slave", Root(tmp_path), env, [], use_wrapper=False)
    assert config.flags == {
        "port": "5056",
        "work_dir": "/var/tmp/mesos",
        "containerizers": "docker,mesos",
    }
    assert config.sources["port"] == "environment MESOS_PORT"
    assert "isolator" not in config.flags and "isolation" not in config.flags


def test_the_command_line_wins_over_the_environment(tmp_path: Path) -> None:
    env = {"MESOS_PORT": "5055", "MESOS_QUORUM": "1"}
    config = load_mesos_flags("master", Root(tmp_path), env, ["--port=6000"], use_wrapper=False)
    assert config.flags["port"] == "6000"
    assert config.sources["port"] == "command line"
    assert config.flags["quorum"] == "1"


def test_an_unknown_flag_on_the_command_line_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Failed to load unknown flag 'isolator'"):
        load_mesos_flags("slave", Root(tmp_path), {}, ["--isolator=cgroups/cpu"])


def test_an_unknown_flag_file_is_fatal_through_the_wrapper(tmp_path: Path) -> None:
    write(tmp_path, "/etc/mesos-slave/isolator", "cgroups/cpu\n")
    with pytest.raises(ConfigError, match="unknown flag 'isolator'"):
        load_mesos_flags("slave", Root(tmp_path), {}, [])


def test_master_and_agent_know_their_own_flags_only(tmp_path: Path) -> None:
    # quorum is a master flag; an agent given it on the command line refuses to start
    with pytest.raises(ConfigError, match="unknown flag 'quorum'"):
        load_mesos_flags("slave", Root(tmp_path), {}, ["--quorum=1"], use_wrapper=False)
    config = load_mesos_flags("slave", Root(tmp_path), {"MESOS_QUORUM": "1"}, [])
    assert "quorum" not in config.flags  # ... and ignores it in the environment


def test_the_direct_binaries_read_no_wrapper_files(tmp_path: Path) -> None:
    write(tmp_path, "/etc/mesos-master/quorum", "2\n")
    direct = load_mesos_flags("master", Root(tmp_path), {}, [], use_wrapper=False)
    wrapped = load_mesos_flags("master", Root(tmp_path), {}, [])
    assert "quorum" not in direct.flags
    assert wrapped.flags["quorum"] == "2"


def _env(**variables: str) -> dict[str, str]:
    return {**twin_env(), **variables}


def _daemon(tmp_path: Path, name: str, args: list[str], port: int, env: dict[str, str]) -> Daemon:
    daemon = Daemon(name, args, tmp_path / name, "127.0.0.1", port)
    daemon.root.mkdir(parents=True, exist_ok=True)
    with daemon.log.open("ab") as out:
        daemon.process = subprocess.Popen(
            [sys.executable, "-m", "mesoslab_twin", *args, f"--root={daemon.root}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return daemon


def test_containerized_style_master_and_agent_run_from_the_environment(tmp_path: Path) -> None:
    """The seed's ``docker run -e MESOS_...`` lines, without Docker: mesos-master and
    mesos-slave started with flags in the environment only; /flags shows them, the agent
    registers, and the misspelt MESOS_ISOLATOR leaves --isolation at its default."""
    master_port = free_port(["127.0.0.1"])
    agent_port = free_port(["127.0.0.1"])
    master = _daemon(
        tmp_path,
        "master",
        ["mesos-master", "--registry=in_memory"],  # the image's CMD
        master_port,
        _env(
            MESOS_PORT=str(master_port),
            MESOS_IP="127.0.0.1",
            MESOS_HOSTNAME="127.0.0.1",
            MESOS_CLUSTER="cluster7",
            MESOS_WORK_DIR="/var/lib/mesos",
            MESOS_LOG_DIR="/var/log",
        ),
    )
    agent = _daemon(
        tmp_path,
        "agent",
        ["mesos-slave"],
        agent_port,
        _env(
            MESOS_PORT=str(agent_port),
            MESOS_IP="127.0.0.1",
            MESOS_HOSTNAME="127.0.0.1",
            MESOS_MASTER=f"127.0.0.1:{master_port}",
            MESOS_WORK_DIR="/var/tmp/mesos",
            MESOS_EXECUTOR_REGISTRATION_TIMEOUT="5mins",
            MESOS_ISOLATOR="cgroups/cpu,cgroups/mem",
            MESOS_SYSTEMD_ENABLE_SUPPORT="false",
        ),
    )
    try:
        master.wait_http("/flags")
        agent.wait_http("/flags")
        mflags = master.get("/flags").json()["flags"]
        assert mflags["cluster"] == "cluster7"
        assert mflags["registry"] == "in_memory"
        assert mflags["port"] == str(master_port)
        aflags = agent.get("/flags").json()["flags"]
        assert aflags["isolation"] == "posix/cpu,posix/mem"  # the default: the typo did nothing
        assert "isolator" not in aflags
        assert aflags["executor_registration_timeout"] == "5mins"
        assert aflags["systemd_enable_support"] == "false"

        def registered() -> bool:
            slaves = master.get("/master/slaves").json().get("slaves") or []
            return len(slaves) == 1

        wait_until("the agent to register", registered, 20)
    finally:
        agent.stop()
        master.stop()


def test_an_unknown_flag_stops_mesos_master(tmp_path: Path) -> None:
    port = free_port(["127.0.0.1"])
    master = _daemon(
        tmp_path, "master", ["mesos-master", "--registry=in_memory", "--isolator=x"], port, _env()
    )
    assert master.wait_exit(15) == 1
    assert "Failed to load unknown flag 'isolator'" in master.output()


def test_marathon_takes_marathon_variables_as_options(tmp_path: Path) -> None:
    master_port = free_port(["127.0.0.1"])
    port = free_port(["127.0.0.1"])
    master = _daemon(
        tmp_path,
        "master",
        ["mesos-master", "--registry=in_memory"],
        master_port,
        _env(MESOS_PORT=str(master_port), MESOS_IP="127.0.0.1", MESOS_WORK_DIR="/w"),
    )
    marathon = _daemon(
        tmp_path,
        "marathon",
        ["marathon"],
        port,
        _env(
            MARATHON_MASTER=f"127.0.0.1:{master_port}",
            MARATHON_HTTP_PORT=str(port),
            MARATHON_HTTP_ADDRESS="127.0.0.1",
            MARATHON_HOSTNAME="127.0.0.1",
            MARATHON_FRAMEWORK_NAME="marathon-in-docker",
        ),
    )
    try:
        master.wait_http("/flags")
        marathon.wait_http("/ping", timeout=30)
        info = marathon.get("/v2/info").json()
        assert info["marathon_config"]["framework_name"] == "marathon-in-docker"
        assert info["marathon_config"]["master"] == f"127.0.0.1:{master_port}"
    finally:
        marathon.stop()
        master.stop()
