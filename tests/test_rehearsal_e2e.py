"""The lessons themselves on a real rehearsal lab (LXC, real systemd, SSH and ZooKeeper,
emulated Mesos): `mesoslab dev check` runs every step's commands and proves that its
checks fail before and pass after.

This is DESIGN §5's promise kept end to end: the lessons' own command blocks, as a learner
would run them, take a fresh lab through lesson 1 (and lessons 2-3 by catch-up), and a
lesson with a wrong command is caught with the failing check and what it observed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesoslab.lessons.catalog import lessons_dir
from tests.support.lxc import mesoslab, new_lab

pytestmark = pytest.mark.lab


def _tail(out: subprocess.CompletedProcess[str], chars: int = 6000) -> str:
    return out.stdout[-chars:] + "\n--- stderr ---\n" + out.stderr[-2000:]


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "rh", "1m-2a") as directory:
        out = mesoslab(directory, "up")
        assert out.returncode == 0, _tail(out)
        yield directory


def _step_blocks(stdout: str, lesson: str) -> dict[int, str]:
    """Each step's result block of the dev check output (from its ✔/✘ line on)."""
    blocks: dict[int, str] = {}
    pattern = re.compile(rf"^([✔✘]) {lesson} step (\d+): .*$", re.MULTILINE)
    matches = list(pattern.finditer(stdout))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(stdout)
        block = stdout[match.start() : end]
        blocks[int(match.group(2))] = block.split("\n--> ", 1)[0]
    return blocks


def _run_section(stdout: str, lesson: str, step: int) -> str:
    """What `dev check` printed while it ran one step's commands: from its "running the
    commands" line to the step's ✔/✘ line (the commands, ▶ lines, and their output)."""
    start = stdout.index(f"--> {lesson} step {step}: running the commands")
    end = re.compile(rf"^[✔✘] {lesson} step {step}: ", re.MULTILINE).search(stdout, start)
    assert end is not None, stdout[start : start + 3000]
    return stdout[start : end.start()]


def test_provisioning_delivered_the_twin_and_changes_nothing_twice(lab: Path) -> None:
    out = mesoslab(lab, "provision")
    assert out.returncode == 0, _tail(out)
    assert re.search(r"provisioning: \d+ step\(s\) on 3 node\(s\), 0 changed, 0 failed", out.stdout)
    assert "the twin's code is in /opt/mesoslab-twin/mesoslab_twin" in out.stdout


def test_machine_states_come_from_lxc_and_agree_with_vagrant(lab: Path) -> None:
    """`status` asks LXC for the machines' states (milliseconds, not Vagrant's seconds);
    what LXC says is what `vagrant status` says, and a halted machine reads stopped."""
    from mesoslab.lab.machine_state import provider_states
    from mesoslab.lab.spec import load_lab
    from mesoslab.ops.status import vagrant_states

    spec = load_lab(lab)
    names = [node.name for node in spec.nodes]
    direct = provider_states(lab, "lxc", names)
    assert direct == dict.fromkeys(names, "running")
    assert direct == vagrant_states(lab)()
    out = mesoslab(lab, "halt", "agent2")
    assert out.returncode == 0, _tail(out)
    try:
        assert provider_states(lab, "lxc", names) == {**direct, "agent2": "stopped"}
        assert vagrant_states(lab)()["agent2"] == "stopped"
    finally:
        out = mesoslab(lab, "up", "agent2")
        assert out.returncode == 0, _tail(out)


