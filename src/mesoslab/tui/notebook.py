"""A lesson step as a notebook: prose, command cells in place of the command blocks, and the
step's checks where its first check block was. Plain Python: no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

from mesoslab.checks.spec import CheckSpec
from mesoslab.lessons.model import Action, Lesson, Step

PROSE, CELL, CHECKS = "prose", "cell", "checks"


@dataclass(frozen=True)
class Segment:
    kind: str  # prose | cell | checks
    text: str = ""  # prose: Markdown
    action: Action | None = None  # cell: the command block
    index: int = 0  # cell: its position among the step's command blocks (all platforms)

    def cell_key(self, step: int) -> str:
        return f"step{step}.cell{self.index}"


def step_segments(step: Step, platform: str) -> list[Segment]:
    """The step body split at its command and check blocks.

    Command blocks of another platform are left out; every check block but the first is
    dropped (one list shows all the step's checks, at the first block).
    """
    lines = step.body.split("\n")
    tokens = MarkdownIt("commonmark").parse(step.body)
    actions = iter(enumerate(step.actions))
    out: list[Segment] = []
    pos = 0
    checks_placed = False

    def prose(upto: int) -> None:
        text = "\n".join(lines[pos:upto]).strip()
        if text:
            out.append(Segment(PROSE, text=readable_prose(text)))

    for token in tokens:
        if token.type != "fence" or not token.map:
            continue
        words = token.info.split()
        is_check = words[:1] == ["check"]
        is_action = any(w.startswith("on=") for w in words)
        if not (is_check or is_action):
            continue
        start, end = token.map
        prose(start)
        pos = end
        if is_action:
            found = next(actions, None)
            if found is not None and found[1].applies_to(platform):
                out.append(Segment(CELL, action=found[1], index=found[0]))
        elif not checks_placed:
            out.append(Segment(CHECKS))
            checks_placed = True
    prose(len(lines))
    if not checks_placed:
        out.append(Segment(CHECKS))
    return out


def readable_prose(text: str) -> str:
    """Prose for rendering: a fence without a language is marked ``text``, so the renderer
    does not guess one (guessing loads every Pygments lexer: hundreds of ms)."""
    out: list[str] = []
    marker = ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        if not marker:
            if stripped.startswith(("```", "~~~")):
                fence = stripped[:3]
                run = len(stripped) - len(stripped.lstrip(fence[0]))
                marker = fence[0] * run
                if not stripped[run:].strip():
                    line = line + "text"
        elif stripped.startswith(marker) and not stripped.lstrip(marker[0]).strip():
            marker = ""
        out.append(line)
    return "\n".join(out)


def lesson_cells(lesson: Lesson, platform: str) -> list[tuple[int, Segment]]:
    """Every cell of the lesson for ``platform``: (step number, segment)."""
    return [
        (step.number, seg)
        for step in lesson.steps
        for seg in step_segments(step, platform)
        if seg.kind == CELL
    ]


def describe_check(spec: CheckSpec) -> str:
    """A check spec as one readable line: ``mesos.agent_resources on agent: ports=[…]``."""
    params = ", ".join(f"{k}={_short(v)}" for k, v in spec.params.items())
    target = f" on {spec.on}" if spec.on else ""
    return f"{spec.kind}{target}" + (f": {params}" if params else "")


def _short(value: Any, width: int = 40) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def where_text(action: Action) -> str:
    """Where a command block runs, as the lesson says it: ``on agent as root``."""
    text = f"on {action.on}" + (" as root" if action.sudo else "")
    if action.platform:
        text += f" ({action.platform} only)"
    return text
