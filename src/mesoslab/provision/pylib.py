"""Lesson 11's framework library on a rehearsal master, for a class without the internet.

Lesson 11 writes a Mesos framework in Python with ``avmesos`` (PyPI, AVENTER's client of the
v1 scheduler HTTP API). A CentOS 7 node installs it with ``pip`` from PyPI; rehearsal nodes
reach no package index. So provisioning copies the pure-Python code of avmesos and of what
it imports (requests and its four dependencies, PyJWT), as pip installed it beside mesoslab
on the host, to ``/opt/mesoslab-pylib`` on every master: the counterpart of ``pip download``
on a connected machine. ZooKeeper's ``kazoo`` is Debian's, already on the box. Compiled
modules (``*.so``: charset_normalizer's optional speed-ups, built for the host's Python)
are left out; each of them has a pure-Python twin that the node then imports. Nothing is
installed: the lesson's rehearsal variant puts the folder on its own Python path.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from mesoslab.provision.steps import FileSync, ProvisionStep, SyncFile, script

PYLIB_DEST = "/opt/mesoslab-pylib"
# import names, in the order avmesos pulls them in
PYLIB_PACKAGES = ("avmesos", "requests", "urllib3", "idna", "charset_normalizer", "certifi", "jwt")
_SKIP_SUFFIXES = (".so", ".pyd", ".pyc")


def package_folder(name: str) -> Path | None:
    """Where the host's package ``name`` lives (found without importing it)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return None
    return Path(spec.origin).resolve().parent


def pylib_files(
    packages: tuple[str, ...] = PYLIB_PACKAGES,
) -> tuple[tuple[SyncFile, ...], list[str]]:
    """The files to copy (named ``package/relative/path``) and the packages the host lacks."""
    files: list[SyncFile] = []
    missing: list[str] = []
    for name in packages:
        folder = package_folder(name)
        if folder is None:
            missing.append(name)
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if (
                not path.is_file()
                or "__pycache__" in relative.parts
                or path.name.endswith(_SKIP_SUFFIXES)
            ):
                continue
            data = path.read_bytes()
            files.append(
                SyncFile(f"{name}/{relative.as_posix()}", path, len(data),
                         hashlib.sha256(data).hexdigest())
            )  # fmt: skip
    return tuple(files), missing


def pylib_step(packages: tuple[str, ...] = PYLIB_PACKAGES) -> ProvisionStep:
    files, missing = pylib_files(packages)
    if missing:
        body = f"""
echo "the host's mesoslab lacks the Python packages {" ".join(missing)} (lesson 11's" \\
  "framework library): run pip install avmesos where mesoslab is installed, then mesoslab up" >&2
exit 1
"""
    else:
        tests = " && ".join(f'[ -f "$root{PYLIB_DEST}/{n}/__init__.py" ]' for n in packages)
        body = f"""
if ! {{ {tests}; }}; then
  echo "lesson 11's Python library did not arrive in {PYLIB_DEST}" >&2
  exit 1
fi
echo "avmesos and what it imports are in {PYLIB_DEST} (lesson 11 puts it on python3's path)"
"""
    return ProvisionStep(
        id="pylib",
        title=f"Lesson 11's framework library (avmesos) in {PYLIB_DEST}",
        script=script(body),
        applies_to=("master",),
        sync=FileSync(
            dest=PYLIB_DEST, files=files, pattern="*", recursive=True, skip=("__pycache__",)
        ),
    )
