"""Base provisioning of rehearsal nodes (Debian LXC containers with the twin services).

Hostname and ``/etc/hosts`` (the same step as on CentOS 7), a check that the box has the
tools the lessons' commands use, and the twin's code: the host's package ``mesoslab_twin``
(``src/mesoslab_twin``, every subpackage, ``install.sh`` and ``systemd/``) is mirrored to
every node at ``/opt/mesoslab-twin/mesoslab_twin`` (the rehearsal counterpart of "package
channel configured"), so changing the twin needs no new box. No time step:
containers share the host's clock. Nothing is installed: lesson 1's rehearsal variant runs
the twin's ``install.sh``, as the CentOS variant runs ``yum install``.

The box carries Docker Engine (off until lesson 2) and Debian's Docker registry with the
box's images in its storage: the lab registry runs on the first master, and every node's
``/etc/docker/daemon.json`` trusts it (plain HTTP) and uses it as its Docker Hub mirror,
so ``docker pull nginx`` works without the internet.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

from mesoslab.lab.spec import LabSpec
from mesoslab.provision.apt_repo import REPO_PORT, repository
from mesoslab.provision.pylib import pylib_step
from mesoslab.provision.steps import (
    CHANGED_MARK,
    FileSync,
    ProvisionStep,
    SyncFile,
    heredoc,
    hosts_step,
    script,
)

# Commands the lessons' command blocks and host checks run on a node.
REQUIRED_TOOLS = ("sh", "sudo", "curl", "python3", "systemctl", "getent", "awk", "tee")
# Where the twin's code goes on a node: PREFIX/mesoslab_twin, PREFIX being install.sh's default.
TWIN_PREFIX = "/opt/mesoslab-twin"
TWIN_PACKAGE = "mesoslab_twin"
TWIN_DEST = f"{TWIN_PREFIX}/{TWIN_PACKAGE}"


REGISTRY_PORT = 5000  # Debian docker-registry's `http.addr` (boxes/.../registry-config.yml)


def rehearsal_steps(spec: LabSpec) -> list[ProvisionStep]:
    return [hosts_step(spec), tools_step(), *twin_steps(), docker_config_step(spec),
            registry_step(spec), apt_sources_step(), package_repo_step(spec),
            pylib_step()]  # fmt: skip


def registry_node(spec: LabSpec) -> str:
    """The node that runs the lab registry: the first master (else the first node)."""
    masters = [n.name for n in spec.nodes if "master" in n.roles]
    return masters[0] if masters else spec.nodes[0].name


def docker_daemon_config(spec: LabSpec) -> str:
    """``/etc/docker/daemon.json`` of every node: the lab registry is trusted over plain
    HTTP, by name and address, and mirrors Docker Hub (``docker pull nginx`` asks it)."""
    name = registry_node(spec)
    address = next(n.address for n in spec.nodes if n.name == name)
    registries = [f"{name}:{REGISTRY_PORT}", f"{address}:{REGISTRY_PORT}"]
    doc = {"insecure-registries": registries, "registry-mirrors": [f"http://{registries[0]}"]}
    return json.dumps(doc, indent=2) + "\n"


def docker_config_step(spec: LabSpec) -> ProvisionStep:
    body = f"""
mkdir -p "$root/etc/docker"
new=$(mktemp)
trap 'rm -f "$new"' EXIT
cat > "$new" {heredoc(docker_daemon_config(spec).rstrip(chr(10)))}
if cmp -s "$new" "$root/etc/docker/daemon.json" 2>/dev/null; then
  echo "/etc/docker/daemon.json trusts the lab registry"
else
  cat "$new" > "$root/etc/docker/daemon.json"
  echo "/etc/docker/daemon.json now trusts the lab registry (Docker reads it when it starts)"
  echo {CHANGED_MARK}
fi
"""
    return ProvisionStep(
        id="docker-config",
        title=f"Docker trusts the lab registry on {registry_node(spec)}:{REGISTRY_PORT}",
        script=script(body),
    )


def serve_and_wait(unit: str, url: str, what: str) -> str:
    """Shell: enable and start ``unit`` unless it is both (a change), then wait up to 10 s
    for ``url`` to answer, or fail naming the unit's journal."""
    return f"""if ! systemctl is-enabled --quiet {unit} || ! systemctl is-active --quiet {unit}
then
  systemctl enable --now {unit}
  echo {CHANGED_MARK}
fi
i=0
until curl -fsS -o /dev/null {url}; do
  i=$((i + 1))
  if [ "$i" -ge 100 ]; then
    echo "{what} is not answering: see journalctl -u {unit}" >&2
    exit 1
  fi
  sleep 0.1
done"""


