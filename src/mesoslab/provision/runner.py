"""Run provisioning steps on the lab's nodes: every node in parallel, the steps of one node in
order, each step reported live; a node stops at its first failed step, the others go on."""

from __future__ import annotations

import logging
import posixpath
import re
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mesoslab.errors import ConnectionDropped, LabSpecError, RemoteError, UsageError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lab.spec import LabSpec
from mesoslab.provision.centos7 import centos7_steps
from mesoslab.provision.channel_probe import probe_channel
from mesoslab.provision.rehearsal import rehearsal_steps
from mesoslab.provision.steps import (
    CHANGED_MARK,
    NODE_VAR,
    ROOT_VAR,
    FileSync,
    ProgressEvent,
    ProvisionReport,
    ProvisionStep,
    Status,
    StepOutcome,
)

if TYPE_CHECKING:
    from mesoslab.remote.pool import SshPool

log = logging.getLogger(__name__)

MAX_PARALLEL = 16
TAIL_LINES = 5
_SAFE_GLOB = re.compile(r"^[A-Za-z0-9*?._-]+$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")

Event = StepOutcome | ProgressEvent
EventSink = Callable[[Event], None]
OutputSink = Callable[[str, str], None]  # (node name, line)


def steps_for(spec: LabSpec) -> list[ProvisionStep]:
    """The base provisioning of ``spec``'s platform (what a node needs before lesson 1)."""
    if spec.platform == "centos7":
        return centos7_steps(spec)
    if spec.platform == "rehearsal":
        return rehearsal_steps(spec)
    raise LabSpecError(f"no provisioning for platform {spec.platform!r}")


