"""The output panel: Vagrant and provisioning lines, prefixed with their node, streamed live.

Worker threads call :meth:`LogPanel.feed` (thread-safe: it only appends to a deque); a timer
on the event loop writes what arrived in one batch per tick. The panel is a Textual ``Log``,
which renders only the lines on screen, so thousands of lines never stall the app; each
node's prefix is coloured by a highlighter. It follows the newest line while the reader is
at the bottom (even when the panel is resized under it), and stays put once they scroll up.
"""

from __future__ import annotations

import collections
import textwrap
import threading

from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Log

NODE_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan")
FLUSH_EVERY = 0.05  # seconds
MAX_BATCH = 5_000  # lines written per tick at most
MAX_PENDING = 50_000  # lines waiting beyond this are dropped (counted and said)
SEPARATOR = " │ "


class _NodeHighlighter(Highlighter):
    """Colours a line's node prefix, and whole note lines in their style."""

    def __init__(self, panel: LogPanel) -> None:
        self.panel = panel

    def highlight(self, text: Text) -> None:
        plain = text.plain
        style = self.panel.note_styles.get(plain)
        if style is not None:
            text.stylize(style)
            return
        node, sep, _ = plain.partition(SEPARATOR)
        if sep:
            text.stylize(self.panel.colours.get(node.strip(), "white"), 0, len(node))


class LogPanel(Log):
    """A Log fed from threads; ``max_lines`` bounds its memory."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, max_lines=10_000, highlight=True)
        self.highlighter = _NodeHighlighter(self)
        self.colours: dict[str, str] = {}
        self.note_styles: dict[str, str] = {}
        self._pending: collections.deque[str | tuple[str, str]] = collections.deque()
        self._prefix_width = 6
        self._lock = threading.Lock()
        self._dropped = 0
        self.lines_written = 0  # lines taken off the queue (written or dropped)
        self.following = True  # the reader is at the bottom: new lines scroll into view

    def on_mount(self) -> None:
        self.set_interval(FLUSH_EVERY, self.flush)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Log's own follow test ("at the end before writing") loses the tail as soon as the
        # panel shrinks or a batch lands before layout; follow what the reader did instead.
        if new_value >= self.max_scroll_y:
            self.following = True
        elif new_value < old_value:
            self.following = False

    def on_resize(self) -> None:
        if self.following:
            self.scroll_end(animate=False, x_axis=False)

    def set_nodes(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self.colours.setdefault(name, NODE_COLOURS[len(self.colours) % len(NODE_COLOURS)])
            self._prefix_width = max([6, *(len(n) for n in self.colours)])

    # -- thread-safe feeders --------------------------------------------------------------

    def feed(self, node: str, line: str) -> None:
        """One output line of ``node`` ("" for lines that name no machine)."""
        self._pending.append(f"{node or '·':<{self._prefix_width}}{SEPARATOR}{line.rstrip()}")
        if len(self._pending) > MAX_PENDING:
            self._pending.popleft()
            self._dropped += 1

    def note(self, text: str, style: str = "bold") -> None:
        """A line of mesoslab's own (a phase, a result, an error), wrapped to the panel."""
        self._pending.append((text, style))

    # -- event loop -----------------------------------------------------------------------

    def flush(self) -> None:
        if not self._pending and not self._dropped:
            return
        width = max(20, self.scrollable_content_region.width - 1)
        lines: list[str] = []
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            self.lines_written += dropped
            lines.append(self._styled(f"… {dropped} lines not shown (too fast to show)", "dim"))
        taken = 0
        while self._pending and taken < MAX_BATCH:
            item = self._pending.popleft()
            taken += 1
            if isinstance(item, str):
                lines.append(item)
            else:
                text, style = item
                for paragraph in text.splitlines() or [""]:
                    for line in textwrap.wrap(paragraph, width) or [""]:
                        lines.append(self._styled(line, style))
        self.write_lines(lines, scroll_end=False)
        if self.following:
            self.scroll_end(animate=False, x_axis=False)
        self.lines_written += taken

    def _styled(self, line: str, style: str) -> str:
        self.note_styles[line] = style
        return line

    @property
    def text(self) -> str:
        """Everything in the panel (for tests and copying)."""
        return "\n".join(self.lines)
