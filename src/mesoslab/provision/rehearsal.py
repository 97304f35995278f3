"""Base provisioning of rehearsal nodes (Debian LXC containers with the twin services).

Hostname and ``/etc/hosts`` (the same step as on CentOS 7), a check that the box has the
tools the lessons' commands use, and the twin's code: the host's package ``mesoslab_twin``
(``src/mesoslab_twin``, every subpackage, ``install.sh`` and ``systemd/``) is mirrored to
every node at ``/opt/mesoslab-twin/mesoslab_twin`` (the rehearsal counterpart of "package
channel configured"), so changing the twin needs no new box. No time step:
containers share the host's clock. Nothing is installed: lesson 1's rehearsal variant runs
the twin's ``install.sh``, as the CentOS variant runs ``yum install``.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from mesoslab.lab.spec import LabSpec
from mesoslab.provision.steps import FileSync, ProvisionStep, SyncFile, hosts_step, script

# Commands the lessons' command blocks and host checks run on a node.
REQUIRED_TOOLS = ("sh", "sudo", "curl", "python3", "systemctl", "getent", "awk", "tee")
# Where the twin's code goes on a node: PREFIX/mesoslab_twin, PREFIX being install.sh's default.
TWIN_PREFIX = "/opt/mesoslab-twin"
TWIN_PACKAGE = "mesoslab_twin"
TWIN_DEST = f"{TWIN_PREFIX}/{TWIN_PACKAGE}"


def rehearsal_steps(spec: LabSpec) -> list[ProvisionStep]:
    return [hosts_step(spec), tools_step(), *twin_steps()]


def tools_step(tools: tuple[str, ...] = REQUIRED_TOOLS) -> ProvisionStep:
    body = f"""
missing=""
for tool in {" ".join(tools)}; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "the box lacks:$missing (the lessons' commands need them);" \\
    "rebuild the rehearsal box with mesoslab box build" >&2
  exit 1
fi
echo "the lessons' tools are there: {", ".join(tools)}"
"""
    return ProvisionStep(
        id="tools",
        title="Tools the lessons use (curl, python3, sudo, …)",
        script=script(body),
    )


def twin_source() -> Path:
    """The host's copy of the twin package (``src/mesoslab_twin``), found without importing
    it: mesoslab runs none of the twin's code, it only copies the folder."""
    spec = importlib.util.find_spec(TWIN_PACKAGE)
    if spec is None or spec.origin is None:
        raise LookupError(f"the {TWIN_PACKAGE} package is not installed beside mesoslab")
    return Path(spec.origin).resolve().parent


def sync_files(
    folder: Path, pattern: str, *, recursive: bool = False, skip: tuple[str, ...] = ()
) -> tuple[SyncFile, ...]:
    """The regular files of ``folder`` matching ``pattern``, with their checksums; with
    ``recursive`` those of its subfolders too (named by their path from ``folder``), except
    in folders named in ``skip`` -- the host's side of a :class:`FileSync` with the same
    parameters."""
    files = []
    for path in sorted(folder.rglob(pattern) if recursive else folder.glob(pattern)):
        relative = path.relative_to(folder)
        if not path.is_file() or any(part in skip for part in relative.parts[:-1]):
            continue
        data = path.read_bytes()
        name = relative.as_posix()
        files.append(SyncFile(name, path, len(data), hashlib.sha256(data).hexdigest()))
    return tuple(files)


def mirror(
    folder: Path, dest: str, pattern: str, *, recursive: bool = False, skip: tuple[str, ...] = ()
) -> FileSync:
    """A :class:`FileSync` making ``dest`` hold what ``folder`` holds (see :func:`sync_files`)."""
    files = sync_files(folder, pattern, recursive=recursive, skip=skip)
    return FileSync(dest=dest, files=files, pattern=pattern, recursive=recursive, skip=skip)


def twin_steps(source: Path | None = None, dest: str = TWIN_DEST) -> list[ProvisionStep]:
    """Mirror the twin's package tree to ``dest`` on every node (under ``$MESOSLAB_ROOT``
    when the runner is given one): its code, every subpackage and install.sh in one step,
    its unit templates (``systemd/*.service``) in the next; ``__pycache__`` folders are
    neither copied nor compared, and unchanged files are not copied."""
    folder = source or twin_source()
    code = mirror(folder, dest, "*", recursive=True, skip=("__pycache__", "systemd"))
    units = mirror(folder / "systemd", f"{dest}/systemd", "*.service")
    check = f"""
if [ ! -f "$root{dest}/__init__.py" ] || [ ! -f "$root{dest}/install.sh" ]; then
  echo "the twin's code did not arrive in {dest}" >&2
  exit 1
fi
echo "the twin's code is in {dest} (lesson 1 installs it with install.sh)"
"""
    return [
        ProvisionStep(
            id="twin-code",
            title="The twin's code (emulated Mesos, Marathon, Chronos) in " + TWIN_PREFIX,
            script=script(check),
            sync=code,
        ),
        ProvisionStep(
            id="twin-units",
            title="The twin's systemd unit templates",
            script=script(f'echo "unit templates in {dest}/systemd"'),
            sync=units,
        ),
    ]
