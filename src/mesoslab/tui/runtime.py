"""What the cells of an open lesson share: the lab, one SSH session, the outputs store.

Commands run in worker threads; :func:`run_cell` resolves where a cell runs and runs it on
every node at once. Plain Python: no Textual (paramiko and httpx load when a cell first runs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from mesoslab.errors import MesoslabError
from mesoslab.lab.inventory import Inventory, Node
from mesoslab.lessons.model import LEADING_MASTER, Action
from mesoslab.tui.cells import CellRecord, CellStore, NodeOutput, now_text

if TYPE_CHECKING:
    from mesoslab.remote.session import Session

_T = TypeVar("_T")

COMMAND_TIMEOUT = 600.0  # a package install can take minutes (as `mesoslab run`)


@dataclass
class NotebookRuntime:
    lesson_id: str
    platform: str
    inventory: Inventory | None
    store: CellStore
    _session: Session | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def session(self) -> Session:
        from mesoslab.remote.session import Session

        if self.inventory is None:
            raise MesoslabError(
                "there is no lab yet, so there is nowhere to run commands",
                hint="create a lab first (quit and run `mesoslab`, or `mesoslab init`)",
            )
        with self._lock:
            if self.closed:
                raise MesoslabError("the lesson was closed")
            if self._session is None:
                self._session = Session(self.inventory)
            return self._session

    def close(self) -> None:
        """Close the SSH connections: commands still running end with a dropped connection."""
        with self._lock:
            self.closed = True
            session, self._session = self._session, None
        if session is not None:
            session.cancelled.set()
            session.close()

    def targets_text(self, target: str) -> str:
        """The nodes a cell would run on, for its header (no network)."""
        if target == LEADING_MASTER:
            return "the leading master (asked when it runs)"
        if self.inventory is None:
            return "no lab"
        nodes = self.inventory.resolve(target)
        return ", ".join(n.name for n in nodes) if nodes else f"no node named or with role {target}"

    def targets(self) -> list[str]:
        """Everything a scratch cell can run on: node names, then roles in use."""
        if self.inventory is None:
            return []
        names = [n.name for n in self.inventory.nodes]
        roles = sorted({r for n in self.inventory.nodes for r in n.roles})
        extra = [LEADING_MASTER] if "master" in roles else []
        return names + [r for r in roles if r not in names] + extra


def run_cell(
    runtime: NotebookRuntime,
    target: str,
    command: str,
    *,
    sudo: bool,
    edited: bool = False,
    on_nodes: Callable[[list[str]], None] | None = None,
    on_output: Callable[[str, str], None] | None = None,
    timeout: float = COMMAND_TIMEOUT,
    cancel: threading.Event | None = None,
) -> CellRecord:
    """Run ``command`` on the nodes of ``target`` in parallel; never raises for a node that
    cannot be reached (its output says why). Setting ``cancel`` stops waiting for every node:
    each keeps its output so far and says it was stopped (the record is not ok)."""
    from mesoslab.lessons.run import resolve_targets
    from mesoslab.remote.fanout import run_on_nodes
    from mesoslab.remote.result import STOPPED

    started = now_text()
    try:
        session = runtime.session()
        action = Action(code=command, on=target, sudo=sudo)

        def find() -> list[Node]:
            return resolve_targets(action, session.inventory, session)

        nodes = _until_cancelled(find, cancel) if target == LEADING_MASTER else find()
    except MesoslabError as exc:
        return CellRecord(command, target, sudo, ran_at=started, edited=edited, error=str(exc))
    if nodes is None:
        error = "stopped by you while asking the masters which one leads; nothing ran"
        return CellRecord(command, target, sudo, ran_at=started, edited=edited, error=error)
    if on_nodes is not None:
        on_nodes([n.name for n in nodes])
    sink = None
    if on_output is not None:
        out = on_output

        def sink(node, line):  # type: ignore[no-untyped-def]
            out(node.name, line)

    results = run_on_nodes(
        session.ssh, nodes, command, sudo=sudo, timeout=timeout, on_output=sink, cancel=cancel
    )
    return CellRecord(
        command=command,
        target=target,
        sudo=sudo,
        nodes=tuple(n.name for n in nodes),
        outputs=tuple(
            NodeOutput(
                r.node,
                r.exit_status,
                r.output,
                r.error or (STOPPED if r.cancelled else ""),
                r.timed_out,
            )
            for r in results
        ),
        ran_at=started,
        edited=edited,
    )


def _until_cancelled(find: Callable[[], _T], cancel: threading.Event | None) -> _T | None:
    """``find()``, or None as soon as ``cancel`` is set: asking the masters who leads waits
    up to 10 s when they do not answer, and Stop should not. The abandoned lookup ends by
    itself in a daemon thread (it only reads)."""
    if cancel is None:
        return find()
    if cancel.is_set():
        return None
    found: list[_T] = []
    failed: list[BaseException] = []
    done = threading.Event()

    def look() -> None:
        try:
            found.append(find())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=look, name="mesoslab-targets", daemon=True).start()
    while not done.wait(0.1):
        if cancel.is_set():
            return None
    if failed:
        raise failed[0]
    return found[0]