def provision_lab(
    spec: LabSpec,
    inventory: Inventory,
    pool: SshPool,
    *,
    nodes: Sequence[str] | None = None,
    steps: Sequence[ProvisionStep] | None = None,
    on_event: EventSink | None = None,
    on_output: OutputSink | None = None,
    probe: bool = True,
    cancel: threading.Event | None = None,
    env: dict[str, str] | None = None,
    max_parallel: int = MAX_PARALLEL,
) -> ProvisionReport:
    """Provision the lab's nodes (all, or those named in ``nodes``) and report every step.

    ``steps`` defaults to :func:`steps_for` ``(spec)``. With ``probe`` (and platform
    centos7), the package channel is probed from the host first; a channel that cannot work
    raises ChannelError before any node is touched (the probe's summary and warnings go to
    ``report.notes``). Configuration errors (LabSpecError, ChannelError) are raised too.
    Everything that goes wrong on a node is a ``failed`` outcome, never an exception.

    ``on_event`` gets a ProgressEvent when a step starts on a node and its StepOutcome when
    it ends; ``on_output(node, line)`` gets the steps' output lines as they come. Both are
    called from worker threads, one call at a time. ``cancel`` (set from another thread)
    lets the running steps finish and skips the rest. ``env`` adds variables for the
    scripts (``MESOSLAB_ROOT`` makes them work on a folder instead of the system).
    """
    start = time.monotonic()
    targets = select_nodes(inventory, nodes)
    plan = list(steps) if steps is not None else steps_for(spec)
    report = ProvisionReport()
    if probe and spec.platform == "centos7":
        result = probe_channel(spec)
        result.raise_for_failure()
        report.notes.extend([result.summary, *result.warnings])
    lock = threading.Lock()

    def emit(event: Event) -> None:
        if on_event is not None:
            with lock:
                on_event(event)

    def output(node: str, line: str) -> None:
        if on_output is not None:
            with lock:
                on_output(node, line)

    preamble = _preamble(env or {})
    root = (env or {}).get(ROOT_VAR, "").rstrip("/")  # file syncs go under it too
    workers = max(1, min(max_parallel, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="provision") as executor:
        per_node = list(
            executor.map(
                lambda node: _provision_node(
                    pool, node, plan, preamble, emit, output, cancel or threading.Event(), root
                ),
                targets,
            )
        )
    for outcomes in per_node:
        report.outcomes.extend(outcomes)
    report.elapsed_s = time.monotonic() - start
    return report


def select_nodes(inventory: Inventory, names: Sequence[str] | None) -> list[Node]:
    if not names:
        return list(inventory.nodes)
    unknown = [n for n in names if inventory.node(n) is None]
    if unknown:
        raise UsageError(
            f"no node named {', '.join(unknown)} in the lab; its nodes are "
            f"{', '.join(n.name for n in inventory.nodes)}"
        )
    return [n for n in inventory.nodes if n.name in names]


def remote_command(step: ProvisionStep, node: str, preamble: str = "") -> str:
    """The command line that runs ``step`` on ``node`` (in ``sh``, whatever the login shell)."""
    text = f"{NODE_VAR}={shlex.quote(node)}\nexport {NODE_VAR}\n{preamble}{step.script}"
    return f"sh -c {shlex.quote(text)}"


def _preamble(env: dict[str, str]) -> str:
    lines = []
    for key, value in env.items():
        if not _ENV_NAME.match(key):
            raise UsageError(f"not an environment variable name: {key!r}")
        lines.append(f"{key}={shlex.quote(value)}\nexport {key}\n")
    return "".join(lines)


def _provision_node(
    pool: SshPool,
    node: Node,
    plan: list[ProvisionStep],
    preamble: str,
    emit: Callable[[Event], None],
    output: Callable[[str, str], None],
    cancel: threading.Event,
    root: str = "",
) -> list[StepOutcome]:
    steps = [s for s in plan if s.applies(node.roles)]
    outcomes: list[StepOutcome] = []
    stopped = ""
    for index, step in enumerate(steps, start=1):
        if not stopped and cancel.is_set():
            stopped = "not run: provisioning was cancelled"
        if stopped:
            outcome = StepOutcome(node.name, step.id, step.title, "skipped", message=stopped)
        else:
            emit(ProgressEvent(node.name, step.id, step.title, index, len(steps)))
            try:
                outcome = _run_step(pool, node, step, preamble, output, root)
            except Exception as exc:  # a bug must not take the other nodes down
                log.exception("step %s on %s", step.id, node.name)
                outcome = StepOutcome(
                    node.name,
                    step.id,
                    step.title,
                    "failed",
                    message=f"internal error: {exc.__class__.__name__}: {exc}",
                )
            if outcome.status == "failed":
                stopped = f"not run: step {step.id!r} failed on {node.name}"
        outcomes.append(outcome)
        emit(outcome)
    return outcomes


class _StepFailed(Exception):
    def __init__(self, message: str, tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tail = tail


def _run_step(
    pool: SshPool,
    node: Node,
    step: ProvisionStep,
    preamble: str,
    output: Callable[[str, str], None],
    root: str = "",
) -> StepOutcome:
    start = time.monotonic()
    changed = False

    def sink(line: str) -> None:
        if line.strip() != CHANGED_MARK:
            output(node.name, line)

    def done(status: Status, tail: str = "", message: str = "") -> StepOutcome:
        return StepOutcome(
            node.name,
            step.id,
            step.title,
            status,
            elapsed_s=time.monotonic() - start,
            tail=tail,
            message=message,
        )

    try:
        if step.sync is not None:
            changed = _sync(pool, node, step.sync, sink, root)
        result = pool.run(
            node,
            remote_command(step, node.name, preamble),
            sudo=True,
            timeout=step.timeout,
            on_output=sink,
        )
    except _StepFailed as exc:
        return done("failed", exc.tail, exc.message)
    except ConnectionDropped as exc:
        return done("failed", _tail(exc.partial.output), str(exc))
    except RemoteError as exc:
        return done("failed", "", str(exc))
    tail = _tail(result.output)
    if result.timed_out:
        return done("failed", tail, f"did not finish within {step.timeout:.0f}s")
    if result.exit_status != 0:
        last = tail.splitlines()[-1] if tail else ""
        reason = f"exit status {result.exit_status}" + (f": {last}" if last else "")
        return done("failed", tail, reason)
    if any(line.strip() == CHANGED_MARK for line in result.output.splitlines()):
        changed = True
    return done("changed" if changed else "ok", tail)


def _folders_of(name: str) -> set[str]:
    """The folders a relative file name lies in: ``a/b/c.py`` -> ``{"a", "a/b"}``."""
    parts = name.split("/")[:-1]
    return {"/".join(parts[: i + 1]) for i in range(len(parts))}


def _tail(text: str, count: int = TAIL_LINES) -> str:
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip() and ln.strip() != CHANGED_MARK]
    return "\n".join(lines[-count:])


def _sync(
    pool: SshPool, node: Node, sync: FileSync, say: Callable[[str], None], root: str = ""
) -> bool:
    """Make ``root + sync.dest`` on the node hold exactly the host's files; True if it
    changed."""
    if not _SAFE_GLOB.match(sync.pattern):
        raise _StepFailed(f"unsafe file pattern {sync.pattern!r}")
    for name in sync.skip:
        if not _SAFE_GLOB.match(name):
            raise _StepFailed(f"unsafe folder name {name!r}")
    for item in sync.files:
        parts = item.name.split("/")
        if not all(parts) or ".." in parts or (len(parts) > 1 and not sync.recursive):
            raise _StepFailed(f"unsafe file name {item.name!r}")
    dest = (root + sync.dest).rstrip("/") or "/"
    folders = sorted({posixpath.dirname(f.name) for f in sync.files} - {""})
    made = " ".join(shlex.quote(path) for path in [dest, *(f"{dest}/{f}" for f in folders)])
    if sync.recursive:
        pruned = " -o ".join(f"-name {shlex.quote(name)}" for name in sync.skip)
        prune = f"-type d \\( {pruned} \\) -prune -o " if pruned else ""
        pattern = shlex.quote(sync.pattern)
        listed = f"find . {prune}-type f -name {pattern} -exec sha256sum -- {{}} +"
    else:
        listed = f'for f in {sync.pattern}; do if [ -f "$f" ]; then sha256sum -- "$f"; fi; done'
    listing = pool.run(
        node,
        f"mkdir -p {made} && cd {shlex.quote(dest)} && {listed}",
        sudo=True,
        timeout=300.0,
    )
    if not listing.ok:
        raise _StepFailed(
            f"cannot list {dest} on {node.name}: {listing.describe()}", _tail(listing.output)
        )
    there: dict[str, str] = {}
    for line in listing.output.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            there[name.removeprefix("./")] = digest
    changed = False
    wanted = {f.name for f in sync.files}
    for item in sync.files:
        if there.get(item.name) == item.sha256:
            continue
        say(f"copying {item.name} ({item.size / 1e6:.1f} MB) to {dest}")
        try:
            content = item.path.read_bytes()
        except OSError as exc:
            raise _StepFailed(f"cannot read {item.path} on this machine: {exc}") from None
        pool.put_file(
            node,
            f"{dest}/{item.name}",
            content,
            0o644,
            sudo=True,
            timeout=60.0 + item.size / 1e6,
        )
        changed = True
    stale = sorted(set(there) - wanted)
    if stale:
        say(f"removing {', '.join(stale)} from {dest} (not in the host folder any more)")
        paths = " ".join(shlex.quote(f"{dest}/{name}") for name in stale)
        command = f"rm -f -- {paths}"
        # Folders of a recursive sync that the host no longer has go too, deepest first.
        kept = {folder for name in wanted for folder in _folders_of(name)}
        gone = sorted({folder for name in stale for folder in _folders_of(name)} - kept)
        if gone:
            empty = " ".join(shlex.quote(f"{dest}/{folder}") for folder in reversed(gone))
            command += f' && for d in {empty}; do rmdir -- "$d" 2>/dev/null || true; done'
        removed = pool.run(node, command, sudo=True, timeout=60.0)
        if not removed.ok:
            raise _StepFailed(f"cannot remove old files in {dest}: {removed.describe()}")
        changed = True
    return changed
