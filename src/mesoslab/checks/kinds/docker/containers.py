"""Containers and images on a node, as ``docker inspect`` reports them: what Mesos's docker
containerizer runs shows here as ``mesos-<container id>`` with its port mappings."""

from __future__ import annotations

import fnmatch
from typing import Any

from mesoslab.checks.kinds.docker.common import docker_json, docker_lines
from mesoslab.checks.kinds.host.common import host_check
from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.checks.values import image_matches
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.session import CheckContext

# Every container, running or not, inspected in one round trip ("[]" when there is none).
INSPECT_ALL = (
    'ids=$(docker ps -aq --no-trunc) && if [ -n "$ids" ]; then docker inspect $ids; '
    'else echo "[]"; fi'
)
_SHOWN = 6


def _validate_container(params: dict[str, Any]) -> list[str]:
    if not any(params.get(key) for key in ("name", "label", "image")):
        return ["say which container: give 'name', 'label' or 'image'"]
    port = params.get("port")
    if isinstance(port, int) and not 0 < port < 65536:
        return [f"'port' must be between 1 and 65535, got {port}"]
    return []


def _name(container: dict[str, Any]) -> str:
    return str(container.get("Name") or "").lstrip("/")


def _labels(container: dict[str, Any]) -> dict[str, str]:
    labels = (container.get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _image(container: dict[str, Any]) -> str:
    return str((container.get("Config") or {}).get("Image") or "")


def _running(container: dict[str, Any]) -> bool:
    return bool((container.get("State") or {}).get("Running"))


def _host_ports(container: dict[str, Any], port: int) -> list[int]:
    """The host ports published for container port ``port`` (tcp)."""
    ports = (container.get("NetworkSettings") or {}).get("Ports") or {}
    bindings = ports.get(f"{port}/tcp") or [] if isinstance(ports, dict) else []
    out = []
    for binding in bindings:
        try:
            out.append(int(binding.get("HostPort")))
        except (TypeError, ValueError):
            continue
    return sorted(set(out))


def _label_matches(container: dict[str, Any], label: str) -> bool:
    key, sep, value = label.partition("=")
    labels = _labels(container)
    return key in labels and (not sep or labels[key] == value)


def _describe(node: Node, container: dict[str, Any]) -> str:
    state = "running" if _running(container) else (container.get("State") or {}).get("Status")
    return f"{node.name}: {_name(container)} ({_image(container)}, {state or '?'})"


@check(
    "docker.container",
    role="agent",
    scope="group",
    needs_ssh=True,
    params={
        "name": P(str, help="container name, or a glob such as mesos-*"),
        "label": P(str, help="a label KEY or KEY=VALUE the container carries"),
        "image": P(str, help="the image it runs, e.g. nginx (= nginx:latest)"),
        "running": P(bool, default=True, help="true: running; false: exists but stopped"),
        "count": P(int, default=1, help="at least this many matching containers in all"),
        "port": P(int, help="container port (tcp) that must be published on a host port"),
        "host_port": P(int, help="the host port it must be published on"),
    },
    validate=_validate_container,
)
def container(ctx: CheckContext, nodes: list[Node], params: dict[str, Any]) -> Observation:
    """At least ``count`` containers matching name/label/image run (or are stopped) on the
    target nodes (default: the agents), with a port mapping where asked: what ``docker ps``
    on those nodes shows."""
    name, label, image = params.get("name"), params.get("label"), params.get("image")
    want_running = bool(params["running"])
    count = int(params["count"])
    port, host_port = params.get("port"), params.get("host_port")
    chosen: list[tuple[Node, dict[str, Any]]] = []
    every: list[tuple[Node, dict[str, Any]]] = []
    errors: list[str] = []
    for node in nodes:
        try:
            data = docker_json(ctx, node, INSPECT_ALL)
        except ProbeError as exc:
            errors.append(exc.summary)
            continue
        for c in data if isinstance(data, list) else []:
            if not isinstance(c, dict):
                continue
            every.append((node, c))
            if (
                (not name or fnmatch.fnmatchcase(_name(c), name))
                and (not label or _label_matches(c, label))
                and (not image or image_matches(_image(c), image))
            ):
                chosen.append((node, c))
    if errors and len(errors) == len(nodes):
        raise ProbeError("; ".join(errors), "; ".join(errors), answered=False)
    what = " ".join(
        part
        for part in (
            f"named {name}" if name else "",
            f"labelled {label}" if label else "",
            f"of image {image}" if image else "",
        )
        if part
    )
    state_word = "running" if want_running else "stopped"
    at_least = f"at least {count} " if count != 1 else ""
    expected = f"{at_least}container {what} {state_word}"
    if port:
        expected += f", port {port}/tcp published" + (f" on {host_port}" if host_port else "")

    def publishes(c: dict[str, Any]) -> bool:
        mapped = _host_ports(c, port) if port else []
        return not port or (bool(mapped) and (not host_port or host_port in mapped))

    in_state = [(n, c) for n, c in chosen if _running(c) == want_running]
    good = [(n, c) for n, c in in_state if publishes(c)]
    unreachable = f" ({'; '.join(errors)})" if errors else ""
    shown = ", ".join(_describe(n, c) for n, c in chosen[:_SHOWN]) + (
        " …" if len(chosen) > _SHOWN else ""
    )
    if len(good) >= count:
        mapped = ""
        if port:
            mapped = (
                " ("
                + ", ".join(
                    f"{_name(c)}: {port}/tcp → {n.name}:{','.join(map(str, _host_ports(c, port)))}"
                    for n, c in good[:_SHOWN]
                )
                + ")"
            )
        return Observation.ok(
            f"{len(good)} container(s) {what} {state_word}{mapped}",
            expected=expected,
            observed=shown,
        )
    if not chosen:
        others = ", ".join(_describe(n, c) for n, c in every[:_SHOWN]) or "no containers at all"
        where = ", ".join(n.name for n in nodes)
        return Observation.fail(
            f"no container {what} on {where}{unreachable}", expected=expected, observed=others
        )
    if port and in_state:
        published = "; ".join(
            f"{_name(c)}: {port}/tcp → "
            + (",".join(map(str, _host_ports(c, port))) or "not published")
            for _n, c in in_state[:_SHOWN]
        )
        return Observation.fail(
            f"container {what} does not publish {port}/tcp as asked{unreachable}",
            expected=expected,
            observed=published,
        )
    return Observation.fail(
        f"{len(in_state)} of the {len(chosen)} container(s) {what} {state_word}; "
        f"{count} expected{unreachable}",
        expected=expected,
        observed=shown,
    )


@host_check(
    "docker.image",
    role="agent",
    params={"image": P(str, required=True, help="image NAME[:TAG], e.g. python:3")},
)
def image(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """The image is in the node's Docker image store (``docker images``)."""
    wanted: str = params["image"]
    lines = docker_lines(ctx, node, "docker images --format '{{.Repository}}:{{.Tag}}'")
    present = sorted({line for line in lines if not line.endswith(":<none>")})
    shown = ", ".join(present[:10]) + (" …" if len(present) > 10 else "")
    if any(image_matches(tag, wanted) for tag in present):
        return Observation.ok(f"image {wanted} is on {node.name}", expected=wanted, observed=shown)
    return Observation.fail(
        f"image {wanted} is not on {node.name}",
        expected=wanted,
        observed=shown or "no images",
    )
