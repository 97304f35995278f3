"""One error hierarchy for everything a user can be told about.

Every error carries a short title and a message written for the person at the keyboard:
what went wrong and what to do next, and optionally ``details``: lines shown beneath it
(the last lines of a failed command's output). The CLI prints ``str(error)`` on one line,
then the details, and exits 2; the TUI shows title and message in a notification.

Errors that never reach a person stay beside the code that raises and handles them (a
probe's ProbeError becomes a failed check with its summary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mesoslab.remote.result import CommandResult


class MesoslabError(Exception):
    """Base of every error mesoslab reports to a user."""

    title = "mesoslab error"

    def __init__(self, message: str, *, hint: str = "", details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(MesoslabError):
    title = "Usage error"


class InventoryError(MesoslabError):
    title = "Inventory error"


class LabSpecError(UsageError):
    """lab.toml is missing, unreadable or says something that cannot be built."""

    title = "lab.toml error"


class InitError(UsageError):
    """``mesoslab init`` cannot write the lab it was asked for."""

    title = "init error"


class LessonError(MesoslabError):
    """A lesson could not be found or loaded; ``problems`` lists every ``file:line`` issue."""

    title = "Lesson error"

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.problems = problems or []


class LabError(MesoslabError):
    """Vagrant or a box build failed; the message names the machines, ``details`` holds the
    last lines of the output."""

    title = "Lab error"

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        machines: tuple[str, ...] = (),
        details: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.machines = machines


class LabCancelled(LabError):
    """The user cancelled a long Vagrant run (Ctrl-C); the processes are gone."""

    title = "Cancelled"


class ChannelError(MesoslabError):
    """The package channel cannot work (probe failed, or the local folder is unusable)."""

    title = "Package channel unavailable"


class RemoteError(MesoslabError):
    """A command could not be run on a node (connect, auth, timeout, dropped connection)."""

    title = "Remote command failed"


class ConnectionDropped(RemoteError):
    """The SSH connection died while a command ran; ``partial`` holds the output so far.

    The command may or may not have completed on the node, so it is never re-run.
    """

    title = "SSH connection dropped"

    def __init__(self, message: str, *, partial: CommandResult, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.partial = partial


class RemoteCommandError(RemoteError):
    """A helper command (reading or writing a file) exited non-zero on the node."""

    def __init__(self, message: str, *, exit_status: int, stderr: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.exit_status = exit_status
        self.stderr = stderr


class ProgressError(MesoslabError):
    title = "Progress store error"


class ClassroomError(MesoslabError):
    """The classroom cannot do what was asked: not joined, the server unreachable or it said
    no (wrong class code, name taken, token rejected), the class database unusable."""

    title = "Classroom error"