def test_lesson_1_runs_end_to_end(lab: Path) -> None:
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-1")
    print(f"dev check lesson-1: {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, _tail(out)
    blocks = _step_blocks(out.stdout, "lesson-1")
    assert sorted(blocks) == [1, 2, 3, 4, 5, 6], _tail(out)
    for block in blocks.values():
        assert block.startswith("✔"), block
        assert re.search(r"after +PASS \d+ check", block), block
        assert re.search(r"run +\d+ command block\(s\) ok", block), block
    # Step 1 fixes what a CentOS box may have wrong (firewalld, /etc/hosts); the rehearsal
    # box has no firewalld and provisioning wrote /etc/hosts: a finding, not an error.
    assert "step 1's checks already pass before its commands run" in blocks[1]
    for number in (2, 3, 4, 5, 6):
        assert "before  FAIL as expected" in blocks[number], blocks[number]
    assert "✔ lesson-1: 6/6 step(s) ok" in out.stdout
    # the rehearsal variant of step 2 installed the packages with apt from the lab's
    # repository on master1 (the seed's Ubuntu shape), not yum
    ran = _run_section(out.stdout, "lesson-1", 2)
    source = 'echo "deb [trusted=yes] http://master1:8000/ ./"'
    assert f"▶ master1: {source}" in ran, ran
    assert f"▶ agent1, agent2: {source}" in ran, ran
    for node in ("master1", "agent1", "agent2"):
        assert re.search(rf"^{node} +│ Setting up mesos \(1\.4\.3-mesoslab", ran, re.MULTILINE), ran
    assert re.search(r"^master1 +│ Setting up marathon ", ran, re.MULTILINE), ran
    listing = _on(lab, "agent1", "dpkg -L mesos")
    assert "/usr/lib/systemd/system/mesos-slave.service" in listing.split(), listing
    assert "yum" not in out.stdout


def test_lesson_3_catches_up_through_lesson_2_and_runs(lab: Path) -> None:
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-3")
    print(f"dev check lesson-3 (with catch-up): {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, _tail(out)
    assert "catching up through lesson-2 first" in out.stdout
    blocks = _step_blocks(out.stdout, "lesson-3")
    assert sorted(blocks) == [1, 2, 3, 4], _tail(out)
    assert all(block.startswith("✔") for block in blocks.values()), _tail(out)
    for number in (2, 3, 4):
        assert "before  FAIL as expected" in blocks[number], blocks[number]
    assert "✔ lesson-3: 4/4 step(s) ok (after catching up)" in out.stdout


def test_lesson_2_runs_on_a_lab_that_is_past_it(lab: Path) -> None:
    """On a lab past lesson 2, its checks pass before (findings, not errors), and running
    its commands again keeps them passing (the steps are idempotent: the Docker stand-in,
    the agent flags, the Docker app). In module order lesson 3's catch-up applied lesson 2
    already; run alone, the test brings the lab past lesson 2 itself first, so it proves
    the same thing whatever order the tests run in."""
    verified = mesoslab(lab, "verify", "lesson-2", "--timeout", "15")
    if verified.returncode != 0:  # not past lesson 2 yet: apply lessons 1-2
        out = mesoslab(lab, "up", "--through", "lesson-2")
        assert out.returncode == 0, _tail(out)
    out = mesoslab(lab, "dev", "check", "lesson-2")
    assert out.returncode == 0, _tail(out)
    assert "catching up" not in out.stdout  # lesson 1 holds: no catch-up needed
    blocks = _step_blocks(out.stdout, "lesson-2")
    assert sorted(blocks) == [1, 2, 3], _tail(out)
    for number, block in blocks.items():
        assert block.startswith("✔"), block
        assert "before  PASS — finding: " in block, block  # past it: passes before
        assert re.search(r"after +PASS \d+ check", block), block
        assert f"finding: step {number}'s checks already pass before its commands run" in (
            out.stdout
        )
    assert "✔ lesson-2: 3/3 step(s) ok" in out.stdout
    # Lesson 3 restarted the agents with new ids after lesson 2's app ran: as Mesos's
    # docker containerizer does (--docker_kill_orphans), they removed the old task's
    # container, so Docker runs exactly the one task Marathon has
    running = [
        _on(lab, agent, "docker ps -q --filter name=^/mesos-").split()
        for agent in ("agent1", "agent2")
    ]
    assert sum(len(ids) for ids in running) == 1, running


def test_a_wrong_port_range_in_lesson_3_is_caught(lab: Path, tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    shutil.copytree(lessons_dir(), lessons)
    path = next(lessons.glob("03-*/lesson.md"))
    text = path.read_text()
    good = '{"begin": 21000, "end": 24000}'
    command = text.index("cat > /etc/mesos-slave-data/resources.conf")
    at = text.index(good, command)  # the command block's copy, not the prose's
    path.write_text(text[:at] + '{"begin": 22000, "end": 24000}' + text[at + len(good) :])

    out = mesoslab(lab, "dev", "check", "lesson-3", env={"MESOSLAB_LESSONS": str(lessons)})
    assert out.returncode == 1, _tail(out)
    blocks = _step_blocks(out.stdout, "lesson-3")
    assert blocks[2].startswith("✘ lesson-3 step 2"), _tail(out)
    assert "after   FAIL" in blocks[2]
    assert "host.file_json_equals on agent1" in blocks[2], blocks[2]
    observed = [ln for ln in blocks[2].splitlines() if ln.strip().startswith("observed:")]
    assert observed and "22000" in observed[0], blocks[2]
    assert 3 not in blocks  # later steps build on this one: not run
    assert "✘ lesson-3: 1/4 step(s) ok" in out.stdout
    # the right file again (the agents never restarted with the wrong one): the later
    # lessons of this lab start from lesson 3 done
    fixed = mesoslab(lab, "run", "lesson-3", "--step", "2")
    assert fixed.returncode == 0, _tail(fixed)
    held = mesoslab(lab, "verify", "lesson-3", "--timeout", "30")
    assert held.returncode == 0, _tail(held)


def _on(lab: Path, node: str, command: str, timeout: float = 300) -> str:
    # like ssh, `mesoslab ssh NODE -- ARGS` hands the node's shell one line: quote it
    out = mesoslab(lab, "ssh", node, "--", f"sudo sh -c {shlex.quote(command)}", timeout=timeout)
    assert out.returncode == 0, f"{command}\n{_tail(out)}"
    return out.stdout


def test_real_docker_runs_the_boxs_images_and_the_lab_registry_serves_them(
    lab: Path, tmp_path: Path
) -> None:
    """Docker Engine in a node, as the box carries it: off until turned on, then with the
    box's locally built images loaded; a container with a CPU limit (the Vagrantfile's
    cgroup mount) publishes a port the host reaches; the lab registry on master1 serves the
    same images, plain HTTP, to a node's dockerd that trusts it and uses it as its Docker
    Hub mirror. On master1: lesson 2 puts Docker (its stand-in, for now) on the agents."""
    import httpx

    from mesoslab.lab.spec import load_lab

    master = next(n for n in load_lab(lab).nodes if n.name == "master1")
    state = _on(lab, "master1", "systemctl is-enabled docker.service || true")
    assert state.strip().splitlines()[-1] == "disabled", state  # off until a lesson turns it on
    _on(lab, "master1", "systemctl enable --now docker")
    # the loader unit ran when Docker started: every image of the box is there, labelled
    images = _on(lab, "master1", "docker images --format '{{.Repository}}:{{.Tag}}'")
    for name in ("busybox:latest", "debian:bookworm", "python:3.11", "python:3", "nginx:latest"):
        assert name in images.split(), images
    labels = '{{index .Config.Labels "org.mesoslab.built-locally"}}'
    label = _on(lab, "master1", f"docker inspect -f '{labels}' nginx")
    assert label.strip() == "true", label
    assert _on(lab, "master1", "docker run --rm busybox echo hi").strip().endswith("hi")
    version = _on(
        lab, "master1", "docker run --rm python:3 python -c 'import sys; print(sys.version_info)'"
    )
    assert "major=3, minor=11" in version, version
    # a CPU and memory limit (cgroup:mixed:force) on a web server the host reaches
    _on(
        lab,
        "master1",
        "docker rm -f lab-web >/dev/null 2>&1; "
        "docker run -d --name lab-web --cpus 0.5 --memory 64m -p 31080:80 nginx",
    )
    quota = _on(lab, "master1", "docker inspect -f '{{.HostConfig.NanoCpus}}' lab-web")
    assert quota.strip() == "500000000", quota
    deadline = time.monotonic() + 30
    while True:
        try:
            page = httpx.get(f"http://{master.address}:31080/", timeout=2)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "nginx in Docker did not answer on :31080"
            time.sleep(0.2)
    assert page.status_code == 200 and "Welcome to nginx" in page.text, page.text[:300]
    logs = _on(lab, "master1", "docker logs lab-web 2>&1")
    assert "GET / HTTP/1.1" in logs, logs  # access.log goes to the container's output
    _docker_checks_see_what_docker_shows(lab, tmp_path)
    _on(lab, "master1", "docker rm -f lab-web")
    # the lab registry, from the host: plain HTTP, no auth, the images in its catalog
    catalog = httpx.get(f"http://{master.address}:5000/v2/_catalog", timeout=5).json()
    assert {"busybox", "nginx", "python", "library/nginx"} <= set(catalog["repositories"])
    tags = httpx.get(f"http://{master.address}:5000/v2/python/tags/list", timeout=5).json()
    assert sorted(tags["tags"]) == ["3", "3.11", "latest"]
    # dockerd pulls from it by name, and as its Docker Hub mirror
    _on(lab, "master1", "docker rmi busybox master1:5000/busybox >/dev/null 2>&1; true")
    _on(lab, "master1", "docker pull master1:5000/busybox:latest && docker pull busybox")
    images = _on(lab, "master1", "docker images --format '{{.Repository}}:{{.Tag}}'")
    assert {"master1:5000/busybox:latest", "busybox:latest"} <= set(images.split()), images
    _on(lab, "master1", "systemctl disable --now docker docker.socket")


DOCKER_CHECKS_LESSON = """---
id: lesson-2
title: docker checks against a real dockerd
summary: The docker.* check kinds on a rehearsal node.
preset: 1m-2a
platforms: [rehearsal]
---

## What runs

```check
- kind: docker.container
  on: master1
  name: lab-web
  image: nginx
  port: 80
  host_port: 31080
  hint: h
- kind: docker.image
  on: master1
  image: python:3.11
  hint: h
- kind: docker.daemon
  on: master1
  storage_driver: overlay2
  insecure_registry: "master1:5000"
  mirror: "http://master1:5000"
  hint: h
- kind: docker.registry
  repository: python
  tags: ["3", "3.11"]
  hint: h
```

## What does not

```check
- kind: docker.container
  on: master1
  name: lab-web
  port: 80
  host_port: 31081
  hint: h
- kind: docker.image
  on: master1
  image: nginx:9.9
  hint: h
- kind: docker.registry
  repository: nosuch
  hint: h
- kind: docker.daemon
  on: agent1
  storage_driver: devicemapper
  hint: h
```
"""


def _docker_checks_see_what_docker_shows(lab: Path, tmp_path: Path) -> None:
    """The docker.* kinds read a real dockerd and the real registry: what runs passes,
    what does not fails with what it saw."""
    import json

    lessons = tmp_path / "lessons"
    (lessons / "02-docker-checks").mkdir(parents=True)
    (lessons / "02-docker-checks" / "lesson.md").write_text(DOCKER_CHECKS_LESSON)
    out = mesoslab(
        lab,
        *("verify", "lesson-2", "--format", "json", "--timeout", "5"),
        env={"MESOSLAB_LESSONS": str(lessons)},
    )
    assert out.returncode == 1, _tail(out)
    report = json.loads(out.stdout)
    passing, failing = report["steps"]
    assert passing["passed"], json.dumps(passing, indent=1)
    assert [c["status"] for c in failing["checks"]] == ["fail"] * 4, json.dumps(failing, indent=1)
    summaries = [c["summary"] for c in failing["checks"]]
    assert "does not publish 80/tcp" in summaries[0], summaries
    assert "lab-web: 80/tcp → 31080" in failing["checks"][0]["observed"], summaries
    assert summaries[1] == "image nginx:9.9 is not on master1", summaries
    assert "has no repository nosuch" in summaries[2], summaries
    assert "storage_driver is overlay2, not devicemapper" in summaries[3], summaries


def _marathon(lab: Path) -> Any:
    import httpx

    from mesoslab.lab.spec import load_lab

    master = next(n for n in load_lab(lab).nodes if n.name == "master1")
    return httpx.Client(base_url=f"http://{master.address}:8080", timeout=10)


def _app(client: Any, app_id: str) -> dict[str, Any]:
    import httpx

    try:
        answer = client.get(f"/v2/apps/{app_id}", params={"embed": "app.lastTaskFailure"})
    except httpx.HTTPError as exc:
        raise OSError(str(exc)) from None  # not yet: wait_until tries again
    answer.raise_for_status()
    return dict(answer.json()["app"])


def _running(client: Any, app_id: str, besides: set[str]) -> str:
    """The id of the app's one running task that is none of ``besides`` ('' if none)."""
    tasks = [t for t in _app(client, app_id)["tasks"] if t["state"] == "TASK_RUNNING"]
    fresh = [t["id"] for t in tasks if t["id"] not in besides]
    return str(fresh[0]) if len(tasks) == 1 and fresh else ""


def _failed(client: Any, app_id: str, task_id: str) -> dict[str, Any] | None:
    failure = _app(client, app_id).get("lastTaskFailure") or {}
    return dict(failure) if failure.get("taskId") == task_id else None


def _containers(lab: Path, node: str, marker: str) -> list[str]:
    listing = _on(lab, node, "docker ps --no-trunc --format '{{.Names}} {{.Command}}'")
    return [line.split()[0] for line in listing.splitlines() if marker in line]


def test_docker_tasks_follow_their_containers_through_failures(lab: Path) -> None:
    """The twin's Docker containerizer under the failures of issue 13: a container killed
    behind Mesos's back is TASK_FAILED with its exit status and Marathon replaces it;
    dockerd restarted under a running task takes its container down, the task fails and is
    replaced, one container again; an image missing from the lab registry fails the task
    with Mesos's own message. (Past lesson 2: the agents run Docker.)"""
    from tests.support.twin_lab import wait_until

    marker = "sleep 3601"  # this app's containers, among the lessons' on agent2
    app: dict[str, Any] = {
        "id": "/drill-docker",
        "cpus": 0.1,
        "mem": 32,
        "instances": 1,
        "args": ["sleep", "3601"],
        "constraints": [["hostname", "CLUSTER", "agent2"]],
        "container": {"type": "DOCKER", "docker": {"image": "busybox", "network": "HOST"}},
    }
    missing: dict[str, Any] = {
        **app,
        "id": "/drill-missing",
        "args": ["sleep", "3602"],
        "container": {"type": "DOCKER", "docker": {"image": "master1:5000/nothing:1"}},
    }
    with _marathon(lab) as client:
        try:
            assert client.post("/v2/apps", json=app).status_code == 201
            first = wait_until("the Docker app runs", lambda: _running(client, app["id"], set()))
            assert len(_containers(lab, "agent2", marker)) == 1
            # killed behind Mesos's back
            (name,) = _containers(lab, "agent2", marker)
            _on(lab, "agent2", f"docker kill {name}")
            failure = wait_until("TASK_FAILED", lambda: _failed(client, app["id"], first))
            assert failure["state"] == "TASK_FAILED", failure
            assert failure["message"] == "Container exited with status 137", failure
            second = wait_until(
                "a replacement", lambda: _running(client, app["id"], {first}), timeout=120
            )
            assert len(_containers(lab, "agent2", marker)) == 1
            # dockerd restarted under it
            _on(lab, "agent2", "systemctl restart docker")
            failure = wait_until("TASK_FAILED", lambda: _failed(client, app["id"], second))
            assert failure["state"] == "TASK_FAILED", failure
            wait_until(
                "a replacement", lambda: _running(client, app["id"], {first, second}), timeout=120
            )
            assert len(_containers(lab, "agent2", marker)) == 1
            # an image the registry does not have
            assert client.post("/v2/apps", json=missing).status_code == 201
            failure = wait_until(
                "the launch fails",
                lambda: _app(client, missing["id"]).get("lastTaskFailure"),
                timeout=120,
            )
            pull = "docker -H unix:///var/run/docker.sock pull master1:5000/nothing:1"
            assert failure["state"] == "TASK_FAILED", failure
            assert failure["message"].startswith(
                f"Failed to launch container: Failed to run '{pull}': exited with status 1;"
                " stderr='Error response from daemon: manifest for master1:5000/nothing:1 not"
                " found"
            ), failure
        finally:
            for each in (app, missing):
                client.delete(f"/v2/apps{each['id']}", params={"force": "true"})
        wait_until("the drill apps are gone", lambda: not _containers(lab, "agent2", "sleep 360"))
        wait_until("the lessons' apps run again", lambda: _all_running(client), timeout=180)


def _all_running(client: Any) -> bool:
    apps = client.get("/v2/apps").json()["apps"]
    return (
        all(
            a["tasksRunning"] == a["instances"]
            and (not a.get("healthChecks") or a["tasksHealthy"] == a["instances"])
            for a in apps
        )
        and not client.get("/v2/deployments").json()
    )


def _passes_fresh(
    out: subprocess.CompletedProcess[str], lesson: str, steps: int, *, observing: tuple[int, ...]
) -> None:
    """`dev check` of a lesson this lab has not seen: every step's checks failed before its
    commands and passed after, except the ``observing`` steps (the learner watches what an
    earlier step set up, so their checks already pass: dev check's findings), and no
    catch-up was needed (the lessons before it hold)."""
    assert out.returncode == 0, _tail(out)
    blocks = _step_blocks(out.stdout, lesson)
    assert sorted(blocks) == list(range(1, steps + 1)), _tail(out)
    for number, block in blocks.items():
        assert block.startswith("✔"), block
        expected = "before  PASS — finding" if number in observing else "before  FAIL as expected"
        assert expected in block, block
    assert "catching up" not in out.stdout, _tail(out)
    assert f"✔ {lesson}: {steps}/{steps} step(s) ok" in out.stdout


def test_lesson_5_service_discovery_on_real_dns_and_haproxy(lab: Path) -> None:
    """Mesos-DNS answers real DNS (dig from agent2), marathon-lb drives the real HAProxy on
    agent1: the service port spreads requests over three tasks, a killed one is dropped."""
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-5", timeout=1500)
    print(f"dev check lesson-5: {time.monotonic() - start:.0f}s")
    # steps 6 and 7 watch the spread and a kill: their checks hold once marathon-lb runs
    _passes_fresh(out, "lesson-5", 7, observing=(6, 7))
    # (the spread itself is step 6's http.get distinct_bodies check; after step 7's kill
    # the replacement joins HAProxy a moment later, so a count here would race it)


def test_lesson_6_scheduled_jobs_with_chronos(lab: Path) -> None:
    """Chronos jobs run as real processes on the agents: a repeating job, a manual run, a
    failure counted only after its retry, a dependent job after its parent, then the
    mistakes, a disabled job and a deleted one. Every check that wants a run compares with
    the step's start, so each step fails before its commands. (It runs before lesson 8:
    lesson 8's dev check first looks whether lesson 6, the lesson before it, holds.)"""
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-6", timeout=1500)
    print(f"dev check lesson-6: {time.monotonic() - start:.0f}s")
    _passes_fresh(out, "lesson-6", 5, observing=())
    # the first attempt failed in Mesos while Chronos still counted no error (the retry)
    section = _run_section(out.stdout, "lesson-6", 3)
    assert re.search(r"mesos task ct:\d+:0:broken: +TASK_FAILED", section), section
    assert re.search(r"broken +ok 0 +errors 0 ", section), section


def test_lesson_7_unified_containerizer(lab: Path) -> None:
    """The Mesos containerizer pulls busybox and python:3 from the lab's real registry into
    its store and runs them chrooted in namespaces of their own (mesos-execute, a MESOS
    Marathon app); then agent restarts: Marathon's checkpointed task outlives its agent,
    mesos-execute's task without --checkpoint is dropped by reconciliation. Every step's
    checks fail before its commands."""
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-7", timeout=1800)
    print(f"dev check lesson-7: {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, _tail(out)
    blocks = _step_blocks(out.stdout, "lesson-7")
    assert sorted(blocks) == [1, 2, 3, 4, 5], _tail(out)
    for number in (1, 2, 3, 4, 5):
        assert "before  FAIL as expected" in blocks[number], blocks[number]
    assert all(block.startswith("✔") for block in blocks.values()), _tail(out)
    assert "finding:" not in out.stdout, _tail(out)
    assert "catching up" not in out.stdout, _tail(out)
    assert "✔ lesson-7: 5/5 step(s) ok" in out.stdout


def test_lesson_8_monitoring_with_a_real_prometheus(lab: Path) -> None:
    """mesos_exporter on every node, Debian's real Prometheus on master1 scraping them,
    PromQL answers compared with the cluster; step 5 breaks a target on purpose (a drill,
    its checks hold only while it is on) and step 6 restores it."""
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-8", timeout=1500)
    print(f"dev check lesson-8: {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, _tail(out)
    blocks = _step_blocks(out.stdout, "lesson-8")
    assert sorted(blocks) == [1, 2, 3, 4, 5, 6], _tail(out)
    assert all(block.startswith("✔") for block in blocks.values()), _tail(out)
    assert "catching up" not in out.stdout, _tail(out)
    assert out.stdout.count("before  FAIL as expected") >= 5, _tail(out)
    assert "finding:" not in out.stdout, _tail(out)
    assert "✔ lesson-8: 6/6 step(s) ok" in out.stdout


def test_lesson_9_mesos_in_docker(lab: Path) -> None:
    """A second cluster beside the lab's: images built on master1 from the lab's packages
    (and master1's own, repacked), ZooKeeper, a master, an agent and Marathon as real
    Docker containers configured by MESOS_*/MARATHON_* variables; the seed's MESOS_ISOLATOR
    is seen ignored on /flags, then fixed; an app runs on it; everything is removed and the
    lab's own cluster still has its two agents."""
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-9", timeout=2400)
    print(f"dev check lesson-9: {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, _tail(out)
    blocks = _step_blocks(out.stdout, "lesson-9")
    assert sorted(blocks) == [1, 2, 3, 4, 5, 6, 7, 8], _tail(out)
    for number in (1, 8):
        assert "before  FAIL as expected" in blocks[number], blocks[number]
    for number in range(2, 8):  # drill steps: the second cluster lives until step 8
        assert "before  not checked (a drill step)" in blocks[number], blocks[number]
    assert all(block.startswith("✔") for block in blocks.values()), _tail(out)
    assert "finding:" not in out.stdout, _tail(out)
    assert "catching up" not in out.stdout, _tail(out)
    assert "✔ lesson-9: 8/8 step(s) ok" in out.stdout


def test_lesson_11_a_framework_of_ones_own(lab: Path) -> None:
    """The learner's own scheduler, written with avmesos against the v1 scheduler API,
    declines offers, accepts one, runs three tasks to TASK_FINISHED and tears down. Step 4
    only looks at what step 3 left, so its checks pass before its commands (a finding)."""
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-11", timeout=1500)
    print(f"dev check lesson-11: {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, _tail(out)
    blocks = _step_blocks(out.stdout, "lesson-11")
    assert sorted(blocks) == [1, 2, 3, 4], _tail(out)
    for number in (1, 2, 3):
        assert "before  FAIL as expected" in blocks[number], blocks[number]
    assert all(block.startswith("✔") for block in blocks.values()), _tail(out)
    assert "catching up" not in out.stdout, _tail(out)
    assert "DECLINE " in out.stdout and "done: 3 of 3 tasks finished" in out.stdout
    assert "✔ lesson-11: 4/4 step(s) ok" in out.stdout
