"""One error hierarchy for everything a user can be told about.

Every error carries a short title and a message written for the person at the keyboard:
what went wrong and what to do next. The CLI prints ``str(error)`` on one line and exits 2;
the TUI shows title and message in a notification.
"""

from __future__ import annotations


class MesoslabError(Exception):
    """Base of every error mesoslab reports to a user."""

    title = "mesoslab error"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(MesoslabError):
    title = "Usage error"


class InventoryError(MesoslabError):
    title = "Inventory error"


class LessonError(MesoslabError):
    """A lesson could not be found or loaded; ``problems`` lists every ``file:line`` issue."""

    title = "Lesson error"

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.problems = problems or []


class RemoteError(MesoslabError):
    """A command could not be run on a node (connect, auth, timeout, dropped connection)."""

    title = "Remote command failed"


class ProgressError(MesoslabError):
    title = "Progress store error"
