"""How an error reaches the person at the keyboard: a title and a message, never a traceback.
Plain Python: no Textual."""

from __future__ import annotations

from mesoslab.errors import MesoslabError

NOTIFY_LINES = 4  # a notification shows the first lines; the full text goes to a panel


def error_parts(exc: BaseException) -> tuple[str, str]:
    """``(title, message)`` for ``exc``: a MesoslabError says what to do; anything else is a bug."""
    if isinstance(exc, MesoslabError):
        return exc.title, str(exc)
    text = str(exc).strip() or "(no message)"
    return (
        "Unexpected error",
        f"{exc.__class__.__name__}: {text}\nThis is a bug in mesoslab: please report it "
        "with what you were doing.",
    )


def short_message(message: str, lines: int = NOTIFY_LINES) -> str:
    kept = [line for line in message.splitlines() if line.strip()]
    if len(kept) <= lines:
        return "\n".join(kept)
    return "\n".join([*kept[: lines - 1], f"… ({len(kept) - lines + 1} more lines in the log)"])
