"""Provisioning: bring the lab's nodes to where lesson 1 starts, over SSH, idempotently.

``provision_lab(spec, inventory, pool, ...)`` runs the platform's base steps
(:func:`steps_for`) on every node in parallel and returns a :class:`ProvisionReport`.
Role configuration (ZooKeeper, Mesos flags, units) is not here: it is the lessons' own
command blocks, run by ``mesoslab up --through lesson-N``.
"""

from __future__ import annotations

from mesoslab.errors import ChannelError
from mesoslab.provision.channel_probe import ChannelProbe, ensure_channel, probe_channel
from mesoslab.provision.channels import required_packages
from mesoslab.provision.runner import provision_lab, select_nodes, steps_for
from mesoslab.provision.steps import (
    CHANGED_MARK,
    ProgressEvent,
    ProvisionReport,
    ProvisionStep,
    StepOutcome,
)

__all__ = [
    "CHANGED_MARK",
    "ChannelError",
    "ChannelProbe",
    "ProgressEvent",
    "ProvisionReport",
    "ProvisionStep",
    "StepOutcome",
    "ensure_channel",
    "probe_channel",
    "provision_lab",
    "required_packages",
    "select_nodes",
    "steps_for",
]
