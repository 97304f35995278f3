"""The twin's mesos_exporter against real twin daemons, and the real Prometheus against it.

A twin master, two agents and Marathon (two ``sleep`` tasks) run as processes on 127.0.0.x;
one exporter per node (``-master`` on the master, ``-slave`` on each agent) on a shared
port, like ``:9105`` on a lab. The exposition is checked twice, independently of the twin's
writer: by ``promtool check metrics`` (Prometheus' own linter, when installed) and by the
checks' strict parser; its values are compared with what the master and agents report.
Then Debian's real ``prometheus`` binary scrapes the three exporters and the
``prometheus.*`` check kinds read its HTTP API, down to a target going down and back up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesoslab.checks.kinds.prometheus.exposition import Sample, parse
from mesoslab.checks.result import Status
from mesoslab.lab.inventory import Inventory
from mesoslab_twin.exporter.exposition import Family, format_value, render
from tests.support.fixture_server import closed_port, run_check
from tests.support.ports import free_port
from tests.support.twin_lab import Daemon, TwinLab, http, twin_env, wait_until

pytestmark = pytest.mark.slow

MASTER = "127.0.0.41"
AGENTS = {"agent1": "127.0.0.42", "agent2": "127.0.0.43"}
ADDRESSES = [MASTER, *AGENTS.values()]


class Exporter(Daemon):
    """``python -m mesoslab_twin mesos_exporter ...``: Go-style flags, no ``--root``."""

    def start(self) -> Exporter:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mesoslab_twin", "mesos_exporter", *self.args],
                env=twin_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self


@dataclass
class Lab:
    twins: TwinLab
    master: Daemon
    agents: dict[str, Daemon]
    exporters: dict[str, Exporter]
    port: int  # the exporters' shared port

    def scrape(self, node: str) -> tuple[Any, list[Sample]]:
        answer = self.exporters[node].get("/metrics", accept="text/plain")
        assert answer.status == 200, answer
        return answer, parse(answer.body.decode())


def exporter(base: Path, node: str, address: str, port: int, *flags: str) -> Exporter:
    args = [*flags, "-addr", f"{address}:{port}", "-timeout", "3s"]
    return Exporter(f"exporter-{node}", args, base / node, address, port)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("twin-exporter")
    twins = TwinLab(base / "nodes", ADDRESSES)
    master_url = f"{MASTER}:{twins.ports['mesos_master']}"
    port = free_port(ADDRESSES)
    exporters: dict[str, Exporter] = {}
    try:
        master = twins.master("master1", MASTER)
        agents = {n: twins.agent(n, a, master=master_url) for n, a in AGENTS.items()}
        marathon = twins.marathon("master1", MASTER, master=master_url)
        for daemon in (master, *agents.values(), marathon):
            daemon.start()
        for daemon in (master, *agents.values()):
            daemon.wait_http()
        marathon.wait_http("/ping")
        exporters["master1"] = exporter(
            base, "master1", MASTER, port, "-master", f"http://{master_url}"
        )
        for name, address in AGENTS.items():
            agent_url = f"http://{address}:{twins.ports['mesos_agent']}"
            exporters[name] = exporter(base, name, address, port, "-slave", agent_url)
        for daemon in exporters.values():
            daemon.start()
        for daemon in exporters.values():
            daemon.wait_http("/")
        # an agent that started before its master listened is in its registration backoff
        # (up to 2 s): wait for both, or Marathon may place both tasks on the first and the
        # other agent is still unregistered when the tests scrape it
        wait_until(
            "both agents registered and active",
            lambda: (
                sum(a["active"] for a in master.get("/master/state").json()["slaves"]) == 2
                and all(
                    a.get("/metrics/snapshot").json()["slave/registered"] == 1
                    for a in agents.values()
                )
            ),
        )
        app = {"id": "/sleeper", "cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 2}
        assert http("POST", marathon.url + "/v2/apps", app).status == 201
        wait_until(
            "two running tasks",
            lambda: (
                sum(
                    t["state"] == "TASK_RUNNING"
                    for f in master.get("/master/state").json()["frameworks"]
                    for t in f["tasks"]
                )
                == 2
            ),
        )
        yield Lab(twins, master, agents, exporters, port)
    finally:
        for daemon in exporters.values():
            daemon.stop()
        twins.stop_all()


def values(samples: list[Sample], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in samples if s.name == name}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = values(samples, name)
    key = tuple(sorted(labels.items()))
    assert key in found, f"no {name}{labels} in {sorted(found)}"
    return found[key]


def promtool_problems(text: str) -> str | None:
    """What ``promtool check metrics`` says when it cannot parse ``text``; None when it
    can (or when promtool is not installed: the strict parser still reads every line).
    Its naming lints are not problems here: the real exporter breaks them too (counters
    without ``_total`` such as mesos_slave_task_states_current)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    said = done.stdout + done.stderr
    return said if "error while linting" in said else None


