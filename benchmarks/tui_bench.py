"""The TUI's responsiveness: first paint, and the longest event-loop stall under load.

Prints, measured in one run:
- first paint: from a fresh interpreter to the lab screen on the terminal (target <= 1 s),
  and to the first live health of the nodes;
- the longest stall of the event loop (a 5 ms ticker measures how late it wakes) while
  * a thread streams log lines into the output panel (the path `up` output takes),
  * the same lines arrive one `call_from_thread` each,
  * a whole-lesson verify runs against a loopback cluster (some checks failing),
  * a lesson notebook opens (the shipped lesson 1, the longest) until it is on the terminal
    with its first step open, the first time (Textual parses the CSS of the Markdown widgets
    once per process) and again, the worst of REOPENINGS openings; and it closes: the worst of
    those closings,
  * steps change (n/p through lesson 1 and back),
  target <= 100 ms each; and then
  * a pause on the lessons list after each closing, and one on a step: the collector's full
    passes wait for a second without input (tui/gc_pacing.py), these rows show what they
    cost there; and a long pause (DEEP_IDLE_AFTER), where the pass over the frozen objects
    too would run once they doubled (it does not, in this run).

Run: .venv/bin/python benchmarks/tui_bench.py   (from the repository root)
Not a timed test: numbers vary by machine (and by what else runs on it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fixture_server import FakeLab  # noqa: E402
from tests.support.lesson3_cluster import DEFAULT, write_inventory  # noqa: E402
from tests.support.lesson3_cluster import Lesson3Cluster as Cluster  # noqa: E402
from tests.support.tui import NODES, make_test_app, write_lessons  # noqa: E402

from mesoslab.tui.gc_pacing import DEEP_IDLE_AFTER, IDLE_AFTER  # noqa: E402

if TYPE_CHECKING:
    from textual.screen import Screen

LINES = 20_000
BURST = 50  # lines between two reads of the pipe (at most 50 000 lines/s)
TICK = 0.005
REOPENINGS = 3

FIRST_PAINT = r"""
import time
t0 = time.perf_counter()
import asyncio, sys
from mesoslab.tui.app import make_app
from mesoslab.tui.screens.lab import LabScreen
from textual.widgets import DataTable

async def main():
    app = make_app(inventory=sys.argv[1], refresh_every=0)
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, LabScreen):
            await asyncio.sleep(0.001)
        marks = []
        app.screen.call_after_refresh(lambda: marks.append(time.perf_counter()))
        while not marks:  # the lab screen's first refresh: it is on the terminal
            await asyncio.sleep(0.001)
        painted = marks[0] - t0
        table = app.screen.query_one(DataTable)
        while "leader" not in str([table.get_row(k) for k in table.rows]):
            await asyncio.sleep(0.005)
        health = time.perf_counter() - t0
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"paramiko", "kazoo"})
    print(f"{painted:.3f} {health:.3f} {','.join(heavy) or '-'}")

asyncio.run(main())
"""


class LagProbe:
    """How late a 5 ms ticker on the event loop wakes up: the loop's stalls."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags.append(time.perf_counter() - start - TICK)

    def start(self) -> None:
        self.lags = []
        self._stop.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> tuple[float, float]:
        self._stop.set()
        assert self._task is not None
        await self._task
        ordered = sorted(self.lags) or [0.0]
        return ordered[-1], ordered[int(len(ordered) * 0.99)]


Measure = tuple[float, float, float, str]  # worst stall, p99, seconds taken, what ran


async def measure(probe: LagProbe, work: Callable[[], Awaitable[str]]) -> Measure:
    probe.start()
    started = time.perf_counter()
    extra = await work()
    elapsed = time.perf_counter() - started
    worst, p99 = await probe.stop()
    return worst, p99, elapsed, extra


