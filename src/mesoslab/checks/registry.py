"""The catalogue of check kinds: registration, parameter declarations, validation."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from mesoslab.checks import moments
from mesoslab.checks.moments import STEP_START

Scope = Literal["node", "group"]

# Every module under this package registers the kinds of its namespace (the module or
# folder name right below ``kinds``); all are imported on first use of the catalogue.
KINDS_PACKAGE = "mesoslab.checks.kinds"


@dataclass(frozen=True)
class Param:
    """One parameter of a check kind, as a lesson author writes it in a check block."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = ()
    moment: bool = False  # a time: ISO 8601 or ``step start`` (see :mod:`.moments`)

    def describe(self) -> str:
        if self.moment:
            return f"ISO 8601 time or '{STEP_START}'"
        names = "/".join(_type_name(t) for t in self.types)
        if self.choices:
            names += " in " + ", ".join(map(str, self.choices))
        return names


def P(
    *types: type,
    required: bool = False,
    default: Any = None,
    help: str = "",
    choices: tuple[Any, ...] = (),
    moment: bool = False,
) -> Param:
    return Param(
        types=types,
        required=required,
        default=default,
        help=help,
        choices=choices,
        moment=moment,
    )


@dataclass(frozen=True)
class CheckKind:
    name: str
    fn: Callable[..., Any]
    scope: Scope  # "node": one result per target node; "group": one result over all of them
    role: str  # default target role when a spec has no ``on``
    params: dict[str, Param] = field(default_factory=dict)
    needs_ssh: bool = False
    validate: Callable[[dict[str, Any]], list[str]] | None = None
    doc: str = ""
    # the inventory port key of the one service the kind asks; it then takes `port`
    service: str | None = None

    def problems(self, params: dict[str, Any]) -> list[str]:
        """Every problem with ``params`` as a message (empty when they are fine)."""
        out: list[str] = []
        port = params.get("port")
        if self.service is not None and isinstance(port, int) and not 0 < port < 65536:
            out.append(f"{self.name}: parameter 'port' must be a TCP port, got {port}")
        for key in params:
            if key not in self.params:
                allowed = ", ".join(self.params) or "none"
                out.append(f"{self.name}: unknown parameter {key!r} (allowed: {allowed})")
        for key, param in self.params.items():
            if key not in params:
                if param.required:
                    what = param.help or param.describe()
                    out.append(f"{self.name}: missing parameter {key!r} ({what})")
                continue
            value = params[key]
            if param.moment:
                why = moments.problem(key, value)
                if why is not None:
                    out.append(f"{self.name}: {why}")
            elif not _is_instance(value, param.types):
                out.append(
                    f"{self.name}: parameter {key!r} must be {param.describe()}, got {value!r}"
                )
            elif param.choices and value not in param.choices:
                out.append(
                    f"{self.name}: parameter {key!r} must be one of "
                    f"{', '.join(map(str, param.choices))}, got {value!r}"
                )
        if not out and self.validate is not None:
            out.extend(f"{self.name}: {p}" for p in self.validate(params))
        return out

    def with_defaults(self, params: dict[str, Any]) -> dict[str, Any]:
        merged = {k: p.default for k, p in self.params.items() if p.default is not None}
        merged.update(params)
        return merged

    def resolved(self, params: dict[str, Any], started: datetime | None) -> dict[str, Any]:
        """``params`` with defaults, each time parameter a :class:`~.moments.Moment`
        (``step start`` is ``started``, when the step's commands began; None: unknown)."""
        merged = self.with_defaults(params)
        for key, param in self.params.items():
            if param.moment and merged.get(key) is not None:
                merged[key] = moments.resolve(merged[key], started)
        return merged


_REGISTRY: dict[str, CheckKind] = {}
_loaded = False


def check(
    name: str,
    *,
    role: str,
    scope: Scope = "node",
    params: dict[str, Param] | None = None,
    needs_ssh: bool = False,
    validate: Callable[[dict[str, Any]], list[str]] | None = None,
    service: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a check kind.

    The function makes one attempt. For ``scope="node"`` it is called as
    ``fn(ctx, node, params)``; for ``scope="group"`` as ``fn(ctx, nodes, params)``.
    It returns an Observation, or raises ProbeError for transport problems.

    ``service`` names the inventory port (e.g. ``mesos_agent``) of the one service the kind
    asks. The kind then takes a ``port`` parameter: the service answers on another port
    than the inventory's, as a second cluster beside the lab's own does; the runner hands
    the function a context whose ``ctx.port(service)`` is that port.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise RuntimeError(f"check kind {name} registered twice")
        namespace = namespace_of(fn.__module__)
        if namespace is not None and name.split(".")[0] != namespace:
            raise RuntimeError(
                f"check kind {name} is defined in {fn.__module__}: a {namespace}.* module"
            )
        declared = dict(params or {})
        if service is not None:
            if "port" in declared:
                raise RuntimeError(f"check kind {name} declares 'port' and a service")
            declared["port"] = P(int, help=f"the {service} port, when not the inventory's")
        _REGISTRY[name] = CheckKind(
            name=name,
            fn=fn,
            scope=scope,
            role=role,
            params=declared,
            needs_ssh=needs_ssh,
            validate=validate,
            doc=(fn.__doc__ or "").strip(),
            service=service,
        )
        return fn

    return register


def namespace_of(module: str) -> str | None:
    """The kind namespace of a module under ``kinds`` (``mesoslab.checks.kinds.mesos.flags``
    is ``mesos``); None for a module elsewhere (tests register kinds of their own)."""
    prefix = KINDS_PACKAGE + "."
    return module[len(prefix) :].split(".")[0] if module.startswith(prefix) else None


def kind_modules() -> list[str]:
    """Every module under :data:`KINDS_PACKAGE`, found on disk (no list to keep up to date)."""
    package = importlib.import_module(KINDS_PACKAGE)
    found = pkgutil.walk_packages(package.__path__, prefix=KINDS_PACKAGE + ".")
    return sorted(info.name for info in found)


def catalogue() -> dict[str, CheckKind]:
    """Every registered check kind, by name."""
    global _loaded
    if not _loaded:
        for module in kind_modules():
            importlib.import_module(module)
        _loaded = True
    return _REGISTRY


def _is_instance(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # YAML true is not a number
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, types)


def _type_name(t: type) -> str:
    return {
        str: "text",
        int: "integer",
        float: "number",
        bool: "true/false",
        list: "list",
        dict: "mapping",
    }.get(t, t.__name__)
