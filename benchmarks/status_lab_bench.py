"""`mesoslab status` on a real lab: its wall time against its slowest single probe, and the
machine states asked of the provider against `vagrant status`.

Run inside (or name) a lab that is up, e.g. after `mesoslab up --through lesson-1`:
    .venv/bin/python benchmarks/status_lab_bench.py -C mylab
Prints ratios (target: status <= 1.5x its slowest probe). Not a timed test: numbers vary by
machine; the ratios are what to watch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mesoslab.lab.machine_state import provider_states  # noqa: E402
from mesoslab.ops.status import (  # noqa: E402
    lab_status,
    node_services,
    probe_service,
    resolve_target,
    vagrant_states,
)
from mesoslab.remote.session import Session  # noqa: E402

RUNS = 5


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def report(name: str, value: float, target: float | None = None, unit: str = "x") -> None:
    goal = ""
    if target is not None:
        goal = f"  (target <= {target}{unit})  {'ok' if value <= target else 'OVER TARGET'}"
    print(f"{name:<58} {value:8.3f}{unit}{goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-C", "--lab", default=".", help="the lab folder (default: here)")
    lab = Path(parser.parse_args().lab).resolve()
    target = resolve_target(str(lab), None)
    spec = target.spec
    if spec is None:
        print(f"no lab in {lab}", file=sys.stderr)
        return 2
    names = [node.name for node in spec.nodes]
    ratios, walls, slowest_jobs = [], [], []
    for _ in range(RUNS):
        # each probe on a fresh session (new connections), as one `mesoslab status` makes them
        probes = []
        for node in target.inventory.nodes:
            for service in node_services(node):
                with Session(target.inventory) as session:
                    probes.append(
                        timed(lambda n=node, s=service: probe_service(session, n, s, 2.0))
                    )
        states = timed(lambda: provider_states(lab, spec.provider, names))
        slowest = max([*probes, states])  # the machine states run beside the probes
        wall = timed(lambda: lab_status(target))
        walls.append(wall)
        slowest_jobs.append(slowest)
        ratios.append(wall / max(slowest, 1e-6))
    report("status wall time (median of 5)", statistics.median(walls), unit="s")
    report(
        "slowest single job (a probe or the machine states)",
        statistics.median(slowest_jobs),
        unit="s",
    )
    report("status wall time / its slowest single job", statistics.median(ratios), 1.5)
    direct = statistics.median(
        timed(lambda: provider_states(lab, spec.provider, names)) for _ in range(RUNS)
    )
    vagrant = timed(vagrant_states(lab))
    report(f"machine states from {spec.provider} itself", direct, unit="s")
    report("machine states from vagrant status", vagrant, unit="s")
    report("vagrant status / the provider's own answer", vagrant / max(direct, 1e-6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
