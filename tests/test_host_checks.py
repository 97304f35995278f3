"""Host check kinds over real SSH (tests/support/sshd.py): files, units, commands, ports.

The sshd runs on this machine, so the files the checks read are files the tests write in
tmp_path. Service checks run ``systemctl``; the test sshd puts a stand-in first on PATH
that answers for units named ``labfake-*`` and passes every other unit to the real
systemctl (see tests/support/sshd.py for why).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesoslab.checks.kinds.host.commands import listening_ports
from mesoslab.checks.kinds.host.files import json_difference
from mesoslab.checks.registry import catalogue
from mesoslab.checks.result import CheckResult, Observation, Status
from mesoslab.checks.runner import PlannedCheck, attempt, plan, settle
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.remote.session import Session
from tests.support.ports import free_port
from tests.support.sshd import STD_PATH, SshServer, sshd_server

__all__ = ["sshd_server"]  # fixture used by name


@pytest.fixture(scope="module")
def node(sshd_server: SshServer) -> Node:
    return sshd_server.node("agent1")


@pytest.fixture(scope="module")
def session(node: Node) -> Iterator[Session]:
    # One attempt per test (see check()), so no retry covers for a command that takes more
    # than the product's 5 s cap on a busy machine (`ss -ltn` on loopback once did).
    with Session(Inventory(nodes=(node,)), attempt_timeout=30) as shared:
        yield shared


def planned(node: Node, kind: str, **params: Any) -> PlannedCheck:
    spec = CheckSpec(kind=kind, params=params, on=node.name, hint="a hint")
    [pc] = plan([spec], Inventory(nodes=(node,)))
    return pc


def check(session: Session, node: Node, kind: str, **params: Any) -> Observation:
    """One attempt of ``kind`` against ``node``, as the runner makes it."""
    assert catalogue()[kind].problems(params) == [], "test uses invalid params"
    # a generous deadline: a read over SSH takes milliseconds, but seconds on a busy machine
    return attempt(planned(node, kind, **params), session, time.monotonic() + 30)


def assert_pass(obs: Observation) -> None:
    assert obs.status is Status.PASS, f"{obs.summary} | observed: {obs.observed}"


def assert_fail(obs: Observation) -> None:
    assert obs.status is Status.FAIL, f"{obs.summary} | observed: {obs.observed}"


# ---------------------------------------------------------------------- files


def test_file_exists(session: Session, node: Node, tmp_path: Path) -> None:
    path = tmp_path / "with space 'quoted'.conf"
    path.write_text("x\n")
    obs = check(session, node, "host.file_exists", path=str(path))
    assert_pass(obs)
    assert obs.observed.startswith("present: -rw")
    missing = str(tmp_path / "missing")
    obs = check(session, node, "host.file_exists", path=missing)
    assert_fail(obs)
    assert obs.summary == f"{missing} does not exist on agent1"
    assert (obs.expected, obs.observed) == ("present", "absent")
    assert_pass(check(session, node, "host.file_exists", path=missing, exists=False))
    obs = check(session, node, "host.file_exists", path=str(path), exists=False, sudo=False)
    assert_fail(obs)
    assert "should not" in obs.summary


def test_file_contains_text_and_regex(session: Session, node: Node, tmp_path: Path) -> None:
    path = tmp_path / "containerizers"
    lines = [f"# comment {i}" for i in range(12)] + ["containerizers=mesos", "end"]
    path.write_text("\n".join(lines) + "\n")
    assert_pass(check(session, node, "host.file_contains", path=str(path), text="=mesos\nend"))
    assert_pass(
        check(session, node, "host.file_contains", path=str(path), regex=r"^containerizers=\w+$")
    )
    obs = check(
        session, node, "host.file_contains", path=str(path), text="containerizers=docker,mesos"
    )
    assert_fail(obs)
    assert "does not contain 'containerizers=docker,mesos'" in obs.summary
    assert "closest line: 'containerizers=mesos'" in obs.summary
    assert obs.expected == "a line containing 'containerizers=docker,mesos'"
    shown = obs.observed.splitlines()
    assert shown[:2] == ["# comment 0", "# comment 1"] and shown[-1] == "… (4 more lines)"
    obs = check(session, node, "host.file_contains", path=str(path), regex=r"^docker$", sudo=False)
    assert_fail(obs)
    assert obs.expected == "text matching /^docker$/"


def test_file_contains_missing_or_unreadable_file(
    session: Session, node: Node, tmp_path: Path
) -> None:
    missing = str(tmp_path / "nope")
    obs = check(session, node, "host.file_contains", path=missing, text="x")
    assert_fail(obs)
    assert obs.summary == f"{missing} does not exist on agent1"
    obs = check(session, node, "host.file_contains", path=str(tmp_path), text="x")
    assert_fail(obs)
    assert obs.summary.startswith(f"cannot read {tmp_path} on agent1:")
    assert "Is a directory" in obs.observed


def test_file_json_equals(session: Session, node: Node, tmp_path: Path) -> None:
    path = tmp_path / "resources.json"
    data = [
        {
            "name": "ports",
            "type": "RANGES",
            "ranges": {"range": [{"begin": 21000, "end": 24000}, {"begin": 30000, "end": 64000}]},
        },
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}},
    ]
    path.write_text(json.dumps(data, indent=2))
    expected = json.loads(json.dumps(data))
    expected[1]["scalar"]["value"] = 2  # 2 == 2.0
    expected[0] = dict(reversed(list(expected[0].items())))  # key order does not matter
    assert_pass(check(session, node, "host.file_json_equals", path=str(path), json=expected))
    assert_pass(
        check(session, node, "host.file_json_equals", path=str(path), json=json.dumps(data))
    )
    expected[0]["ranges"]["range"][1]["end"] = 32000
    obs = check(session, node, "host.file_json_equals", path=str(path), json=expected)
    assert_fail(obs)
    assert "at $[0].ranges.range[1].end: expected 32000, found 64000" in obs.summary
    assert json.loads(obs.observed) == data
    assert json.loads(obs.expected) == expected


def test_file_json_equals_reports_where_the_json_is_broken(
    session: Session, node: Node, tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"name": "ports",}\n]\n')
    obs = check(session, node, "host.file_json_equals", path=str(path), json=[{"name": "ports"}])
    assert_fail(obs)
    assert obs.observed.startswith(f"{path}:2:")
    assert "is not valid JSON" in obs.summary and "line 2" in obs.summary


def test_json_difference_compares_meaning() -> None:
    assert json_difference({"a": [1, 2.0]}, {"a": [1.0, 2]}) is None
    assert json_difference({"a": True}, {"a": 1}) == "at $.a: expected true, found 1"
    assert json_difference([1, 2], [1]) == "at $: expected 2 items, found 1"
    assert json_difference({"a": 1}, {}) == "at $: key 'a' is missing"
    assert json_difference({}, {"b": 1}) == "at $: unexpected key 'b'"
    assert json_difference({"a-b": "x"}, {"a-b": "y"}) == 'at $[\'a-b\']: expected "x", found "y"'


# ---------------------------------------------------------------------- systemd units


def test_service_active(session: Session, node: Node, sshd_server: SshServer) -> None:
    unit = "labfake-web"
    sshd_server.set_unit(unit, "is-active", "active")
    obs = check(session, node, "host.service_active", unit=unit)
    assert_pass(obs)
    assert obs.observed == "active"
    sshd_server.set_unit(unit, "is-active", "failed")
    obs = check(session, node, "host.service_active", unit=unit)
    assert_fail(obs)
    assert (obs.expected, obs.observed) == ("active", "failed")
    assert obs.summary == "labfake-web is failed on agent1, expected active"
    assert_pass(check(session, node, "host.service_active", unit=unit, active=False))
    sshd_server.set_unit(unit, "is-active", "deactivating")
    assert_fail(check(session, node, "host.service_active", unit=unit, active=False))
    sshd_server.set_unit(unit, "is-active", None)  # inactive
    assert_pass(check(session, node, "host.service_active", unit=unit, active=False))


def test_service_enabled(session: Session, node: Node, sshd_server: SshServer) -> None:
    unit = "labfake-agent"
    sshd_server.set_unit(unit, "is-enabled", "enabled")
    assert_pass(check(session, node, "host.service_enabled", unit=unit))
    sshd_server.set_unit(unit, "is-enabled", "disabled")
    obs = check(session, node, "host.service_enabled", unit=unit)
    assert_fail(obs)
    assert (obs.expected, obs.observed) == ("enabled", "disabled")
    assert_pass(check(session, node, "host.service_enabled", unit=unit, enabled=False))
    sshd_server.set_unit(unit, "is-enabled", "static")
    obs = check(session, node, "host.service_enabled", unit=unit)
    assert_fail(obs)
    assert "static unit cannot be enabled" in obs.summary
    sshd_server.set_unit(unit, "is-enabled", None)  # old systemd: an error, no state word
    obs = check(session, node, "host.service_enabled", unit=unit)
    assert_fail(obs)
    assert obs.observed == "not-found"
    assert obs.summary == "there is no unit labfake-agent on agent1 (is its package installed?)"
    assert_pass(check(session, node, "host.service_enabled", unit=unit, enabled=False))


def test_service_checks_with_the_real_systemctl(session: Session, node: Node) -> None:
    """Units not named labfake-* reach the machine's own systemctl (if any)."""
    real = shutil.which("systemctl", path=STD_PATH)
    unit = "mesoslab-no-such-unit"
    enabled = check(session, node, "host.service_enabled", unit=unit)
    active = check(session, node, "host.service_active", unit=unit)
    if real is None:
        for obs in (enabled, active):
            assert_fail(obs)
            assert obs.summary == "systemctl is not available on agent1: is it a systemd host?"
        return
    # is-enabled reads unit files, so it answers even where systemd is not running
    assert_fail(enabled)
    assert enabled.observed == "not-found"
    assert_pass(check(session, node, "host.service_enabled", unit=unit, enabled=False))
    if Path("/run/systemd/system").is_dir():  # systemd runs here: a real state
        assert_fail(active)
        assert active.observed in ("inactive", "unknown")
    else:  # a container: systemctl cannot reach systemd, and the check says so
        assert_fail(active)
        assert active.summary.startswith(f"systemctl could not tell whether {unit} is active")
        assert active.observed