# ------------------------------------------------------------------ exposition format


def test_values_are_written_as_go_writes_float64() -> None:
    cases = [
        (0.0, "0"),
        (1.0, "1"),
        (2.5, "2.5"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1048576.0, "1.048576e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-3.25, "-3.25"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
    ]
    assert [format_value(v) for v, _ in cases] == [text for _, text in cases]


def test_labels_and_help_are_escaped_and_read_back() -> None:
    tricky = 'say "hi"\\ back\nnow'
    family = Family("mesos_slave_task_labels", "Labels\\ of tasks\nsecond line", "counter")
    family.add(1, task_name=tricky, task_id="a")
    family.add(2, task_name="b", task_id="a")
    text = render([family, Family("mesos_empty", "no series", "gauge")])
    broken = text.replace('\\"hi\\"', '"hi"')
    assert "parsing error" in (promtool_problems(broken) or "parsing error")
    lines = text.splitlines()
    assert lines[0] == "# HELP mesos_slave_task_labels Labels\\\\ of tasks\\nsecond line"
    assert lines[1] == "# TYPE mesos_slave_task_labels counter"
    # series sorted by label values in label-name order: task_id, then task_name
    assert lines[2] == 'mesos_slave_task_labels{task_id="a",task_name="b"} 2'
    assert lines[3] == (
        'mesos_slave_task_labels{task_id="a",task_name="say \\"hi\\"\\\\ back\\nnow"} 1'
    )
    assert "mesos_empty" not in text  # a family without series is not written
    assert promtool_problems(text) is None
    samples = parse(text)
    assert [s.labels["task_name"] for s in samples] == ["b", tricky]


# ------------------------------------------------------------------ the exporters


def test_master_exporter_matches_the_master(lab: Lab) -> None:
    answer, samples = lab.scrape("master1")
    text = answer.body.decode()
    assert answer.headers["X-Mesoslab-Twin"] == "emulation"
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert promtool_problems(text) is None, promtool_problems(text)
    for line in (
        "# HELP mesos_master_elected 1 if master is elected leader, 0 if not",
        "# TYPE mesos_master_elected gauge",
        "# HELP mesos_master_task_states_current Current number of tasks by state.",
        "# TYPE mesos_master_task_states_current gauge",
        "# TYPE mesos_master_task_states_exit_total counter",
        "# HELP mesos_slave_cpus Total slave CPUs (fractional)",
        "# TYPE mesos_collector_errors_total counter",
    ):
        assert line in text.splitlines(), line
    snapshot = lab.master.get("/metrics/snapshot").json()
    state = lab.master.get("/master/state").json()
    running = sum(t["state"] == "TASK_RUNNING" for f in state["frameworks"] for t in f["tasks"])
    assert running == 2 == snapshot["master/tasks_running"]
    assert value(samples, "mesos_master_task_states_current", state="running") == running
    assert set(dict(k)["state"] for k in values(samples, "mesos_master_task_states_current")) == {
        "killing",
        "running",
        "staging",
        "starting",
        "unreachable",
    }
    assert value(samples, "mesos_master_elected") == 1
    assert value(samples, "mesos_master_slaves_state", state="connected_active") == 2
    cpus = snapshot["master/cpus_total"]
    used = snapshot["master/cpus_used"]
    assert value(samples, "mesos_master_cpus", type="total") == pytest.approx(cpus)
    assert value(samples, "mesos_master_cpus", type="free") == pytest.approx(cpus - used)
    assert used == pytest.approx(0.2)
    assert len(state["slaves"]) == 2
    for agent in state["slaves"]:
        pid = agent["pid"]
        assert value(samples, "mesos_slave_cpus", slave=pid) == agent["resources"]["cpus"]
        assert value(samples, "mesos_slave_cpus_used", slave=pid) == pytest.approx(
            agent["used_resources"]["cpus"]
        )
        # the real exporter's unit slip: MB times 1024 (master_state.go L79)
        assert (
            value(samples, "mesos_slave_mem_bytes", slave=pid) == agent["resources"]["mem"] * 1024
        )
        assert agent["resources"]["ports"] == "[31000-32000]"
        assert value(samples, "mesos_slave_ports", slave=pid) == 1001
    assert value(samples, "mesos_collector_errors_total") == 0
    build = values(samples, "mesos_exporter_build_info")
    assert [dict(k)["version"] for k in build] == ["1.1.2"]


def test_agent_exporters_match_their_agents(lab: Lab) -> None:
    seen_tasks = 0
    for name, agent in lab.agents.items():
        answer, samples = lab.scrape(name)
        text = answer.body.decode()
        assert promtool_problems(text) is None, promtool_problems(text)
        # a counter in the real exporter (slave.go L321), unlike the master's gauge
        assert "# TYPE mesos_slave_task_states_current counter" in text.splitlines()
        snapshot = agent.get("/metrics/snapshot").json()
        assert value(samples, "mesos_slave_registered") == 1
        running = value(samples, "mesos_slave_task_states_current", state="running")
        assert running == snapshot["slave/tasks_running"]
        assert value(samples, "mesos_slave_cpus", type="used") == pytest.approx(
            snapshot["slave/cpus_used"]
        )
        state = agent.get("/slave(1)/state").json()
        task_ids = sorted(
            t["id"] for f in state["frameworks"] for e in f["executors"] for t in e["tasks"]
        )
        labelled = sorted(dict(k)["task_id"] for k in values(samples, "mesos_slave_task_labels"))
        assert labelled == task_ids and len(task_ids) == running
        for key in values(samples, "mesos_slave_task_labels"):
            assert set(dict(key)) == {
                "source",
                "framework_id",
                "executor_id",
                "task_id",
                "task_name",
            }
            assert dict(key)["task_name"] == "sleeper"
        seen_tasks += len(task_ids)
        assert not any(s.name.startswith("mesos_master_") for s in samples)
    assert seen_tasks == 2


def test_exporter_answers_with_zeros_when_its_mesos_is_down(tmp_path: Path) -> None:
    """No ``up``-like metric: the real exporter logs the failed fetch, counts it in
    mesos_collector_errors_total and exports every snapshot metric as 0."""
    port = free_port(["127.0.0.44"])
    dead = f"http://127.0.0.44:{closed_port('127.0.0.44')}"
    daemon = exporter(tmp_path, "lonely", "127.0.0.44", port, "-master", dead)
    daemon.start()
    try:
        daemon.wait_http("/")
        first = parse(daemon.get("/metrics").body.decode())
        second = parse(daemon.get("/metrics").body.decode())
        assert value(first, "mesos_master_elected") == 0
        assert value(first, "mesos_master_task_states_current", state="running") == 0
        # one failed fetch of /metrics/snapshot and one of /state per scrape
        assert value(first, "mesos_collector_errors_total") == 2
        assert value(second, "mesos_collector_errors_total") == 4
        assert not values(first, "mesos_slave_cpus")  # no agent ever seen
        assert 'level=error msg="Error fetching URL"' in daemon.output()
        for path in ("/", "/anything"):
            page = daemon.get(path, accept="text/html")
            assert page.status == 200 and b"<h1>Mesos Exporter</h1>" in page.body
    finally:
        daemon.stop()


def _exporter_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesoslab_twin", "mesos_exporter", *args],
        env=twin_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_flags_fail_as_the_go_binary_fails() -> None:
    none = _exporter_run()
    assert none.returncode == 1 and "Either -master or -slave is required" in none.stderr
    both = _exporter_run("-master", "http://a:5050", "-slave", "http://b:5051")
    assert both.returncode == 1
    assert "Only -master or -slave can be given at a time" in both.stderr
    unknown = _exporter_run("--master=http://a:5050", "-port", "9105")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("flag provided but not defined: -port")
    bad = _exporter_run("-master", "http://a:5050", "-timeout", "ten")
    assert bad.returncode == 2 and 'invalid value "ten" for flag -timeout' in bad.stderr
    version = _exporter_run("-version")
    assert version.returncode == 0 and "version 1.1.2" in version.stdout


# ------------------------------------------------------------------ the real Prometheus


@contextlib.contextmanager
def prometheus(tmp_path: Path, lab: Lab) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(
            "Debian's prometheus is not installed on this host (apt-get install "
            "prometheus): the real-Prometheus test needs it"
        )
    port = free_port([MASTER])
    agents = ", ".join(f'"{a}:{lab.port}"' for a in AGENTS.values())
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: mesos-master\n"
        "    static_configs:\n"
        f'      - targets: ["{MASTER}:{lab.port}"]\n'
        "  - job_name: mesos-agent\n"
        "    static_configs:\n"
        f"      - targets: [{agents}]\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--web.listen-address={MASTER}:{port}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            "prometheus ready",
            lambda: http("GET", f"http://{MASTER}:{port}/-/ready", timeout=2).status == 200,
            timeout=60,
        )
        yield process, port
    finally:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_real_prometheus_scrapes_the_exporters(lab: Lab, tmp_path: Path) -> None:
    with prometheus(tmp_path, lab) as (_process, port):
        inventory: Inventory = lab.twins.inventory()
        inventory = Inventory(
            nodes=inventory.nodes,
            ports={**inventory.ports, "prometheus": port, "mesos_exporter": lab.port},
            source="twin lab",
        )
        up = run_check(inventory, "prometheus.target", {"job": "mesos-master"}, timeout=60)
        assert up.status is Status.PASS, up
        assert up.node == "master" and up.summary == "job mesos-master: 1 target up"
        agents = run_check(
            inventory, "prometheus.target", {"job": "mesos-agent", "count": 2}, timeout=60
        )
        assert agents.status is Status.PASS, agents
        assert (
            run_check(inventory, "prometheus.query", {"expr": "up", "equals": 3}, timeout=60).status
            is Status.PASS
        )
        tasks = run_check(
            inventory,
            "prometheus.query",
            {"expr": 'mesos_master_task_states_current{state="running"}', "equals": 2},
            timeout=60,
        )
        assert tasks.status is Status.PASS, tasks
        assert tasks.summary == 'mesos_master_task_states_current{state="running"} is 2'
        used = run_check(
            inventory,
            "prometheus.query",
            {"expr": 'sum(mesos_slave_cpus{type="used"})', "equals": 0.2, "tolerance": 0.001},
            timeout=60,
        )
        assert used.status is Status.PASS, used
        wrong = run_check(
            inventory,
            "prometheus.query",
            {"expr": 'mesos_master_task_states_current{state="task_running"}', "min": 1},
        )
        assert wrong.status is Status.FAIL and "returns no series" in wrong.summary
        broken = run_check(inventory, "prometheus.query", {"expr": "up{", "min": 0})
        assert broken.status is Status.FAIL and "bad_data" in broken.summary, broken
        nojob = run_check(inventory, "prometheus.target", {"job": "node"})
        assert nojob.status is Status.FAIL
        assert nojob.observed == "jobs: mesos-agent, mesos-master"
        metric = run_check(
            inventory,
            "prometheus.metric",
            {"name": "mesos_slave_registered", "equals": 1},
            on="agent1",
        )
        assert metric.status is Status.PASS and metric.node == "agent1", metric
        typo = run_check(
            inventory,
            "prometheus.metric",
            {"name": "mesos_slave_registred", "equals": 1},
            on="agent2",
        )
        assert typo.status is Status.FAIL and "similar: mesos_slave_registered" in typo.observed

        # break a target on purpose: agent2's exporter stops, Prometheus sees it down
        lab.exporters["agent2"].stop()
        down = run_check(
            inventory,
            "prometheus.target",
            {"job": "mesos-agent", "instance": "agent2", "health": "down"},
            timeout=60,
        )
        assert down.status is Status.PASS, down
        assert "connection refused" in down.observed
        one_down = run_check(
            inventory, "prometheus.query", {"expr": "count(up == 0)", "equals": 1}, timeout=60
        )
        assert one_down.status is Status.PASS, one_down
        still = run_check(inventory, "prometheus.target", {"job": "mesos-agent"})
        assert still.status is Status.FAIL and "is down" in still.summary, still
        lab.exporters["agent2"].start()
        lab.exporters["agent2"].wait_http("/")
        back = run_check(
            inventory, "prometheus.target", {"job": "mesos-agent", "instance": "agent2"}, timeout=60
        )
        assert back.status is Status.PASS, back


