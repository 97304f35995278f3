"""One step of a lesson notebook: its heading, then its body (prose, cells, checks).

Only the current step's body is shown (or every step's, on request), and a step's prose is
shown the first time it opens; the steps next to the current one have their prose drawn
ahead while the learner reads (:meth:`StepSection.warm`). The prose is one widget rendering
rich's Markdown, not Textual's Markdown widget, which makes a widget per paragraph, list
item and table cell: those were half of a long lesson's widgets, and laying them out made
opening a lesson or changing step stall the app for over 100 ms (benchmarks/tui_bench.py).
"""

from __future__ import annotations

import asyncio
import contextlib

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed


class _Rendered:
    """A rich renderable drawn once per set of console options: Textual measures a
    widget's height by rendering it, then renders it again to paint; Markdown is the
    slowest part of both. The options of its last paint are kept: a closed step's prose
    is drawn ahead (:meth:`warm`) with those of a shown one, which its own paint brings."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._key: tuple[object, ...] | None = None
        self._lines: list[list[Segment]] = []
        self.draws = 0  # how many times the lines were drawn (a new width draws again)
        self.painted_with: ConsoleOptions | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self.painted_with = options
        self.warm(console, options)
        new_line = Segment.line()
        for line in self._lines:
            yield from line
            yield new_line

    def warm(self, console: Console, options: ConsoleOptions) -> None:
        """Draw the lines for ``options`` unless they are drawn already."""
        key = (options.max_width, options.justify, options.overflow, options.no_wrap,
               options.highlight, options.markup)  # fmt: skip
        if key != self._key:
            self._lines = console.render_lines(
                self.renderable, options.update(height=None), pad=False, new_lines=False
            )
            self._key = key
            self.draws += 1

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


class Prose(Static):
    """A step's Markdown prose: one widget rendering rich's Markdown, made the first time
    its step opens. A click on a link posts :class:`Prose.LinkClicked`."""

    class LinkClicked(Message):
        def __init__(self, href: str) -> None:
            super().__init__()
            self.href = href

    def __init__(self, text: str) -> None:
        super().__init__("", classes="prose")
        self.text = text
        self.made = False  # shown: the widget renders it
        self._rendered: _Rendered | None = None

    def _renderable(self) -> _Rendered:
        if self._rendered is None:
            from rich.markdown import Markdown

            self._rendered = _Rendered(Markdown(self.text, hyperlinks=True))
        return self._rendered

    @property
    def draws(self) -> int:
        """How many times its lines were drawn, ahead or to be shown."""
        return self._rendered.draws if self._rendered is not None else 0

    async def make(self) -> None:
        if self.made:
            return
        self.made = True
        self.update(self._renderable())

    @property
    def painted_with(self) -> ConsoleOptions | None:
        """The console options of its last paint (None before one)."""
        return self._rendered.painted_with if self._rendered is not None else None

    def warm(self, options: ConsoleOptions) -> None:
        """Draw the prose's lines now, while its step is closed and the learner reads
        another (``options``: a shown prose's paint): opening the step then only lays
        them out. Nothing is shown or laid out here."""
        if not self.made and self.is_attached:
            self._renderable().warm(self.app.console, options)

    def on_click(self, event: events.Click) -> None:
        link = event.style.link
        if link:
            event.stop()
            self.post_message(self.LinkClicked(link))


class StepHeading(Static):
    """``▾ Step 3 Restart the agents  ✘ not yet`` (click to open the step)."""

    class Clicked(Message):
        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    def __init__(self, number: int, title: str, summary: str) -> None:
        super().__init__(classes="step-heading")
        self.number = number
        self.title_text = title
        self.summary = summary
        self.state = ""
        self.open = False
        self.current = False

    def on_mount(self) -> None:
        self.render_heading()

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Clicked(self.number))

    def render_heading(self) -> None:
        text = Text()
        text.append("▾ " if self.open else "▸ ", style="dim")
        if self.number:
            text.append(f"Step {self.number} ", style="bold")
        text.append(self.title_text, style="bold")
        if self.state == "passed":
            text.append("  ✔ passed", style="green")
        elif self.state == "failed":
            text.append("  ✘ not yet", style="red")
        elif self.state == "skipped":
            text.append("  – skipped, not verified", style="yellow")
        if self.current:
            text.append("  ◀ you are here", style="dim")
        elif not self.open and self.summary:
            text.append(f"  {self.summary}", style="dim")
        self.update(text)


class StepSection(Vertical):
    def __init__(self, number: int, heading: StepHeading, body: list[Widget]) -> None:
        super().__init__(classes="step", id=f"step-{number}")
        self.number = number
        self.heading = heading
        self.body = body
        self._prose: Worker[None] | None = None  # making the prose, the first time it opens

    def compose(self) -> ComposeResult:
        yield self.heading
        container = Vertical(classes="step-body")  # filled by fill(), a widget at a time
        container.display = False
        yield container

    async def fill(self, *, prose: bool = False) -> None:
        """Mount the body's widgets one by one, giving the event loop a turn after each;
        with ``prose`` (the step opens first) the prose's widgets are made too."""
        container = self.query_one(".step-body")
        for widget in self.body:
            await container.mount(widget)
            if prose and isinstance(widget, Prose):
                await widget.make()
            await asyncio.sleep(0)

    def painted_with(self) -> ConsoleOptions | None:
        """The console options a shown prose of this step was painted with, if any."""
        found = (w.painted_with for w in self.body if isinstance(w, Prose) and w.made)
        return next((options for options in found if options is not None), None)

    async def warm(self, options: ConsoleOptions) -> None:
        """Draw this closed step's prose ahead, a block per turn of the event loop."""
        for widget in self.body:
            if isinstance(widget, Prose):
                widget.warm(options)
                await asyncio.sleep(0)

    async def prose_ready(self) -> None:
        """Until the prose is made, if it is being made (what follows it is in place)."""
        if self._prose is not None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):  # closing, or a bug shown
                await self._prose.wait()

    def show(self, *, current: bool, open_: bool) -> None:
        # Classes go on the heading (a leaf): a class on the section would restyle its
        # whole body.
        if current == self.heading.current and open_ == self.heading.open:
            return
        self.heading.set_class(current, "-current")
        self.heading.current = current
        self.heading.open = open_
        self.query_one(".step-body").display = open_
        self.heading.render_heading()
        if open_ and any(isinstance(w, Prose) and not w.made for w in self.body):
            self._prose = self.run_worker(self._make_prose(), group="prose", exit_on_error=False)

    async def _make_prose(self) -> None:
        for widget in self.body:
            if isinstance(widget, Prose) and widget.is_attached:
                await widget.make()

    def set_state(self, state: str) -> None:
        self.heading.state = state
        self.heading.set_class(state == "passed", "-passed")
        self.heading.render_heading()
