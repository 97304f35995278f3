"""Says plainly that a rehearsal lab runs emulated Mesos-family services (DESIGN §5)."""

from __future__ import annotations

from textual.widgets import Static

REHEARSAL_TEXT = (
    "Rehearsal lab: Mesos, Marathon and Chronos here are mesoslab's emulations; "
    "ZooKeeper, systemd and SSH are real."
)


class RehearsalBanner(Static):
    def __init__(self) -> None:
        super().__init__(REHEARSAL_TEXT, id="rehearsal-banner")
