"""Errors of the lab builder (Vagrant, boxes, snapshots)."""

from __future__ import annotations

from mesoslab.errors import MesoslabError


class LabError(MesoslabError):
    """Vagrant or a box build failed; the message names the machines and shows the output."""

    title = "Lab error"

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        machines: tuple[str, ...] = (),
        output_tail: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, hint=hint)
        self.machines = machines
        self.output_tail = output_tail


class LabCancelled(LabError):
    """The user cancelled a long Vagrant run (Ctrl-C); the processes are gone."""

    title = "Cancelled"
