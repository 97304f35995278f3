"""Nothing lost, nothing twice: real learners' senders (`mesoslab class send` processes)
against the real server, killed and restarted on either side."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.classroom import ClassServer, HoldingProxy, LearnerHome, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ClassServer]:
    srv = ClassServer(tmp_path / "instructor").start()
    yield srv
    srv.stop()


def test_a_sender_killed_mid_send_loses_nothing_and_duplicates_nothing(
    server: ClassServer, learners: Callable[[str], LearnerHome]
) -> None:
    proxy = HoldingProxy(server.port)
    try:
        alice = learners("alice")
        alice.join(proxy.url, server.code)
        queued = {e.id for e in alice.queue(30)}
        proxy.hold.set()  # the server gets the events; its answer never comes back
        sender = alice.start("class", "send", "--timeout", "60")
        wait_for(lambda: len(server.event_ids("alice")) == 30, 30, "the server to store all 30")
        sender.send_signal(signal.SIGKILL)  # killed while it waits for the answer
        sender.wait(timeout=10)
        assert alice.stats().queued == 30  # not answered: still queued, nothing lost
        proxy.hold.clear()
        again = alice.mesoslab("class", "send", "--timeout", "60")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "sent 30" in again.stdout and "still queued 0" in again.stdout
        stats = alice.stats()
        assert (stats.queued, stats.sent, stats.rejected) == (0, 30, 0)
        ids = server.event_ids("alice")
        assert len(ids) == 30 and set(ids) == queued  # the resend was kept once
    finally:
        proxy.close()


def test_a_server_killed_and_restarted_gets_every_learners_queue(
    server: ClassServer, learners: Callable[[str], LearnerHome]
) -> None:
    people = [learners(name) for name in ("alice", "bob", "carol")]
    for learner in people:
        learner.join(server.url, server.code)
    server.stop(kill=True)
    queued = {learner.name: {e.id for e in learner.queue(20)} for learner in people}
    senders = [
        learner.start("class", "send", "--max-backoff", "1", "--timeout", "120")
        for learner in people
    ]
    try:
        for learner in people:  # each tried while the server was down, and kept its queue
            stats = wait_for(
                lambda learner=learner: (s := learner.stats()).last_error and s,
                30,
                f"{learner.name}'s sender to fail against the stopped server",
            )
            assert "cannot reach" in stats.last_error and stats.queued == 20
        server.start()  # same port, same database
        for sender in senders:
            assert sender.wait(timeout=60) == 0
    finally:
        for sender in senders:
            if sender.poll() is None:
                sender.kill()
    for learner in people:
        ids = server.event_ids(learner.name)
        assert len(ids) == 20 and set(ids) == queued[learner.name], learner.name
        stats = learner.stats()
        assert (stats.queued, stats.sent, stats.last_error) == (0, 20, "")


def test_status_shows_what_is_queued_and_the_last_error(
    server: ClassServer, learners: Callable[[str], LearnerHome]
) -> None:
    alice = learners("alice")
    alice.join(server.url, server.code)
    alice.queue(3)
    server.stop()
    tried = alice.mesoslab("class", "send", "--timeout", "1", "--max-backoff", "0.2")
    assert "still queued 3" in tried.stdout and "cannot reach" in tried.stdout
    status = alice.mesoslab("class", "status")
    assert status.returncode == 0, status.stderr
    assert "queued 3, sent 0" in status.stdout and "last error: cannot reach" in status.stdout
    server.start()
    assert alice.mesoslab("class", "send").returncode == 0
    assert "queued 0, sent 3" in alice.mesoslab("class", "status").stdout


def test_join_stores_the_token_private_and_leave_forgets_it(
    server: ClassServer, tmp_path: Path, learners: Callable[[str], LearnerHome]
) -> None:
    alice = learners("alice")
    alice.join(server.url, server.code)
    membership = tmp_path / "alice" / "config" / "mesoslab" / "class.json"
    assert (membership.stat().st_mode & 0o777) == 0o600
    twice = alice.mesoslab("class", "join", server.url, "--code", server.code, "--name", "x")
    assert twice.returncode == 2 and "class leave" in twice.stderr
    alice.queue(2)
    left = alice.mesoslab("class", "leave")
    assert left.returncode == 0 and "2 queued result(s) sent" in left.stdout, left.stdout
    assert not membership.exists()
    assert len(server.event_ids("alice")) == 2
    assert server.state()["learners"][0]["left"] is True
    status = alice.mesoslab("class", "status")
    assert status.returncode == 2 and "not joined" in status.stderr


def test_a_wrong_code_is_a_clear_error(
    server: ClassServer, learners: Callable[[str], LearnerHome]
) -> None:
    alice = learners("alice")
    out = alice.mesoslab("class", "join", server.url, "--code", "NOPE22", "--name", "alice")
    assert out.returncode == 2 and "wrong class code" in out.stderr
    unreachable = alice.mesoslab(
        "class", "join", "http://127.0.0.1:9", "--code", "X", "--name", "alice"
    )
    assert unreachable.returncode == 2 and "cannot reach the class" in unreachable.stderr
