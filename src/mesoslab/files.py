"""Files that must never be left half-written, and JSON documents that may be corrupt.

Every state file mesoslab writes (progress, cell outputs, the lab's inventory and
machines.json) goes through :func:`write_atomic`: a temp file beside the target, fsync,
rename. A reader never sees half a file, whatever happens during the write (Ctrl-C, a full
disk). :func:`load_json_document` reads such a file back; a corrupt one is set aside and
reported, never fatal.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_json_document(
    path: Path, valid: Callable[[Any], bool], what: str
) -> tuple[dict[str, Any] | None, str | None]:
    """(document, warning). None and no warning: no file yet. A file that cannot be read, or
    is not JSON that ``valid`` accepts, gives None and a warning saying what happened to it
    (a corrupt file is renamed ``<name>.corrupt-<time>``); ``what`` names it in the warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read {what} {path}: {exc}; starting afresh"
    try:
        data = json.loads(text)
        if not valid(data):
            raise ValueError(f"not a mesoslab {what}")
        return data, None
    except ValueError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.rename(aside)
            where = f"set aside as {aside}"
        except OSError:
            where = "left in place"
        return None, f"{what} {path} was corrupt ({exc}); {where}; starting afresh"
