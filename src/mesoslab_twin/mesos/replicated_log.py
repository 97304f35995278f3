"""The masters' replicated log, as far as a learner can see it: each master's replica has a
status kept on disk in ``<work_dir>/replicated_log``, and a replica that is not VOTING runs
Mesos's recover protocol against the replicas it can reach (MESOS@1.4.0
``src/log/recover.cpp`` L55-71, L238-282):

B1  a quorum of VOTING replicas answers: catch up (RECOVERING, instant here) and vote;
B2  an EMPTY replica that finds all ``2 * quorum - 1`` replicas EMPTY or STARTING: STARTING;
B3  a STARTING one that finds all of them STARTING or VOTING: VOTING;
B4  otherwise ask again.

So a fresh log starts only when every master is up with an empty ``replicated_log``, and a
kept (VOTING) log beside empty ones never reaches a quorum: the leader's registry fetch then
times out. No registry data is kept (the twin's leader rebuilds its state from the agents and
frameworks that re-register); only the status is.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

EMPTY = "EMPTY"
STARTING = "STARTING"
RECOVERING = "RECOVERING"
VOTING = "VOTING"
STATUSES = (EMPTY, STARTING, RECOVERING, VOTING)
STATUS_FILE = "TWIN_REPLICA"  # beside what would be LevelDB's files in a real replica

log = logging.getLogger("mesoslab_twin.log")


def next_status(local: str, answers: list[str], quorum: int, auto_initialize: bool = True) -> str:
    """The status the local replica goes to after one round of the recover protocol, given
    the statuses of every replica that answered (the local one included)."""
    if local == VOTING:
        return VOTING
    counts = Counter(answers)
    if counts[VOTING] >= quorum:
        return VOTING  # B1: RECOVERING, then VOTING once caught up
    cluster_size = 2 * quorum - 1
    if auto_initialize:
        if local == EMPTY and counts[EMPTY] + counts[STARTING] >= cluster_size:
            return STARTING  # B2
        if local == STARTING and counts[STARTING] + counts[VOTING] >= cluster_size:
            return VOTING  # B3
    return local  # B4


@dataclass
class Replica:
    """One master's replica: ``<work_dir>/replicated_log``, its status in a small file."""

    folder: Path

    @property
    def status_file(self) -> Path:
        return self.folder / STATUS_FILE

    def status(self) -> str:
        """EMPTY for a missing (``rm -rf``) or new log."""
        try:
            data = json.loads(self.status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return EMPTY
        status = data.get("status") if isinstance(data, dict) else None
        return status if status in STATUSES else EMPTY

    def open(self) -> str:
        """Create the folder as a replica does when it starts; returns its status."""
        self.folder.mkdir(parents=True, exist_ok=True)
        status = self.status()
        if not self.status_file.exists():
            self.update(status, quiet=True)
        log.info("Replica is in %s status", status)
        return status

    def update(self, status: str, *, quiet: bool = False) -> None:
        if not quiet:
            log.info("Updating replica status to %s", status)
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / (STATUS_FILE + ".tmp")
        note = (
            "The mesoslab twin's replicated log: only the replica's status is kept "
            "(a real one holds the registry in LevelDB here)."
        )
        temp.write_text(json.dumps({"status": status, "note": note}) + "\n", encoding="utf-8")
        temp.replace(self.status_file)
