"""The Docker daemon's own settings on a node (``docker info``): what lesson 2's
daemon.json and the lab registry change, and what the host's cgroups decide."""

from __future__ import annotations

from typing import Any

from mesoslab.checks.kinds.docker.common import docker_json
from mesoslab.checks.kinds.host.common import host_check
from mesoslab.checks.registry import P
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext


def _validate(params: dict[str, Any]) -> list[str]:
    keys = ("storage_driver", "cgroup_driver", "cgroup_version", "insecure_registry", "mirror")
    if not any(key in params for key in keys):
        return ["say what to compare: " + ", ".join(keys)]
    return []


def _insecure(info: dict[str, Any]) -> set[str]:
    """Registries the daemon talks to over plain HTTP: its CIDRs and the non-secure
    index entries (``insecure-registries`` names)."""
    config = info.get("RegistryConfig") or {}
    out = {str(c) for c in config.get("InsecureRegistryCIDRs") or []}
    for name, index in (config.get("IndexConfigs") or {}).items():
        if isinstance(index, dict) and index.get("Secure") is False:
            out.add(str(name))
    return out


def _mirrors(info: dict[str, Any]) -> set[str]:
    config = info.get("RegistryConfig") or {}
    return {str(m).rstrip("/") for m in config.get("Mirrors") or []}


@host_check(
    "docker.daemon",
    role="agent",
    params={
        "storage_driver": P(str, help="e.g. overlay2"),
        "cgroup_driver": P(str, help="cgroupfs or systemd"),
        "cgroup_version": P(str, help="1 or 2"),
        "insecure_registry": P(str, help="a registry it trusts over plain HTTP, e.g. master1:5000"),
        "mirror": P(str, help="a registry mirror it uses, e.g. http://master1:5000"),
    },
    validate=_validate,
)
def daemon(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """The node's dockerd runs with these settings (``docker info``)."""
    info = docker_json(ctx, node, "docker info --format '{{json .}}'")
    if not isinstance(info, dict):
        raise ProbeError(f"docker info on {node.name} answered no object", str(info)[:100])
    seen = {
        "storage_driver": str(info.get("Driver") or ""),
        "cgroup_driver": str(info.get("CgroupDriver") or ""),
        "cgroup_version": str(info.get("CgroupVersion") or ""),
    }
    wrong: list[str] = []
    wanted: list[str] = []
    observed: list[str] = []
    for key in ("storage_driver", "cgroup_driver", "cgroup_version"):
        if key in params:
            wanted.append(f"{key} {params[key]}")
            observed.append(f"{key} {seen[key] or '?'}")
            if seen[key] != str(params[key]):
                wrong.append(f"{key} is {seen[key] or 'not reported'}, not {params[key]}")
    if "insecure_registry" in params:
        name = str(params["insecure_registry"])
        trusted = _insecure(info)
        wanted.append(f"insecure registry {name}")
        observed.append("insecure " + (", ".join(sorted(trusted)) or "none"))
        if name not in trusted:
            wrong.append(f"{name} is not among its insecure registries")
    if "mirror" in params:
        mirror = str(params["mirror"]).rstrip("/")
        mirrors = _mirrors(info)
        wanted.append(f"mirror {mirror}")
        observed.append("mirrors " + (", ".join(sorted(mirrors)) or "none"))
        if mirror not in mirrors:
            wrong.append(f"{mirror} is not among its registry mirrors")
    expected, seen_text = "; ".join(wanted), "; ".join(observed)
    if wrong:
        return Observation.fail(
            f"dockerd on {node.name}: " + "; ".join(wrong), expected=expected, observed=seen_text
        )
    return Observation.ok(
        f"dockerd on {node.name}: {expected}", expected=expected, observed=seen_text
    )
