"""mesoslab.remote against a real OpenSSH server on loopback (see tests/support/sshd.py)."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mesoslab.errors import ConnectionDropped, RemoteCommandError, RemoteError
from mesoslab.lab.inventory import Node, SshTarget
from mesoslab.remote import CommandResult, run_on_nodes, wrap_sudo
from mesoslab.remote.pool import SshPool
from tests.support.sshd import (
    SshServer,
    free_port,
    keygen,
    rendezvous,
    require_sshd,
    ssh_node,
    ssh_pool,
    sshd_server,
)

__all__ = ["ssh_node", "ssh_pool", "sshd_server"]  # fixtures used by name


def test_command_exit_status_and_combined_output(ssh_pool: SshPool, ssh_node: Node) -> None:
    result = ssh_pool.run(ssh_node, "echo out; sleep 0.05; echo err >&2; exit 3")
    assert isinstance(result, CommandResult)
    assert result.exit_status == 3
    assert result.output.splitlines() == ["out", "err"]
    assert result.node == "node1"
    assert result.host == f"127.0.0.1:{ssh_node.ssh.port}"  # type: ignore[union-attr]
    assert not result.timed_out and not result.ok
    assert ssh_pool.run(ssh_node, "true").ok


def test_output_streams_line_by_line_in_order(ssh_pool: SshPool, ssh_node: Node) -> None:
    seen: list[tuple[float, str]] = []
    result = ssh_pool.run(
        ssh_node,
        "for i in 1 2 3 4; do echo line$i; sleep 0.15; done; printf 'no newline'",
        on_output=lambda line: seen.append((time.monotonic(), line)),
    )
    finished = time.monotonic()
    assert [line for _, line in seen] == ["line1", "line2", "line3", "line4", "no newline"]
    assert result.output == "line1\nline2\nline3\nline4\nno newline"
    # streamed while the command ran, not handed over at the end
    assert finished - seen[0][0] > 0.3


def test_five_megabytes_of_output_arrive_complete(ssh_pool: SshPool, ssh_node: Node) -> None:
    lines: list[str] = []
    start = time.monotonic()
    result = ssh_pool.run(
        ssh_node, "head -c 5000000 /dev/zero | tr '\\0' x", timeout=20, on_output=lines.append
    )
    assert result.exit_status == 0
    assert len(result.output) == 5_000_000 and set(result.output) == {"x"}
    assert "".join(lines) == result.output
    big_stderr = ssh_pool.run(ssh_node, "seq 1 600000 >&2; echo done", timeout=20)
    # sshd reads stdout and stderr from two pipes and seq writes stderr in 4 KiB blocks, so
    # "done\n" may land anywhere between two blocks, even in the middle of a line
    output = big_stderr.output
    assert output.count("done\n") == 1
    assert output.replace("done\n", "", 1) == "".join(f"{i}\n" for i in range(1, 600_001))
    assert time.monotonic() - start < 45


def test_timeout_returns_output_so_far_and_does_not_hang(ssh_pool: SshPool, ssh_node: Node) -> None:
    # connect first: the timeout also bounds the connect, which on a slow, busy machine can
    # take most of a second by itself, and this test is about the command's own timeout
    assert ssh_pool.run(ssh_node, "true").ok
    start = time.monotonic()
    result = ssh_pool.run(ssh_node, "echo started; sleep 30", timeout=1.0)
    elapsed = time.monotonic() - start
    assert result.timed_out and result.exit_status == -1
    assert result.output == "started\n"
    assert 0.9 <= elapsed < 10  # unbounded: 30 s
    # output closed but the command still runs: still bounded by the timeout
    start = time.monotonic()
    result = ssh_pool.run(ssh_node, "exec >/dev/null 2>&1; sleep 30", timeout=1.0)
    assert result.timed_out and time.monotonic() - start < 10
    assert ssh_pool.run(ssh_node, "echo still usable").output == "still usable\n"


def test_sudo_as_root_runs_the_command_directly(ssh_pool: SshPool, ssh_node: Node) -> None:
    result = ssh_pool.run(ssh_node, 'id -u; echo "it\'s $((1 + 1))"', sudo=True)
    assert result.exit_status == 0, result.output
    assert result.output == "0\nit's 2\n"


def test_sudo_wrapping_for_other_users_keeps_the_command_intact(
    ssh_pool: SshPool, ssh_node: Node
) -> None:
    command = "printf '%s|' \"it's\" 'a \"b\"' $((2 * 3)); echo; exit 4"
    wrapped = wrap_sudo(command, "vagrant")
    assert shlex.split(wrapped)[:4] == ["sudo", "-n", "sh", "-c"]
    assert wrap_sudo(command, "root") == command
    # what sudo would run (sudo itself needs a password-less sudoers entry on the node)
    inner = wrapped.removeprefix("sudo -n ")
    direct = ssh_pool.run(ssh_node, command)
    via_sh = ssh_pool.run(ssh_node, inner)
    assert (via_sh.exit_status, via_sh.output) == (direct.exit_status, direct.output)
    assert direct.output == 'it\'s|a "b"|6|\n' and direct.exit_status == 4


def test_connection_refused_is_a_fast_clear_error(
    ssh_pool: SshPool, sshd_server: SshServer
) -> None:
    port = free_port()
    node = sshd_server.node("agent7", port=port)
    start = time.monotonic()
    with pytest.raises(RemoteError) as info:
        ssh_pool.run(node, "true", timeout=20)
    assert time.monotonic() - start < 8  # waited for the timeout instead: 20 s
    message = str(info.value)
    assert "agent7" in message and f"127.0.0.1:{port}" in message
    assert "connection refused" in message and "\n" not in message


def test_silent_port_times_out_within_the_timeout(ssh_pool: SshPool) -> None:
    # a listener that completes TCP handshakes (backlog) but never speaks SSH
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        node = Node("silent", "127.0.0.1", ("agent",), ssh=SshTarget("127.0.0.1", "root", port))
        start = time.monotonic()
        with pytest.raises(RemoteError) as info:
            ssh_pool.run(node, "true", timeout=1.0)
        assert time.monotonic() - start < 8  # unbounded: never
    assert f"127.0.0.1:{port}" in str(info.value) and "silent" in str(info.value)


def test_threads_waiting_for_a_dead_node_share_one_connect_attempt(ssh_pool: SshPool) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        node = Node("silent", "127.0.0.1", ("agent",), ssh=SshTarget("127.0.0.1", "root", port))

        def attempt(_: int) -> str:
            try:
                ssh_pool.run(node, "true", timeout=2.0)
            except RemoteError as exc:
                return str(exc)
            return "no error"

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as ex:
            errors = list(ex.map(attempt, range(6)))
        elapsed = time.monotonic() - start
    assert all(f"127.0.0.1:{port}" in e for e in errors), errors
    # one after another: 6 x 2 s
    assert elapsed < 8, f"connect attempts queued up: {elapsed:.1f}s"


def test_bad_or_missing_key_is_a_clear_error(sshd_server: SshServer, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")
    with SshPool() as pool:
        with pytest.raises(RemoteError) as info:
            pool.run(sshd_server.node(key=str(stranger)), "true", timeout=5)
        assert "refused" in str(info.value) and str(stranger) in str(info.value)
        assert f"root@127.0.0.1:{sshd_server.port}" in str(info.value)
        missing = tmp_path / "no-such-key"
        with pytest.raises(RemoteError, match="does not exist") as info:
            pool.run(sshd_server.node(key=str(missing)), "true", timeout=5)
        assert str(missing) in str(info.value)


def test_extra_keys_are_offered_when_the_first_is_missing(sshd_server: SshServer) -> None:
    node = sshd_server.node()
    assert node.ssh is not None
    target = SshTarget(
        host=node.ssh.host,
        port=node.ssh.port,
        user="root",
        key="~/mesoslab-no-such-key",
        extra_keys=(str(sshd_server.user_key),),
    )
    with SshPool() as pool:
        result = pool.run(Node("node1", "127.0.0.1", ("agent",), ssh=target), "echo ok")
    assert result.output == "ok\n"


def test_node_without_ssh_is_a_clear_error(ssh_pool: SshPool) -> None:
    with pytest.raises(RemoteError, match=r"node plain has no \[node.ssh\]"):
        ssh_pool.run(Node("plain", "127.0.0.1", ("agent",)), "true")


def test_connection_dropped_mid_command_is_reported_and_not_rerun(tmp_path: Path) -> None:
    require_sshd()
    server = SshServer(tmp_path / "sshd")  # its own server: killing it disturbs no other test
    server.start()
    marker = tmp_path / "ran"
    started = threading.Event()
    try:
        node = server.node()
        with SshPool() as pool:
            pool.run(node, "true")

            def kill_when_started() -> None:
                if started.wait(5):
                    server.kill_connections()

            killer = threading.Thread(target=kill_when_started)
            killer.start()
            begin = time.monotonic()
            with pytest.raises(ConnectionDropped) as info:
                pool.run(
                    node,
                    f"echo run >> {shlex.quote(str(marker))}; echo started; sleep 10",
                    timeout=20,
                    on_output=lambda line: started.set(),
                )
            killer.join()
            assert time.monotonic() - begin < 5
            message = str(info.value)
            assert "dropped while running" in message and "node1" in message
            assert f"127.0.0.1:{server.port}" in message and "\n" not in message
            assert info.value.partial.output == "started\n"
            # the next command reconnects (once) and works; the first was not re-run
            again = pool.run(node, "echo back")
            assert again.output == "back\n"
            assert marker.read_text() == "run\n"
            # a connection that died between commands is rebuilt transparently
            assert server.kill_connections()
            time.sleep(0.2)
            assert pool.run(node, "echo rebuilt").output == "rebuilt\n"
    finally:
        server.stop()


def test_many_threads_share_one_connection(ssh_pool: SshPool, ssh_node: Node) -> None:
    # more concurrent commands than OpenSSH's MaxSessions (10) on one connection
    with ThreadPoolExecutor(max_workers=16) as ex:
        results = list(ex.map(lambda i: ssh_pool.run(ssh_node, f"echo {i}"), range(16)))
    assert [r.output for r in results] == [f"{i}\n" for i in range(16)]


def test_fan_out_runs_in_parallel_and_keeps_node_order(
    ssh_pool: SshPool, sshd_server: SshServer, tmp_path: Path
) -> None:
    nodes = [sshd_server.node(f"agent{i}") for i in range(1, 4)]
    nodes.insert(1, sshd_server.node("localhost-agent", host="localhost"))
    nodes.append(sshd_server.node("dead", port=free_port()))
    lines: list[tuple[str, str]] = []
    lock = threading.Lock()

    def on_output(node: Node, line: str) -> None:
        with lock:
            lines.append((node.name, line))

    # each node says bye only once the command has started on all four (or gives up): in
    # parallel however slow the machine
    command = f"echo hello; {rendezvous(tmp_path, 4)}; echo bye"
    results = run_on_nodes(ssh_pool, nodes, command, timeout=60, on_output=on_output)
    assert [r.node for r in results] == [n.name for n in nodes]
    for result in results[:4]:
        assert result.ok and result.output == "hello\nbye\n", result
    dead = results[4]
    assert not dead.ok and dead.exit_status == -1 and "connection refused" in dead.error
    for node in nodes[:4]:
        assert [line for name, line in lines if name == node.name] == ["hello", "bye"]
    assert run_on_nodes(ssh_pool, [], "true") == []


def test_put_and_read_file(ssh_pool: SshPool, ssh_node: Node, tmp_path: Path) -> None:
    target = tmp_path / "dir with space" / "it's.bin"
    target.parent.mkdir()
    content = bytes(range(256)) * 100
    ssh_pool.put_file(ssh_node, str(target), content, mode=0o600)
    assert target.read_bytes() == content
    assert target.stat().st_mode & 0o777 == 0o600
    ssh_pool.put_file(ssh_node, str(target), b"replaced\n", sudo=True)
    assert target.read_bytes() == b"replaced\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["it's.bin"]  # no temp left
    assert ssh_pool.read_file(ssh_node, str(target)) == b"replaced\n"
    assert ssh_pool.read_file(ssh_node, str(target), sudo=True) == b"replaced\n"
    with pytest.raises(RemoteCommandError, match="No such file") as info:
        ssh_pool.read_file(ssh_node, str(tmp_path / "missing"))
    assert "node1" in str(info.value) and info.value.exit_status != 0
    with pytest.raises(RemoteCommandError, match="cannot write"):
        ssh_pool.put_file(ssh_node, str(tmp_path / "no-dir" / "f"), b"x")


def test_known_hosts_of_the_user_is_never_touched(ssh_node: Node, tmp_path: Path) -> None:
    known_hosts = Path("~/.ssh/known_hosts").expanduser()
    before = known_hosts.read_bytes() if known_hosts.exists() else None
    with SshPool() as pool:
        assert pool.run(ssh_node, "true").ok
    after = known_hosts.read_bytes() if known_hosts.exists() else None
    assert before == after


def test_importing_mesoslab_remote_does_not_import_paramiko() -> None:
    code = (
        "import sys, mesoslab.remote\n"
        "assert 'paramiko' not in sys.modules, 'paramiko imported'\n"
        "assert mesoslab.remote.SshPool.__name__ == 'SshPool'\n"
        "assert 'paramiko' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
