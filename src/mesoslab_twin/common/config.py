"""Configuration read the way the Mesosphere packages read it (api-facts §3).

``mesos-init-wrapper master|slave`` sources ``/etc/default/mesos`` and
``/etc/default/mesos-master|mesos-slave`` (``ZK``/``MASTER`` come from ``/etc/mesos/zk``),
turns a few variables into flags, then adds ``--<name>=<content>`` for every regular file
``/etc/mesos-master/<name>`` (``?name`` -> ``--name``, ``?no-name`` -> ``--no-name``) and
joins ``attributes/`` and ``resources/`` sub-folders with ``;``. Mesos then loads the
command line (an unknown or duplicate flag is an error) and the ``MESOS_<FLAG>`` environment
variables of known flags the command line did not give (others are ignored), reads
``file://`` values from their file and prints durations normalised. ``mesos-master`` and
``mesos-slave`` run directly (as a Docker image's entrypoint) skip the wrapper's part.

Every path goes through :class:`Root`, so tests can run the daemons on a host with their
``/etc`` and ``/var`` under a temporary folder (``--root DIR`` / ``MESOSLAB_TWIN_ROOT``).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from mesoslab_twin.common.values import normalize_duration
from mesoslab_twin.mesos.known_flags import known_flags

# Flags whose values are durations (printed normalised, e.g. 300secs -> 5mins).
DURATION_FLAGS = frozenset(
    {
        "agent_ping_timeout",
        "agent_reregister_timeout",
        "allocation_interval",
        "authentication_backoff_factor",
        "authentication_timeout",
        "container_disk_watch_interval",
        "disk_watch_interval",
        "docker_remove_delay",
        "docker_stop_timeout",
        "executor_registration_timeout",
        "executor_reregistration_timeout",
        "executor_shutdown_grace_period",
        "gc_delay",
        "http_heartbeat_interval",
        "max_completed_executors_per_framework_age",
        "offer_timeout",
        "oversubscribed_resources_interval",
        "perf_duration",
        "perf_interval",
        "qos_correction_interval_min",
        "recovery_timeout",
        "registration_backoff_factor",
        "registry_fetch_timeout",
        "registry_gc_interval",
        "registry_max_agent_age",
        "registry_store_timeout",
        "slave_ping_timeout",
        "slave_reregister_timeout",
        "zk_session_timeout",
    }
)
# Flags whose value is a path: never read as file:// content.
PATH_FLAGS = frozenset({"credential", "credentials", "work_dir", "log_dir", "runtime_dir"})

# What `mesos-init-wrapper` turns into flags (function `master` / `slave`).
WRAPPER_VARIABLES = {
    "master": (
        ("ZK", "zk"),
        ("IP", "ip"),
        ("PORT", "port"),
        ("CLUSTER", "cluster"),
        ("LOGS", "log_dir"),
    ),
    "slave": (("MASTER", "master"), ("IP", "ip"), ("LOGS", "log_dir"), ("ISOLATION", "isolation")),
}


class ConfigError(Exception):
    """The configuration stops the daemon from starting; the message is what Mesos prints."""


@dataclass(frozen=True)
class Root:
    """Maps absolute paths of a node (``/etc/mesos/zk``) to where they are here."""

    base: Path = Path("/")

    @classmethod
    def from_option(cls, value: str | None) -> Root:
        chosen = value or os.environ.get("MESOSLAB_TWIN_ROOT") or "/"
        return cls(Path(chosen).resolve())

    def path(self, node_path: str | Path) -> Path:
        text = str(node_path)
        if str(self.base) == "/" or text.startswith(str(self.base) + os.sep):
            return Path(text)
        return self.base / text.lstrip("/")

    def read(self, node_path: str | Path) -> str | None:
        try:
            return self.path(node_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


# ------------------------------------------------------------------ shell-style defaults

_ASSIGN_RE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_CAT_RE = re.compile(r"\$\(\s*cat\s+([^)\s]+)\s*\)|`\s*cat\s+([^`\s]+)\s*`")
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def read_defaults(root: Root, node_path: str, known: dict[str, str]) -> dict[str, str]:
    """``KEY=value`` lines of a sourced defaults file, as bash would see them.

    Handles ``export``, quotes, comments, ``$VAR``/``${VAR}`` and ``$(cat FILE)`` /
    `` `cat FILE` `` (the form the packages use for ``/etc/mesos/zk``). Anything fancier is
    left as text.
    """
    text = root.read(node_path)
    values: dict[str, str] = {}
    if text is None:
        return values
    scope = dict(known)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ASSIGN_RE.match(line)
        if not match:
            continue
        name, value = match.group(1), match.group(2)
        value = _expand(root, value, scope)
        values[name] = value
        scope[name] = value
    return values


def _expand(root: Root, value: str, scope: dict[str, str]) -> str:
    try:
        words = shlex.split(value, comments=True)
    except ValueError:
        words = [value]
    text = " ".join(words)
    text = _VAR_RE.sub(lambda m: scope.get(m.group(1) or m.group(2), ""), text)

    def cat(match: re.Match[str]) -> str:
        content = root.read(match.group(1) or match.group(2))
        return (content or "").rstrip("\n")

    return _CAT_RE.sub(cat, text)


# ------------------------------------------------------------------ Mesos flags


@dataclass
class MesosConfig:
    """The flags a daemon runs with, in the order they were given, and where they came from."""

    flags: dict[str, str]
    sources: dict[str, str]  # flag -> "env MESOS_X", "/etc/mesos-slave/x", "--x", ...


def wrapper_arguments(role: str, root: Root) -> list[tuple[str, str]]:
    """The ``--name=value`` arguments mesos-init-wrapper would pass, with their source."""
    folder = "/etc/mesos-master" if role == "master" else "/etc/mesos-slave"
    defaults_file = "/etc/default/mesos-master" if role == "master" else "/etc/default/mesos-slave"
    scope: dict[str, str] = {}
    scope.update(read_defaults(root, "/etc/default/mesos", scope))
    scope.update(read_defaults(root, defaults_file, scope))
    args: list[tuple[str, str]] = []
    for variable, flag in WRAPPER_VARIABLES[role]:
        if scope.get(variable):
            args.append((f"--{flag}={scope[variable]}", f"{variable} in /etc/default"))
    directory = root.path(folder)
    if directory.is_dir():
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            if not entry.is_file():
                continue
            name = entry.name
            where = f"{folder}/{name}"
            if name.startswith("?"):
                args.append((f"--{name[1:]}", where))
            else:
                content = entry.read_text(encoding="utf-8", errors="replace").rstrip("\n")
                args.append((f"--{name}={content}", where))
        for group in ("attributes", "resources"):
            sub = directory / group
            if not sub.is_dir():
                continue
            pairs = []
            for entry in sorted(sub.iterdir(), key=lambda p: p.name):
                if entry.is_file() and entry.stat().st_size > 0:
                    content = entry.read_text(encoding="utf-8", errors="replace").rstrip("\n")
                    pairs.append(f"{entry.name}:{content}")
            if pairs:
                args.append((f"--{group}={';'.join(pairs)}", f"{folder}/{group}/"))
    return args


def parse_flag_arguments(args: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """``--name=value`` / ``--name`` / ``--no-name`` -> (name, value, source)."""
    parsed = []
    for arg, source in args:
        if not arg.startswith("--"):
            raise ConfigError(f"Failed to load flags: unexpected argument '{arg}'")
        body = arg[2:]
        if "=" in body:
            name, value = body.split("=", 1)
        elif body.startswith("no-"):
            name, value = body[3:], "false"
        else:
            name, value = body, "true"
        parsed.append((name.replace("-", "_"), value, source))
    return parsed


def environment_flags(
    environ: dict[str, str], known: frozenset[str], prefix: str = "MESOS_"
) -> dict[str, tuple[str, str]]:
    """Flag name -> (value, variable) for the ``<prefix><NAME>`` variables that name a known
    flag (``NAME`` lower-cased, so ``MESOS_work_dir`` works too); the others are ignored,
    as stout's ``FlagsBase::extract`` ignores them ("Only add if it's a known flag")."""
    found: dict[str, tuple[str, str]] = {}
    for key, value in sorted(environ.items()):
        if key.startswith(prefix) and len(key) > len(prefix):
            name = key[len(prefix) :].lower()
            if name.removeprefix("no-") in known:
                found[name] = (value, key)
    return found


