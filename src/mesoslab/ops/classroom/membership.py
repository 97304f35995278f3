"""The learner's join record: the class's URL, the learner's name and token, and whether
step output may be shared. One JSON file, 0600, in $XDG_CONFIG_HOME/mesoslab/class.json."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from mesoslab.errors import ClassroomError
from mesoslab.ops.classroom.paths import membership_path


@dataclass(frozen=True)
class Membership:
    url: str  # http(s)://host:port of `class serve`
    class_name: str
    name: str
    token: str
    share_output: bool = False
    joined_at: str = ""


def load_membership(path: Path | None = None) -> Membership | None:
    """The join record, or None when this learner has not joined (or it is unreadable)."""
    path = path or membership_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Membership(**{k: data[k] for k in Membership.__dataclass_fields__ if k in data})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError):
        return None


def save_membership(member: Membership, path: Path | None = None) -> Path:
    """Written atomically and never readable by others (it holds the learner's token)."""
    path = path or membership_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(member), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ClassroomError(f"cannot save the class membership in {path}: {exc}") from exc
    return path


def remove_membership(path: Path | None = None) -> bool:
    path = path or membership_path()
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def require_membership() -> Membership:
    member = load_membership()
    if member is None:
        raise ClassroomError(
            "you have not joined a class",
            hint="join with the line your instructor shows: mesoslab class join URL --code "
            "CODE --name NAME",
        )
    return member
