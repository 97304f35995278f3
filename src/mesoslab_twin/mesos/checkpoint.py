"""The agent's checkpoint under ``<work_dir>/meta/slaves`` and the recovery check.

Mesos writes the agent's SlaveInfo (hostname, port, resources, attributes, id) into
``<work_dir>/meta/slaves/<agent id>/slave.info`` and points ``meta/slaves/latest`` at that
folder. On restart it recovers from ``latest``; if the SlaveInfo built from the current flags
differs, recovery fails and the agent exits with status 1 and the 1.0-1.4 text below, until
``latest`` is removed (api-facts §3). The twin keeps the same layout (its ``slave.info`` is
JSON, not a binary protobuf).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesoslab_twin.common.values import Resource, number, parse_ranges, resource_from_json


@dataclass
class SlaveInfo:
    hostname: str
    port: int
    resources: list[Resource]
    attributes: list[tuple[str, Any]]
    id: str = ""

    def comparable(self) -> tuple[Any, ...]:
        resources = sorted(
            (r.name, r.kind, round(r.scalar, 6), r.ranges, tuple(sorted(r.items)), r.role)
            for r in self.resources
        )
        return (
            self.hostname,
            self.port,
            tuple(resources),
            tuple(sorted(map(repr, self.attributes))),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "port": self.port,
            "resources": [r.to_json() for r in self.resources],
            "attributes": [[k, v] for k, v in self.attributes],
            "id": {"value": self.id},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlaveInfo:
        return cls(
            hostname=str(data.get("hostname", "")),
            port=int(data.get("port", 5051)),
            resources=[resource_from_json(r) for r in data.get("resources", [])],
            attributes=[(str(k), v) for k, v in data.get("attributes", [])],
            id=str((data.get("id") or {}).get("value", "")),
        )

    def debug_string(self) -> str:
        """The protobuf text form Mesos prints (``stringify(SlaveInfo)``), fields in order."""
        lines = [f'hostname: "{self.hostname}"']
        for res in self.resources:
            lines.append("resources {")
            lines.append(f'  name: "{res.name}"')
            lines.append(f"  type: {res.kind}")
            if res.kind == "SCALAR":
                lines += ["  scalar {", f"    value: {number(res.scalar)}", "  }"]
            elif res.kind == "RANGES":
                lines.append("  ranges {")
                for begin, end in res.ranges:
                    lines += ["    range {", f"      begin: {begin}", f"      end: {end}", "    }"]
                lines.append("  }")
            else:
                lines.append("  set {")
                lines += [f'    item: "{item}"' for item in res.items]
                lines.append("  }")
            lines.append(f'  role: "{res.role}"')
            lines.append("}")
        for name, value in self.attributes:
            lines += ["attributes {", f'  name: "{name}"']
            if isinstance(value, int | float):
                lines += ["  type: SCALAR", "  scalar {", f"    value: {value}", "  }"]
            elif isinstance(value, str) and value.startswith("["):
                lines += ["  type: RANGES", "  ranges {"]
                for begin, end in parse_ranges(value):
                    lines += ["    range {", f"      begin: {begin}", f"      end: {end}", "    }"]
                lines.append("  }")
            else:
                lines += ["  type: TEXT", "  text {", f'    value: "{value}"', "  }"]
            lines.append("}")
        if self.id:
            lines += ["id {", f'  value: "{self.id}"', "}"]
        lines += ["checkpoint: true", f"port: {self.port}"]
        return "\n".join(lines)


class Checkpoint:
    """``<work_dir>/meta/slaves``: where the agent's identity survives restarts."""

    def __init__(self, work_dir: Path, shown_work_dir: str) -> None:
        self.meta = work_dir / "meta"
        self.slaves = self.meta / "slaves"
        self.latest = self.slaves / "latest"
        self.shown_latest = os.path.join(shown_work_dir, "meta", "slaves", "latest")

    def recovered(self) -> SlaveInfo | None:
        """The checkpointed SlaveInfo that ``latest`` points at (None: start as a new agent)."""
        target = self.latest
        if not target.exists():
            return None
        try:
            data = json.loads((target / "slave.info").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return SlaveInfo.from_json(data)

    def save(self, info: SlaveInfo) -> Path:
        folder = self.slaves / info.id
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / "slave.info.tmp"
        temp.write_text(json.dumps(info.to_json(), indent=1) + "\n", encoding="utf-8")
        temp.replace(folder / "slave.info")
        link = self.slaves / "latest.tmp"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(folder)
        link.replace(self.latest)
        return folder

    def forget(self) -> None:
        """``rm -f meta/slaves/latest`` (what a removed agent does before registering anew)."""
        if self.latest.is_symlink() or self.latest.exists():
            self.latest.unlink()

    def incompatible(self, old: SlaveInfo, new: SlaveInfo) -> str | None:
        """The Mesos 1.x recovery failure text when ``new`` differs from ``old``."""
        if old.comparable() == new.comparable():
            return None
        rule = "------------------------------------------------------------"
        # Mesos 1.4 compares a copy that carries the old id but prints the new info itself,
        # which has no id yet (MESOS@1.4.3 src/slave/slave.cpp L6125-6134; 1.0-1.3 printed
        # the id, 1.5+ sets it before comparing).
        new_without_id = SlaveInfo(new.hostname, new.port, new.resources, new.attributes, "")
        return "\n".join(
            [
                "Failed to perform recovery: Incompatible agent info detected.",
                rule,
                "Old agent info:",
                old.debug_string(),
                rule,
                "New agent info:",
                new_without_id.debug_string(),
                rule,
            ]
        )

    def remedy(self) -> str:
        return "\n".join(
            [
                "To remedy this do as follows:",
                f"Step 1: rm -f {self.shown_latest}",
                "        This ensures agent doesn't recover old live executors.",
                "Step 2: Restart the agent.",
            ]
        )