def load_mesos_flags(
    role: str,
    root: Root,
    environ: dict[str, str],
    extra: list[str],
    *,
    use_wrapper: bool = True,
) -> MesosConfig:
    """Flags as Mesos would load them (stout's ``flags.load("MESOS_", argc, argv)``): the
    command line (with ``use_wrapper``, first what mesos-init-wrapper makes of
    ``/etc/default/mesos*`` and ``/etc/mesos-<role>/``), then every ``MESOS_<NAME>``
    environment variable naming a known flag that the command line did not give.

    ``role`` is ``master`` or ``slave``. An environment variable naming no flag
    (``MESOS_ISOLATOR``) is ignored; an unknown ``--name`` raises ConfigError with stout's
    ``Failed to load unknown flag 'name'``, as do a duplicate flag and an unreadable
    ``file://`` value.
    """
    known = known_flags(role)
    flags: dict[str, str] = {}
    sources: dict[str, str] = {}
    args = wrapper_arguments(role, root) if use_wrapper else []
    args += [(a, "command line") for a in extra]
    seen: set[str] = set()
    for name, value, source in parse_flag_arguments(args):
        if name not in known:
            raise ConfigError(f"Failed to load unknown flag '{name}'")
        if name in seen:
            raise ConfigError(f"Failed to load flags: Duplicate flag '{name}' on command line")
        seen.add(name)
        flags[name] = value
        sources[name] = source
    for name, (value, key) in environment_flags(environ, known).items():
        if name not in flags:
            flags[name] = value
            sources[name] = f"environment {key}"
    for name, value in list(flags.items()):
        if value.startswith("file://") and name not in PATH_FLAGS:
            content = root.read(value[len("file://") :])
            if content is None:
                raise ConfigError(
                    f"Failed to load flag '{name}': Failed to read '{value[len('file://') :]}'"
                    ": No such file or directory"
                )
            flags[name] = content
        if name in DURATION_FLAGS:
            try:
                flags[name] = normalize_duration(flags[name])
            except ValueError as exc:
                raise ConfigError(
                    f"Failed to load flag '{name}': Failed to load value '{flags[name]}': {exc}"
                ) from None
    return MesosConfig(flags=flags, sources=sources)


