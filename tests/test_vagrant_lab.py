"""The Vagrant driver: streaming/cancel of long runs, ssh-config parsing, and a real LXC lab.

The streaming tests run real processes (small shell scripts that print like Vagrant and
start children in their process group). The ``lab`` tests run real Vagrant with
vagrant-lxc: they need root, LXC, Vagrant and the vagrant-lxc plugin, and build the
rehearsal box the first time (a few minutes; cached afterwards).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.errors import LabCancelled, LabError
from mesoslab.lab.inventory import Node
from mesoslab.lab.machines import install_vagrantfile, machines_doc, write_machines
from mesoslab.lab.spec import LabSpec, parse_lab
from mesoslab.lab.sshconfig import parse_ssh_config
from mesoslab.lab.vagrant import VagrantDriver, lxc_containers, supports_snapshots
from mesoslab.lab.vagrant_up import run_streaming, split_machine_line
from tests.support.lxc import free_addresses, tempfile_dir
from tests.support.processes import processes_in_group

# ---------------------------------------------------------------------- helpers


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if text in cmdline or cwd == text:
            found.append(f"{entry.name}: {cmdline}")
    return found


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "fake-vagrant.sh"
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)
    return ["bash", str(path)]


# ---------------------------------------------------------------------- output lines


def test_split_machine_line_reads_vagrant_prefixes() -> None:
    names = ["master1", "agent1"]
    assert split_machine_line("==> master1: Importing base box 'x'...", names) == (
        "master1",
        "Importing base box 'x'...",
    )
    assert split_machine_line("    agent1: SSH address: 10.0.3.21:22", names) == (
        "agent1",
        "SSH address: 10.0.3.21:22",
    )
    assert split_machine_line("    agent1:", names) == ("agent1", "")
    assert split_machine_line("Bringing machine 'master1' up with 'lxc'", names)[0] == ""
    assert split_machine_line("    Note: something else", names) == (
        "",
        "    Note: something else",
    )
    assert split_machine_line("==> vagrant: A new version", names)[0] == ""


def test_streamed_lines_reach_on_line_with_their_machine(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        """
echo "Bringing machine 'm1' up with 'lxc' provider..."
echo "==> m1: Importing base box 'b'..."
printf '    m2: progress 10%%\\r    m2: progress 100%%\\n'
echo "==> m2: Machine booted and ready!" >&2
echo "no newline at the end" | tr -d '\\n'
""",
    )
    seen: list[tuple[str, str]] = []
    outcome = run_streaming(
        command,
        cwd=tmp_path,
        env=dict(os.environ),
        machines=["m1", "m2"],
        on_line=lambda machine, line: seen.append((machine, line)),
        cancel=threading.Event(),
    )
    assert outcome.returncode == 0
    assert seen == [
        ("", "Bringing machine 'm1' up with 'lxc' provider..."),
        ("m1", "==> m1: Importing base box 'b'..."),
        ("m2", "    m2: progress 10%"),
        ("m2", "    m2: progress 100%"),
        ("m2", "==> m2: Machine booted and ready!"),  # stderr is streamed too
        ("", "no newline at the end"),
    ]
    assert outcome.machines_seen == ["m1", "m2"]


def test_lines_arrive_while_the_command_runs(tmp_path: Path) -> None:
    command = script(tmp_path, 'echo "==> m1: first"; sleep 1.5; echo "==> m1: second"\n')
    arrivals: list[float] = []
    start = time.monotonic()
    run_streaming(
        command,
        cwd=tmp_path,
        env=dict(os.environ),
        machines=["m1"],
        on_line=lambda machine, line: arrivals.append(time.monotonic() - start),
        cancel=None,
    )
    assert len(arrivals) == 2
    assert arrivals[0] < 1.0 < arrivals[1]


def test_a_failure_names_the_machine_and_shows_the_last_lines(tmp_path: Path) -> None:
    from mesoslab.lab.vagrant_up import failure_error

    lines = "\n".join(f'echo "    m1: line {i}"' for i in range(30))
    command = script(
        tmp_path,
        f"""
{lines}
echo "==> m2: Starting container..."
echo "An error occurred while executing the action on the 'm2'"
echo "machine. Please handle this error then try again:"
echo "There was an error executing lxc-start"
exit 1
""",
    )
    outcome = run_streaming(
        command,
        cwd=tmp_path,
        env=dict(os.environ),
        machines=["m1", "m2"],
        on_line=None,
        cancel=None,
    )
    assert outcome.returncode == 1
    error = failure_error(outcome, ["m1", "m2"])
    assert error.machines == ("m2",)
    assert str(error).startswith("vagrant up failed on m2 (exit status 1)")
    tail = "\n".join(error.details)
    assert "There was an error executing lxc-start" in tail
    assert "line 29" in tail and "line 20" not in tail  # the last 10 lines only
    assert len(error.details) == 10


def test_without_an_error_text_the_last_busy_machine_is_named(tmp_path: Path) -> None:
    from mesoslab.lab.vagrant_up import failure_error

    command = script(
        tmp_path, 'echo "==> m1: ok"; echo "==> m3: Waiting for boot"; echo "Timed out"; exit 1\n'
    )
    outcome = run_streaming(
        command,
        cwd=tmp_path,
        env=dict(os.environ),
        machines=["m1", "m3"],
        on_line=None,
        cancel=None,
    )
    assert failure_error(outcome, ["m1", "m3"]).machines == ("m3",)


def test_cancel_stops_the_whole_process_group(tmp_path: Path) -> None:
    # Vagrant's children (here: sleep) are in its process group; a cancel reaches them all,
    # even a child that outlives its parent's graceful exit. (The script sleeps through `wait`,
    # which bash interrupts to run the INT trap at once; a foreground sleep defers the trap.)
    command = script(
        tmp_path,
        """
