"""Host checks of files on a node: it exists, it contains a text or matches a regular
expression, it holds the expected JSON (compared as JSON, not as text)."""

from __future__ import annotations

import difflib
import json
import re
import shlex
from typing import Any

from mesoslab.checks.kinds.host.common import (
    FIRST_LINES,
    LINE_WIDTH,
    cut,
    host_check,
    read_text,
    regex_problem,
    run,
    unexpected,
)
from mesoslab.checks.registry import P
from mesoslab.checks.result import Observation
from mesoslab.lab.inventory import Node
from mesoslab.remote.session import CheckContext

_JSON_WIDTH = 600

_PATH = P(str, required=True, help="absolute path of the file on the node")
_SUDO = P(bool, default=True, help="read as root (sudo -n); default true")


# ---------------------------------------------------------------------- validation


def _path_problems(params: dict[str, Any]) -> list[str]:
    path = params.get("path", "")
    if isinstance(path, str) and not path.startswith("/"):
        return [f"'path' must be absolute (start with /), got {path!r}"]
    return []


def _validate_contains(params: dict[str, Any]) -> list[str]:
    problems = _path_problems(params)
    if ("text" in params) == ("regex" in params):
        problems.append("give exactly one of 'text' or 'regex'")
    elif "text" in params and not str(params["text"]).strip("\n"):
        problems.append("'text' is empty")
    problems += regex_problem("regex", params.get("regex"))
    return problems


def _validate_json(params: dict[str, Any]) -> list[str]:
    problems = _path_problems(params)
    if "json" in params:
        try:
            expected_json(params["json"])
        except ValueError as exc:
            problems.append(str(exc))
    return problems


# ---------------------------------------------------------------------- check kinds


