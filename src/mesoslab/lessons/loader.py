"""Turn a lesson Markdown file into a :class:`Lesson`, reporting every problem as file:line.

The loader never raises on bad input: it returns what it could build and a list of
problems (``Problem``), each with the file and line it concerns. Format: docs/lesson-format.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from mesoslab.checks.registry import CheckKind, catalogue
from mesoslab.checks.spec import CheckSpec
from mesoslab.lab.inventory import ROLES
from mesoslab.lab.presets import PRESETS
from mesoslab.lessons.ids import LESSON_COUNT, normalize_lesson_id
from mesoslab.lessons.model import LEADING_MASTER, PLATFORMS, Action, Lesson, Step

FRONT_MATTER_KEYS = {"id", "title", "summary", "preset", "builds_on", "platforms", "drill_steps"}
CHECK_COMMON_KEYS = {"kind", "on", "timeout", "hint"}


class _Yaml12BoolLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans: YAML 1.1 reads the check key ``on:``
    (and yes/no/off) as a boolean, which would silently lose a check's target."""


_Yaml12BoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12BoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """YAML as lessons mean it (``on:`` stays a key; only true/false are booleans)."""
    return yaml.load(text, Loader=_Yaml12BoolLoader)


_STEP_PREFIX = re.compile(r"^(?:step\s+)?(\d+)\s*[:.)—–-]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class LoadResult:
    lesson: Lesson | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lesson is not None and not self.problems


def load_lesson(path: str | Path) -> LoadResult:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadResult(None, [Problem(str(path), 0, f"cannot read lesson file: {exc}")])
    return parse_lesson(text, path)


def parse_lesson(text: str, path: Path) -> LoadResult:
    return _Parser(text, path).parse()


class _Parser:
    def __init__(self, text: str, path: Path) -> None:
        self.text = text.replace("\r\n", "\n")
        self.path = path
        self.file = str(path)
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    # -- front matter -----------------------------------------------------------------
    def parse(self) -> LoadResult:
        meta, body, offset = self._split_front_matter()
        fm = self._front_matter(meta)
        preset_nodes = {n.name for n in PRESETS.get(fm.get("preset", ""), ())}
        self.targets = set(ROLES) | preset_nodes
        intro, steps = self._body(body, offset)
        if not steps:
            self.problem(offset + 1, "the lesson has no steps: every '## ' heading starts a step")
        if "id" not in fm or "title" not in fm:
            return LoadResult(None, self.problems)
        drills = tuple(fm.get("drill_steps", ()))
        for number in drills:
            if not 1 <= number <= len(steps):
                self.problem(
                    self._meta_line("drill_steps"),
                    f"drill_steps names step {number}, but the lesson has steps 1–{len(steps)}",
                )
        lesson = Lesson(
            id=fm["id"],
            number=int(fm["id"].split("-")[1]),
            title=fm["title"],
            summary=fm.get("summary", ""),
            preset=fm.get("preset", ""),
            builds_on=tuple(fm.get("builds_on", ())),
            platforms=tuple(fm.get("platforms", PLATFORMS)),
            path=self.path,
            intro=intro,
            steps=tuple(steps),
            drill_steps=drills,
        )
        return LoadResult(lesson, self.problems)

    def _split_front_matter(self) -> tuple[str | None, str, int]:
        lines = self.text.split("\n")
        if not lines or lines[0].strip() != "---":
            self.problem(1, "missing front matter: the file must start with a '---' line")
            return None, self.text, 0
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                meta = "\n".join(lines[1:index])
                body = "\n".join(lines[index + 1 :])
                return meta, body, index + 1
        self.problem(1, "front matter is not closed: add a '---' line after it")
        return None, "", len(lines)

    def _front_matter(self, meta: str | None) -> dict[str, Any]:
        if meta is None:
            return {}
        try:
            data = load_yaml(meta)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = (mark.line + 2) if mark is not None else 1
            self.problem(line, f"front matter is not valid YAML: {_yaml_message(exc)}")
            return {}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(2, "front matter must be a YAML mapping (key: value lines)")
            return {}
        out: dict[str, Any] = {}
        for key in data:
            if key not in FRONT_MATTER_KEYS:
                self.problem(
                    self._meta_line(key),
                    f"unknown front matter key {key!r} (allowed: "
                    f"{', '.join(sorted(FRONT_MATTER_KEYS))})",
                )
        raw_id = data.get("id")
        lesson_id = normalize_lesson_id(str(raw_id)) if raw_id is not None else None
        if lesson_id is None:
            self.problem(
                self._meta_line("id"),
                f"'id' must be lesson-1 … lesson-{LESSON_COUNT}, got {raw_id!r}",
            )
        else:
            out["id"] = lesson_id
            folder = re.match(r"^(\d+)-", self.path.parent.name)
            if folder and int(folder.group(1)) != int(lesson_id.split("-")[1]):
                self.problem(
                    self._meta_line("id"),
                    f"id {lesson_id} does not match folder {self.path.parent.name}",
                )
        for key in ("title", "summary"):
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                self.problem(self._meta_line(key), f"'{key}' must be a non-empty text")
            else:
                out[key] = value.strip()
        preset = data.get("preset")
        if preset not in PRESETS:
            self.problem(
                self._meta_line("preset"),
                f"'preset' must be one of {', '.join(PRESETS)}, got {preset!r}",
            )
        else:
            out["preset"] = preset
        builds_on = data.get("builds_on", [])
        if not isinstance(builds_on, list):
            self.problem(self._meta_line("builds_on"), "'builds_on' must be a list of lesson ids")
        else:
            ids = []
            for item in builds_on:
                norm = normalize_lesson_id(str(item))
                if norm is None:
                    self.problem(
                        self._meta_line("builds_on"),
                        f"'builds_on' names an unknown lesson {item!r}",
                    )
                else:
                    ids.append(norm)
            out["builds_on"] = ids
        drills = data.get("drill_steps", [])
        if not isinstance(drills, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in drills
        ):
            self.problem(
                self._meta_line("drill_steps"),
                f"'drill_steps' must be a list of step numbers, got {drills!r}",
            )
        else:
            out["drill_steps"] = drills
        platforms = data.get("platforms", list(PLATFORMS))
        if not isinstance(platforms, list) or not all(p in PLATFORMS for p in platforms):
            self.problem(
                self._meta_line("platforms"),
                f"'platforms' must be a list of {', '.join(PLATFORMS)}, got {platforms!r}",
            )
        else:
            out["platforms"] = platforms
        return out

    def _meta_line(self, key: str) -> int:
        for number, line in enumerate(self.text.split("\n")[1:], start=2):
            if line.startswith(f"{key}:"):
                return number
            if line.strip() == "---":
                break
        return 1

    # -- body -------------------------------------------------------------------------
    def _body(self, body: str, offset: int) -> tuple[str, list[Step]]:
        tokens = MarkdownIt("commonmark").parse(body)
        lines = body.split("\n")
        heads = [(i, t) for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
        first = heads[0][1].map[0] if heads and heads[0][1].map else len(lines)
        intro = "\n".join(lines[:first]).strip()
        for token in tokens[: heads[0][0] if heads else len(tokens)]:
            if token.type == "fence" and token.map:
                info = token.info.strip()
                if "on=" in info or info.split()[:1] == ["check"]:
                    self.problem(
                        offset + token.map[0] + 1,
                        "commands and checks belong in a step: put them under a '## ' heading",
                    )
        steps: list[Step] = []
        for number, (index, head) in enumerate(heads, start=1):
            end_index = heads[number][0] if number < len(heads) else len(tokens)
            start_line = head.map[0] if head.map else 0
            next_map = heads[number][1].map if number < len(heads) else None
            end_line = next_map[0] if next_map else len(lines)
            title = tokens[index + 1].content.strip() if index + 1 < len(tokens) else ""
            steps.append(
                self._step(
                    number,
                    title,
                    tokens[index + 3 : end_index],
                    "\n".join(lines[start_line + 1 : end_line]).strip(),
                    offset + start_line + 1,
                    offset,
                )
            )
        return intro, steps

    def _step(
        self, number: int, title: str, tokens: list[Any], body: str, line: int, offset: int
    ) -> Step:
        match = _STEP_PREFIX.match(title)
        if match:
            if int(match.group(1)) != number:
                self.problem(line, f"heading says step {match.group(1)} but it is step {number}")
            title = title[match.end() :].strip()
        if not title:
            self.problem(line, f"step {number} has no title")
        actions: list[Action] = []
        checks: list[CheckSpec] = []
        check_blocks = 0
        for token in tokens:
            if token.type != "fence" or not token.map:
                continue
            fence_line = offset + token.map[0] + 1
            info = token.info.strip()
            words = info.split()
            if words[:1] == ["check"]:
                check_blocks += 1
                checks.extend(self._checks(token.content, fence_line))
            elif any(w.startswith("on=") for w in words):
                action = self._action(words, token.content, fence_line)
                if action is not None:
                    actions.append(action)
        if not check_blocks:
            self.problem(
                line,
                f"step {number} ({title or 'untitled'}) has no checks: add a "
                "```check block so verify can tell when the step is done",
            )
        return Step(
            number=number,
            title=title,
            body=body,
            actions=tuple(actions),
            checks=tuple(checks),
            line=line,
        )

    def _action(self, words: list[str], code: str, line: int) -> Action | None:
        lang = "sh"
        on: str | None = None
        sudo = False
        platform: str | None = None
        ok = True
        for pos, word in enumerate(words):
            key, eq, value = word.partition("=")
            if not eq:
                if word == "sudo":
                    sudo = True
                elif pos == 0:
                    lang = word
                else:
                    self.problem(
                        line,
                        f"unknown word {word!r} in a command block's info string "
                        "(allowed: on=TARGET, sudo, platform=NAME)",
                    )
                    ok = False
            elif key == "on":
                on = value
            elif key == "platform":
                platform = value
            else:
                self.problem(
                    line,
                    f"unknown option {key!r} in a command block (allowed: on=, sudo, platform=)",
                )
                ok = False
        if lang not in ("sh", "bash", "shell", "console"):
            self.problem(line, f"command blocks run with sh: use ```sh, not ```{lang}")
            ok = False
        if on is None or (on not in self.targets and on != LEADING_MASTER):
            self.problem(
                line,
                f"unknown target on={on}: use a role ({', '.join(ROLES)}), "
                f"a node of the lesson's preset, or {LEADING_MASTER}",
            )
            ok = False
        if platform is not None and platform not in PLATFORMS:
            self.problem(line, f"unknown platform {platform!r} (allowed: {', '.join(PLATFORMS)})")
            ok = False
        if not code.strip():
            self.problem(line, "empty command block")
            ok = False
        if not ok or on is None:
            return None
        return Action(code=code, on=on, sudo=sudo, platform=platform, lang=lang, line=line)

    def _checks(self, content: str, fence_line: int) -> list[CheckSpec]:
        first = fence_line + 1  # line of the block's first content line
        try:
            data = load_yaml(content)
            tree = yaml.compose(content, Loader=_Yaml12BoolLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = first + mark.line if mark is not None else fence_line
            self.problem(line, f"check block is not valid YAML: {_yaml_message(exc)}")
            return []
        if not isinstance(data, list) or not isinstance(tree, yaml.SequenceNode) or not data:
            self.problem(
                fence_line,
                "a check block holds a YAML list of checks (each item starts with '- kind: ...')",
            )
            return []
        specs = []
        for item, node in zip(data, tree.value, strict=False):
            spec = self._check(item, first + node.start_mark.line)
            if spec is not None:
                specs.append(spec)
        return specs

    def _check(self, item: Any, line: int) -> CheckSpec | None:
        if not isinstance(item, dict):
            self.problem(line, "a check must be a mapping with at least 'kind' and 'hint'")
            return None
        kinds = catalogue()
        kind_name = item.get("kind")
        kind: CheckKind | None = kinds.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            near = _close_matches(str(kind_name), kinds)
            self.problem(
                line,
                f"unknown check kind {kind_name!r}"
                + (f" (did you mean {near}?)" if near else "; run `mesoslab checks`"),
            )
            return None
        ok = True
        on = item.get("on")
        if on is not None and (not isinstance(on, str) or on not in self.targets):
            self.problem(
                line,
                f"{kind.name}: unknown target on: {on!r} (use a role: "
                f"{', '.join(ROLES)}, or a node of the lesson's preset)",
            )
            ok = False
        if on is None and not kind.role:
            self.problem(
                line,
                f"{kind.name}: needs 'on:' (a role or a node) — host checks have no default target",
            )
            ok = False
        timeout = item.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            self.problem(
                line,
                f"{kind.name}: 'timeout' must be a positive number of seconds, got {timeout!r}",
            )
            ok = False
        hint = item.get("hint")
        if not isinstance(hint, str) or not hint.strip():
            self.problem(
                line,
                f"{kind.name}: missing 'hint': say what the likely mistake is "
                "when this check fails",
            )
            ok = False
        params = {k: v for k, v in item.items() if k not in CHECK_COMMON_KEYS}
        for message in kind.problems(params):
            self.problem(line, message)
            ok = False
        if not ok:
            return None
        return CheckSpec(
            kind=kind.name,
            params=params,
            on=on,
            timeout=float(timeout) if timeout is not None else None,
            hint=" ".join(str(hint).split()),
            file=self.file,
            line=line,
        )


def _yaml_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem) if problem else str(exc).split("\n")[0]


def _close_matches(name: str, kinds: dict[str, CheckKind]) -> str:
    import difflib

    found = difflib.get_close_matches(name, list(kinds), n=1)
    return found[0] if found else ""