# ---------------------------------------------------------------------- commands


def test_command(session: Session, node: Node) -> None:
    obs = check(session, node, "host.command", command="echo mesos 1.11.0")
    assert_pass(obs)
    assert obs.observed == "exit 0\nmesos 1.11.0"
    assert_pass(check(session, node, "host.command", command="echo 1.11.0", output=r"^1\.11\.\d+$"))
    obs = check(session, node, "host.command", command="echo broken >&2; exit 3")
    assert_fail(obs)
    assert obs.summary == "`echo broken >&2; exit 3` on agent1 exited 3, expected 0"
    assert (obs.expected, obs.observed) == ("exit 0", "exit 3\nbroken")
    assert_pass(check(session, node, "host.command", command="exit 3", exit=3))
    obs = check(session, node, "host.command", command="echo 1.10.0", output=r"^1\.11")
    assert_fail(obs)
    assert "does not match /^1\\.11/" in obs.summary
    assert_pass(check(session, node, "host.command", command="id -u", output="^0$", sudo=True))


def test_command_timeout_is_a_fail_within_the_deadline(session: Session, node: Node) -> None:
    pc = planned(node, "host.command", command="echo waiting; sleep 30")
    start = time.monotonic()
    obs = attempt(pc, session, time.monotonic() + 2.0)  # (time for "waiting" on a busy host)
    assert time.monotonic() - start < 10  # unbounded: 30 s
    assert_fail(obs)
    assert "did not finish within" in obs.summary and "waiting" in obs.observed


