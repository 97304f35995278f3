"""The provisioning runner over a real OpenSSH server on loopback (see tests/support/sshd.py).

Several inventory nodes point at the same sshd under different names, so fan-out,
per-node failure, live events and idempotency are exercised for real. Steps write into
temporary folders (``MESOSLAB_ROOT``), never into this machine's /etc.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mesoslab.errors import UsageError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lab.spec import LabSpec, parse_lab
from mesoslab.provision import (
    ChannelError,
    ProgressEvent,
    ProvisionStep,
    StepOutcome,
    provision_lab,
)
from mesoslab.provision.rehearsal import mirror, rehearsal_steps
from mesoslab.provision.runner import remote_command
from mesoslab.provision.steps import CHANGED_MARK, FileSync, SyncFile
from mesoslab.remote.pool import SshPool
from tests.support.fixture_server import FixtureServer
from tests.support.ports import free_port
from tests.support.sshd import SshServer, rendezvous, ssh_pool, sshd_server

__all__ = ["ssh_pool", "sshd_server"]  # fixtures used by name


def lab(server: SshServer, names: list[str]) -> tuple[LabSpec, Inventory]:
    nodes = [
        {"name": name, "roles": ["agent"] if i else ["master"], "address": f"10.0.3.{11 + i}"}
        for i, name in enumerate(names)
    ]
    spec = parse_lab({"platform": "rehearsal", "provider": "lxc", "node": nodes})
    inventory = Inventory(
        nodes=tuple(
            replace(server.node(name), roles=tuple(n["roles"]))
            for name, n in zip(names, nodes, strict=True)
        )
    )
    return spec, inventory


def marker_step(step_id: str, folder: Path, extra: str = "") -> ProvisionStep:
    """Creates <folder>/<node>.<step_id> once: changed the first time, ok afterwards."""
    return ProvisionStep(
        id=step_id,
        title=f"marker {step_id}",
        script=(
            "set -eu\n"
            f"{extra}\n"
            f'f="{folder}/$MESOSLAB_NODE.{step_id}"\n'
            'if [ ! -f "$f" ]; then\n'
            '  date +%s.%N > "$f"\n'
            '  echo "made $f"\n'
            f"  echo {CHANGED_MARK}\n"
            "fi\n"
            'echo "done on $MESOSLAB_NODE"\n'
        ),
    )


def statuses(report) -> dict[tuple[str, str], str]:
    return {(o.node, o.step_id): o.status for o in report.outcomes}


def test_first_run_changes_and_second_run_changes_nothing(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1", "n2", "n3"])
    steps = [marker_step("a", tmp_path), marker_step("b", tmp_path)]
    first = provision_lab(spec, inventory, ssh_pool, steps=steps)
    assert first.ok and not first.failed
    assert statuses(first) == {(n, s): "changed" for n in ("n1", "n2", "n3") for s in "ab"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}.{s}" for n in ("n1", "n2", "n3") for s in "ab"
    )
    second = provision_lab(spec, inventory, ssh_pool, steps=steps)
    assert second.ok and second.changed == []
    assert set(statuses(second).values()) == {"ok"}
    assert "nothing changed" in second.summary()
    assert all("done on" in o.tail and CHANGED_MARK not in o.tail for o in second.outcomes)


def test_a_failed_step_stops_only_its_node(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1", "n2", "n3"])
    fail_on_n2 = ProvisionStep(
        id="picky",
        title="fails on n2",
        script='set -eu\nif [ "$MESOSLAB_NODE" = n2 ]; then echo "boom on n2" >&2; exit 3; fi\n',
    )
    steps = [marker_step("a", tmp_path), fail_on_n2, marker_step("c", tmp_path)]
    report = provision_lab(spec, inventory, ssh_pool, steps=steps)
    assert statuses(report) == {
        ("n1", "a"): "changed",
        ("n1", "picky"): "ok",
        ("n1", "c"): "changed",
        ("n2", "a"): "changed",
        ("n2", "picky"): "failed",
        ("n2", "c"): "skipped",
        ("n3", "a"): "changed",
        ("n3", "picky"): "ok",
        ("n3", "c"): "changed",
    }
    failed = report.failed
    assert [(o.node, o.step_id) for o in failed] == [("n2", "picky")]
    assert failed[0].message == "exit status 3: boom on n2"
    skipped = next(o for o in report.outcomes if o.status == "skipped")
    assert skipped.message == "not run: step 'picky' failed on n2"
    assert not (tmp_path / "n2.c").exists() and (tmp_path / "n3.c").exists()
    assert not report.ok and "failed on n2" in report.summary()


def test_steps_apply_to_their_roles(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["m1", "a1"])
    only_masters = replace(marker_step("m", tmp_path), applies_to=("master",))
    report = provision_lab(spec, inventory, ssh_pool, steps=[only_masters])
    assert statuses(report) == {("m1", "m"): "changed"}


def test_events_arrive_live_in_order(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1", "n2"])
    slow = marker_step("slow", tmp_path, extra="sleep 0.6")
    events: list[tuple[float, StepOutcome | ProgressEvent]] = []
    lines: list[tuple[str, str]] = []
    report = provision_lab(
        spec,
        inventory,
        ssh_pool,
        steps=[marker_step("quick", tmp_path), slow],
        on_event=lambda e: events.append((time.monotonic(), e)),
        on_output=lambda node, line: lines.append((node, line)),
    )
    end = time.monotonic()
    assert report.ok
    for node in ("n1", "n2"):
        mine = [e for _, e in events if e.node == node]
        assert [(type(e).__name__, e.step_id) for e in mine] == [
            ("ProgressEvent", "quick"),
            ("StepOutcome", "quick"),
            ("ProgressEvent", "slow"),
            ("StepOutcome", "slow"),
        ]
        started = [e for e in mine if isinstance(e, ProgressEvent)]
        assert [(e.index, e.total) for e in started] == [(1, 2), (2, 2)]
    first_outcome = next(t for t, e in events if isinstance(e, StepOutcome))
    assert end - first_outcome > 0.5  # reported while the slow step still ran
    assert ("n1", "done on n1") in lines and ("n2", "done on n2") in lines
    assert all(line != CHANGED_MARK for _, line in lines)


def own_connection(node: Node, index: int) -> Node:
    """The node with an SSH connection of its own, as separate machines have (the pool
    shares a connection between nodes with the same host, port, user and keys)."""
    assert node.ssh is not None and node.ssh.key is not None
    return replace(node, ssh=replace(node.ssh, extra_keys=(node.ssh.key,) * index))


def test_nodes_are_provisioned_at_the_same_time(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    """Each node's step waits for all four to have started: the fan-out is parallel (the
    time ratio 4 nodes : 1 node is measured by benchmarks/provision_bench.py)."""
    spec, inventory = lab(sshd_server, ["p1", "p2", "p3", "p4"])
    four = Inventory(nodes=tuple(own_connection(n, i) for i, n in enumerate(inventory.nodes)))
    # each node's step waits until it has started on all four (tests/support/sshd.py rendezvous);
    # one after another, the first would fail waiting (checked with a single worker)
    step = ProvisionStep(id="s1", title="rendezvous", script=rendezvous(tmp_path, 4))
    report = provision_lab(spec, four, ssh_pool, steps=[step])
    assert len(report.outcomes) == 4
    assert report.ok, [(o.node, o.message, o.tail) for o in report.failed]


def test_an_unreachable_node_fails_alone(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["up", "down"])
    dead = replace(sshd_server.node("down", port=free_port()), roles=("agent",))
    inventory = Inventory(nodes=(inventory.nodes[0], dead))
    report = provision_lab(
        spec, inventory, ssh_pool, steps=[marker_step("a", tmp_path), marker_step("b", tmp_path)]
    )
    assert statuses(report) == {
        ("up", "a"): "changed",
        ("up", "b"): "changed",
        ("down", "a"): "failed",
        ("down", "b"): "skipped",
    }
    assert "connection refused" in report.failed[0].message


def test_node_selection(sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path) -> None:
    spec, inventory = lab(sshd_server, ["n1", "n2", "n3"])
    report = provision_lab(
        spec, inventory, ssh_pool, nodes=["n3", "n1"], steps=[marker_step("a", tmp_path)]
    )
    assert report.nodes == ["n1", "n3"]
    with pytest.raises(UsageError, match="no node named n9 in the lab; its nodes are n1, n2, n3"):
        provision_lab(spec, inventory, ssh_pool, nodes=["n9"], steps=[])


def test_cancel_skips_the_remaining_steps(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1"])
    cancel = threading.Event()

    def on_event(event: StepOutcome | ProgressEvent) -> None:
        if isinstance(event, StepOutcome):
            cancel.set()

    steps = [marker_step(s, tmp_path) for s in "abc"]
    report = provision_lab(spec, inventory, ssh_pool, steps=steps, on_event=on_event, cancel=cancel)
    assert [o.status for o in report.outcomes] == ["changed", "skipped", "skipped"]
    assert report.outcomes[1].message == "not run: provisioning was cancelled"


def test_rehearsal_steps_for_real_into_a_root(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["master1"])
    spec = replace(
        spec, nodes=(*spec.nodes, replace(spec.nodes[0], name="agent1", address="10.0.3.21"))
    )
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost\n127.0.1.1 master1\n")
    env = {"MESOSLAB_ROOT": str(root)}
    first = provision_lab(spec, inventory, ssh_pool, steps=rehearsal_steps(spec), env=env)
    assert first.ok, [o.message for o in first.failed]
    assert statuses(first) == {
        ("master1", "hosts"): "changed",
        ("master1", "tools"): "ok",
        ("master1", "twin-code"): "changed",
        ("master1", "twin-units"): "changed",
        ("master1", "docker-config"): "changed",
        ("master1", "registry"): "ok",  # a scratch root starts nothing
        ("master1", "apt-offline"): "ok",  # no sources.list in this root
        ("master1", "package-repo"): "changed",  # the packages copied, nothing started
        ("master1", "pylib"): "changed",  # lesson 11's avmesos and what it imports
    }
    repo = sorted(p.name for p in (root / "var/lib/mesoslab/repo").iterdir())
    assert {"Packages", "Packages.gz", "Release"} <= set(repo)
    assert any(name.startswith("mesos_1.4.3-mesoslab+") for name in repo), repo
    assert (root / "opt" / "mesoslab-pylib" / "avmesos" / "client.py").is_file()
    # the registry runs on master1, and Docker on every node trusts it by name and address
    assert json.loads((root / "etc" / "docker" / "daemon.json").read_text()) == {
        "insecure-registries": ["master1:5000", "10.0.3.11:5000"],
        "registry-mirrors": ["http://master1:5000"],
    }
    assert (root / "etc" / "hosts").read_text() == (
        "127.0.0.1 localhost\n"
        "# mesoslab begin\n"
        "10.0.3.11 master1\n"
        "10.0.3.21 agent1\n"
        "# mesoslab end\n"
    )
    assert (root / "etc" / "hostname").read_text() == "master1\n"
    second = provision_lab(spec, inventory, ssh_pool, steps=rehearsal_steps(spec), env=env)
    assert second.ok and second.changed == []


def test_missing_tools_fail_with_their_names(sshd_server: SshServer, ssh_pool: SshPool) -> None:
    from mesoslab.provision.rehearsal import tools_step

    spec, inventory = lab(sshd_server, ["n1"])
    report = provision_lab(
        spec, inventory, ssh_pool, steps=[tools_step(("sh", "no-such-tool-xyz"))]
    )
    assert report.failed[0].message.startswith("exit status 1: the box lacks: no-such-tool-xyz")


def sync_step(folder: Path, dest: Path) -> ProvisionStep:
    files = tuple(
        SyncFile(p.name, p, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.glob("*.rpm"))
    )
    return ProvisionStep(
        id="sync",
        title="copy RPMs",
        script="set -eu\necho synced\n",
        sync=FileSync(dest=str(dest), files=files),
    )


def test_file_sync_copies_only_what_changed(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1"])
    host = tmp_path / "host"
    host.mkdir()
    for name in ("a-1-1.x86_64.rpm", "b-1-1.x86_64.rpm", "c-1-1.x86_64.rpm"):
        (host / name).write_bytes(name.encode() * 1000)
    dest = tmp_path / "node" / "rpms"
    lines: list[str] = []

    def run() -> str:
        lines.clear()
        report = provision_lab(
            spec,
            inventory,
            ssh_pool,
            steps=[sync_step(host, dest)],
            on_output=lambda node, line: lines.append(line),
        )
        assert report.ok, report.failed
        return report.outcomes[0].status

    assert run() == "changed"
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in host.iterdir())
    assert all((dest / p.name).read_bytes() == p.read_bytes() for p in host.iterdir())
    assert sum(line.startswith("copying ") for line in lines) == 3
    (dest / "c-1-1.x86_64.rpm").touch()  # same content, newer: nothing to copy
    assert run() == "ok"
    assert not any(line.startswith("copying ") for line in lines)
    (host / "b-1-1.x86_64.rpm").write_bytes(b"rebuilt")
    (host / "c-1-1.x86_64.rpm").unlink()
    assert run() == "changed"
    assert [line.split()[1] for line in lines if line.startswith("copying ")] == [
        "b-1-1.x86_64.rpm"
    ]
    assert any(line.startswith("removing c-1-1.x86_64.rpm") for line in lines)
    assert sorted(p.name for p in dest.iterdir()) == ["a-1-1.x86_64.rpm", "b-1-1.x86_64.rpm"]
    assert (dest / "b-1-1.x86_64.rpm").read_bytes() == b"rebuilt"
    assert run() == "ok"


def test_recursive_file_sync_mirrors_a_tree(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    """A package tree: subfolders are created, compared and emptied like the top folder;
    folders named in ``skip`` are left alone on both sides."""
    spec, inventory = lab(sshd_server, ["n1"])
    host = tmp_path / "host"
    for name in ("__init__.py", "install.sh", "a/x.py", "a/b/y.py", "a/b/c/z.py"):
        (host / name).parent.mkdir(parents=True, exist_ok=True)
        (host / name).write_text(f"# {name}\n")
    for name in ("__pycache__/m.pyc", "a/__pycache__/x.pyc", "systemd/u.service"):
        (host / name).parent.mkdir(parents=True, exist_ok=True)
        (host / name).write_text("not synced\n")
    dest = tmp_path / "node" / "pkg"
    lines: list[str] = []

    def run() -> str:
        lines.clear()
        step = ProvisionStep(
            id="tree",
            title="copy a tree",
            script="set -eu\necho synced\n",
            sync=mirror(host, str(dest), "*", recursive=True, skip=("__pycache__", "systemd")),
        )
        report = provision_lab(
            spec,
            inventory,
            ssh_pool,
            steps=[step],
            on_output=lambda node, line: lines.append(line),
        )
        assert report.ok, report.failed
        return report.outcomes[0].status

    def tree() -> list[str]:
        return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())

    assert run() == "changed"
    assert tree() == ["__init__.py", "a/b/c/z.py", "a/b/y.py", "a/x.py", "install.sh"]
    assert (dest / "a/b/y.py").read_text() == "# a/b/y.py\n"
    (dest / "a/__pycache__").mkdir()
    (dest / "a/__pycache__/x.cpython-311.pyc").write_bytes(b"written by python on the node")
    (dest / "systemd").mkdir()
    (dest / "systemd/u.service").write_text("another step's\n")
    assert run() == "ok"
    assert not any(line.startswith("copying ") for line in lines)
    (host / "a/b/y.py").write_text("# changed\n")
    (host / "a/b/c/z.py").unlink()
    (host / "a/b/c").rmdir()
    assert run() == "changed"
    assert [line.split()[1] for line in lines if line.startswith("copying ")] == ["a/b/y.py"]
    assert any(line.startswith("removing a/b/c/z.py") for line in lines)
    assert not (dest / "a/b/c").exists()
    assert (dest / "a/b/y.py").read_text() == "# changed\n"
    assert (dest / "a/__pycache__/x.cpython-311.pyc").exists()
    assert (dest / "systemd/u.service").exists()
    assert run() == "ok"


def test_unsafe_sync_names_are_refused(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1"])
    (tmp_path / "f").write_text("x")
    for name, recursive in (("../f", True), ("/etc/f", True), ("a/f", False)):
        item = SyncFile(name, tmp_path / "f", 1, "0" * 64)
        sync = FileSync(dest=str(tmp_path / "d"), files=(item,), pattern="*", recursive=recursive)
        step = ProvisionStep(id="s", title="s", script="set -eu\n", sync=sync)
        report = provision_lab(spec, inventory, ssh_pool, steps=[step])
        assert report.failed[0].message == f"unsafe file name {name!r}"


def test_centos7_channel_is_probed_before_any_node_is_touched(
    sshd_server: SshServer, ssh_pool: SshPool, tmp_path: Path
) -> None:
    spec, inventory = lab(sshd_server, ["n1"])
    with FixtureServer() as gone:
        url = f"{gone.url}/mesosphere-el-repo-7-3.noarch.rpm"
        centos = replace(
            spec,
            platform="centos7",
            packages=replace(spec.packages, channel="mesosphere", mesosphere_repo_rpm=url),
        )
        with pytest.raises(ChannelError, match="answered 404: Mesosphere's repositories are gone"):
            provision_lab(centos, inventory, ssh_pool, steps=[marker_step("a", tmp_path)])
    assert list(tmp_path.iterdir()) == []


def test_remote_command_runs_the_script_in_sh() -> None:
    step = ProvisionStep(id="x", title="x", script='set -eu\necho "it\'s $MESOSLAB_NODE"\n')
    command = remote_command(step, "node-1", "A=1\nexport A\n")
    assert command.startswith("sh -c '")
    import subprocess

    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    assert out.stdout == "it's node-1\n"


def test_node_without_ssh_fails_with_the_reason(ssh_pool: SshPool, tmp_path: Path) -> None:
    spec = parse_lab({"platform": "rehearsal", "provider": "lxc"})
    inventory = Inventory(nodes=(Node("master1", "10.0.3.11", ("master",)),))
    report = provision_lab(spec, inventory, ssh_pool, steps=[marker_step("a", tmp_path)])
    assert report.failed[0].message.startswith("node master1 has no [node.ssh]")