def report(label: str, result: Measure) -> None:
    worst, p99, elapsed, extra = result
    verdict = "ok" if worst <= 0.1 else "over the 100 ms target"
    print(
        f"  {label:<34} max stall {worst * 1000:6.1f} ms  p99 {p99 * 1000:5.1f} ms  "
        f"({elapsed:.2f} s{extra}) {verdict}"
    )


async def measured(label: str, probe: LagProbe, work: Callable[[], Awaitable[str]]) -> None:
    report(label, await measure(probe, work))


async def painted(screen: Screen[object]) -> None:
    """Until ``screen`` has been laid out and painted."""
    done = asyncio.Event()
    screen.call_after_refresh(done.set)
    await done.wait()


def worst_of(results: list[Measure]) -> Measure:
    worst, p99, elapsed, extra = max(results)
    return worst, p99, elapsed, f"{extra}, worst of {len(results)}"


def first_paint(inventory: Path, runs: int = 3) -> None:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_PAINT, str(inventory)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        painted, health, heavy = out.stdout.split()
        results.append((float(painted), float(health), heavy))
    best = min(results)
    verdict = "ok" if best[0] <= 1.0 else "over the 1 s target"
    print(
        f"first paint (fresh interpreter -> lab screen painted): best {best[0] * 1000:.0f} ms "
        f"of {runs} ({verdict}); first live health at {best[1] * 1000:.0f} ms"
    )
    print(f"  paramiko/kazoo imported by then: {best[2]}")