def registry_step(spec: LabSpec) -> ProvisionStep:
    """Start the lab registry on its node (on a scratch root: only say so)."""
    node = registry_node(spec)
    body = f"""
if [ "$MESOSLAB_NODE" != {node} ]; then
  echo "the lab registry runs on {node}"
  exit 0
fi
if [ -n "$root" ]; then
  echo "would start docker-registry (not on a scratch root)"
  exit 0
fi
if ! systemctl cat docker-registry.service >/dev/null 2>&1; then
  echo "this box has no docker-registry: rebuild it with mesoslab box build" >&2
  exit 1
fi
{serve_and_wait("docker-registry", f"http://127.0.0.1:{REGISTRY_PORT}/v2/", "docker-registry")}
echo "the lab registry answers on {node}:{REGISTRY_PORT} ($(curl -fsS http://127.0.0.1:{REGISTRY_PORT}/v2/_catalog))"
"""
    return ProvisionStep(
        id="registry",
        title=f"The lab's Docker registry on {node}:{REGISTRY_PORT}",
        script=script(body),
    )


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


REPO_DIR = "/var/lib/mesoslab/repo"
REPO_UNIT = f"""[Unit]
Description=mesoslab rehearsal lab: the apt repository of the emulated Mesos packages
After=network.target

[Service]
ExecStart=/usr/bin/python3 -m http.server {REPO_PORT} --directory {REPO_DIR}
Restart=always

[Install]
WantedBy=multi-user.target
"""


def apt_sources_step() -> ProvisionStep:
    """The class works offline: Debian's online sources are turned off (the box already
    has what the lessons install), so ``apt-get update`` reads only the lab repository a
    lesson adds, as the CentOS platform's base repositories point at the vault."""
    body = rf"""
list="$root/etc/apt/sources.list"
if [ -f "$list" ] && grep -Eq '^[[:space:]]*deb' "$list"; then
  sed -i -E 's|^([[:space:]]*deb)|# offline lab (mesoslab): \1|' "$list"
  echo "Debian's online apt sources are off: the box has the packages the lessons install"
  echo {CHANGED_MARK}
else
  echo "apt reads no online sources (the lessons add the lab repository)"
fi
"""
    return ProvisionStep(
        id="apt-offline",
        title="apt works offline (the box's packages, then the lab repository)",
        script=script(body),
    )


def package_repo_step(spec: LabSpec, source: Path | None = None) -> ProvisionStep:
    """The rehearsal packages (``mesos``, ``marathon``, ``chronos``,
    ``mesosphere-zookeeper``; :mod:`mesoslab.provision.debs`) served as an apt repository
    from the first master: lesson 1 installs them with apt, as the seed does."""
    node = registry_node(spec)
    folder = repository(source or twin_source())
    body = f"""
if [ "$MESOSLAB_NODE" != {node} ]; then
  echo "the lab's apt repository is served by {node}"
  exit 0
fi
if [ -n "$root" ]; then
  echo "would serve {REPO_DIR} on :{REPO_PORT} (not on a scratch root)"
  exit 0
fi
new=$(mktemp)
trap 'rm -f "$new"' EXIT
cat > "$new" {heredoc(REPO_UNIT.rstrip(chr(10)))}
unit=/etc/systemd/system/mesoslab-repo.service
if ! cmp -s "$new" "$unit"; then
  cat "$new" > "$unit"
  systemctl daemon-reload
  echo {CHANGED_MARK}
fi
{serve_and_wait("mesoslab-repo", f"http://127.0.0.1:{REPO_PORT}/Release", "the apt repository")}
count=0
for deb in {REPO_DIR}/*.deb; do [ -e "$deb" ] && count=$((count + 1)); done
echo "apt repository: deb [trusted=yes] http://{node}:{REPO_PORT}/ ./ ($count packages)"
"""
    return ProvisionStep(
        id="package-repo",
        title=f"The lab's apt repository (mesos, marathon, chronos, …) on {node}:{REPO_PORT}",
        script=script(body),
        applies_to=("master",),
        sync=mirror(folder, REPO_DIR, "*"),
    )