def test_installer_lays_out_program_and_unit_and_enables_nothing(tmp_path: Path) -> None:
    from tests.support.twin_install import TWIN_DIR, install_env

    prefix, dest = tmp_path / "opt", tmp_path / "root"
    shutil.copytree(TWIN_DIR, prefix / "mesoslab_twin")
    script = prefix / "mesoslab_twin" / "install-mesos-exporter.sh"
    for _ in range(2):  # idempotent
        done = subprocess.run(
            ["sh", str(script), str(prefix)],
            env=install_env(dest),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    unit = (dest / "usr/lib/systemd/system/mesos_exporter.service").read_text()
    assert f"Environment=PYTHONPATH={prefix}" in unit and "@PREFIX@" not in unit
    assert "EnvironmentFile=/etc/default/mesos_exporter" in unit
    assert "ExecStart=/usr/local/bin/mesos_exporter $MESOS_EXPORTER_ARGS" in unit
    program = dest / "usr/local/bin/mesos_exporter"
    assert os.access(program, os.X_OK)
    version = subprocess.run(
        [str(program), "-version"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert version.returncode == 0 and "mesos_exporter, version 1.1.2" in version.stdout
    assert not (dest / "etc/default/mesos_exporter").exists()
    assert not (dest / "etc/systemd/system/multi-user.target.wants").exists()
