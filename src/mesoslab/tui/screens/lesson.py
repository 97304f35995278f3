"""A lesson as a notebook: the Markdown rendered step by step, the commands as runnable cells
with the nodes they run on, each step's checks verified live, a scratch cell, and catch-up.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Header, OptionList, Static
from textual.worker import Worker

from mesoslab.errors import MesoslabError
from mesoslab.tui.dialogs.confirm import ConfirmScreen
from mesoslab.tui.notebook import CELL, PROSE, readable_prose, step_segments, where_text
from mesoslab.tui.screens.base import BaseScreen
from mesoslab.tui.widgets.check_list import CheckList
from mesoslab.tui.widgets.command_cell import CommandCell
from mesoslab.tui.widgets.footer import KeyFooter
from mesoslab.tui.widgets.step_section import Prose, StepHeading, StepSection
from mesoslab.tui.widgets.step_toc import StepToc

if TYPE_CHECKING:
    from mesoslab.checks.result import CheckResult, Waiting
    from mesoslab.lessons.model import Lesson
    from mesoslab.lessons.verify import VerifyReport
    from mesoslab.remote.session import Session
    from mesoslab.tui.cells import CellRecord
    from mesoslab.tui.runtime import NotebookRuntime

# How long after a step change the prose of its neighbours is drawn ahead: after the
# change's own frames, before a reader who pauses on the step presses `n` again.
WARM_AFTER = 0.05
_LESSON_LINK = re.compile(r"(?:^|/)(?:lesson-?)?0*(\d{1,2})(?:-[\w-]+)?(?:/lesson\.md)?/?$")


# What the screen's thread workers report (posted to the screen, handled on the event loop).


@dataclass
class LessonLoaded(Message, bubble=False):
    """The lesson is read, with what this lab kept of it: the notebook can be built."""

    lesson: Lesson
    runtime: NotebookRuntime
    states: dict[int, str]  # step -> "passed" | "failed" | "skipped"
    records: dict[str, CellRecord]  # each cell's last run
    last: dict[int, list[CheckResult]]  # each step's last verify
    notes: list[str]  # warnings about the progress or cells files


@dataclass
class LoadFailed(Message, bubble=False):
    """The lesson file cannot be loaded."""

    exc: MesoslabError


@dataclass
class PrerequisitesChecked(Message, bubble=False):
    """Which lessons this one builds on are not done on this lab (empty: none)."""

    lesson: Lesson
    unfinished: list[Any]


@dataclass
class VerifyFailed(Message, bubble=False):
    """A verify could not plan its checks (nothing ran)."""

    exc: MesoslabError


@dataclass
class VerifyStarted(Message, bubble=False):
    """A verify planned its checks and runs them: ``rows`` are (index, step, kind, label)."""

    rows: list[tuple[int, int, str, str]]
    step: int | None  # None: every step


@dataclass
class CheckSettled(Message, bubble=False):
    """Check ``index`` of the running verify's plan has its result."""

    index: int
    result: CheckResult


@dataclass
class CheckWaiting(Message, bubble=False):
    """Check ``index`` has not settled: what it saw last, and its deadline."""

    index: int
    waiting: Waiting


@dataclass
class VerifyDone(Message, bubble=False):
    """The verify is over and kept: ``states`` as the progress file has them now (None: no
    progress file, or it could not be saved, which ``warning`` says)."""

    report: VerifyReport
    states: dict[int, str] | None
    warning: str | None


class LessonScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_step", "Run"),
        Binding("v", "verify_step", "Verify", tooltip="Verify this step"),
        Binding("V", "verify_lesson", "Verify all", show=False),
        Binding("n", "next_step", "Next", tooltip="Next step"),
        Binding("p", "prev_step", "Prev step", show=False),
        Binding("s", "solution", "Solution", show=False),
        Binding("x", "scratch", "Scratch cell", show=False),
        Binding("C", "catch_up", "Catch up"),
        Binding("a", "toggle_all", "All steps", show=False),
        Binding("b", "toggle_toc", "Steps panel", show=False),
        Binding("escape", "back", "Back"),
        Binding("q", "app.quit", "", show=False),  # "q / ctrl+q" is in the help's global keys
    ]

    def __init__(self, lesson_id: str) -> None:
        super().__init__(classes="lesson-screen")
        self.lesson_id = lesson_id
        self.lesson: Lesson | None = None
        self.current = 1
        self.show_all = False  # every step open, not just the current one
        self.ready = False  # the whole notebook is mounted
        self.runtime: NotebookRuntime | None = None
        self.states: dict[int, str] = {}
        self._verify_worker: Worker[None] | None = None
        self._verify_session: Session | None = None
        self._stopped_waiting = False  # Escape during a verify: show what the checks saw
        self._plan_steps: dict[int, int] = {}
        self.sections: dict[int, StepSection] = {}  # by step number (0: the introduction)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        prerequisites = Static("", id="prerequisites", classes="lesson-note")
        prerequisites.display = False  # shown when an earlier lesson is not done on this lab
        yield prerequisites
        with Horizontal(id="lesson-body"):
            yield Static("Opening the lesson…", id="opening")
            notebook = VerticalScroll(id="notebook")
            notebook.display = False  # filled out of sight, then shown in one go
            yield notebook
        yield KeyFooter()

    @property
    def notebook(self) -> VerticalScroll:
        return self.query_one("#notebook", VerticalScroll)

    def on_mount(self) -> None:
        self.sub_title = f"{self.lesson_id} · {self.mapp.context.label}"
        self._load()

    def on_unmount(self) -> None:
        self._stop()
        if self.mapp.gc_pacer is not None:
            self.mapp.gc_pacer.release()  # its widgets are garbage now (tui/gc_pacing.py)

    def _stop(self) -> None:
        if self._verify_session is not None:
            self._verify_session.cancelled.set()
        if self.runtime is not None:
            self.runtime.close()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "catch_up":  # lesson 1 has nothing before it; no lab, nothing to run on
            lesson = self.lesson
            return self.mapp.context.has_lab and (lesson is None or lesson.number > 1)
        return True

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [
            ("Run the step's command", "Run the current step's next command cell", "run_step"),
            ("Verify this step", "Run the current step's checks live", "verify_step"),
            ("Verify the whole lesson", "Run every step's checks at once", "verify_lesson"),
            ("Next step", "Move to the next step", "next_step"),
            ("Previous step", "Move to the previous step", "prev_step"),
            ("Show the solution", "The commands of the current step", "solution"),
            ("Scratch cell", "Run any command on any node", "scratch"),
            ("Catch up", "Apply the solutions of the previous lessons", "catch_up"),
            ("Toggle the steps panel", "Show or hide the table of contents", "toggle_toc"),
            ("Open every step", "Show every step's text, not just the current one", "toggle_all"),
            ("Back to the lessons", "Close this lesson", "back"),
        ]

    # ------------------------------------------------------------------ loading

    @work(thread=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        from mesoslab.lessons.catalog import load
        from mesoslab.ops.verify import step_states
        from mesoslab.tui.runtime import NotebookRuntime

        try:
            lesson = load(self.lesson_id)
        except MesoslabError as exc:
            self.post_message(LoadFailed(exc))
            return
        ctx = self.mapp.context
        store = self.mapp.cell_store()
        states, warning = step_states(lesson.id, ctx.progress_path())
        runtime = NotebookRuntime(lesson.id, ctx.platform, ctx.inventory, store)
        records = {
            key: rec
            for step in lesson.steps
            for seg in step_segments(step, ctx.platform)
            if seg.kind == CELL
            and (rec := store.cell(lesson.id, key := seg.cell_key(step.number))) is not None
        }
        last = {step.number: store.checks(lesson.id, step.number) for step in lesson.steps}
        notes = [note for note in (warning, store.warning) if note]
        self.post_message(LessonLoaded(lesson, runtime, states, records, last, notes))
        self._check_prerequisites(lesson)  # reported after LessonLoaded: the screen's queue is FIFO

    def _check_prerequisites(self, lesson: Lesson) -> None:
        """Say which lessons this one builds on are not done on this lab (worker thread)."""
        from mesoslab.ops.prerequisites import unfinished_prerequisites

        ctx = self.mapp.context
        path = ctx.progress_path()
        if not ctx.has_lab or path is None or lesson.number <= 1:
            return
        self.post_message(PrerequisitesChecked(lesson, unfinished_prerequisites(lesson, path)))

    def on_prerequisites_checked(self, message: PrerequisitesChecked) -> None:
        lesson, unfinished = message.lesson, message.unfinished
        note = self.query_one("#prerequisites", Static)
        note.display = bool(unfinished)
        self.refresh_bindings()
        if not unfinished:
            return
        earlier = "lesson-1" if lesson.number == 2 else f"lessons 1–{lesson.number - 1}"
        text = Text()
        text.append(f"{lesson.id} starts where ", style="bold")
        text.append(" and ".join(p.lesson for p in unfinished), style="bold")
        text.append(" ended, and that is not done on this lab yet", style="bold")
        text.append(f" ({'; '.join(p.text for p in unfinished)}). ")
        text.append("Work through it first, or press ")
        text.append("C", style="bold reverse")
        text.append(f" to catch up: mesoslab runs the commands of {earlier} for you.")
        note.update(text)

    def on_load_failed(self, message: LoadFailed) -> None:
        exc = message.exc
        self.query_one("#opening").display = False
        self.notebook.display = True
        problems = getattr(exc, "problems", [])
        text = Text(f"{exc.title}: {exc}\n", style="red")
        for problem in problems[:20]:
            text.append(f"  {problem}\n")
        text.append("\n`mesoslab lint` lists every problem. Escape goes back.", style="dim")
        self.notebook.mount(Static(text, classes="load-error"))

    def on_lesson_loaded(self, message: LessonLoaded) -> None:
        for note in message.notes:
            self.notify(note)
        self._build(message.lesson, message.runtime, message.states, message.records, message.last)

    def _build(
        self,
        lesson: Lesson,
        runtime: NotebookRuntime,
        states: dict[int, str],
        records: dict[str, CellRecord],
        last: dict[int, list[CheckResult]],
    ) -> None:
        from mesoslab.tui.widgets.scratch_cell import ScratchCell

        self.lesson = lesson
        self.runtime = runtime
        self.states = states
        self.sections = {}
        self.sub_title = f"{lesson.id} · {self.mapp.context.label}"
        platform = runtime.platform
        widgets: list[Widget] = [
            Static(Text(f"{lesson.id} · {lesson.title}", style="bold"), classes="lesson-title"),
            Static(Text(lesson.summary, style="italic"), classes="lesson-summary"),
        ]
        if self.mapp.context.rehearsal:
            widgets.append(
                Static(
                    "Rehearsal lab: the commands marked rehearsal are the ones that run here.",
                    classes="lesson-note",
                )
            )
        if lesson.intro:
            intro = Prose(readable_prose(lesson.intro))
            heading = StepHeading(0, "Introduction", "opens with step 1")
            self.sections[0] = StepSection(0, heading, [intro])
            widgets.append(self.sections[0])
        for step in lesson.steps:
            children: list[Widget] = []
            segments = step_segments(step, platform)
            for seg in segments:
                if seg.kind == PROSE:
                    children.append(Prose(seg.text))
                elif seg.kind == CELL and seg.action is not None:
                    key = seg.cell_key(step.number)
                    children.append(
                        CommandCell(
                            runtime,
                            key=key,
                            step=step.number,
                            target=seg.action.on,
                            code=seg.action.code,
                            sudo=seg.action.sudo,
                            where=where_text(seg.action),
                            record=records.get(key),
                        )
                    )
                else:
                    children.append(CheckList(step.number, step.checks, last.get(step.number, [])))
            cells = sum(1 for seg in segments if seg.kind == CELL)
            summary = f"{_count(cells, 'command')} · {_count(len(step.checks), 'check')}"
            heading = StepHeading(step.number, step.title, summary)
            self.sections[step.number] = StepSection(step.number, heading, children)
            widgets.append(self.sections[step.number])
        if self.mapp.context.has_lab:
            widgets.append(ScratchCell(runtime))
        toc = StepToc([(s.number, s.title) for s in lesson.steps], id="toc")
        self.query_one("#lesson-body").mount(toc, before=self.notebook)
        toc.focus()
        first_open = next((s.number for s in lesson.steps if states.get(s.number) != "passed"), 1)
        self._mount_notebook(widgets, first_open)

    @work(group="mount", exclusive=True, exit_on_error=False)
    async def _mount_notebook(self, widgets: list[Widget], current: int) -> None:
        """Mount the notebook a widget at a time while it is hidden (no layout, no painting
        of a half-built page), letting the app take keys in between; then show it in one go,
        the step that opens first with its prose (the others' prose is made when they open)."""
        notebook = self.notebook
        opening = {current, 0} if current == 1 else {current}  # the introduction leads in
        for widget in widgets:
            await notebook.mount(widget)
            if isinstance(widget, StepSection):
                widget.set_state(self.states.get(widget.number, ""))
                await widget.fill(prose=widget.number in opening)
            await asyncio.sleep(0)
        self.query_one("#opening").display = False
        notebook.display = True
        self.query_one(StepToc).set_states(self.states)
        self.ready = True
        if self.mapp.gc_pacer is not None:
            self.mapp.gc_pacer.hold()  # the notebook lives until it closes (tui/gc_pacing.py)
        self.call_after_refresh(self.set_current, current, scroll=current != 1)

    # ------------------------------------------------------------------ steps

    def section(self, number: int) -> StepSection | None:
        """Step ``number``'s section once it is on the screen (kept by number: a query walks
        the whole notebook, a cost paid on every step change)."""
        section = self.sections.get(number)
        return section if section is not None and section.is_attached else None

    def set_current(self, number: int, *, scroll: bool) -> None:
        """Make step ``number`` the current one: its body opens (the others close unless every
        step is shown), the steps panel follows."""
        if self.lesson is None or self.lesson.step(number) is None:
            return
        self.current = number
        from mesoslab.ops.classroom.emit import emit_progress

        emit_progress(self.lesson.id, number)
        for section in self._attached_sections():
            current = section.number == number
            intro_open = section.number == 0 and number == 1  # the introduction leads in
            section.show(current=current, open_=current or intro_open or self.show_all)
        self.query_one(StepToc).show_current(number)
        shown = self.section(number)
        if scroll and shown is not None:
            # after the layout: the sections that just opened or closed change every offset
            self.call_after_refresh(self.notebook.scroll_to_widget, shown, top=True, animate=False)
        self._warm_neighbours(number)

    @work(group="warm", exclusive=True, exit_on_error=False)
    async def _warm_neighbours(self, number: int) -> None:
        """While the learner reads step ``number``, draw the prose of the steps `n` and `p`
        open next: opening a step then costs its layout, not rendering its Markdown too
        (a step change's longest stall, benchmarks/tui_bench.py). A new step change
        cancels this one and starts again from there."""
        await asyncio.sleep(WARM_AFTER)  # the step change's own layout and paint go first
        # the width a step's prose is painted at: this step's, else any shown step's
        sections = sorted(self._attached_sections(), key=lambda s: s.number != number)
        painted = (section.painted_with() for section in sections)
        options = next((found for found in painted if found is not None), None)
        if options is None:  # no prose painted yet: its width is not known
            return
        for neighbour in (number + 1, number - 1):
            section = self.section(neighbour)
            if section is not None and not section.heading.open:
                await section.warm(options)

    def _attached_sections(self) -> list[StepSection]:
        return [s for s in self.sections.values() if s.is_attached]

    def step_cells(self, number: int) -> list[CommandCell]:
        section = self.section(number)
        found = [w for w in section.body if isinstance(w, CommandCell)] if section else []
        return [cell for cell in found if cell.is_attached]

    def _go_to_step(self, number: int) -> None:
        """Step ``number`` becomes current, its heading at the top, its first cell focused
        (so `r` runs it and the footer shows the cell's keys)."""
        self.set_current(number, scroll=True)
        cells = self.step_cells(number)
        if cells:
            cells[0].focus(scroll_visible=False)

    def action_next_step(self) -> None:
        if self.lesson is not None and self.current < len(self.lesson.steps):
            self._go_to_step(self.current + 1)

    def action_prev_step(self) -> None:
        if self.current > 1:
            self._go_to_step(self.current - 1)

    def action_run_step(self) -> None:
        """`r` outside a cell: run the current step's first cell (a focused cell runs itself)."""
        if not self.ready:
            self.notify("the lesson is still opening", severity="warning")
            return
        cells = self.step_cells(self.current)
        if not cells:
            self.notify(
                f"step {self.current} has no command to run here: v verifies it",
                severity="warning",
            )
            return
        cell = next((c for c in cells if c.record is None), cells[0])
        cell.focus()
        cell.action_run()

    @on(OptionList.OptionSelected, "#toc")
    def _toc_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        if option_id.startswith("step-"):
            self.set_current(int(option_id.removeprefix("step-")), scroll=True)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = self.focused
        if widget is None:
            return
        for node in widget.ancestors_with_self:
            if isinstance(node, StepSection):
                if node.number != self.current:
                    self.set_current(node.number, scroll=False)
                return

    def action_toggle_all(self) -> None:
        """Open every step (to read the lesson through), or only the current one again."""
        self.show_all = not self.show_all
        self.set_current(self.current, scroll=False)
        self.notify("every step is open" if self.show_all else "only the current step is open")

    def on_step_heading_clicked(self, event: StepHeading.Clicked) -> None:
        self.set_current(event.number or 1, scroll=event.number != 0)

    def action_toggle_toc(self) -> None:
        toc = self.query(StepToc)
        if toc:
            toc.first().display = not toc.first().display

    async def action_scratch(self) -> None:
        from mesoslab.tui.widgets.scratch_cell import ScratchCell

        found = self.query(ScratchCell)
        if not found:
            self.notify("there is no lab yet: the scratch cell needs one", severity="warning")
            return
        cell = found.first()
        self.notebook.scroll_to_widget(cell, top=True, animate=False)
        await cell.action_edit()

    @on(Prose.LinkClicked)
    def _link(self, event: Prose.LinkClicked) -> None:
        event.stop()
        href = event.href.strip()
        if href.startswith(("http://", "https://")):
            self.app.open_url(href)
            self.notify(f"opened {href} in your browser")
        elif href.startswith("#"):
            return
        elif match := _LESSON_LINK.search(href):
            self.mapp.open_lesson(f"lesson-{int(match.group(1))}")
        else:
            self.notify(f"cannot open link {href}", severity="warning")

    def on_command_cell_ran(self, event: CommandCell.Ran) -> None:
        record = event.record
        if self.lesson is not None:
            from mesoslab.ops.classroom.emit import emit_command

            outcomes = [(o.node, o.exit_status, o.output) for o in record.outputs]
            emit_command(
                self.lesson.id,
                event.cell.step,
                record.command,
                outcomes or [(record.target, -1, record.error)],
                inventory=self.mapp.context.inventory,
            )
            self._note_step_start(event.cell, record)
        if record.ok:
            cells = self.step_cells(event.cell.step)
            later = cells[cells.index(event.cell) + 1 :] if event.cell in cells else []
            if later and self.focused is event.cell:
                later[0].focus()  # a notebook moves on to the next cell
                then = "r runs the next command of the step."
            else:
                then = "v verifies the step."
            self.notify(
                f"step {event.cell.step}: the command ran on {', '.join(record.nodes)}. {then}",
                title="Ran",
            )
        else:
            self.notify(
                "the command failed: read its output under the cell", title="Ran", severity="error"
            )

    def _note_step_start(self, cell: CommandCell, record: CellRecord) -> None:
        """The step's first cell ran: its commands began then (its checks' ``step start``)."""
        cells = self.step_cells(cell.step)
        if self.lesson is None or record.error or not cells or cells[0] is not cell:
            return
        from datetime import datetime

        from mesoslab.ops.verify import record_step_start

        try:
            when = datetime.fromisoformat(record.ran_at)
        except ValueError:
            return
        warning = record_step_start(
            self.lesson.id, cell.step, when, self.mapp.context.progress_path()
        )
        if warning:
            self.notify(warning, severity="warning")

    # ------------------------------------------------------------------ verify

    @property
    def verifying(self) -> bool:
        return self._verify_worker is not None and self._verify_worker.is_running

    def action_verify_step(self) -> None:
        self._start_verify(self.current)

    def action_verify_lesson(self) -> None:
        self._start_verify(None)

    def _start_verify(self, step: int | None) -> None:
        if self.lesson is None or not self.ready:
            self.notify("the lesson is still opening", severity="warning")
            return
        if not self.mapp.context.has_lab:
            self.notify("there is no lab yet, so there is nothing to verify", severity="warning")
            return
        if self.verifying:
            self.notify("a verify is still running", severity="warning")
            return
        self._verify_worker = self._verify(step)

    @work(thread=True, group="verify", exit_on_error=False)
    def _verify(self, step: int | None) -> None:
        from mesoslab.lessons.verify import plan_lesson
        from mesoslab.ops.verify import verify_and_record
        from mesoslab.remote.session import Session

        lesson = self.lesson
        ctx = self.mapp.context
        inventory = ctx.inventory
        if lesson is None or inventory is None:
            return
        try:
            planned = plan_lesson(lesson, inventory, step)
        except MesoslabError as exc:
            self.post_message(VerifyFailed(exc))
            return
        rows = [(i, pc.step, pc.kind.name, pc.label) for i, pc in enumerate(planned)]
        self.post_message(VerifyStarted(rows, step))

        def settled(index: int, result: CheckResult) -> None:
            # from the checks' threads; run_all waits for them all, so every CheckSettled is
            # queued (after VerifyStarted) before VerifyDone
            self.post_message(CheckSettled(index, result))

        def waiting(index: int, seen: Waiting) -> None:
            self.post_message(CheckWaiting(index, seen))

        session = Session(inventory)
        self._verify_session = session
        self._stopped_waiting = False
        try:
            verified = verify_and_record(
                lesson,
                inventory,
                ctx.progress_path(),
                step=step,
                timeout=self.mapp.verify_timeout,
                planned=planned,
                on_result=settled,
                session=session,
                on_waiting=waiting,
            )
        finally:
            self._verify_session = None
            session.close()
        if session.cancelled.is_set() and not self._stopped_waiting:
            return  # the lesson was closed: partial results are not recorded
        keep_checks(self.mapp, verified.report)
        note = verified.warning
        if self._stopped_waiting:  # not recorded: the checks had not settled
            note = "stopped waiting: each check shows what it saw last; not recorded"
        self.post_message(VerifyDone(verified.report, verified.states, note))

    def _checklist(self, step: int) -> CheckList | None:
        section = self.section(step)
        found = [w for w in section.body if isinstance(w, CheckList)] if section else []
        return found[0] if found and found[0].is_attached else None

    def on_verify_failed(self, message: VerifyFailed) -> None:
        self.mapp.show_error(message.exc)

    def on_verify_started(self, message: VerifyStarted) -> None:
        rows, step = message.rows, message.step
        self._plan_steps = {index: s for index, s, _, _ in rows}
        numbers = [step] if step is not None else [s.number for s in self.lesson.steps]  # type: ignore[union-attr]
        for number in numbers:
            checklist = self._checklist(number)
            if checklist is not None:
                checklist.start([(i, kind, label) for i, s, kind, label in rows if s == number])
        what = f"step {step}" if step is not None else "every step"
        self.notify(f"verifying {what}: {len(rows)} checks, all at once", timeout=3)

    def on_check_waiting(self, message: CheckWaiting) -> None:
        step = self._plan_steps.get(message.index)
        checklist = self._checklist(step) if step is not None else None
        if checklist is not None:
            checklist.set_waiting(message.index, message.waiting)

    def on_check_settled(self, message: CheckSettled) -> None:
        step = self._plan_steps.get(message.index)
        checklist = self._checklist(step) if step is not None else None
        if checklist is not None:
            checklist.set_result(message.index, message.result)

    def on_verify_done(self, message: VerifyDone) -> None:
        from mesoslab.checks.result import Status
        from mesoslab.ops.verify import report_state

        report, states, warning = message.report, message.states, message.warning
        first_failed: CheckList | None = None
        for step_report in report.steps:
            checklist = self._checklist(step_report.step)
            if checklist is not None:
                checklist.finish(step_report.results)
                if checklist.failed and first_failed is None:
                    first_failed = checklist
        if states is None:  # no progress file: what this verify saw
            states = dict(self.states)
            for s in report.steps:
                if s.results and not all(r.kind == "drill" for r in s.results):
                    states[s.step] = report_state(s)
        self.states = states
        self.query_one(StepToc).set_states(states)
        for section in self._attached_sections():
            section.set_state(states.get(section.number, ""))
        counts = report.counts()
        failed, passed = counts[Status.FAIL], counts[Status.PASS]
        what = f"step {report.steps[0].step}" if len(report.steps) == 1 else f"{report.lesson}"
        if failed:
            from mesoslab.ops.classroom.emit import emit_hints_shown

            emit_hints_shown(report)
            self.notify(
                f"{what}: ✘ {failed} failed, {passed} passed. "
                "Read the hints; s shows the solution.",
                title="Verify",
                severity="error",
            )
        else:
            self.notify(f"{what}: ✔ {passed} passed. {self._what_next(report)}", title="Verify")
        if first_failed is not None:
            if first_failed.step != self.current:
                self.set_current(first_failed.step, scroll=False)
            self._scroll_to_checks(first_failed)
        if warning:
            self.notify(warning, title="Progress file", severity="warning")

    @work(group="scroll", exclusive=True, exit_on_error=False)
    async def _scroll_to_checks(self, checks: CheckList) -> None:
        """Bring a step's checks to the top once the prose above them is made (a step that
        just opened makes it after this frame)."""
        section = self.section(checks.step)
        if section is not None:
            await section.prose_ready()
        self.call_after_refresh(self.notebook.scroll_to_widget, checks, top=True, animate=False)

    def _what_next(self, report: VerifyReport) -> str:
        lesson = self.lesson
        if lesson is None:
            return ""
        if all(self.states.get(n) == "passed" for n in lesson.counted_steps):
            return f"Every step of {lesson.id} has passed: well done. Escape goes back."
        if len(report.steps) == 1 and report.steps[0].step < len(lesson.steps):
            return f"n goes to step {report.steps[0].step + 1}."
        return ""

    # ------------------------------------------------------------------ help

    def action_solution(self) -> None:
        from mesoslab.tui.dialogs.solution import SolutionScreen

        if self.lesson is None or self.runtime is None:
            return
        step = self.lesson.step(self.current)
        if step is None:
            return
        actions = step.actions_for(self.runtime.platform)
        from mesoslab.ops.classroom.emit import emit_hint

        emit_hint(self.lesson.id, step.number, "solution")
        self.app.push_screen(
            SolutionScreen(
                f"Step {step.number} · {step.title}",
                [(where_text(a), self.runtime.targets_text(a.on), a.code) for a in actions],
            ),
            self._solution_closed,
        )

    def _solution_closed(self, go: bool | None) -> None:
        if go:
            cells = self.step_cells(self.current)
            if cells:
                cell = cells[0]
                self.notebook.scroll_to_widget(cell, top=True, animate=False)
                cell.focus()

    def action_catch_up(self) -> None:
        from mesoslab.tui.dialogs.catch_up import CatchUpScreen

        lesson = self.lesson
        ctx = self.mapp.context
        if lesson is None:
            return
        if lesson.number <= 1:
            self.notify("lesson-1 is the first lesson: there is nothing to catch up on")
            return
        if ctx.inventory is None:
            self.notify("there is no lab yet to catch up", severity="warning")
            return
        no_ssh = [n.name for n in ctx.inventory.nodes if n.ssh is None]
        if no_ssh:
            self.notify(
                "catch up runs the lessons' commands over SSH, but the inventory has no "
                f"[node.ssh] for {', '.join(no_ssh)}"
                + (" (bring the lab up first)" if ctx.has_vms else ""),
                title="Catch up",
                severity="warning",
                timeout=10,
            )
            return
        through = f"lesson-{lesson.number - 1}"
        body = (
            f"This runs every command of lessons 1…{lesson.number - 1} on your lab, in order, "
            f"as the lessons show them (platform {ctx.platform}), and stops at the first "
            "failure. Use it to start this lesson on a fresh lab. Escape stops it (after the "
            "commands running then let go); the steps that passed are kept in your progress."
        )
        self.app.push_screen(
            ConfirmScreen(f"Catch up through {through}?", body, yes="Catch up"),
            lambda yes: yes and self.app.push_screen(CatchUpScreen(through), self._caught_up),
        )

    def _caught_up(self, _: object = None) -> None:
        if self.lesson is not None:
            self._recheck_prerequisites(self.lesson)

    @work(thread=True, group="prerequisites", exclusive=True, exit_on_error=False)
    def _recheck_prerequisites(self, lesson: Lesson) -> None:
        self._check_prerequisites(lesson)

    def action_back(self) -> None:
        session = self._verify_session
        if self.verifying and session is not None and not self._stopped_waiting:
            # Escape while checks settle: stop waiting and show what each saw last (a second
            # Escape leaves the lesson)
            self._stopped_waiting = True
            session.cancelled.set()
            return
        self._stop()
        self.app.pop_screen()


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def keep_verify(app: Any, report: VerifyReport) -> tuple[dict[int, str] | None, str | None]:
    """What a catch-up step's settling found, kept like a verify's: the steps' outcomes in
    the learner's progress, the checks beside the lesson's cells."""
    from mesoslab.ops.verify import record_verify

    kept = record_verify(
        report, app.context.progress_path(), inventory=app.context.inventory, source="catch-up"
    )
    keep_checks(app, report)
    return kept


def keep_checks(app: Any, report: VerifyReport) -> None:
    """The checks beside the lesson's cells, shown when the lesson reopens."""
    app.cell_store().put_checks(report.lesson, {s.step: s.results for s in report.steps})