sleep 300 &
trap 'echo "==> m1: Waiting for cleanup before exiting..."; exit 1' INT
while true; do echo "==> m1: still working"; sleep 0.2 & wait $!; done
""",
    )
    cancel = threading.Event()
    pgids: list[int] = []
    seen: list[str] = []

    def on_line(machine: str, line: str) -> None:
        seen.append(line)
        cancel.set()

    start = time.monotonic()
    with pytest.raises(LabCancelled) as info:
        run_streaming(
            command,
            cwd=tmp_path,
            env=dict(os.environ),
            machines=["m1"],
            on_line=on_line,
            cancel=cancel,
            grace=30,
            on_start=pgids.append,
        )
    assert time.monotonic() - start < 15  # Vagrant not waited for: the 30 s grace, then kill
    assert "cancelled" in str(info.value)
    assert "mesoslab destroy" in info.value.hint
    assert not processes_in_group(pgids[0])
    assert "==> m1: Waiting for cleanup before exiting..." in seen  # Vagrant's clean-up shown


def test_cancel_escalates_when_sigint_is_ignored(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        """
trap '' INT TERM
echo "==> m1: stubborn"
while true; do sleep 0.1; done
""",
    )
    cancel = threading.Event()
    pgids: list[int] = []
    start = time.monotonic()
    with pytest.raises(LabCancelled):
        run_streaming(
            command,
            cwd=tmp_path,
            env=dict(os.environ),
            machines=["m1"],
            on_line=lambda machine, line: cancel.set(),
            cancel=cancel,
            grace=0.5,
            term_grace=0.5,
            on_start=pgids.append,
        )
    elapsed = time.monotonic() - start
    assert elapsed < 15  # SIGINT (ignored, 0.5 s), SIGTERM (ignored, 0.5 s), SIGKILL; or never
    assert not processes_in_group(pgids[0])


def test_ctrl_c_in_the_caller_stops_the_group_too(tmp_path: Path) -> None:
    command = script(tmp_path, 'sleep 300 &\nwhile true; do echo "==> m1: busy"; sleep 0.2; done\n')
    pgids: list[int] = []

    def on_line(machine: str, line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(LabCancelled):
        run_streaming(
            command,
            cwd=tmp_path,
            env=dict(os.environ),
            machines=["m1"],
            on_line=on_line,
            cancel=None,
            grace=5,
            on_start=pgids.append,
        )
    assert not processes_in_group(pgids[0])


def test_an_error_in_on_line_stops_the_process_before_it_propagates(tmp_path: Path) -> None:
    command = script(tmp_path, 'while true; do echo "==> m1: busy"; sleep 0.2; done\n')
    pgids: list[int] = []

    def on_line(machine: str, line: str) -> None:
        raise RuntimeError("the UI broke")

    with pytest.raises(RuntimeError, match="the UI broke"):
        run_streaming(
            command,
            cwd=tmp_path,
            env=dict(os.environ),
            machines=["m1"],
            on_line=on_line,
            cancel=None,
            grace=5,
            on_start=pgids.append,
        )
    assert not processes_in_group(pgids[0])


def test_children_left_behind_after_a_normal_exit_are_removed(tmp_path: Path) -> None:
    command = script(tmp_path, 'sleep 300 &\necho "==> m1: done"\n')
    pgids: list[int] = []
    outcome = run_streaming(
        command,
        cwd=tmp_path,
        env=dict(os.environ),
        machines=["m1"],
        on_line=None,
        cancel=None,
        on_start=pgids.append,
    )
    assert outcome.returncode == 0
    assert not processes_in_group(pgids[0])


# ---------------------------------------------------------------------- ssh-config


SSH_CONFIG = """\
Host master1
  HostName 10.0.3.151
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /tmp/lab1/.vagrant/machines/master1/lxc/private_key
  IdentityFile "/root/.vagrant.d/insecure private key"
  IdentitiesOnly yes
  LogLevel FATAL
  PubkeyAcceptedKeyTypes +ssh-rsa
  HostKeyAlgorithms +ssh-rsa

