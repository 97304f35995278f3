"""Docker image references as Mesos parses and prints them (MESOS@1.4.3 src/docker/spec.cpp
``parseImageReference``, ``operator<<``, ``getRegistryScheme``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageReference:
    repository: str
    tag: str = ""
    digest: str = ""
    registry: str = ""

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}" if self.registry else self.repository
        if self.digest:
            return f"{text}@{self.digest}"
        if self.tag:
            return f"{text}:{self.tag}"
        return text

    @property
    def version(self) -> str:
        """What the manifest is asked for: the digest, the tag, or ``latest``."""
        return self.digest or self.tag or "latest"


def parse(text: str) -> ImageReference:
    """``busybox``, ``busybox:1``, ``lab/web:2``, ``master1:5000/busybox``, ``x@sha256:...``."""
    rest, digest = text, ""
    if "@" in rest:
        parts = rest.split("@")
        if len(parts) != 2:
            raise ValueError("Multiple '@' symbols found")
        rest, digest = parts
    tag = ""
    if ":" in rest:
        parts = rest.split(":")
        if "/" not in parts[-1]:
            tag = parts.pop()
            rest = ":".join(parts)
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return ImageReference(remainder, tag, digest, first)
    if not rest:
        raise ValueError("Image name is empty")
    return ImageReference(rest, tag, digest)


def registry_scheme(registry: str) -> str:
    """http for port 80 and for a local registry with a port; https otherwise."""
    host, _, port = registry.partition(":")
    if port == "443":
        return "https"
    if port == "80":
        return "http"
    if port and host in ("localhost", "127.0.0.1"):
        return "http"
    return "https"
