"""The agent flags of the unified containerizer, checked as Mesos 1.4.3 checks them.

In the order the agent meets them (MESOS@1.4.3): ``--recover`` in ``Slave::initialize``
(src/slave/slave.cpp L805-808), then ``MesosContainerizer::create``
(src/slave/containerizer/mesos/containerizer.cpp L236-245: ``filesystem/linux`` and the
``linux`` launcher for any image provider), then the image stores
(provisioner/store.cpp L49-95: unknown type; ``docker/runtime`` for the docker provider,
an ``EXIT`` of its own). ``--launcher`` defaults to ``linux`` for an agent running as root
(flags.cpp L131-138, ``LinuxLauncher::available()``), ``posix`` otherwise.
"""

from __future__ import annotations

import os

CONTAINERIZER = "Failed to create a containerizer: Could not create MesosContainerizer: "
KNOWN_IMAGE_TYPES = ("docker", "appc")
SUPPORTED_IMAGE_TYPES = ("docker",)  # the twin has no appc store


def default_launcher() -> str:
    return "linux" if os.geteuid() == 0 else "posix"


def image_providers(flags: dict[str, str]) -> list[str]:
    return [p.strip().lower() for p in flags.get("image_providers", "").split(",") if p.strip()]


def problem(flags: dict[str, str], containerizers: list[str]) -> str | None:
    """Why an agent with these flags exits at start, in Mesos's words; None if it starts."""
    recover = flags.get("recover", "reconnect")
    if recover not in ("reconnect", "cleanup"):
        return (
            f"Unknown option for 'recover' flag {recover}. "
            "Please run the agent with '--help' to see the valid options"
        )
    providers = image_providers(flags)
    if "mesos" not in containerizers or not flags.get("image_providers"):
        return None
    isolation = flags.get("isolation", "")
    if "filesystem/linux" not in isolation:
        return CONTAINERIZER + (
            "The 'filesystem/linux' isolator must be enabled for container image support."
        )
    if flags.get("launcher", default_launcher()) != "linux":
        return CONTAINERIZER + "The 'linux' launcher must be used for container image support."
    for provider in providers:
        if provider not in KNOWN_IMAGE_TYPES:
            kind = "Unknown"
        elif provider not in SUPPORTED_IMAGE_TYPES:
            kind = "Unsupported (by the mesoslab twin)"
        else:
            continue
        return CONTAINERIZER + (
            "Failed to create provisioner: Failed to create image stores: "
            f"{kind} image type '{provider}'"
        )
    if "docker" in providers and "docker/runtime" not in isolation:
        return (
            "Docker runtime isolator has to be specified if 'DOCKER' is included in "
            "'image_providers'. Please add 'docker/runtime' to '--isolation' flags"
        )
    return None
