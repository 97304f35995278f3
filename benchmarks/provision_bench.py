"""Provisioning fan-out: the time for 4 nodes over the time for 1 (target <= 1.3x).

Nodes are logins to a real sshd on loopback (each with a connection of its own, as separate
machines have), each step doing half a second of work. Run as root from the repository
root: .venv/bin/python benchmarks/provision_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sshd import SshServer, skip_reason  # noqa: E402

from mesoslab.lab.inventory import Inventory  # noqa: E402
from mesoslab.lab.spec import parse_lab  # noqa: E402
from mesoslab.provision.runner import provision_lab  # noqa: E402
from mesoslab.provision.steps import ProvisionStep  # noqa: E402
from mesoslab.remote.pool import SshPool  # noqa: E402

STEPS = [
    ProvisionStep(id=f"s{i}", title=f"work {i}", script="set -eu\nsleep 0.5\n") for i in range(2)
]


def main() -> None:
    reason = skip_reason()
    if reason:
        print(f"provisioning benchmark skipped: {reason}")
        return
    with tempfile.TemporaryDirectory() as work:
        server = SshServer(Path(work) / "sshd")
        server.start()
        try:
            names = ["p1", "p2", "p3", "p4"]
            spec = parse_lab(
                {
                    "platform": "rehearsal",
                    "provider": "lxc",
                    "node": [
                        {"name": n, "roles": ["agent"], "address": f"10.0.3.{11 + i}"}
                        for i, n in enumerate(names)
                    ],
                }
            )
            nodes = []
            for i, name in enumerate(names):
                node = server.node(name)
                assert node.ssh is not None and node.ssh.key is not None
                nodes.append(replace(node, ssh=replace(node.ssh, extra_keys=(node.ssh.key,) * i)))
            four, one = Inventory(nodes=tuple(nodes)), Inventory(nodes=tuple(nodes[:1]))
            with SshPool() as pool:
                provision_lab(spec, four, pool, steps=STEPS[:1])  # connect first
                ratios = []
                for _ in range(3):
                    start = time.perf_counter()
                    provision_lab(spec, one, pool, steps=STEPS)
                    single = time.perf_counter() - start
                    start = time.perf_counter()
                    provision_lab(spec, four, pool, steps=STEPS)
                    ratios.append((time.perf_counter() - start) / single)
        finally:
            server.stop()
    ratio = statistics.median(ratios)
    verdict = "ok" if ratio <= 1.3 else "OVER TARGET"
    print(f"{'provisioning 4 nodes vs 1 node':<52} {ratio:7.2f}x  (target <= 1.3x)  {verdict}")


if __name__ == "__main__":
    main()
