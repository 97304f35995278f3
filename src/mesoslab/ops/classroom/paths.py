"""Where the classroom keeps its files; every path honours the XDG variables, so several
learners (and an instructor) can share one machine."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(variable: str, fallback: str) -> Path:
    base = os.environ.get(variable) or str(Path.home() / fallback)
    return Path(base) / "mesoslab"


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/mesoslab: the learner's join record (with its token, 0600)."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    """$XDG_STATE_HOME/mesoslab: the learner's outbox of events not yet sent."""
    return _xdg("XDG_STATE_HOME", ".local/state")


def data_dir() -> Path:
    """$XDG_DATA_HOME/mesoslab: the instructor's class database."""
    return _xdg("XDG_DATA_HOME", ".local/share")


def membership_path() -> Path:
    return config_dir() / "class.json"


def outbox_path() -> Path:
    return state_dir() / "class-outbox.sqlite3"


def sender_lock_path() -> Path:
    return state_dir() / "class-sender.lock"


def class_db_path() -> Path:
    return data_dir() / "classroom.sqlite3"
