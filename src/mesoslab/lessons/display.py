"""Lesson Markdown prepared for reading: front matter dropped, command blocks labelled with
where they run, check blocks turned into a readable list."""

from __future__ import annotations

import yaml

from mesoslab.lessons.loader import CHECK_COMMON_KEYS, load_yaml
from mesoslab.lessons.model import Lesson


def display_markdown(lesson: Lesson, *, platform: str | None = None) -> str:
    text = lesson.path.read_text(encoding="utf-8").replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), 0)
        lines = lines[end + 1 :]
    out: list[str] = [f"# {lesson.title}", "", f"*{lesson.summary}*", ""]
    fence: list[str] | None = None
    info = ""
    marker = ""
    for line in lines:
        stripped = line.strip()
        if fence is None:
            if stripped.startswith(("```", "~~~")):
                marker = stripped[:3]
                info = stripped[3:].strip()
                fence = []
            else:
                out.append(line)
            continue
        if stripped.startswith(marker) and not stripped[3:].strip():
            out.extend(_render_fence(info, fence, platform))
            fence = None
            continue
        fence.append(line)
    if fence is not None:  # unclosed fence: show it as it is
        out.extend([f"{marker}{info}", *fence])
    return "\n".join(out)


def _render_fence(info: str, body: list[str], platform: str | None) -> list[str]:
    words = info.split()
    if words[:1] == ["check"]:
        return _render_checks("\n".join(body))
    options = dict(w.split("=", 1) for w in words if "=" in w)
    if "on" not in options:
        return [f"```{info}", *body, "```"]
    if platform and options.get("platform") not in (None, platform):
        return []
    where = f"on {options['on']}" + (" as root" if "sudo" in words else "")
    if "platform" in options:
        where += f" ({options['platform']} only)"
    return [f"```{words[0] if '=' not in words[0] else 'sh'}", f"# {where}", *body, "```"]


def _render_checks(content: str) -> list[str]:
    try:
        items = load_yaml(content)
    except yaml.YAMLError:
        return ["```yaml", content, "```"]
    if not isinstance(items, list):
        return ["```yaml", content, "```"]
    out = ["", "**Checks** (`mesoslab verify` runs these):", ""]
    for item in items:
        if not isinstance(item, dict):
            continue
        params = ", ".join(f"{k}={v}" for k, v in item.items() if k not in CHECK_COMMON_KEYS)
        target = f" on {item['on']}" if item.get("on") else ""
        out.append(f"- `{item.get('kind')}`{target}" + (f": {params}" if params else ""))
    out.append("")
    return out
