"""Host checks over SSH: files, systemd units, commands, listening ports.

Every kind runs on the nodes a lesson names with ``on:`` (there is no default role) and
needs ``[node.ssh]`` in the inventory; without it the runner reports ``skip``. Commands go
through the session's SshPool, bounded by the attempt's request timeout. Paths and unit
names are shell-quoted. Each function makes one attempt and returns an Observation.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from typing import Any

from mesoslab.checks.registry import P, check
from mesoslab.checks.result import Observation
from mesoslab.errors import RemoteCommandError
from mesoslab.lab.inventory import Node
from mesoslab.remote.http import ProbeError
from mesoslab.remote.result import CommandResult
from mesoslab.remote.session import CheckContext

_FIRST_LINES = 10
_LINE_WIDTH = 160
_JSON_WIDTH = 600
_PORTS_SHOWN = 40

ACTIVE_STATES = frozenset(
    {
        "active",
        "inactive",
        "failed",
        "activating",
        "deactivating",
        "reloading",
        "unknown",
        "maintenance",
        "refreshing",
    }
)
NOT_ACTIVE_STATES = frozenset({"inactive", "failed", "unknown"})
ENABLED_STATES = frozenset({"enabled", "enabled-runtime", "alias", "generated"})
NOT_ENABLED_STATES = frozenset(
    {
        "disabled",
        "masked",
        "masked-runtime",
        "static",
        "indirect",
        "linked",
        "linked-runtime",
        "not-found",
    }
)
UNIT_FILE_STATES = ENABLED_STATES | NOT_ENABLED_STATES | {"transient", "bad"}

_PATH = P(str, required=True, help="absolute path of the file on the node")
_SUDO = P(bool, default=True, help="read as root (sudo -n); default true")


# ---------------------------------------------------------------------- validation


def _path_problems(params: dict[str, Any]) -> list[str]:
    path = params.get("path", "")
    if isinstance(path, str) and not path.startswith("/"):
        return [f"'path' must be absolute (start with /), got {path!r}"]
    return []


def _regex_problem(name: str, pattern: Any) -> list[str]:
    if not isinstance(pattern, str):
        return []
    try:
        re.compile(pattern)
    except re.error as exc:
        return [f"{name!r} is not a valid regular expression: {exc}"]
    return []


def _validate_contains(params: dict[str, Any]) -> list[str]:
    problems = _path_problems(params)
    if ("text" in params) == ("regex" in params):
        problems.append("give exactly one of 'text' or 'regex'")
    elif "text" in params and not str(params["text"]).strip("\n"):
        problems.append("'text' is empty")
    problems += _regex_problem("regex", params.get("regex"))
    return problems


def _validate_json(params: dict[str, Any]) -> list[str]:
    problems = _path_problems(params)
    if "json" in params:
        try:
            expected_json(params["json"])
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _validate_unit(params: dict[str, Any]) -> list[str]:
    unit = params.get("unit", "")
    if isinstance(unit, str) and (
        not unit or unit.startswith("-") or unit != unit.strip() or " " in unit
    ):
        return [f"'unit' must be a systemd unit name like mesos-slave, got {unit!r}"]
    return []


def _validate_command(params: dict[str, Any]) -> list[str]:
    problems = _regex_problem("output", params.get("output"))
    if isinstance(params.get("command"), str) and not params["command"].strip():
        problems.append("'command' is empty")
    return problems


def _validate_port(params: dict[str, Any]) -> list[str]:
    port = params.get("port")
    if isinstance(port, int) and not 0 < port < 65536:
        return [f"'port' must be between 1 and 65535, got {port}"]
    return []


# ---------------------------------------------------------------------- check kinds


@check(
    "host.file_exists",
    role="",
    needs_ssh=True,
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
    result = _run(
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
        raise _unexpected(result, node)
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


@check(
    "host.file_contains",
    role="",
    needs_ssh=True,
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
    content = _read_text(ctx, node, path, sudo=bool(params["sudo"]))
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
            summary += f" (closest line: {_cut(closest[0].strip(), 100)!r})"
    return Observation.fail(summary, expected=expected, observed=observed)


@check(
    "host.file_json_equals",
    role="",
    needs_ssh=True,
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
    content = _read_text(ctx, node, path, sudo=bool(params["sudo"]))
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
    observed = _cut(compact_json(actual), _JSON_WIDTH)
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


@check(
    "host.service_active",
    role="",
    needs_ssh=True,
    params={
        "unit": P(str, required=True, help="systemd unit, e.g. mesos-slave"),
        "active": P(bool, default=True, help="true: must be active; false: must not be"),
    },
    validate=_validate_unit,
)
def service_active(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A systemd unit is running (``systemctl is-active``) — or, with ``active: false``, not."""
    unit: str = params["unit"]
    want = bool(params["active"])
    result = _run(ctx, node, f"systemctl is-active {shlex.quote(unit)}", sudo=False)
    state = _state_word(result, ACTIVE_STATES)
    if state is None:
        return _systemctl_failed(result, node, unit, "active")
    if want:
        expected = "active"
        passed = state == "active"
    else:
        expected = "not active (inactive or failed)"
        passed = state in NOT_ACTIVE_STATES
    if passed:
        return Observation.ok(
            f"{unit} is {state} on {node.name}", expected=expected, observed=state
        )
    return Observation.fail(
        f"{unit} is {state} on {node.name}, expected {expected}", expected=expected, observed=state
    )


