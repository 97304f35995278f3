"""Times a check compares with: an ISO 8601 time, or ``step start``.

A lesson cannot write the time its learner will run a step, so a time parameter of a check
kind (declared ``P(str, moment=True)``) may say ``step start``: the time the step's commands
began, which whoever ran them knows (``mesoslab dev check``, catch-up, ``mesoslab run`` and
the TUI record it). The runner turns the parameter into a :class:`Moment` before the check
sees it. When nobody recorded the start (the learner typed the commands in a terminal of
their own), the Moment has no time and the check says that it compares with none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

STEP_START = "step start"


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 time (``2013-03-15T13:02:14.243Z``, ``+01:00`` offsets; no offset is UTC;
    YAML's own timestamps come as datetimes); None when empty or unreadable."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    value = str(text or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be a time parameter ``name`` (None: it can)."""
    if value == STEP_START or (isinstance(value, str | datetime) and parse_time(value) is not None):
        return None
    return f"{name} must be an ISO 8601 time or '{STEP_START}', got {value!r}"


@dataclass(frozen=True)
class Moment:
    """A resolved time parameter: ``when`` is None for a step start nobody recorded."""

    when: datetime | None
    step_start: bool = False

    def __str__(self) -> str:
        if not self.step_start:
            return self.when.isoformat() if self.when else "?"
        if self.when is None:
            return "the step's start (not recorded)"
        return f"the step's start ({self.when.isoformat(timespec='seconds')})"

    @property
    def unknown_note(self) -> str:
        """What a check adds to its expectation when it cannot compare with the time."""
        if self.when is not None:
            return ""
        return (
            " (the step's start is not recorded: its commands did not run through mesoslab, "
            "so any time counts)"
        )


def resolve(value: object, started: datetime | None) -> Moment:
    """A time parameter as the check compares with it; ``started`` is when the step's
    commands began (None: not recorded)."""
    if value == STEP_START:
        if started is not None and started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        return Moment(started, step_start=True)
    when = parse_time(value)
    if when is None:  # the loader validates; a spec built in code may still be wrong
        raise ValueError(problem("time", value))
    return Moment(when)
