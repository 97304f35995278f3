"""The learner's side end to end: a real `mesoslab verify` of a joined learner reaches the
real server by itself (a detached sender), a verify never waits for a server that is down,
and nothing secret leaves the machine (everything sent is captured and grepped)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.classroom import ClassServer, LearnerHome, wait_for
from tests.support.lesson3_cluster import DEFAULT, Lesson3Cluster


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClassServer]:
    srv = ClassServer(tmp_path / "instructor").start()
    yield srv
    srv.stop()


def verify_json(learner: LearnerHome, inventory: Path) -> dict:
    out = learner.mesoslab(
        "verify", "lesson-3", "-i", str(inventory), "--format", "json", "--timeout", "2"
    )
    assert out.returncode in (0, 1), out.stderr
    doc: dict = json.loads(out.stdout)
    return doc


def test_a_joined_learners_verify_reaches_the_instructor(
    server: ClassServer,
    lesson3_cluster: tuple[Lesson3Cluster, Path],
    learners: Callable[[str], LearnerHome],
) -> None:
    lab, inventory = lesson3_cluster
    alice = learners("alice")
    alice.join(server.url, server.code)
    lab.serve(DEFAULT)  # lesson 3 not done yet: step 1 fails
    doc = verify_json(alice, inventory)
    expected = {
        str(s["step"]): "fail"
        if not s["passed"]
        else "skip"
        if all(c["status"] == "skip" for c in s["checks"])
        else "pass"
        for s in doc["steps"]
    }
    assert "fail" in expected.values()

    def reported() -> dict | None:
        row = next((r for r in server.state()["learners"] if r["name"] == "alice"), None)
        steps = (row or {}).get("steps", {}).get("lesson-3", {})
        return steps if len(steps) == len(expected) else None

    steps = wait_for(reported, 30, "alice's verify on the server (sent in the background)")
    assert {n: s["status"] for n, s in steps.items()} == expected
    assert alice.stats().queued == 0
    row = server.state()["learners"][0]
    first_failing = min(int(n) for n, status in expected.items() if status == "fail")
    assert (row["lesson"], row["step"]) == ("lesson-3", first_failing)  # where alice is


def test_a_verify_does_not_wait_for_a_server_that_is_down(
    server: ClassServer,
    lesson3_cluster: tuple[Lesson3Cluster, Path],
    learners: Callable[[str], LearnerHome],
) -> None:
    _, inventory = lesson3_cluster
    alice = learners("alice")
    alice.join(server.url, server.code)
    server.stop()
    started = time.monotonic()
    doc = verify_json(alice, inventory)
    took = time.monotonic() - started
    assert doc["lesson"] == "lesson-3"
    assert took < 15, f"verify took {took:.1f}s with the class server down"
    assert alice.stats().queued == 1  # kept for later
    wait_for(alice.sender_pid, 10, "a detached sender, which keeps trying ...")
    server.start()
    wait_for(lambda: server.event_ids("alice"), 60, "the detached sender to deliver")
    assert len(server.event_ids("alice")) == 1  # ... and delivers once the server is back
    wait_for(lambda: alice.stats().queued == 0, 10, "the outbox to empty")


# ------------------------------------------------------------------ nothing secret leaves


class Recorder(ThreadingHTTPServer):
    """A stand-in class server that keeps every byte it is sent (headers and bodies)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[bytes] = []
        self.events: list[dict] = []
        self.lock = threading.Lock()


class _RecordingHandler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = "".join(
            f"{k}: {v}\n" for k, v in self.headers.items() if k.lower() != "authorization"
        )
        with self.server.lock:
            self.server.requests.append(self.requestline.encode() + headers.encode() + body)
        if self.path == "/api/join":
            answer = {"token": "learner-token-0123456789", "name": "alice", "class": "c"}
        else:
            events = json.loads(body)["events"]
            with self.server.lock:
                self.server.events.extend(events)
            answer = {"stored": [e["id"] for e in events], "duplicates": []}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBzZWNyZXRzZWNyZXRzZWNyZXRzZWNyZXRzZWNyZXRzZWNyZXQAAAAEbm9u\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNlY3JldHNlY3JldHNlY3JldA alice@laptop"
ENV_SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY",
    "GITHUB_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
    "VAGRANT_PASSWORD": "correct-horse-battery",
}