# ---------------------------------------------------------------------- ports


def test_port_listening(session: Session, node: Node, sshd_server: SshServer) -> None:
    obs = check(session, node, "host.port_listening", port=sshd_server.port)
    assert_pass(obs)
    assert str(sshd_server.port) in obs.observed.split("listening: ")[1].split(", ")
    closed = free_port()
    obs = check(session, node, "host.port_listening", port=closed)
    assert_fail(obs)
    assert obs.summary == f"nothing listens on TCP port {closed} on agent1"
    assert obs.expected == f"port {closed} listening"
    assert str(sshd_server.port) in obs.observed
    assert_pass(check(session, node, "host.port_listening", port=closed, listening=False))
    assert_fail(check(session, node, "host.port_listening", port=sshd_server.port, listening=False))


def test_listening_ports_parses_proc_net_tcp_when_ss_is_missing() -> None:
    """The fallback parser against this machine's real /proc/net/tcp{,6}."""
    with socket.socket() as v4, socket.socket(socket.AF_INET6) as v6:
        v4.bind(("127.0.0.1", 0))
        v4.listen()
        v6.bind(("::1", 0))
        v6.listen()
        proc = "".join(Path(f"/proc/net/{name}").read_text() for name in ("tcp", "tcp6"))
        ports = listening_ports("mesoslab:proc\n" + proc)
        assert ports is not None
        assert v4.getsockname()[1] in ports and v6.getsockname()[1] in ports
    connected = listening_ports("mesoslab:proc\n" + proc)
    assert connected == ports  # parsing is deterministic
    ss = "mesoslab:ss\nState Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
    ss += "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nLISTEN 0 50 [::ffff:10.0.0.1]:2181 *:*\n"
    ss += "LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*\n"
    assert listening_ports(ss) == {22, 2181, 53}
    assert listening_ports("bash: weird") is None


# ---------------------------------------------------------------------- runner


def test_node_without_ssh_is_skipped() -> None:
    plain = Node("agent2", "127.0.0.1", ("agent",))
    with Session(Inventory(nodes=(plain,))) as session:
        pc = planned(plain, "host.file_exists", path="/etc/hostname")
        obs = attempt(pc, session, time.monotonic() + 5)
        assert obs.status is Status.SKIP
        assert "no [node.ssh] for agent2" in obs.summary
        result = settle(pc, session, 5)
    assert result.status is Status.SKIP and result.attempts == 1 and result.passed


