"""What the lab screen's thread workers report: posted to the screen, handled on the event
loop in the order they were posted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from mesoslab.errors import MesoslabError
    from mesoslab.ops.status import NodeStatus
    from mesoslab.ops.up import UpReport
    from mesoslab.provision.steps import ProgressEvent, StepOutcome


@dataclass
class VmStatesRead(Message, bubble=False):
    """What `vagrant status` says of each machine, or why it could not say."""

    states: dict[str, str] | None
    error: BaseException | None


@dataclass
class ServicesProbed(Message, bubble=False):
    """Every node's services, just probed."""

    rows: list[NodeStatus]


@dataclass
class UpPhase(Message, bubble=False):
    """`up` or `provision` entered a phase (its line is already in the log)."""

    phase: str
    message: str


@dataclass
class ProvisionEvent(Message, bubble=False):
    """A provisioning step started on a node (ProgressEvent) or ended there (StepOutcome)."""

    event: ProgressEvent | StepOutcome


@dataclass
class UpFinished(Message, bubble=False):
    """`up` or `provision` (``name``) ran to its end: what it built and what failed."""

    report: UpReport
    name: str


@dataclass
class DriverDone(Message, bubble=False):
    """A Vagrant action (halt, destroy, checkpoint, restore) succeeded."""

    name: str
    summary: str


@dataclass
class OpFailed(Message, bubble=False):
    """The running operation stopped on an error."""

    exc: MesoslabError


@dataclass
class OpCancelled(Message, bubble=False):
    """The running operation ``name`` was stopped by the learner."""

    name: str


@dataclass
class OpFinished(Message, bubble=False):
    """The running operation ``name`` is over (always the last message of an operation)."""

    name: str
    ok: bool
