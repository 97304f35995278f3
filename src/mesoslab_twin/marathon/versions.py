"""App versions: every change of an app (create, PUT/PATCH, restart, rollback) is a version.

Marathon names a version by the timestamp of the change, printed as ISO-8601 in UTC with
milliseconds (``2017-03-06T15:40:28.123Z``), keeps the definition of each one, lists them on
``/v2/apps/{id}/versions`` and gives one back on ``/v2/apps/{id}/versions/{version}`` (the
version is parsed as a timestamp, so any ISO-8601 spelling of the same instant finds it).
It keeps at most ``zk_max_versions`` (50) of them. MARATHON@v1.4.12
``api/v2/AppVersionsResource.scala`` L28-51, ``MarathonSchedulerService.scala`` L128-142.
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime
from typing import Any

MAX_VERSIONS = 50  # --zk_max_versions (shown by /v2/info)

_lock = threading.Lock()
_last_ms = 0


def new_version() -> str:
    """Now as a Marathon timestamp, later than every one given before (two changes in the
    same millisecond are still two versions)."""
    global _last_ms
    with _lock:
        ms = max(int(time.time() * 1000), _last_ms + 1)
        _last_ms = ms
    return format_ms(ms)


def format_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def parse(version: str) -> datetime | None:
    """A timestamp as Marathon's ``Timestamp(String)`` reads it; None when it is none."""
    try:
        stamp = datetime.fromisoformat(version.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def record(versions: dict[str, dict[str, Any]], definition: dict[str, Any]) -> None:
    """Keep ``definition`` as the version it names; the oldest go past MAX_VERSIONS."""
    versions[str(definition["version"])] = copy.deepcopy(definition)
    for old in sorted(versions)[: max(0, len(versions) - MAX_VERSIONS)]:
        del versions[old]


def listing(versions: dict[str, dict[str, Any]]) -> list[str]:
    """The versions, newest first."""
    return sorted(versions, reverse=True)


def find(versions: dict[str, dict[str, Any]], version: str) -> dict[str, Any] | None:
    wanted = parse(version)
    if wanted is None:
        return None
    for name, definition in versions.items():
        if parse(name) == wanted:
            return copy.deepcopy(definition)
    return None