Host agent1
  HostName=127.0.0.1
  User vagrant
  Port 2200
  IdentityFile /tmp/lab1/.vagrant/machines/agent1/virtualbox/private_key
"""


def test_parse_ssh_config_keeps_every_identity_file() -> None:
    targets = parse_ssh_config(SSH_CONFIG)
    assert set(targets) == {"master1", "agent1"}
    master = targets["master1"]
    assert (master.host, master.port, master.user) == ("10.0.3.151", 22, "vagrant")
    assert master.key == "/tmp/lab1/.vagrant/machines/master1/lxc/private_key"
    assert master.extra_keys == ("/root/.vagrant.d/insecure private key",)
    agent = targets["agent1"]
    assert (agent.host, agent.port) == ("127.0.0.1", 2200)
    assert agent.key and agent.key.endswith("virtualbox/private_key")
    assert agent.extra_keys == ()


def test_parse_ssh_config_of_nothing_is_empty() -> None:
    assert parse_ssh_config("") == {}


# ---------------------------------------------------------------------- driver without a lab


def make_spec(directory: Path, provider: str = "lxc", nodes: list[dict] | None = None) -> LabSpec:
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"name": directory.name, "provider": provider}
    if provider == "lxc":
        data["platform"] = "rehearsal"
    if nodes is not None:
        data["node"] = nodes
    spec = parse_lab(data, directory=directory)
    install_vagrantfile(directory)
    write_machines(spec)
    return spec


def test_driver_without_machines_json_says_to_run_mesoslab_up(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="run `mesoslab up`"):
        VagrantDriver(tmp_path).status()


def test_snapshots_on_lxc_explain_the_fallback(tmp_path: Path) -> None:
    make_spec(tmp_path / "lab")
    driver = VagrantDriver(tmp_path / "lab")
    with pytest.raises(LabError) as info:
        driver.snapshot_save("lesson-2")
    message = str(info.value)
    assert "lxc provider has no snapshots" in message
    assert "mesoslab up --through lesson-N" in message
    assert supports_snapshots("virtualbox") and supports_snapshots("libvirt")
    assert not supports_snapshots("lxc")


def test_unknown_machine_names_are_refused(tmp_path: Path) -> None:
    make_spec(tmp_path / "lab")
    driver = VagrantDriver(tmp_path / "lab")
    with pytest.raises(LabError, match="no machine named nosuch"):
        driver.up(["nosuch"], "lxc")
    with pytest.raises(LabError, match="not a machine name"):
        driver.destroy(["--all"])


needs_vagrant = pytest.mark.skipif(shutil.which("vagrant") is None, reason="no vagrant")


@needs_vagrant
def test_status_of_a_lab_not_yet_built(tmp_path: Path) -> None:
    make_spec(tmp_path / "lab")
    driver = VagrantDriver(tmp_path / "lab")
    assert driver.status() == {
        "master1": "not_created",
        "agent1": "not_created",
        "agent2": "not_created",
    }
    assert driver.status(["agent2"]) == {"agent2": "not_created"}


@needs_vagrant
def test_ssh_config_of_a_machine_not_created_names_it(tmp_path: Path) -> None:
    make_spec(tmp_path / "lab")
    with pytest.raises(LabError) as info:
        VagrantDriver(tmp_path / "lab").ssh_config(["agent1"])
    assert info.value.machines == ("agent1",)
    assert "vagrant ssh-config` for agent1 failed" in str(info.value)


@needs_vagrant
def test_a_failing_up_names_the_machine_with_vagrants_last_lines(tmp_path: Path) -> None:
    if (
        "vagrant-lxc"
        not in subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True).stdout
    ):
        pytest.skip("the vagrant-lxc plugin is not installed")
    directory = tmp_path / "lab"
    directory.mkdir()
    spec = parse_lab(
        {
            "name": "broken",
            "provider": "lxc",
            "platform": "rehearsal",
            "box": f"mesoslab-test/absent-{os.getpid()}",
            "node": [{"name": "node1", "address": "10.0.3.249"}],
        },
        directory=directory,
    )
    install_vagrantfile(directory)
    write_machines(spec)
    lines: list[tuple[str, str]] = []
    with pytest.raises(LabError) as info:
        VagrantDriver(directory).up([], "lxc", on_line=lambda m, line: lines.append((m, line)))
    error = info.value
    assert error.machines == ("node1",)
    assert str(error).startswith(
        "vagrant up failed on node1 (exit status 1); its last lines follow"
    )
    assert "\n" not in error.message  # one line; the output is in details
    assert any(
        f"mesoslab-test/absent-{os.getpid()}' could not be found" in line for line in error.details
    )
    assert "mesoslab box build" in error.hint
    assert 0 < len(error.details) <= 10
    assert (
        "node1",
        f"==> node1: Box 'mesoslab-test/absent-{os.getpid()}' could not be found. "
        "Attempting to find and install...",
    ) in lines


# ---------------------------------------------------------------------- real LXC lab


@pytest.fixture
def lxc_lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabSpec]:
    directory = Path(tempfile_dir(tmp_path_factory))
    addresses = free_addresses(2)
    spec = make_spec(
        directory,
        nodes=[
            {"name": "master1", "roles": ["master", "zookeeper"], "address": addresses[0]},
            {"name": "agent1", "roles": ["agent"], "address": addresses[1]},
        ],
    )
    containers = [m["vm_name"] for m in machines_doc(spec)["machines"]]
    try:
        yield spec
    finally:
        with contextlib.suppress(LabError):
            VagrantDriver(directory).destroy()
        for name in set(containers) & set(lxc_containers()):
            subprocess.run(["lxc-destroy", "-f", "-n", name], capture_output=True)
        left = set(containers) & set(lxc_containers())
        assert not left, f"containers left behind: {left}"


@pytest.mark.lab
def test_lxc_lab_comes_up_answers_ssh_and_is_destroyed(lxc_lab: LabSpec) -> None:
    from mesoslab.remote.pool import SshPool

    driver = VagrantDriver(lxc_lab.directory)
    lines: list[tuple[str, str]] = []
    start = time.monotonic()
    driver.up([], "lxc", on_line=lambda machine, line: lines.append((machine, line)))
    took = time.monotonic() - start
    print(f"vagrant up of 2 LXC nodes: {took:.1f}s")
    machines = {machine for machine, _ in lines if machine}
    assert machines == {"master1", "agent1"}
    assert any("Machine booted and ready" in line for machine, line in lines if machine)

    assert driver.status() == {"master1": "running", "agent1": "running"}
    targets = driver.ssh_config()
    with SshPool() as pool:
        for spec_node in lxc_lab.nodes:
            target = targets[spec_node.name]
            assert target.host == spec_node.address
            assert target.user == "vagrant"
            assert target.key and Path(target.key).is_file()
            node = Node(spec_node.name, spec_node.address, spec_node.roles, target)
            result = pool.run(node, "hostname; ip -4 -o addr show eth0", timeout=30)
            assert result.exit_status == 0, result.output
            assert result.output.splitlines()[0] == spec_node.name
            assert f"inet {spec_node.address}/24" in result.output
            sudo = pool.run(node, "sudo -n true && systemctl is-enabled ssh", timeout=30)
            assert sudo.exit_status == 0, sudo.output
            assert sudo.output.strip() == "enabled"

    containers = {m["vm_name"] for m in machines_doc(lxc_lab)["machines"]}
    assert containers <= set(lxc_containers())
    driver.destroy()
    assert not containers & set(lxc_containers())
    assert driver.status() == {"master1": "not_created", "agent1": "not_created"}


@pytest.mark.lab
def test_cancelled_up_leaves_no_process_and_a_lab_that_comes_up_again(lxc_lab: LabSpec) -> None:
    driver = VagrantDriver(lxc_lab.directory)
    cancel = threading.Event()
    pgids: list[int] = []
    lines: list[str] = []

    def on_line(machine: str, line: str) -> None:
        lines.append(line)
        if machine and not cancel.is_set():  # Vagrant is creating the machines: cancel soon
            threading.Timer(1.5, cancel.set).start()

    # A short grace forces SIGTERM/SIGKILL while containers are being created: the
    # hardest case (a container may exist that Vagrant never recorded).
    with pytest.raises(LabCancelled) as info:
        driver.up([], "lxc", on_line=on_line, cancel=cancel, on_start=pgids.append, grace=0.5)
    assert "mesoslab destroy" in info.value.hint
    assert not processes_in_group(pgids[0])
    leftovers = processes_mentioning(str(lxc_lab.directory))
    assert not leftovers, leftovers

    # The state is consistent: `up` again finishes the lab (an unrecorded container is
    # removed first), and destroy removes every container.
    driver.up([], "lxc")
    assert driver.status() == {"master1": "running", "agent1": "running"}
    containers = {m["vm_name"] for m in machines_doc(lxc_lab)["machines"]}
    driver.destroy()
    assert not containers & set(lxc_containers())
    assert set(driver.status().values()) == {"not_created"}


def test_importing_the_lab_driver_does_not_import_python_vagrant() -> None:
    code = (
        "import sys, mesoslab.lab.vagrant, mesoslab.lab.boxes, mesoslab.lab.machines; "
        "sys.exit(1 if 'vagrant' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, "python-vagrant was imported at module import time"
