"""Pulling an image over a registry's HTTP API v2, as Mesos 1.4.3's registry puller does.

The manifest is asked for as schema 1 (``Accept:
application/vnd.docker.distribution.manifest.v1+json``, MESOS@1.4.3 src/uri/fetchers/docker.cpp
L597-601); a registry holding a schema 2 image rewrites it for such a client (Docker's
registry 2.x does). Any other answer type fails ``Unsupported manifest MIME type: <type>``
(L660-680), any status but 200 ``Unexpected HTTP response '<status>' when trying to get the
manifest`` (L649-652). A 401 with a ``Bearer`` challenge is answered with an anonymous token
(Docker Hub). The layers are the ``fsLayers`` blobs; their ids are the ``v1Compatibility``
ids, lowest layer first (provisioner/docker/registry_puller.cpp L340-383). ``library/`` is
put before a one-part name only for a ``docker.io`` registry (L185-209).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mesoslab_twin.mesos.ucr.reference import ImageReference, registry_scheme

SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
TIMEOUT = 60.0


class PullError(Exception):
    """A pull failed; the message is Mesos's."""


@dataclass
class PulledLayer:
    id: str
    v1_json: str  # the layer's v1 manifest (``json`` in the store)
    tar: Path  # the layer's tarball (gzipped as the registry serves it)


def base_url(reference: ImageReference, default_registry: str) -> str:
    if reference.registry:
        return f"{registry_scheme(reference.registry)}://{reference.registry}"
    parsed = urllib.parse.urlsplit(default_registry)
    return f"{parsed.scheme or 'https'}://{parsed.netloc or parsed.path}"


def repository(reference: ImageReference, default_registry: str) -> str:
    domain = reference.registry or urllib.parse.urlsplit(default_registry).netloc
    if "docker.io" in domain and "/" not in reference.repository:
        return f"library/{reference.repository}"
    return reference.repository


def _open(url: str, accept: str | None, token: str | None) -> urllib.request.Request:
    request = urllib.request.Request(url)
    if accept:
        request.add_header("Accept", accept)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return request


def _token(challenge: str) -> str | None:
    """An anonymous token for a ``Bearer realm=...,service=...,scope=...`` challenge."""
    if not challenge.lower().startswith("bearer "):
        return None
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = fields.pop("realm", "")
    if not realm:
        return None
    url = realm + "?" + urllib.parse.urlencode(fields)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return str(data.get("token") or data.get("access_token") or "") or None


def _get(url: str, accept: str | None, what: str) -> tuple[bytes, str]:
    """GET ``url`` (anonymous token on a 401); the body and its Content-Type."""
    token: str | None = None
    for _attempt in range(2):
        try:
            with urllib.request.urlopen(_open(url, accept, token), timeout=TIMEOUT) as answer:
                return answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            challenge = exc.headers.get("WWW-Authenticate", "")
            if exc.code == 401 and token is None and (token := _token(challenge)):
                continue
            raise PullError(
                f"Unexpected HTTP response '{exc.code} {exc.reason}' when trying to get the {what}"
            ) from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PullError(f"Failed to perform 'curl': {reason}") from None
    raise PullError(f"Unexpected HTTP response '401 Unauthorized' when trying to get the {what}")


def pull(reference: ImageReference, default_registry: str, staging: Path) -> list[PulledLayer]:
    """Fetch the manifest and every layer blob into ``staging``; the layers, lowest first."""
    base = base_url(reference, default_registry)
    repo = repository(reference, default_registry)
    body, content_type = _get(f"{base}/v2/{repo}/manifests/{reference.version}", SCHEMA1,
                              "manifest")  # fmt: skip
    if content_type and not content_type.startswith(
        ("application/vnd.docker.distribution.manifest.v1", "application/json")
    ):
        raise PullError(f"Unsupported manifest MIME type: {content_type}")
    try:
        manifest = json.loads(body)
        blobs = [str(layer["blobSum"]) for layer in manifest["fsLayers"]]
        histories = [str(entry["v1Compatibility"]) for entry in manifest["history"]]
        ids = [str(json.loads(text)["id"]) for text in histories]
    except (ValueError, KeyError, TypeError) as exc:
        raise PullError(f"Failed to parse the image manifest: {exc}") from None
    (staging / "manifest").write_bytes(body)
    layers: list[PulledLayer] = []
    seen: set[str] = set()
    for blob, history, layer_id in zip(blobs, histories, ids, strict=False):
        if layer_id in seen:
            continue
        seen.add(layer_id)
        tar = staging / blob
        if not tar.exists():
            data, _ = _get(f"{base}/v2/{repo}/blobs/{blob}", None, "blob")
            tar.write_bytes(data)
        layers.insert(0, PulledLayer(layer_id, history, tar))
    return layers
