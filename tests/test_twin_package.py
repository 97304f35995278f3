"""The twin as a package of its own (``src/mesoslab_twin``): it stands alone on the nodes'
system python (nothing of mesoslab), its command line closes no import circle, and
provisioning copies every file of its tree."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mesoslab.provision.rehearsal import TWIN_DEST, twin_source, twin_steps
from mesoslab_twin.common.config import Root, load_options

SRC = Path(__file__).resolve().parents[1] / "src"
TWIN = SRC / "mesoslab_twin"


def _imports(path: Path) -> list[str]:
    """Every absolute module name ``path`` imports, lazy and TYPE_CHECKING imports too."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _package_files(folder: Path) -> list[str]:
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.relative_to(folder).parts
    )


def test_the_twin_imports_nothing_of_mesoslab() -> None:
    modules = sorted(TWIN.rglob("*.py"))
    assert len(modules) > 20 and (TWIN / "mesos" / "agent.py") in modules
    offenders = [
        f"{path.relative_to(TWIN)} imports {name}"
        for path in modules
        for name in _imports(path)
        if name == "mesoslab" or name.startswith("mesoslab.")
    ]
    assert offenders == []


def test_every_twin_module_imports_without_mesoslab() -> None:
    """The same at run time: importing all of the twin loads no mesoslab module."""
    names = [
        ".".join(("mesoslab_twin", *path.relative_to(TWIN).with_suffix("").parts))
        for path in sorted(TWIN.rglob("*.py"))
        if path.name != "__main__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {[n.removesuffix('.__init__') for n in names]!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'mesoslab' or m.startswith('mesoslab.'))\n"
        "print(len([m for m in sys.modules if m.startswith('mesoslab_twin')]), loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.split(" ", 1)
    assert int(count) >= len(names) and loaded.strip() == "[]"


def test_only_main_imports_the_command_line() -> None:
    """cli imports the daemons to run them; a daemon importing cli back is a circle."""
    importers = [
        path.relative_to(TWIN).as_posix()
        for path in sorted(TWIN.rglob("*.py"))
        if "mesoslab_twin.cli" in _imports(path)
    ]
    assert importers == ["__main__.py"]


def test_provisioning_copies_the_whole_package_tree(tmp_path: Path) -> None:
    assert twin_source() == TWIN.resolve()
    assert TWIN_DEST == "/opt/mesoslab-twin/mesoslab_twin"
    source = tmp_path / "mesoslab_twin"
    shutil.copytree(TWIN, source, ignore=shutil.ignore_patterns("__pycache__"))
    for cache in (source / "__pycache__", source / "mesos" / "__pycache__"):
        cache.mkdir()
        (cache / "agent.cpython-311.pyc").write_bytes(b"not copied")
    code, units = (step.sync for step in twin_steps(source))
    assert code is not None and units is not None
    assert code.dest == TWIN_DEST and code.recursive
    assert units.dest == f"{TWIN_DEST}/systemd"
    synced = sorted([f.name for f in code.files] + [f"systemd/{f.name}" for f in units.files])
    assert synced == _package_files(TWIN)
    for name in ("install.sh", "mesos/agent.py", "common/zk.py", "marathon/api.py"):
        assert name in synced
    assert "systemd/mesos-slave.service" in synced
    assert not any("__pycache__" in name for name in synced)
    assert all(f.path == source / f.name for f in code.files)


def test_twin_source_does_not_import_the_twin() -> None:
    code = (
        "import sys\n"
        "from mesoslab.provision.rehearsal import twin_source\n"
        "print(twin_source())\n"
        "print(sorted(m for m in sys.modules if m.startswith('mesoslab_twin')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(TWIN.resolve()), "[]"]


def test_framework_options_are_read_like_each_package(tmp_path: Path) -> None:
    """One parser for Marathon and Chronos; only Marathon's knows ``--disable_<name>``."""
    root = Root(tmp_path)
    (tmp_path / "etc/marathon/conf").mkdir(parents=True)
    (tmp_path / "etc/marathon/conf/hostname").write_text("m1\n")
    args = ["--http_port", "8081", "--disable_http", "--checkpoint", "--zk=zk://a/x"]
    marathon = load_options(
        root, args, "/etc/marathon/conf", "/etc/default/marathon", "MARATHON_", disable=True
    )
    assert marathon == {
        "hostname": "m1",
        "http_port": "8081",
        "http": "false",
        "checkpoint": "true",
        "zk": "zk://a/x",
    }
    chronos = load_options(root, args, "/etc/chronos/conf", "/etc/default/chronos", "CHRONOS_")
    assert chronos == {
        "http_port": "8081",
        "disable_http": "true",
        "checkpoint": "true",
        "zk": "zk://a/x",
    }