def test_unreachable_node_is_a_fail_naming_host_and_port(sshd_server: SshServer) -> None:
    port = free_port()
    dead = sshd_server.node("agent3", port=port)
    with Session(Inventory(nodes=(dead,))) as session:
        obs = attempt(planned(dead, "host.command", command="true"), session, time.monotonic() + 5)
    assert_fail(obs)
    assert f"127.0.0.1:{port}" in obs.summary and "agent3" in obs.summary


def test_settle_retries_until_the_file_appears(
    session: Session, node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "late"
    pc = planned(node, "host.file_contains", path=str(path), text="ready")
    seen: list[Observation] = []
    first = threading.Event()

    def watched(*args: Any, **kwargs: Any) -> Observation:
        seen.append(attempt(*args, **kwargs))
        first.set()
        return seen[-1]

    monkeypatch.setattr("mesoslab.checks.runner.attempt", watched)

    def write_later() -> None:  # once the first attempt has seen no file (however slow)
        first.wait(30)
        path.write_text("ready\n")

    writer = threading.Thread(target=write_later)
    writer.start()
    result: CheckResult = settle(pc, session, 30)
    writer.join()
    assert seen[0].status is Status.FAIL
    assert result.status is Status.PASS and result.attempts == len(seen) >= 2


def test_a_late_attempt_that_saw_nothing_does_not_hide_what_the_check_saw(
    session: Session, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine the last read of a wrong file timed out, and the failure said "did not
    finish" instead of the wrong value the learner has to fix."""
    pc = planned(node, "host.file_json_equals", path="/etc/x.json", json="{}")
    wrong = Observation.fail("holds other ranges", expected="[21000-24000]", observed="[31000]")
    late = Observation.fail(
        "reading /etc/x.json did not finish", observed="timed out", answered=False
    )
    calls: list[float] = []

    def scripted(*_args: Any, **_kwargs: Any) -> Observation:
        calls.append(time.monotonic())
        return wrong if len(calls) == 1 else late

    monkeypatch.setattr("mesoslab.checks.runner.attempt", scripted)
    result = settle(pc, session, 2.0)
    assert result.attempts == len(calls) >= 2
    assert (result.summary, result.observed) == ("holds other ranges", "[31000]")
    assert result.hint == "a hint"

    monkeypatch.setattr("mesoslab.checks.runner.attempt", lambda *_args, **_kw: late)
    nothing = settle(pc, session, 0.1)  # never an answer: the failure says so
    assert nothing.summary == "reading /etc/x.json did not finish"


def test_no_attempt_starts_in_the_last_instant(
    session: Session, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    pc = planned(node, "host.file_exists", path="/nonexistent")
    left: list[float] = []

    def failing(_pc: Any, _session: Any, deadline: float, **_kwargs: Any) -> Observation:
        left.append(deadline - time.monotonic())
        return Observation.fail("missing")

    monkeypatch.setattr("mesoslab.checks.runner.attempt", failing)
    # pauses 0.5, 0.75, 1.125, 1.69 s: without the rule a fifth attempt starts 0.24 s before
    # the deadline; with it, none starts with less than a second (less a busy machine's lag)
    settle(pc, session, 4.3)
    assert len(left) >= 3, left  # it still retries
    assert min(left) >= 0.5, left


def test_params_are_validated() -> None:
    kinds = catalogue()
    contains = kinds["host.file_contains"]
    assert any("exactly one of 'text' or 'regex'" in p for p in contains.problems({"path": "/x"}))
    assert any(
        "exactly one" in p for p in contains.problems({"path": "/x", "text": "a", "regex": "b"})
    )
    assert any(
        "not a valid regular expression" in p
        for p in contains.problems({"path": "/x", "regex": "("})
    )
    assert any("must be absolute" in p for p in contains.problems({"path": "x", "text": "a"}))
    json_kind = kinds["host.file_json_equals"]
    assert any("not valid JSON" in p for p in json_kind.problems({"path": "/x", "json": "{"}))
    assert json_kind.problems({"path": "/x", "json": {"a": [1, 2]}}) == []
    assert any("unit" in p for p in kinds["host.service_active"].problems({"unit": "-x"}))
    assert any(
        "between 1 and 65535" in p for p in kinds["host.port_listening"].problems({"port": 70000})
    )
    assert any("missing parameter 'command'" in p for p in kinds["host.command"].problems({}))
    for kind in (k for name, k in kinds.items() if name.startswith("host.")):
        assert kind.needs_ssh and kind.scope == "node" and kind.role == ""
