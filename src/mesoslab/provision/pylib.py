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

import base64
import hashlib
import tempfile
from importlib import metadata
from pathlib import Path

from mesoslab.provision.steps import FileSync, ProvisionStep, SyncFile, script

PYLIB_DEST = "/opt/mesoslab-pylib"
# import names, in the order avmesos pulls them in
PYLIB_PACKAGES = ("avmesos", "requests", "urllib3", "idna", "charset_normalizer", "certifi", "jwt")
_SKIP_SUFFIXES = (".so", ".pyd", ".pyc")


# import name -> the distribution pip installed it from
DISTRIBUTIONS = {
    "avmesos": "avmesos",
    "requests": "requests",
    "urllib3": "urllib3",
    "idna": "idna",
    "charset_normalizer": "charset-normalizer",
    "certifi": "certifi",
    "jwt": "PyJWT",
}
_EMPTY_RECORD = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"  # sha256 of b"", as RECORD writes it


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _empty_file() -> Path:
    path = Path(tempfile.gettempdir()) / "mesoslab-pylib-empty"
    if not path.exists() or path.stat().st_size:
        path.write_bytes(b"")
    return path


def pylib_files(
    packages: tuple[str, ...] = PYLIB_PACKAGES,
) -> tuple[tuple[SyncFile, ...], list[str]]:
    """The files to copy (named ``package/relative/path``) and the packages the host lacks.

    The files are those each distribution's RECORD lists, as pip wrote them: another
    distribution sharing the folder (``avmesos-cli`` installs ``avmesos/cli`` and its own
    ``avmesos/__init__.py`` over avmesos's empty one) contributes nothing. A file whose
    content no longer matches its RECORD hash is copied only when RECORD says it was empty
    (then as an empty file); any other mismatch counts the package as missing."""
    files: list[SyncFile] = []
    missing: list[str] = []
    for name in packages:
        try:
            dist = metadata.distribution(DISTRIBUTIONS.get(name, name))
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        found: list[SyncFile] = []
        for entry in dist.files or ():
            parts = entry.parts
            if (
                not parts
                or parts[0] != name
                or "__pycache__" in parts
                or entry.name.endswith(_SKIP_SUFFIXES)
            ):
                continue
            path = Path(str(dist.locate_file(entry)))
            if not path.is_file():
                continue
            data = path.read_bytes()
            recorded = entry.hash.value if entry.hash is not None else None
            if recorded is not None and recorded != _record_hash(data):
                if recorded != _EMPTY_RECORD:
                    found = []
                    break
                path, data = _empty_file(), b""
            digest = hashlib.sha256(data).hexdigest()
            found.append(SyncFile(entry.as_posix(), path, len(data), digest))
        if found:
            files.extend(found)
        else:
            missing.append(name)
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