# ------------------------------------------------------------------ framework packages


def package_options(
    root: Root, conf_dir: str, conf_file: str, prefix: str, environ: dict[str, str]
) -> dict[str, str]:
    """Options as the Marathon/Chronos package start scripts collect them.

    ``conf_dir`` files become ``--name value`` (``?name`` -> flag), then ``conf_file`` is
    sourced with allexport and every ``<PREFIX>_NAME`` variable becomes ``--name``.
    """
    options: dict[str, str] = {}
    directory = root.path(conf_dir)
    if directory.is_dir():
        for entry in sorted(directory.rglob("*")):
            if entry.is_file() and not entry.name.startswith("."):
                name = entry.relative_to(directory).as_posix()
                if name.startswith("?"):
                    options[name[1:]] = "true"
                else:
                    options[name] = entry.read_text(encoding="utf-8", errors="replace").rstrip("\n")
    scope = {k: v for k, v in environ.items() if k.startswith(prefix)}
    scope.update(read_defaults(root, conf_file, scope))
    for key, value in scope.items():
        if key.startswith(prefix) and not key.startswith(prefix + "APP"):
            options[key[len(prefix) :].lower()] = value.strip()
    return options


def load_options(
    root: Root,
    args: list[str],
    conf_dir: str,
    conf_file: str,
    prefix: str,
    *,
    disable: bool = False,
) -> dict[str, str]:
    """A framework's options (Marathon, Chronos): :func:`package_options`, then the command
    line -- ``--name=value`` or ``--name value``; a bare ``--name`` is ``true``, and with
    ``disable`` (Marathon's scallop) a bare ``--disable_name`` is ``name=false``."""
    options = package_options(root, conf_dir, conf_file, prefix, dict(os.environ))
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            if not sep:
                if i + 1 < len(args) and not args[i + 1].startswith("--"):
                    value = args[i + 1]
                    i += 1
                elif disable and name.startswith("disable_"):
                    name, value = name[len("disable_") :], "false"
                else:
                    value = "true"
            options[name] = value
        i += 1
    return options


def tool_options(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """A Mesos tool's command line (``mesos-execute``, ``mesos-resolve``): ``--name=value``,
    ``--name`` (``true``), ``--no-name`` (``false``), dashes as underscores; and the
    positional arguments."""
    options: dict[str, str] = {}
    positional: list[str] = []
    for arg in args:
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            if not sep:
                if name.startswith("no-"):
                    name, value = name[3:], "false"
                else:
                    value = "true"
            options[name.replace("-", "_")] = value
        else:
            positional.append(arg)
    return options, positional


def mesos_zk(root: Root) -> str:
    """The content of ``/etc/mesos/zk`` (empty when missing)."""
    return (root.read("/etc/mesos/zk") or "").strip()
