"""DESIGN §2: the layers, as a test. Dependencies point downward only; nothing below tui/
and cli/ imports textual; --help stays light. (The twin imports nothing of mesoslab:
tests/test_twin_package.py.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mesoslab"

# Top to bottom. A module may import from the layers below its own (and from its own
# package), never from a layer above or beside it. ``__init__`` (the version) is at the bottom.
LAYERS: list[set[str]] = [
    {"__main__"},
    {"cli"},
    {"tui"},
    {"ops"},
    {"progress", "report"},
    {"provision"},
    {"lessons"},
    {"checks"},
    {"remote"},
    {"lab"},
    {"errors", "files"},
    {"__init__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """Import nodes under ``if TYPE_CHECKING:``: annotations only, nothing runs them (as
    import-linter's ``exclude_type_checking_imports``)."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                out.update(ast.walk(child))
    return out


def _imported_modules(path: Path, *, typing_too: bool = False) -> set[str]:
    """Absolute module names ``path`` imports at run time (anywhere in it, lazy imports
    included; with ``typing_too`` also those for annotations only)."""
    names: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    skip = set() if typing_too else _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported_modules(path)}


def _unit(parts: tuple[str, ...]) -> str:
    """The layer unit of a module given by its parts below ``mesoslab``."""
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def layer_violations(src: Path) -> list[str]:
    """Every import in the package at ``src`` that points up or sideways, as
    ``module -> imported``, and every unit that has no layer."""
    out: list[str] = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        me = _unit(rel.parts)
        if me not in RANK:
            out.append(f"{rel}: {me!r} is in no layer of DESIGN §2 (add it to LAYERS)")
            continue
        for name in sorted(_imported_modules(path)):
            parts = name.split(".")
            if parts[0] != src.name:
                continue
            target = _unit((*parts[1:], "")) if len(parts) > 1 else "__init__"
            if target == me:
                continue
            if RANK.get(target, -1) <= RANK[me]:
                out.append(f"{rel} -> {name}")
    return out


def test_dependencies_point_downward_only() -> None:
    assert layer_violations(SRC) == []


def test_a_back_arrow_fails_the_layering(tmp_path: Path) -> None:
    """The layering test can fail: a lab module importing ops, a lessons module importing
    progress and a module in no layer are each reported."""
    package = tmp_path / "mesoslab"
    for folder in ("lab", "lessons", "ops", "stray"):
        (package / folder).mkdir(parents=True)
    (package / "lab" / "up.py").write_text("from mesoslab.ops.up import bring_up\n")
    (package / "lessons" / "x.py").write_text("def f():\n    import mesoslab.progress\n")
    (package / "ops" / "fine.py").write_text("from mesoslab.lab import spec\n")
    (package / "lab" / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mesoslab.ops import up\n"
    )
    (package / "stray" / "y.py").write_text("")
    assert layer_violations(package) == [
        "lab/up.py -> mesoslab.ops.up",
        "lessons/x.py -> mesoslab.progress",
        "stray/y.py: 'stray' is in no layer of DESIGN §2 (add it to LAYERS)",
    ]


def test_nothing_below_tui_and_cli_imports_textual() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).parts[0] not in ("tui", "cli") and "textual" in _imports(path)
    ]
    assert offenders == []


def test_library_imports_without_textual_loaded() -> None:
    code = (
        "import sys\n"
        "import mesoslab.lessons.verify, mesoslab.report, mesoslab.progress\n"
        "import mesoslab.checks.registry as r; r.catalogue()\n"
        "import mesoslab.lessons.catalog, mesoslab.lab.inventory\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'textual']\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from mesoslab.cli.main import main\n"
        "try:\n"
        "    main(['verify', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'textual', 'paramiko', 'httpx', 'kazoo', 'rich'}\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--inventory" in out.stdout