async def stalls(inventory: Path) -> None:
    from mesoslab.tui.screens.lab import LabScreen
    from mesoslab.tui.screens.lesson import LessonScreen
    from mesoslab.tui.widgets.check_list import CheckList
    from mesoslab.tui.widgets.log_panel import LogPanel
    from mesoslab.tui.widgets.step_section import StepSection

    app = make_test_app(inventory, verify_timeout=1.5, pace_gc=True)  # as `mesoslab` runs
    probe = LagProbe()
    print("event-loop stalls (target <= 100 ms):")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        screen = app.screen
        assert isinstance(screen, LabScreen)
        panel = screen.query_one(LogPanel)
        panel.set_nodes([n for n, _ in NODES])

        async def stream_fed() -> str:
            before = panel.lines_written
            t0 = time.perf_counter()

            def feed() -> None:
                # as a pipe delivers it: bursts of lines, the reader blocked in between
                for i in range(LINES):
                    panel.feed(NODES[i % 3][0], f"==> line {i}: Installing package {i} ...")
                    if i % BURST == 0:
                        time.sleep(0.001)

            thread = threading.Thread(target=feed)
            thread.start()
            while panel.lines_written - before < LINES:
                await asyncio.sleep(0.01)
            thread.join()
            return f", {LINES} lines, {LINES / (time.perf_counter() - t0):.0f}/s"

        async def stream_call_from_thread() -> str:
            count = 2_000
            done = threading.Event()

            def feed() -> None:
                for i in range(count):
                    app.call_from_thread(panel.feed, "agent1", f"line {i} via call_from_thread")
                done.set()

            threading.Thread(target=feed).start()
            while not done.is_set():
                await asyncio.sleep(0.01)
            return f", {count} calls"

        async def idle() -> str:
            await asyncio.sleep(2.0)
            return ", nothing running: this machine's noise floor"

        await measured("idle app", probe, idle)
        await measured("log stream (thread feed)", probe, stream_fed)
        await measured("log stream (call_from_thread/line)", probe, stream_call_from_thread)

        app.open_lesson("lesson-3")
        while not (isinstance(app.screen, LessonScreen) and app.screen.ready):
            await pilot.pause(0.01)
        lesson = app.screen

        async def verify() -> str:
            lists = list(lesson.query(CheckList))
            await pilot.press("V")
            # until every step has its result (the press may return after the fast ones)
            while any(c.state in ("idle", "running") for c in lists):
                await asyncio.sleep(0.01)
            return ", lesson-3, every step"

        await measured("verify (whole lesson)", probe, verify)
        await pilot.press("escape")
        await pilot.pause(0.2)

        async def open_long_lesson() -> str:
            # until the notebook is on the terminal with its first step open (the layout of
            # that step used to come after `ready`), then a moment more for what follows
            os.environ["MESOSLAB_LESSONS"] = str(ROOT / "lessons")
            try:
                assert app.gc_pacer is not None
                app.gc_pacer.input_seen()  # as the Enter that opens it from the lessons list
                app.open_lesson("lesson-1")
                while not (isinstance(app.screen, LessonScreen) and app.screen.ready):
                    await asyncio.sleep(0.01)
            finally:
                os.environ["MESOSLAB_LESSONS"] = lessons
            lesson = app.screen
            while not any(s.heading.open for s in lesson.query(StepSection)):
                await asyncio.sleep(0.01)
            await painted(lesson)
            await asyncio.sleep(0.3)
            return f", shipped lesson-1, {len(list(lesson.query('*')))} widgets"

        async def close_lesson() -> str:
            # until the lesson screen is gone, then a moment more: taking it apart, and a
            # collection of its garbage if one comes then, land in this row
            await pilot.press("escape")
            while isinstance(app.screen, LessonScreen):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            return ", then 0.3 s"

        async def reading_pause(seconds: float = IDLE_AFTER + 1.0) -> str:
            # the learner stops to read: the collector's full pass, if one is due, runs now
            # (after DEEP_IDLE_AFTER, the pass over the frozen objects too, if that is due)
            pacer = app.gc_pacer
            assert pacer is not None
            passes, deep = pacer.passes, pacer.deep_passes
            await asyncio.sleep(seconds)
            ran, ran_deep = pacer.passes - passes, pacer.deep_passes - deep
            return f", {seconds:.0f} s without input: {ran} full collection(s), {ran_deep} over all"

        await measured("open a lesson notebook (1st)", probe, open_long_lesson)
        closings = [await measure(probe, close_lesson)]
        pauses = [await measure(probe, reading_pause)]  # on the lessons list, choosing
        openings = []
        for _ in range(REOPENINGS):
            openings.append(await measure(probe, open_long_lesson))
            closings.append(await measure(probe, close_lesson))
            pauses.append(await measure(probe, reading_pause))
        report("open it again", worst_of(openings))
        report("close it", worst_of(closings))
        report("then a pause on the list", worst_of(pauses))

        async def change_steps() -> str:
            # n to the last step and p back to the first, each until the new step is painted
            # open, then a moment for what follows (as a reader pauses on a step)
            lesson = app.screen
            assert isinstance(lesson, LessonScreen) and lesson.lesson is not None
            count = len(lesson.lesson.steps)
            for key in ["n"] * (count - 1) + ["p"] * (count - 1):
                before = lesson.current
                await pilot.press(key)
                while lesson.current == before:
                    await asyncio.sleep(0.01)
                await painted(lesson)
                await asyncio.sleep(0.1)
            return f", n/p through {count} steps and back"

        await open_long_lesson()
        await measured("change step (n/p)", probe, change_steps)
        await measured("then a pause on the step", probe, reading_pause)
        await pilot.press("escape")
        await asyncio.sleep(IDLE_AFTER + 1.0)  # the pass that collects it (rows above)

        await measured(
            "a long pause on the list",
            probe,
            lambda: reading_pause(DEEP_IDLE_AFTER + 1.5),
        )


def main() -> None:
    global lessons
    with tempfile.TemporaryDirectory() as tmp, FakeLab(NODES) as lab:
        folder = Path(tmp)
        lessons = str(write_lessons(folder / "lessons"))
        os.environ["MESOSLAB_LESSONS"] = lessons
        os.environ["XDG_STATE_HOME"] = str(folder / "state")
        Cluster(lab).serve(DEFAULT)  # step 3 fails: results with expected/observed
        inventory = write_inventory(lab, folder / "inv.toml")
        first_paint(inventory)
        asyncio.run(stalls(inventory))


lessons = ""

if __name__ == "__main__":
    main()
