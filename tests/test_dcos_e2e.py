"""Lesson 10 (DC/OS) end to end on real LXC: a `dcos`-preset rehearsal lab comes up, and
`mesoslab dev check lesson-10` runs every step's commands (the installer on the bootstrap
node, dcos_install.sh on the master and the three agents, the seed's two apps on the dcos
overlay) with every step failing before its commands and passing after: the real vxlan
vtep1024, Docker network dcos, m-dcos bridge and the ping from one task to the other across
agents included. Budget: lab up + dev check in about eight minutes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesoslab.lab.spec import load_lab
from tests.support.lxc import mesoslab, new_lab
from tests.test_lab_e2e import _steps

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(lxc_box: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with new_lab(tmp_path_factory, "dcos", "dcos") as directory:
        yield directory


def test_lesson_10_installs_dcos_and_runs_two_apps_across_the_overlay(lab: Path) -> None:
    spec = load_lab(lab)
    assert [(n.name, n.roles) for n in spec.nodes] == [
        ("bootstrap", ("dcos-bootstrap",)),
        ("master1", ("master", "zookeeper", "marathon")),
        ("agent1", ("agent",)),
        ("agent2", ("agent",)),
        ("public1", ("agent",)),
    ]
    start = time.monotonic()
    out = mesoslab(lab, "up", timeout=600)
    print(f"mesoslab up of the dcos preset: {time.monotonic() - start:.0f}s")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    start = time.monotonic()
    out = mesoslab(lab, "dev", "check", "lesson-10", timeout=900)
    print(f"dev check lesson-10: {time.monotonic() - start:.0f}s")
    print("\n".join(line for line in out.stdout.splitlines() if line[:2] in ("✔ ", "✘ ")))
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    blocks = _steps(out.stdout, "lesson-10")
    assert sorted(blocks) == list(range(1, 9)), out.stdout[-4000:]
    for block in blocks.values():
        assert block.startswith("✔"), block
        assert "before  FAIL as expected" in block, block
        assert "after   PASS" in block, block
    assert "✔ lesson-10: 8/8 step(s) ok" in out.stdout and "finding:" not in out.stdout
