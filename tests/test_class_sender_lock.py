"""The learner's sender lock: one sender at a time, and looking at it never turns one away.

A verify decides whether to start a detached sender by probing the lock, and `class status`
probes it to show the sender's pid; a fresh-clone CI run once lost a sender that started in
the instant such a probe held the lock (it took the probe for a sender and quit)."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from mesoslab.ops.classroom.sender import lock_holder, sender_lock


def test_a_sender_starting_while_the_lock_is_probed_still_takes_it(tmp_path: Path) -> None:
    path = tmp_path / "class-sender.lock"
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            lock_holder(path)
            stop.wait(0.0005)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        taken = []
        for _ in range(200):
            with sender_lock(path) as mine:
                taken.append(mine)
    finally:
        stop.set()
        prober.join()
    assert taken.count(False) == 0, f"{taken.count(False)} of 200 senders were turned away"


def test_the_holder_is_the_sender_and_never_a_probe(tmp_path: Path) -> None:
    path = tmp_path / "class-sender.lock"
    assert lock_holder(path) is None
    with sender_lock(path) as mine:
        assert mine
        assert lock_holder(path) == os.getpid()
        with sender_lock(path, patience=0.05) as second:
            assert not second  # one sender at a time
    path.write_text("4242\n")  # a sender that has ended
    with open(path) as other_probe:
        fcntl.flock(other_probe, fcntl.LOCK_SH)  # another probe, mid-flight
        assert lock_holder(path) is None
        fcntl.flock(other_probe, fcntl.LOCK_UN)
    assert lock_holder(path) is None
    assert path.read_text() == "4242\n"  # probing wrote nothing
