"""The twin agent's unified containerizer with Docker images, and agent recovery
(lessons-5-10-facts §4), against Debian's real ``docker-registry`` on loopback serving images
written by the box recipe's own tool, and a folder of ``docker save`` archives.

Tasks run for real: pulled into the store, provisioned into a rootfs, chrooted in their own
mount and pid namespaces (root is needed for that).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesoslab.checks.spec import CheckSpec
from mesoslab_twin.mesos.ucr import containers, provisioner, runtime
from mesoslab_twin.mesos.ucr import flags as ucr_flags
from mesoslab_twin.mesos.ucr.reference import parse
from mesoslab_twin.mesos.ucr.registry import PullError
from mesoslab_twin.mesos.ucr.store import Store
from tests.support import image_registry
from tests.support.fixture_server import attempt_checks, run_checks
from tests.support.prerequisites import missing
from tests.support.twin_lab import Daemon, TwinLab, http, twin_env, wait_until

MASTER, AGENT = "127.0.0.41", "127.0.0.42"
UCR = {
    "containerizers": "mesos",
    "image_providers": "docker",
    "isolation": "filesystem/linux,docker/runtime",
    "resources": "cpus:4;mem:2048",
}


# ------------------------------------------------------------------ pure rules


def test_image_references_parse_and_print_as_mesos_does() -> None:
    assert str(parse("busybox")) == "busybox" and parse("busybox").version == "latest"
    assert parse("busybox:1.35").tag == "1.35"
    ref = parse("master1:5000/lab/web:2")
    assert (ref.registry, ref.repository, ref.tag) == ("master1:5000", "lab/web", "2")
    assert parse("library/redis").registry == "" and parse("library/redis").repository == (
        "library/redis"
    )
    assert parse("x@sha256:ab").version == "sha256:ab"
    with pytest.raises(ValueError, match="Multiple '@' symbols found"):
        parse("a@b@c")


def test_the_command_comes_from_the_image_only_without_a_shell() -> None:
    config = {"Entrypoint": ["echo", "entry"], "Cmd": ["from-cmd"]}
    assert runtime.command({"shell": True, "value": "ls"}, config) == ["/bin/sh", "-c", "ls"]
    assert runtime.command({"shell": False}, config) == ["echo", "entry", "from-cmd"]
    assert runtime.command({"shell": False, "arguments": ["x"]}, config) == ["echo", "entry", "x"]
    assert runtime.command({"shell": False}, {"Cmd": ["sh", "-i"]}) == ["sh", "-i"]
    assert runtime.command({"shell": False, "value": "/bin/true"}, config) == ["/bin/true"]
    with pytest.raises(runtime.RuntimeError_, match="No executable is found"):
        runtime.command({"shell": False}, {})
    with pytest.raises(runtime.RuntimeError_, match="Shell specified but no command value"):
        runtime.command({"shell": True}, config)
    assert runtime.environment({"Env": ["A=1", "bad", "B=x=y"]}) == {"A": "1", "B": "x=y"}


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        ({"isolation": "docker/runtime"}, "The 'filesystem/linux' isolator must be enabled for"),
        ({"launcher": "posix"}, "The 'linux' launcher must be used for container image support."),
        ({"isolation": "filesystem/linux"}, "Please add 'docker/runtime' to '--isolation' flags"),
        ({"image_providers": "oci"}, "Failed to create image stores: Unknown image type 'oci'"),
        ({"recover": "later"}, "Unknown option for 'recover' flag later."),
    ],
)
def test_flag_combinations_mesos_refuses(flags: dict[str, str], text: str) -> None:
    given = {**UCR, "launcher": "linux", **flags}
    problem = ucr_flags.problem(given, ["mesos"])
    assert problem is not None and text in problem
    assert ucr_flags.problem({**UCR, "launcher": "linux"}, ["mesos"]) is None
    assert ucr_flags.problem({**UCR, "isolation": ""}, ["docker"]) is None  # no mesos: no check


# ------------------------------------------------------------------ store and rootfs


@dataclass
class Images:
    base: Path
    archives: Path
    registry: image_registry.Registry


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    base = tmp_path_factory.mktemp("ucr-images")
    archives, storage = image_registry.build_images(base)
    registry = image_registry.start_registry(base, storage, MASTER)
    try:
        yield Images(base, archives, registry)
    finally:
        registry.stop()


def test_a_pull_from_the_registry_fills_the_store_with_mesos_layout(
    images: Images, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store", images.registry.url)
    image = store.get("busybox")
    assert len(image.layer_ids) == 2  # schema 1 (the registry rewrote its schema 2 for us)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [
        "layers", "staging", "storedImages"
    ]  # fmt: skip
    assert list((tmp_path / "store" / "staging").iterdir()) == []  # cleaned after the pull
    for layer_id in image.layer_ids:
        layer = tmp_path / "store" / "layers" / layer_id
        assert (layer / "rootfs").is_dir() and json.loads((layer / "json").read_text())["id"]
    assert (tmp_path / "store/layers" / image.layer_ids[0] / "rootfs/bin/busybox").is_file()
    assert (tmp_path / "store/layers" / image.layer_ids[1] / "rootfs/etc/.wh.motd").exists()
    stored = json.loads((tmp_path / "store" / "storedImages").read_text())
    assert stored == {"images": [{"reference": "busybox", "layer_ids": image.layer_ids}]}
    assert image.config["Cmd"] == ["sh"] and "IMAGE_GREETING=from-the-image" in image.config["Env"]
    log = images.registry.log.read_text()
    assert "GET /v2/busybox/manifests/latest" in log
    # cached: the second get asks the registry nothing
    before = log.count("/manifests/")
    assert store.get("busybox").layer_ids == image.layer_ids
    assert images.registry.log.read_text().count("/manifests/") == before


def test_a_missing_image_fails_with_the_registrys_answer(images: Images, tmp_path: Path) -> None:
    store = Store(tmp_path / "store", images.registry.url)
    with pytest.raises(PullError) as caught:
        store.get("nosuch:1")
    assert str(caught.value) == (
        "Unexpected HTTP response '404 Not Found' when trying to get the manifest"
    )


def test_the_archive_folder_needs_the_reference_exactly(images: Images, tmp_path: Path) -> None:
    store = Store(tmp_path / "store", str(images.archives))
    with pytest.raises(PullError) as caught:
        store.get("busybox")  # no tag: Mesos looks for busybox.tar
    assert str(caught.value) == (
        f"Failed to find archive for image 'busybox' at '{images.archives}/busybox.tar'"
    )
    image = store.get("busybox:latest")
    assert len(image.layer_ids) == 2 and image.config["Cmd"] == ["sh"]


def test_the_copy_backend_applies_whiteouts(images: Images, tmp_path: Path) -> None:
    image = Store(tmp_path / "store", str(images.archives)).get("busybox:latest")
    rootfs = provisioner.provision(tmp_path / "work", "C1", image.layer_paths)
    assert rootfs.relative_to(tmp_path / "work").parts[:5] == (
        "provisioner", "containers", "C1", "backends", "copy"
    )  # fmt: skip
    assert not (rootfs / "etc/motd").exists()  # .wh.motd
    assert sorted(p.name for p in (rootfs / "srv/old").iterdir()) == ["new"]  # opaque
    assert (rootfs / "srv/hello").read_text() == "hello from the image\n"
    assert not list(rootfs.rglob(".wh.*"))
    provisioner.destroy(tmp_path / "work", "C1")
    assert not (tmp_path / "work/provisioner/containers/C1").exists()


# ------------------------------------------------------------------ the agent


@dataclass
class Lab:
    lab: TwinLab
    master: Daemon
    agent: Daemon
    images: Images

    @property
    def master_address(self) -> str:
        return f"{self.master.address}:{self.master.port}"

    def execute(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return self.lab.tool(
            "mesos-execute",
            f"--master={self.master_address}",
            "--resources=cpus:0.1;mem:32",
            *args,
            timeout=timeout,
        )

    def execute_in_background(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "mesoslab_twin", "mesos-execute",
             f"--master={self.master_address}", "--resources=cpus:0.1;mem:32", *args],
            env=twin_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def task(self, name: str) -> dict[str, Any] | None:
        state = self.master.get("/master/state").json()
        for framework in state["frameworks"] + state["completed_frameworks"]:
            for task in framework["tasks"] + framework["completed_tasks"]:
                if task["name"] == name:
                    return dict(task)
        return None

    def agent_id(self) -> str:
        return str(self.agent.get("/state").json()["id"])

    def sandbox(self, name: str) -> Path:
        found = list((self.agent.root / "var/lib/mesos/slaves").glob(
            f"*/frameworks/*/executors/{name}/runs/latest"))  # fmt: skip
        assert len(found) == 1, found
        return found[0].resolve()


@pytest.fixture(scope="module")
def ucr(images: Images, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if os.geteuid() != 0:
        missing("the unified containerizer needs root (namespaces, mounts)", ci_installs_it=False)
    lab = TwinLab(tmp_path_factory.mktemp("ucr-lab"), [MASTER, AGENT])
    master = lab.master("master1", MASTER)
    agent = lab.agent(
        "agent1",
        AGENT,
        master=f"{MASTER}:{lab.ports['mesos_master']}",
        extra={**UCR, "docker_registry": images.registry.url},
    )
    try:
        master.start()
        master.wait_http()
        agent.start()
        agent.wait_http()
        found = Lab(lab, master, agent, images)
        wait_until("agent registered", found.agent_id)
        yield found
    finally:
        lab.stop_all()


def test_mesos_execute_runs_a_docker_image_in_namespaces(ucr: Lab) -> None:
    run = ucr.execute(
        "--name=ucr-shell",
        "--docker_image=busybox",
        "--command=echo pid=$$; cat /srv/hello; echo $IMAGE_GREETING $MESOS_SANDBOX; "
        "ps -o pid | wc -l; pwd; echo out > in-sandbox",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Received status update TASK_FINISHED for task 'ucr-shell'" in run.stdout
    task = ucr.task("ucr-shell")
    assert task is not None and task["state"] == "TASK_FINISHED"
    assert task["container"]["type"] == "MESOS"
    assert task["container"]["mesos"]["image"] == {
        "type": "DOCKER", "docker": {"name": "busybox"}, "cached": True
    }  # fmt: skip
    sandbox = ucr.sandbox("ucr-shell")
    lines = (sandbox / "stdout").read_text().split("\n")
    assert lines[0] == "pid=1"  # its own pid namespace
    assert lines[1] == "hello from the image"  # chrooted into the image's rootfs
    assert lines[2] == "from-the-image /mnt/mesos/sandbox"  # image env, sandbox mapped
    assert int(lines[3]) <= 4  # the header and the task's own few processes only
    assert lines[4] == "/mnt/mesos/sandbox"
    assert (sandbox / "in-sandbox").read_text() == "out\n"
    # the container is gone, and so is its rootfs; the store stays
    assert not list((ucr.agent.root / "var/lib/mesos/provisioner/containers").iterdir())
    store = ucr.agent.root / "tmp/mesos/store/docker"
    assert (store / "storedImages").is_file() and len(list((store / "layers").iterdir())) == 2
    wanted = {"name": "ucr-shell", "state": "TASK_FINISHED", "container": "MESOS"}
    spec = CheckSpec("mesos.task", {**wanted, "image": "busybox"}, timeout=30)
    [result] = run_checks(ucr.lab.inventory(), [spec])
    assert result.passed, result
    [wrong] = attempt_checks(
        ucr.lab.inventory(),
        [
            CheckSpec(
                "mesos.task", {"name": "ucr-shell", "state": "TASK_FINISHED", "container": "DOCKER"}
            )
        ],
    )
    assert not wrong.passed  # fmt: skip


def test_shell_false_runs_the_images_entrypoint_and_cmd(ucr: Lab) -> None:
    run = ucr.execute("--name=ucr-entry", "--docker_image=echo:1", "--shell=false")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (ucr.sandbox("ucr-entry") / "stdout").read_text() == "entry from-cmd\n"


def test_an_exit_code_fails_the_task_and_a_missing_image_fails_the_launch(ucr: Lab) -> None:
    run = ucr.execute("--name=ucr-exit", "--docker_image=busybox", "--command=exit 3")
    assert run.returncode == 1
    assert "TASK_FAILED for task 'ucr-exit'" in run.stdout
    assert "message: 'Command exited with status 3'" in run.stdout
    run = ucr.execute("--name=ucr-nosuch", "--docker_image=nosuch", "--command=true")
    assert "TASK_FAILED for task 'ucr-nosuch'" in run.stdout
    assert (
        "message: 'Failed to launch container: Unexpected HTTP response '404 Not Found' "
        "when trying to get the manifest'" in run.stdout
    ), run.stdout
    assert "reason: REASON_CONTAINER_LAUNCH_FAILED" in run.stdout


def _running(ucr: Lab, name: str) -> dict[str, Any]:
    return wait_until(
        f"{name} running",
        lambda: (t := ucr.task(name)) and t["state"] == "TASK_RUNNING" and t,
        60,
    )


def _task_pids(ucr: Lab, name: str) -> list[int]:
    """The pids of the task's processes chrooted into a rootfs of the agent's provisioner."""
    root = str(ucr.agent.root / "var/lib/mesos/provisioner/containers")
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                chrooted = os.readlink(entry / "root").startswith(root)
                mine = f"MESOS_TASK_ID={name}".encode() in (entry / "environ").read_bytes()
            except OSError:
                continue
            if chrooted and mine:
                found.append(int(entry.name))
    return found


def test_killing_the_task_ends_its_container(ucr: Lab) -> None:
    runner = ucr.execute_in_background("--name=ucr-kill", "--docker_image=busybox",
                                       "--command=sleep 600")  # fmt: skip
    try:
        _running(ucr, "ucr-kill")
        wait_until("its container's processes", lambda: _task_pids(ucr, "ucr-kill"))
        runner.send_signal(signal.SIGINT)  # mesos-execute tears its framework down
        runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    wait_until("ucr-kill killed", lambda: (ucr.task("ucr-kill") or {}).get("state")
               == "TASK_KILLED", 60)  # fmt: skip
    wait_until("its processes gone", lambda: not _task_pids(ucr, "ucr-kill"), 30)


def test_a_marathon_app_of_container_type_mesos_runs_its_image(ucr: Lab) -> None:
    marathon = ucr.lab.marathon("master1", MASTER, master=ucr.master_address)
    marathon.start()
    try:
        marathon.wait_http("/ping", timeout=60)
        app = {
            "id": "/ucr-app",
            "instances": 1,
            "cpus": 0.1,
            "mem": 32,
            "cmd": "cat /srv/hello; sleep 600",
            "container": {"type": "MESOS", "docker": {"image": "busybox"}},
        }
        answer = http("POST", marathon.url + "/v2/apps", app)
        assert answer.status == 201, answer.body
        task = _running(ucr, "ucr-app")
        assert task["container"]["type"] == "MESOS"
        assert task["container"]["mesos"]["image"]["docker"] == {"name": "busybox"}
        wait_until("its container's processes", lambda: _task_pids(ucr, task["id"]))
        stdout = ucr.sandbox(task["id"]) / "stdout"
        wait_until("its first output", lambda: stdout.read_text() != "")  # cat may lag
        assert stdout.read_text() == "hello from the image\n"
        assert http("DELETE", marathon.url + "/v2/apps/ucr-app").status == 200
        wait_until("its container gone", lambda: not _task_pids(ucr, task["id"]), 60)
    finally:
        marathon.stop()


def test_agent_restart_with_checkpointing_keeps_the_container(ucr: Lab) -> None:
    runner = ucr.execute_in_background("--name=ucr-keep", "--docker_image=busybox",
                                       "--command=sleep 600", "--checkpoint")  # fmt: skip
    try:
        _running(ucr, "ucr-keep")
        agent_id = ucr.agent_id()
        pids = wait_until("its container's processes", lambda: _task_pids(ucr, "ucr-keep"))
        meta = ucr.agent.root / "var/lib/mesos/meta/slaves/latest/frameworks"
        assert list(meta.glob("*/executors/ucr-keep/runs/latest/tasks/ucr-keep/task.info"))
        ucr.agent.stop(signal.SIGKILL)
        ucr.agent.start()
        ucr.agent.wait_http()
        assert wait_until("agent id", ucr.agent_id) == agent_id
        slaves = wait_until(
            "re-registered",
            lambda: [s for s in ucr.master.get("/master/slaves").json()["slaves"]
                     if s["id"] == agent_id and s.get("reregistered_time")],
        )  # fmt: skip
        assert slaves and slaves[0]["active"]
        assert _task_pids(ucr, "ucr-keep") == pids  # the same processes, still there
        assert (ucr.task("ucr-keep") or {}).get("state") == "TASK_RUNNING"
    finally:
        runner.send_signal(signal.SIGINT)
        runner.communicate(timeout=60)
    wait_until("ucr-keep killed", lambda: (ucr.task("ucr-keep") or {}).get("state")
               == "TASK_KILLED", 60)  # fmt: skip


def test_agent_restart_without_checkpointing_drops_the_task(ucr: Lab) -> None:
    runner = ucr.execute_in_background("--name=ucr-drop", "--docker_image=busybox",
                                       "--command=sleep 600")  # fmt: skip
    try:
        _running(ucr, "ucr-drop")
        wait_until("its container's processes", lambda: _task_pids(ucr, "ucr-drop"))
        agent_id = ucr.agent_id()
        meta = ucr.agent.root / "var/lib/mesos/meta/slaves/latest/frameworks"
        assert not list(meta.glob("*/executors/ucr-drop"))  # nothing checkpointed
        ucr.agent.stop(signal.SIGKILL)
        ucr.agent.start()
        ucr.agent.wait_http()
        assert wait_until("agent id", ucr.agent_id) == agent_id
        output, _ = runner.communicate(timeout=90)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert "Received status update TASK_DROPPED for task 'ucr-drop'" in output, output
    assert "message: 'Reconciliation: task unknown to the agent'" in output
    # v1 names the agent SOURCE_AGENT (the v0 SOURCE_SLAVE), as the real mesos-execute prints
    assert "source: SOURCE_AGENT" in output and "reason: REASON_RECONCILIATION" in output
    assert not _task_pids(ucr, "ucr-drop")


def test_the_agent_refuses_images_without_filesystem_linux(ucr: Lab) -> None:
    broken = ucr.lab.agent(
        "agent-bad",
        AGENT,
        master=ucr.master_address,
        extra={**UCR, "isolation": "docker/runtime", "port": "1"},
    )
    broken.start()
    assert broken.wait_exit(timeout=30) == 1
    assert (
        "EXIT with status 1: Failed to create a containerizer: Could not create "
        "MesosContainerizer: The 'filesystem/linux' isolator must be enabled for container "
        "image support." in broken.output()
    )


def _interfaces_seen(images: Images, tmp_path: Path, **where: Any) -> set[str]:
    """Run ``cat /proc/net/dev`` in a busybox container (launcher options ``where``)."""
    store = Store(tmp_path / "store", str(images.archives))
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir(exist_ok=True)
    info = {
        "command": {"shell": True, "value": "cat /proc/net/dev"},
        "container": {
            "type": "MESOS",
            "mesos": {"image": {"type": "DOCKER", "docker": {"name": "busybox:latest"}}},
            **({"network_infos": [{"name": "bridge"}]} if where.pop("fresh", False) else {}),
        },
    }
    prepared = containers.prepare(store, tmp_path / "work", info, "C-net", sandbox, {}, **where)
    done = subprocess.run(prepared.argv, env=twin_env(), capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    provisioner.destroy(tmp_path / "work", "C-net")
    assert done.returncode == 0, done.stderr
    return {line.split(":")[0].strip() for line in done.stdout.splitlines() if ":" in line}


def test_a_task_joins_a_prepared_network_namespace(images: Images, tmp_path: Path) -> None:
    """The path of a named network namespace (``ip netns add``, as a CNI plugin prepares
    one) is joined with nsenter; a task asking for a network without one gets only lo."""
    if os.geteuid() != 0:
        missing("network namespaces need root", ci_installs_it=False)
    name = f"mesoslab-ucr-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "add", "ucr0", "type",
                        "veth", "peer", "name", "ucr1"], check=True)  # fmt: skip
        joined = _interfaces_seen(images, tmp_path, netns=f"/var/run/netns/{name}")
        assert joined == {"lo", "ucr0", "ucr1"}
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
    assert _interfaces_seen(images, tmp_path, fresh=True) == {"lo"}
    host = {line.split(":")[0].strip() for line in
            Path("/proc/net/dev").read_text().splitlines() if ":" in line}  # fmt: skip
    assert _interfaces_seen(images, tmp_path) == host  # the host's network by default
