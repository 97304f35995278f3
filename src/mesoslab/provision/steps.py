"""What provisioning is made of: steps, their outcomes on each node, and the report.

A :class:`ProvisionStep` is a POSIX ``sh`` script run as root on every node it applies to.
The idempotency protocol every script follows:

* it starts with ``set -eu`` and exits 0 when the node is as it should be (non-zero: failed);
* it prints the line ``mesoslab:changed`` (see :data:`CHANGED_MARK`) only when it changed
  something, so running the same steps again reports every step ``ok``, none ``changed``;
* the runner defines ``MESOSLAB_NODE`` (the node's name in the inventory) before the script;
* file paths are prefixed with ``${MESOSLAB_ROOT:-}`` (empty on real nodes), so the scripts
  can be exercised against a scratch folder; with a root set, the scripts leave the running
  system alone (no ``hostname`` call).

The step shared by every platform (hostname and ``/etc/hosts``) lives here too.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mesoslab.lab.spec import LabSpec

CHANGED_MARK = "mesoslab:changed"
NODE_VAR = "MESOSLAB_NODE"
ROOT_VAR = "MESOSLAB_ROOT"
HOSTS_BEGIN = "# mesoslab begin"
HOSTS_END = "# mesoslab end"
STEP_TIMEOUT = 600.0  # seconds; a yum install over a slow mirror takes minutes

Status = Literal["ok", "changed", "failed", "skipped"]


@dataclass(frozen=True)
class SyncFile:
    """One host file to mirror to the nodes (its checksum taken when the step was made)."""

    name: str  # file name in the destination folder (a relative path in a recursive sync)
    path: Path  # where it is on the host
    size: int
    sha256: str


@dataclass(frozen=True)
class FileSync:
    """Make ``dest`` on the node hold exactly ``files`` (by name and SHA-256) before the
    script runs: changed or missing files are uploaded, files matching ``pattern`` that the
    host does not have are removed, identical ones are left alone.

    With ``recursive``, the same holds for the whole tree under ``dest``: file names are
    relative paths (``common/zk.py``), subfolders are created as needed, and folders named
    in ``skip`` (e.g. ``__pycache__``, at any depth) are neither compared nor emptied."""

    dest: str
    files: tuple[SyncFile, ...]
    pattern: str = "*.rpm"
    recursive: bool = False
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProvisionStep:
    id: str  # short and stable: "hosts", "base-repos", "channel-local", ...
    title: str  # what a person sees while it runs
    script: str  # POSIX sh, run with sudo; follows the idempotency protocol above
    applies_to: tuple[str, ...] | None = None  # roles; None = every node
    timeout: float = STEP_TIMEOUT
    sync: FileSync | None = None  # host files copied to the node before the script runs

    def applies(self, roles: tuple[str, ...]) -> bool:
        return self.applies_to is None or any(role in roles for role in self.applies_to)


@dataclass(frozen=True)
class StepOutcome:
    """How one step went on one node."""

    node: str
    step_id: str
    title: str
    status: Status
    elapsed_s: float = 0.0
    tail: str = ""  # the last lines of its output (the changed marker left out)
    message: str = ""  # one line: why it failed or was skipped

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class ProgressEvent:
    """A step starts on a node (``index`` of ``total`` steps for that node)."""

    node: str
    step_id: str
    title: str
    index: int
    total: int
    kind: Literal["started"] = "started"


@dataclass
class ProvisionReport:
    outcomes: list[StepOutcome] = field(default_factory=list)
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)  # e.g. what the channel probe said

    @property
    def changed(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.status == "changed"]

    @property
    def failed(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(o.status == "skipped" for o in self.outcomes)

    @property
    def nodes(self) -> list[str]:
        seen: list[str] = []
        for outcome in self.outcomes:
            if outcome.node not in seen:
                seen.append(outcome.node)
        return seen

    def for_node(self, node: str) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.node == node]

    def summary(self) -> str:
        nodes = len(self.nodes)
        if self.failed:
            names = ", ".join(sorted({o.node for o in self.failed}))
            return f"provisioning failed on {names} ({len(self.failed)} step(s) failed)"
        if not self.changed:
            return f"{nodes} node(s) already provisioned: nothing changed"
        return (
            f"{nodes} node(s) provisioned: {len(self.changed)} step(s) changed something "
            f"in {self.elapsed_s:.1f}s"
        )


# ---------------------------------------------------------------------- shared shell


def script(*parts: str) -> str:
    """A step script: ``set -eu``, the root prefix (when a part uses ``$root``), then
    ``parts`` joined by blank lines."""
    body = [p.strip("\n") for p in parts]
    head = "set -eu"
    if any('"$root' in p for p in body):
        head += f'\nroot="${{{ROOT_VAR}:-}}"'
    return "\n\n".join((head, *body)) + "\n"


# ``put_file TARGET MODE`` writes stdin to TARGET when its content differs (and then says
# changed). ``cat >`` keeps the file's inode, owner and SELinux label, and works on an
# /etc/hosts that a container runtime bind-mounted.
PUT_FILE_FN = f"""
put_file() {{
  want=$(mktemp)
  cat > "$want"
  if [ -f "$1" ] && cmp -s "$want" "$1"; then
    rm -f "$want"
    return 0
  fi
  mkdir -p "$(dirname "$1")"
  cat "$want" > "$1"
  chmod "$2" "$1"
  rm -f "$want"
  echo "wrote $1"
  echo {CHANGED_MARK}
}}
"""


def heredoc(text: str, delimiter: str = "MESOSLAB_EOF") -> str:
    """``text`` as a quoted here-document body (no expansion inside)."""
    if any(line == delimiter for line in text.splitlines()):
        raise ValueError(f"here-document text contains its delimiter {delimiter}")
    return f"<<'{delimiter}'\n{text.rstrip(chr(10))}\n{delimiter}"


def hosts_step(spec: LabSpec) -> ProvisionStep:
    """Set the hostname and list every lab node in ``/etc/hosts`` (between the markers).

    Lab names are also taken off loopback lines (when Vagrant sets a hostname it adds
    ``127.0.1.1 master1``, older releases ``127.0.0.1 master1``), because Mesos announces
    the address its own name resolves to (it listens on every address): a loopback address
    there makes the node unreachable for the others.
    """
    width = max(len(n.address) for n in spec.nodes)
    block = "\n".join(
        [HOSTS_BEGIN, *(f"{n.address.ljust(width)} {n.name}" for n in spec.nodes), HOSTS_END]
    )
    names = " ".join(n.name for n in spec.nodes)
    awk = r"""
BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) lab[list[i]] = 1 }
$0 == begin { skip = 1; next }
$0 == end { skip = 0; next }
skip { next }
$1 ~ /^127\./ || $1 == "::1" {
  out = $1; kept = 0; removed = 0
  for (i = 2; i <= NF; i++) {
    if ($i ~ /^#/) { for (j = i; j <= NF; j++) out = out " " $j; break }
    short = $i; sub(/\..*/, "", short)
    if ((($i) in lab) || ((short) in lab)) { removed = 1; continue }
    out = out " " $i; kept++
  }
  if (!removed) { print; next }
  if (kept > 0) print out
  next
}
{ print }
""".strip("\n")
    body = f"""
name="${{{NODE_VAR}:?mesoslab sets {NODE_VAR} to the node name}}"
hosts="$root/etc/hosts"
new=$(mktemp)
trap 'rm -f "$new"' EXIT
if [ -f "$hosts" ]; then
  awk -v names={shlex.quote(names)} -v begin={shlex.quote(HOSTS_BEGIN)} \\
    -v end={shlex.quote(HOSTS_END)} '
{awk}
' "$hosts" > "$new"
fi
cat >> "$new" {heredoc(block)}
if [ -f "$hosts" ] && cmp -s "$new" "$hosts"; then
  echo "/etc/hosts lists every lab node"
else
  cat "$new" > "$hosts"
  echo "/etc/hosts now lists every lab node"
  echo {CHANGED_MARK}
fi

# The hostname: persistent (/etc/hostname) and, on a live system, the running one.
if [ "$(cat "$root/etc/hostname" 2>/dev/null || true)" != "$name" ]; then
  printf '%s\\n' "$name" > "$root/etc/hostname"
  echo "hostname set to $name"
  echo {CHANGED_MARK}
fi
if [ -z "$root" ] && [ "$(hostname)" != "$name" ]; then
  if command -v hostnamectl >/dev/null 2>&1; then
    hostnamectl set-hostname "$name" || hostname "$name"
  else
    hostname "$name"
  fi
  echo "running hostname set to $name"
  echo {CHANGED_MARK}
fi
"""
    return ProvisionStep(
        id="hosts",
        title="Hostname and /etc/hosts with every lab node",
        script=script(body),
    )
