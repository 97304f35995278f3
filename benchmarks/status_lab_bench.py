"""`mesoslab status` on a real lab: its wall time against its slowest single probe, and the
machine states asked of the provider against `vagrant status`.

Run inside (or name) a lab that is up, e.g. after `mesoslab up --through lesson-1`:
    .venv/bin/python benchmarks/status_lab_bench.py -C mylab
Prints ratios (target: status <= 1.5x its slowest probe). Not a timed test: numbers vary by
machine; the ratios are what to watch.

It also prints the lab's own floor: every probe's first request sent at the same moment by
raw sockets on one selector (no HTTP client, no threads, nothing parsed), against the
slowest of those requests sent alone. When the lab's daemons share the host's cores with
mesoslab (LXC on a 2-core machine), that floor is itself several times the slowest single
request: the daemons cannot answer at once faster than that, whatever the client does.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mesoslab.lab.inventory import Inventory  # noqa: E402
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
FLOOR_RUNS = 30
# Each probe's first request (ops/status.py): (inventory port key, bytes sent).
FIRST_REQUEST = {
    "master": ("mesos_master", "/master/redirect"),
    "agent": ("mesos_agent", "/metrics/snapshot"),
    "zookeeper": ("zookeeper", None),  # the four-letter word srvr
    "marathon": ("marathon", "/ping"),
    "chronos": ("chronos", "/scheduler/jobs"),
}


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def report(name: str, value: float, target: float | None = None, unit: str = "x") -> None:
    goal = ""
    if target is not None:
        goal = f"  (target <= {target}{unit})  {'ok' if value <= target else 'OVER TARGET'}"
    if unit == "s":  # the times here are milliseconds, or seconds for vagrant
        value, unit = (value * 1000, " ms") if value < 1 else (value, " s")
    print(f"{name:<58} {value:8.2f}{unit}{goal}")


def first_requests(inventory: Inventory) -> list[tuple[tuple[str, int], bytes]]:
    out = []
    for node in inventory.nodes:
        for service in node_services(node):
            key, path = FIRST_REQUEST[service]
            port = inventory.ports[key]
            wire = (
                b"srvr"
                if path is None
                else (
                    f"GET {path} HTTP/1.1\r\nHost: {node.address}:{port}\r\n"
                    "Connection: close\r\n\r\n"
                ).encode()
            )
            out.append(((node.address, port), wire))
    return out


def all_at_once(requests: list[tuple[tuple[str, int], bytes]]) -> float:
    """Seconds until every request has its whole answer, all sent at the same moment."""
    start = time.perf_counter()
    selector = selectors.DefaultSelector()
    for address, wire in requests:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(address)
        selector.register(sock, selectors.EVENT_WRITE, wire)
    left = len(requests)
    while left:
        events = selector.select(2.0)
        if not events:
            raise SystemExit("a service did not answer within 2 s: is the lab up?")
        for key, mask in events:
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if mask & selectors.EVENT_WRITE:
                sock.sendall(key.data)
                selector.modify(sock, selectors.EVENT_READ)
            elif not sock.recv(65536):
                selector.unregister(sock)
                sock.close()
                left -= 1
    selector.close()
    return time.perf_counter() - start


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
    requests = first_requests(target.inventory)
    alone = max(
        statistics.median(all_at_once([one]) for _ in range(FLOOR_RUNS)) for one in requests
    )
    together = statistics.median(all_at_once(requests) for _ in range(FLOOR_RUNS))
    report("the lab's floor: every first request at once, raw sockets", together, unit="s")
    report("  the slowest of those requests alone", alone, unit="s")
    report("  floor / slowest request alone (the host's own ratio)", together / alone)
    report("status wall time / the floor", statistics.median(walls) / together)
    vagrant = timed(vagrant_states(lab))
    report(f"machine states from {spec.provider} itself", direct, unit="s")
    report("machine states from vagrant status", vagrant, unit="s")
    report("vagrant status / the provider's own answer", vagrant / max(direct, 1e-6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