@check(
    "host.service_enabled",
    role="",
    needs_ssh=True,
    params={
        "unit": P(str, required=True, help="systemd unit, e.g. mesos-master"),
        "enabled": P(bool, default=True, help="true: starts at boot; false: does not"),
    },
    validate=_validate_unit,
)
def service_enabled(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A systemd unit starts at boot (``systemctl is-enabled``) — or, with ``enabled: false``,
    does not (disabled, masked, static or not installed)."""
    unit: str = params["unit"]
    want = bool(params["enabled"])
    result = _run(ctx, node, f"systemctl is-enabled {shlex.quote(unit)}", sudo=False)
    state = _state_word(result, UNIT_FILE_STATES)
    if state is None and re.search(
        r"No such file or directory|not[- ]found|does not exist", result.output
    ):
        state = "not-found"  # systemd < 240 prints an error instead of "not-found"
    if state is None:
        return _systemctl_failed(result, node, unit, "enabled")
    if want:
        expected = "enabled"
        passed = state in ENABLED_STATES
    else:
        expected = "not enabled (disabled or masked)"
        passed = state in NOT_ENABLED_STATES
    if passed:
        return Observation.ok(
            f"{unit} is {state} on {node.name}", expected=expected, observed=state
        )
    summary = f"{unit} is {state} on {node.name}, expected {expected}"
    if state == "not-found":
        summary = f"there is no unit {unit} on {node.name} (is its package installed?)"
    elif state == "static" and want:
        summary += " (a static unit cannot be enabled: it starts when another unit needs it)"
    return Observation.fail(summary, expected=expected, observed=state)


@check(
    "host.command",
    role="",
    needs_ssh=True,
    params={
        "command": P(str, required=True, help="shell command run on the node"),
        "exit": P(int, default=0, help="expected exit status (default 0)"),
        "output": P(str, help="regular expression the combined output must match"),
        "sudo": P(bool, default=False, help="run as root (sudo -n)"),
    },
    validate=_validate_command,
)
def command(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """A command on the node exits with the expected status (and its output matches)."""
    cmd: str = params["command"]
    want_exit = int(params["exit"])
    pattern: str | None = params.get("output")
    result = _run(ctx, node, cmd, sudo=bool(params["sudo"]))
    refused = _sudo_refusal(result) if params["sudo"] else None
    if refused:
        return Observation.fail(
            f"sudo on {node.name} refused to run `{_cut(cmd, 60)}`: {refused}",
            expected="passwordless sudo for the SSH user",
            observed=refused,
        )
    tail = result.tail(_FIRST_LINES, _LINE_WIDTH)
    observed = f"exit {result.exit_status}" + (f"\n{tail}" if tail else "")
    expected = f"exit {want_exit}" + (f", output matching /{pattern}/" if pattern else "")
    shown = _cut(" ".join(cmd.split()), 60)
    if result.exit_status != want_exit:
        return Observation.fail(
            f"`{shown}` on {node.name} exited {result.exit_status}, expected {want_exit}",
            expected=expected,
            observed=observed,
        )
    if pattern and re.search(pattern, result.output, re.MULTILINE) is None:
        return Observation.fail(
            f"the output of `{shown}` on {node.name} does not match /{pattern}/",
            expected=expected,
            observed=observed,
        )
    return Observation.ok(
        f"`{shown}` on {node.name} exited {want_exit}", expected=expected, observed=observed
    )


@check(
    "host.port_listening",
    role="",
    needs_ssh=True,
    params={
        "port": P(int, required=True, help="TCP port"),
        "listening": P(bool, default=True, help="true: something listens; false: nothing"),
    },
    validate=_validate_port,
)
def port_listening(ctx: CheckContext, node: Node, params: dict[str, Any]) -> Observation:
    """Something listens on a TCP port of the node (``ss -ltn``, or /proc/net/tcp without ss)."""
    port = int(params["port"])
    want = bool(params["listening"])
    result = _run(
        ctx,
        node,
        "if command -v ss >/dev/null 2>&1; then echo mesoslab:ss; ss -ltn; "
        "else echo mesoslab:proc; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi",
        sudo=False,
    )
    ports = listening_ports(result.output)
    if ports is None:
        raise _unexpected(result, node)
    observed = "listening: " + format_ports(ports)
    expected = f"port {port} listening" if want else f"nothing on port {port}"
    if (port in ports) == want:
        state = "something listens" if want else "nothing listens"
        return Observation.ok(
            f"{state} on TCP port {port} on {node.name}", expected=expected, observed=observed
        )
    if want:
        return Observation.fail(
            f"nothing listens on TCP port {port} on {node.name}",
            expected=expected,
            observed=observed,
        )
    return Observation.fail(
        f"something listens on TCP port {port} on {node.name}", expected=expected, observed=observed
    )


# ---------------------------------------------------------------------- helpers


def _run(ctx: CheckContext, node: Node, cmd: str, *, sudo: bool) -> CommandResult:
    timeout = ctx.request_timeout()
    result = ctx.session.ssh.run(node, cmd, sudo=sudo, timeout=timeout)
    if result.timed_out:
        raise ProbeError(
            f"`{_cut(' '.join(cmd.split()), 60)}` on {node.name} did not finish within "
            f"{timeout:.1f}s",
            "timed out" + (f"; output so far: {result.tail(1, 100)}" if result.output else ""),
            answered=False,
        )
    return result


def _read_text(ctx: CheckContext, node: Node, path: str, *, sudo: bool) -> str:
    try:
        data = ctx.session.ssh.read_file(node, path, sudo=sudo, timeout=ctx.request_timeout())
    except RemoteCommandError as exc:
        reason = _last(exc.stderr) or f"exit status {exc.exit_status}"
        if "No such file or directory" in exc.stderr:
            raise ProbeError(f"{path} does not exist on {node.name}", reason) from None
        raise ProbeError(f"cannot read {path} on {node.name}: {reason}", reason) from None
    return data.decode("utf-8", "replace")


def _state_word(result: CommandResult, words: frozenset[str]) -> str | None:
    for line in result.lines:
        word = line.strip()
        if word in words:
            return word
    return None


def _systemctl_failed(result: CommandResult, node: Node, unit: str, what: str) -> Observation:
    if result.exit_status == 127 or re.search(r"systemctl: (command )?not found", result.output):
        return Observation.fail(
            f"systemctl is not available on {node.name}: is it a systemd host?",
            expected=f"{unit} {what}",
            observed="systemctl: command not found",
        )
    reason = result.tail(1, _LINE_WIDTH) or f"exit {result.exit_status} and no output"
    return Observation.fail(
        f"systemctl could not tell whether {unit} is {what} on {node.name}: {reason}",
        expected=f"{unit} {what}",
        observed=result.tail(3, _LINE_WIDTH) or reason,
    )


def _sudo_refusal(result: CommandResult) -> str | None:
    for line in result.lines:
        if line.startswith("sudo:") and re.search(
            r"password is required|not in the sudoers|terminal is required|command not found",
            line,
        ):
            return line.strip()
    return None


def _unexpected(result: CommandResult, node: Node) -> ProbeError:
    observed = result.tail(3, _LINE_WIDTH) or f"exit {result.exit_status} and no output"
    return ProbeError(
        f"unexpected answer from {node.name}: {result.tail(1, 100) or 'no output'}", observed
    )


def first_lines(content: str, count: int = _FIRST_LINES) -> str:
    """The first ``count`` lines of a file for a learner to read, long lines cut."""
    lines = content.splitlines()
    if not lines:
        return "(empty file)"
    shown = [_cut(line.rstrip(), _LINE_WIDTH) for line in lines[:count]]
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
        f"at {where}: expected {_cut(compact_json(expected), 80)}, "
        f"found {_cut(compact_json(actual), 80)}"
    )


def _child(where: str, key: str) -> str:
    return f"{where}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{where}[{key!r}]"


def listening_ports(output: str) -> set[int] | None:
    """TCP ports in LISTEN state from ``ss -ltn`` or /proc/net/tcp{,6} output after the
    ``mesoslab:ss`` / ``mesoslab:proc`` marker; None when neither marker is there."""
    lines = output.splitlines()
    for marker, parse in (("mesoslab:ss", _ports_from_ss), ("mesoslab:proc", _ports_from_proc)):
        if marker in lines:
            return parse(lines[lines.index(marker) + 1 :])
    return None


def _ports_from_ss(lines: list[str]) -> set[int]:
    ports: set[int] = set()
    for line in lines:
        tokens = line.split()
        # State Recv-Q Send-Q Local:Port Peer:Port (State is missing in some versions)
        for i in range(len(tokens) - 2):
            if tokens[i].isdigit() and tokens[i + 1].isdigit():
                port = tokens[i + 2].rsplit(":", 1)[-1]
                if port.isdigit():
                    ports.add(int(port))
                break
    return ports


def _ports_from_proc(lines: list[str]) -> set[int]:
    ports: set[int] = set()
    for line in lines:
        tokens = line.split()
        # sl local_address rem_address st ...; state 0A is LISTEN
        if len(tokens) > 3 and tokens[0].endswith(":") and tokens[3] == "0A":
            try:
                ports.add(int(tokens[1].rsplit(":", 1)[1], 16))
            except (IndexError, ValueError):
                continue
    return ports


def format_ports(ports: set[int]) -> str:
    if not ports:
        return "none"
    ordered = sorted(ports)
    shown = ", ".join(map(str, ordered[:_PORTS_SHOWN]))
    if len(ordered) > _PORTS_SHOWN:
        shown += f", … ({len(ordered) - _PORTS_SHOWN} more)"
    return shown


def _last(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