@host_check(
    "host.file_exists",
    params={
        "path": _PATH,
        "exists": P(bool, default=True, help="true: must exist; false: must not exist"),
        "sudo": _SUDO,
    },
    validate=_path_problems,
)
def file_exists(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A file (or folder, or link) exists on the node — or, with ``exists: false``, does not."""
    path: str = params["path"]
    want = bool(params["exists"])
    q = shlex.quote(path)
    result = run(
        ctx,
        node,
        f"if [ -e {q} ] || [ -L {q} ]; then echo mesoslab:present; ls -ld -- {q}; "
        "else echo mesoslab:absent; fi",
        sudo=bool(params["sudo"]),
    )
    lines = result.lines
    if "mesoslab:present" in lines:
        after = lines[lines.index("mesoslab:present") + 1 :]
        observed = "present" + (f": {after[0].strip()}" if after else "")
        present = True
    elif "mesoslab:absent" in lines:
        observed, present = "absent", False
    else:
        raise unexpected(result, node)
    expected = "present" if want else "absent"
    if present == want:
        return Observation.ok(
            f"{path} is {expected} on {node.name}", expected=expected, observed=observed
        )
    if want:
        return Observation.fail(
            f"{path} does not exist on {node.name}", expected=expected, observed=observed
        )
    return Observation.fail(
        f"{path} exists on {node.name} but should not", expected=expected, observed=observed
    )


@host_check(
    "host.file_contains",
    params={
        "path": _PATH,
        "text": P(str, help="text the file must contain (anywhere, may span lines)"),
        "regex": P(str, help="regular expression a part of the file must match (^/$ per line)"),
        "sudo": _SUDO,
    },
    validate=_validate_contains,
)
def file_contains(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A file on the node contains a text, or matches a regular expression."""
    path: str = params["path"]
    content = read_text(ctx, node, path, sudo=bool(params["sudo"]))
    if isinstance(params.get("text"), str):
        text = params["text"].strip("\n")
        expected = f"a line containing {text!r}" if "\n" not in text else f"the text {text!r}"
        found = text in content
        what = repr(text)
    else:
        pattern = params["regex"]
        expected = f"text matching /{pattern}/"
        found = re.search(pattern, content, re.MULTILINE) is not None
        what = f"/{pattern}/"
    observed = first_lines(content)
    if found:
        return Observation.ok(
            f"{path} on {node.name} contains {what}", expected=expected, observed=observed
        )
    summary = f"{path} on {node.name} does not contain {what}"
    if isinstance(params.get("text"), str) and "\n" not in params["text"].strip("\n"):
        closest = difflib.get_close_matches(
            params["text"].strip(), content.splitlines(), n=1, cutoff=0.6
        )
        if closest:
            summary += f" (closest line: {cut(closest[0].strip(), 100)!r})"
    return Observation.fail(summary, expected=expected, observed=observed)


@host_check(
    "host.file_json_equals",
    params={
        "path": _PATH,
        "json": P(
            dict,
            list,
            str,
            int,
            float,
            bool,
            required=True,
            help="the expected JSON: a YAML mapping/list, or a string holding JSON",
        ),
        "sudo": _SUDO,
    },
    validate=_validate_json,
)
def file_json_equals(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A JSON file on the node holds the expected value (compared as JSON, not as text:
    key order and number formats do not matter, 2 equals 2.0)."""
    path: str = params["path"]
    wanted = expected_json(params["json"])
    expected = compact_json(wanted)
    content = read_text(ctx, node, path, sudo=bool(params["sudo"]))
    try:
        actual = json.loads(content)
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        return Observation.fail(
            f"{path} on {node.name} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}",
            expected=expected,
            observed=f"{where}: {exc.msg}",
        )
    observed = cut(compact_json(actual), _JSON_WIDTH)
    difference = json_difference(wanted, actual)
    if difference is None:
        return Observation.ok(
            f"{path} on {node.name} holds the expected JSON", expected=expected, observed=observed
        )
    return Observation.fail(
        f"{path} on {node.name} differs from the expected JSON: {difference}",
        expected=expected,
        observed=observed,
    )


# ---------------------------------------------------------------------- helpers


def first_lines(content: str, count: int = FIRST_LINES) -> str:
    """The first ``count`` lines of a file for a learner to read, long lines cut."""
    lines = content.splitlines()
    if not lines:
        return "(empty file)"
    shown = [cut(line.rstrip(), LINE_WIDTH) for line in lines[:count]]
    if len(lines) > count:
        shown.append(f"… ({len(lines) - count} more lines)")
    return "\n".join(shown)


def expected_json(value: Any) -> Any:
    """The expected value of ``host.file_json_equals``: a string is parsed as JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"'json' is a string but not valid JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}"
            ) from None
    try:
        return json.loads(json.dumps(value))  # YAML keys like 1 become "1", as in JSON
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'json' holds a value JSON cannot express: {exc}") from None


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_difference(expected: Any, actual: Any, where: str = "$") -> str | None:
    """Where two JSON values first differ (``None`` when they are equal).

    Numbers compare numerically (2 == 2.0) but never equal booleans; object key order does
    not matter; list order does.
    """
    if _is_number(expected) and _is_number(actual):
        return None if expected == actual else _differs(where, expected, actual)
    if type(expected) is not type(actual):
        return _differs(where, expected, actual)
    if isinstance(expected, dict):
        missing = [k for k in expected if k not in actual]
        if missing:
            return f"at {where}: key {missing[0]!r} is missing"
        extra = [k for k in actual if k not in expected]
        if extra:
            return f"at {where}: unexpected key {extra[0]!r}"
        for key in expected:
            found = json_difference(expected[key], actual[key], _child(where, key))
            if found:
                return found
        return None
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"at {where}: expected {len(expected)} items, found {len(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = json_difference(e, a, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if expected == actual else _differs(where, expected, actual)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _differs(where: str, expected: Any, actual: Any) -> str:
    return (
        f"at {where}: expected {cut(compact_json(expected), 80)}, "
        f"found {cut(compact_json(actual), 80)}"
    )


def _child(where: str, key: str) -> str:
    return f"{where}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{where}[{key!r}]"