def test_nothing_secret_ever_leaves_the_learner(
    tmp_path: Path, learners: Callable[[str], LearnerHome]
) -> None:
    recorder = Recorder()
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    try:
        key = tmp_path / "keys" / "id_lab_ed25519"
        key.parent.mkdir()
        key.write_text(PRIVATE_KEY)
        inventory = tmp_path / "inv.toml"
        inventory.write_text(
            '[[node]]\nname = "agent1"\naddress = "127.0.0.2"\nroles = ["agent"]\n'
            f'[node.ssh]\nhost = "127.0.0.2"\nuser = "vagrant"\nkey = "{key}"\n'
        )
        alice = learners("alice")
        url = f"http://127.0.0.1:{recorder.server_address[1]}"
        alice.join(url, "CODE42", "--share-output")  # output allowed: still no secrets
        leaky = (
            f"{PRIVATE_KEY}\n{PUBLIC_KEY}\npassword=hunter2hunter2\nkey file {key}\n"
            + "\n".join(f"{k}={v}" for k, v in ENV_SECRETS.items())
        )
        script = (
            "import sys\n"
            "from mesoslab.lab.inventory import load_inventory\n"
            "from mesoslab.ops.classroom.emit import emit_command, emit_verify, emit_hint\n"
            "from mesoslab.lessons.verify import VerifyReport, StepReport\n"
            "from mesoslab.checks.result import CheckResult, Status\n"
            "inv = load_inventory(sys.argv[1]); leaky = sys.stdin.read()\n"
            "emit_command('lesson-3', 2, 'cat ~/.ssh/id_ed25519; env', "
            "[('agent1', 0, leaky)], inventory=inv)\n"
            "result = CheckResult('host.file_contains', 'agent1', Status.FAIL, 'saw ' + leaky,"
            " 'ports', leaky, 'check the file', 1, 0.1)\n"
            "emit_verify(VerifyReport('lesson-3', 't', [StepReport(2, 's', [result])]),"
            " inventory=inv)\n"
            "emit_hint('lesson-3', 2, 'solution')\n"
        )
        subprocess.run(
            [sys.executable, "-c", script, str(inventory)],
            input=leaky,
            text=True,
            check=True,
            env=alice.env(**ENV_SECRETS),
            timeout=60,
        )
        wait_for(lambda: len(recorder.events) == 3, 30, "the 3 events at the recorder")
        sent = b"\n".join(recorder.requests).decode()
        assert "cat ~/.ssh/id_ed25519; env" in sent  # the command text is sent ...
        assert "[redacted]" in sent  # ... and the secrets in what it printed are not
        forbidden = [
            *[line for line in PRIVATE_KEY.splitlines() if len(line) > 20],
            "PRIVATE KEY",
            PUBLIC_KEY.split()[1],
            "hunter2hunter2",
            str(key),
            "learner-token-0123456789",
            *ENV_SECRETS.values(),
        ]
        leaked = [s for s in forbidden if s in sent]
        assert leaked == []
        # the environment as such is never part of an event
        for event in recorder.events:
            assert set(event) == {"id", "kind", "at", "lesson", "step", "data"}
            assert "env" not in event["data"] and "environ" not in json.dumps(event["data"])
    finally:
        recorder.shutdown()
        recorder.server_close()


def test_output_is_not_sent_unless_the_learner_allows_it(
    learners: Callable[[str], LearnerHome],
) -> None:
    recorder = Recorder()
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    try:
        alice = learners("alice")
        alice.join(f"http://127.0.0.1:{recorder.server_address[1]}", "CODE42")
        script = (
            "from mesoslab.ops.classroom.emit import emit_command\n"
            "emit_command('lesson-1', 1, 'sudo yum install -y mesos', "
            "[('master1', 1, 'Loaded plugins: fastestmirror, private output')])\n"
        )
        subprocess.run([sys.executable, "-c", script], check=True, env=alice.env(), timeout=60)
        wait_for(lambda: recorder.events, 30, "the step run at the recorder")
        (event,) = recorder.events
        assert event["kind"] == "step_run"
        assert event["data"] == {
            "command": "sudo yum install -y mesos",
            "exit_status": 1,
            "nodes": ["master1"],
        }
        assert "private output" not in b"".join(recorder.requests).decode()
    finally:
        recorder.shutdown()
        recorder.server_close()


def test_no_socket_is_opened_for_a_learner_who_never_joined(
    lesson3_cluster: tuple[Lesson3Cluster, Path], learners: Callable[[str], LearnerHome]
) -> None:
    _, inventory = lesson3_cluster
    bob = learners("bob")
    verify_json(bob, inventory)
    assert not bob.outbox_path.exists()


def test_the_apps_background_sender_delivers_and_shows_hints(
    server: ClassServer,
    learners: Callable[[str], LearnerHome],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The TUI's sender thread, in this process: a verify with failed checks queues the
    verify and a hint event; the thread (nudged, no detached process) sends both."""
    from mesoslab.checks.result import CheckResult, Status
    from mesoslab.lessons.verify import StepReport, VerifyReport
    from mesoslab.ops.classroom import emit
    from mesoslab.ops.classroom.sender import BackgroundSender

    alice = learners("alice")
    alice.join(server.url, server.code)
    for key in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(key, alice.env()[key])
    sender = BackgroundSender(poll=30)  # only a nudge can make it send this soon
    emit.set_kicker(sender.kick)
    sender.start()
    try:
        failed = CheckResult(
            "mesos.agent_resources",
            "agent1",
            Status.FAIL,
            "ports differ",
            "[21000-24000]",
            "[31000-32000]",
            "edit resources.conf",
            1,
            0.1,
        )
        report = VerifyReport("lesson-3", "Custom port ranges", [StepReport(3, "s", [failed])])
        assert emit.emit_verify(report) is None
        emit.emit_hints_shown(report)
        wait_for(lambda: len(server.event_ids("alice")) == 2, 20, "the thread to send both")
    finally:
        emit.set_kicker(None)
        sender.stop()
    kinds = [e["kind"] for e in server.store().last_events(1)]
    assert sorted(kinds) == ["hint", "verify"]
    assert alice.stats().queued == 0
    assert alice.sender_pid() is None  # nothing queued at stop: no detached sender started
