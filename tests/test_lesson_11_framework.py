"""Lesson 11's own scheduler (extracted from the lesson file, not a copy) against a loopback
twin master and two agents, and the lesson's new check kinds against the same twin; the
per-framework metric of Mesos >= 1.7 against a fixture server; the library's copy for
rehearsal masters (provision/pylib.py) importable by the node's Python."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.checks.result import Status
from mesoslab.provision.pylib import pylib_files
from tests.support.fixture_server import FakeLab, Reply, redirect, run_check
from tests.support.paths import REPO
from tests.support.twin_lab import TwinLab, wait_until

pytestmark = pytest.mark.slow

LESSON = REPO / "lessons" / "11-write-a-framework" / "lesson.md"
RESOURCES = "cpus:2;mem:1024;disk:2048;ports:[31000-31009]"


def scheduler_source() -> str:
    text = LESSON.read_text(encoding="utf-8")
    match = re.search(r"cat > ~/lesson11/scheduler.py <<'EOF'\n(.*?)\nEOF\n", text, re.S)
    assert match, "the lesson has no scheduler heredoc"
    return match.group(1) + "\n"


def test_the_scheduler_is_python_3_6() -> None:
    """CentOS 7's python3 is 3.6: the lesson's file must parse as 3.6."""
    ast.parse(scheduler_source(), feature_version=(3, 6))


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwinLab]:
    lab = TwinLab(tmp_path_factory.mktemp("l11"), ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    try:
        master = lab.master("master1", "127.0.0.1").start()
        for name, address in (("agent1", "127.0.0.2"), ("agent2", "127.0.0.3")):
            lab.agent(name, address, master=f"127.0.0.1:{lab.ports['mesos_master']}",
                      extra={"resources": RESOURCES}).start()  # fmt: skip
        master.wait_http()
        wait_until(
            "both agents",
            lambda: (
                len([s for s in master.get("/master/state").json()["slaves"] if s["active"]]) == 2
            ),
        )
        yield lab
    finally:
        lab.stop_all()


def test_the_lessons_scheduler_runs_its_tasks_declines_and_tears_down(
    twin: TwinLab, tmp_path: Path
) -> None:
    master = twin.daemons[0]
    inventory = twin.inventory()
    before = run_check(inventory, "mesos.framework", {"name": "lesson11-framework",
                                                      "state": "completed"})  # fmt: skip
    assert before.status is Status.FAIL and "no framework named" in before.summary
    script = tmp_path / "scheduler.py"
    script.write_text(scheduler_source())
    done = subprocess.run(
        [sys.executable, str(script), master.url], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("SUBSCRIBED as framework")
    assert sum(1 for line in lines if line.startswith("ACCEPT ")) == 1
    assert any(line.startswith("DECLINE ") for line in lines)
    assert sorted(line.split()[1] for line in lines if line.endswith("TASK_FINISHED Command "
                  "exited with status 0")) == ["hello-1", "hello-2", "hello-3"]  # fmt: skip
    assert lines[-1] == "done: 3 of 3 tasks finished"
    metrics = master.get("/metrics/snapshot").json()
    assert metrics["master/messages_decline_offers"] >= 1
    completed = run_check(inventory, "mesos.framework",
                          {"name": "lesson11-framework", "state": "completed"})  # fmt: skip
    assert completed.status is Status.PASS, completed.summary
    active = run_check(inventory, "mesos.framework", {"name": "lesson11-framework"})
    assert active.status is Status.FAIL and "torn down" in active.summary
    tasks = run_check(inventory, "mesos.task", {"name": "hello", "framework":
                      "lesson11-framework", "state": "TASK_FINISHED", "count": 3})  # fmt: skip
    assert tasks.status is Status.PASS, tasks.summary
    declined = run_check(inventory, "mesos.offers_declined", {"framework": "lesson11-framework"})
    assert declined.status is Status.PASS and "all frameworks together" in declined.summary
    too_many = run_check(inventory, "mesos.offers_declined",
                         {"framework": "lesson11-framework", "min": 10**6})  # fmt: skip
    assert too_many.status is Status.FAIL


def _metrics_lab(lab: FakeLab, metrics: dict[str, float]) -> None:
    port = lab.ports["mesos_master"]
    for _name, srv in lab.servers("mesos_master"):
        srv.route("/master/redirect", redirect(f"//master1:{port}"))
        srv.route("/health", Reply(200))
        srv.json("/metrics/snapshot", metrics)


def test_offers_declined_reads_the_per_framework_counter_of_mesos_1_7() -> None:
    # MESOS@1.11.0 src/master/metrics.cpp: master/frameworks/<encoded name>/<id>/offers/declined
    metrics = {
        "master/messages_decline_offers": 5000.0,
        "master/frameworks/marathon/f-0001/offers/declined": 4990.0,
        "master/frameworks/lesson11-framework/f-0002/offers/declined": 0.0,
    }
    with FakeLab([("master1", ["master"])]) as lab:
        _metrics_lab(lab, metrics)
        result = run_check(lab.inventory, "mesos.offers_declined",
                           {"framework": "lesson11-framework"})  # fmt: skip
        assert result.status is Status.FAIL and "declined 0 offers" in result.summary
        metrics["master/frameworks/lesson11-framework/f-0002/offers/declined"] = 2.0
        _metrics_lab(lab, metrics)
        result = run_check(lab.inventory, "mesos.offers_declined",
                           {"framework": "lesson11-framework", "min": 2})  # fmt: skip
        assert result.status is Status.PASS and "declined 2 offers" in result.summary
        other = run_check(lab.inventory, "mesos.offers_declined", {"framework": "nobody"})
        assert other.status is Status.FAIL and "none for 'nobody'" in other.summary


def test_the_library_copy_imports_with_the_nodes_python(tmp_path: Path) -> None:
    """Debian 12's python3 (3.11, as on the box), the copied files and Debian's kazoo (here:
    the venv's, appended last) import avmesos and requests; compiled modules stay behind."""
    files, missing = pylib_files()
    assert missing == []
    assert not [f.name for f in files if f.name.endswith(".so") or "__pycache__" in f.name]
    for f in files:
        dest = tmp_path / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f.path, dest)
    import kazoo

    only_kazoo = tmp_path.parent / f"{tmp_path.name}-kazoo"  # nothing else of the venv
    only_kazoo.mkdir()
    (only_kazoo / "kazoo").symlink_to(Path(kazoo.__file__).resolve().parent)
    kazoo_parent = str(only_kazoo)
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); sys.path.append({kazoo_parent!r});"
        "import avmesos.client, requests; print(avmesos.client.__file__, requests.__file__)"
    )
    done = subprocess.run([python, "-s", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(p.startswith(str(tmp_path)) for p in done.stdout.split())
