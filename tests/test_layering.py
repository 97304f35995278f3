"""DESIGN §2: nothing below tui/ and cli.py imports textual; --help stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mesoslab"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_below_tui_and_cli_imports_textual() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "tui" not in path.relative_to(SRC).parts
        and path.name != "cli.py"
        and "textual" in _imports(path)
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
        "from mesoslab.cli import main\n"
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
