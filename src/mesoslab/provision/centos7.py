"""Base provisioning of CentOS 7 nodes: what a node needs before lesson 1 starts.

In order: hostname and ``/etc/hosts``; the CentOS base repositories pointed at the vault
(CentOS 7 is end of life, its mirrors are gone); time synchronisation; the package channel.
Nothing here installs Mesos or configures roles, and firewalld stays as the box has it:
that is lesson 1, which the learner does by hand (``mesoslab up --through lesson-N`` runs
the lessons' own command blocks for that, so there is one source of truth).
"""

from __future__ import annotations

from mesoslab.lab.spec import LabSpec
from mesoslab.provision.channels import channel_steps, checked_url
from mesoslab.provision.steps import (
    CHANGED_MARK,
    ProvisionStep,
    heredoc,
    hosts_step,
    script,
)

BASE_REPO_FILE = "/etc/yum.repos.d/CentOS-Base.repo"
FASTESTMIRROR_CONF = "/etc/yum/pluginconf.d/fastestmirror.conf"
GPG_KEY = "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7"

# The repositories of CentOS-Base.repo and whether they are enabled, as CentOS 7 ships them.
_BASE_REPOS = (
    ("base", "os", "Base", True),
    ("updates", "updates", "Updates", True),
    ("extras", "extras", "Extras", True),
    ("centosplus", "centosplus", "Plus", False),
)


def centos7_steps(spec: LabSpec) -> list[ProvisionStep]:
    """The steps that prepare every node of ``spec`` for lesson 1."""
    return [hosts_step(spec), base_repos_step(spec), time_sync_step(), *channel_steps(spec)]


def base_repo_file(vault_url: str) -> str:
    """CentOS-Base.repo pointing at ``vault_url`` (a vault or mirror with the vault layout:
    ``<vault_url>/os/$basearch/``, ``/updates/``, ``/extras/``)."""
    vault = checked_url(vault_url, "[mirrors] vault_url").rstrip("/")
    lines = [
        "# Managed by mesoslab: CentOS 7 is end of life and its mirrors are gone, so the base",
        f"# repositories point at {vault} ([mirrors] vault_url in lab.toml).",
        f"# The file the box came with is kept as {BASE_REPO_FILE.rsplit('/', 1)[1]}"
        ".mesoslab-orig.",
    ]
    for repo_id, folder, label, enabled in _BASE_REPOS:
        lines += [
            "",
            f"[{repo_id}]",
            f"name=CentOS-7 - {label} (vault)",
            f"baseurl={vault}/{folder}/$basearch/",
            "gpgcheck=1",
            f"enabled={1 if enabled else 0}",
            f"gpgkey={GPG_KEY}",
        ]
    return "\n".join(lines)


def _makecache_failed(vault: str) -> str:
    """Shell that says which repository made ``yum makecache`` fail (read from yum's
    stderr in ``$yumlog``): yum gives up when *any* enabled repository is down
    (``skip_if_unavailable=0``), so the vault is to blame only when it is one of the
    base repositories, or when yum's output names none."""
    base_ids = " ".join(repo_id for repo_id, *_ in _BASE_REPOS)
    return f"""
  bad=$(sed -n -e 's/.* from \\([^ :]*\\): \\[Errno.*/\\1/p' \\
    -e 's/.*for repository: \\([^ ]*\\)\\..*/\\1/p' \\
    -e 's|.*Cannot find a valid baseurl for repo: \\([^/ ]*\\).*|\\1|p' "$yumlog" |
    sort -u | tr '\\n' ' ' | sed 's/ $//')
  base_ids="{base_ids}"
  others=""
  for id in $bad; do
    case " $base_ids " in
      *" $id "*) ;;
      *) others="$others $id" ;;
    esac
  done
  if [ -n "$bad" ] && [ -n "$others" ] && [ "$others" = " $bad" ]; then
    echo "yum cannot download the metadata of repository$others (see above), which is" \\
      "not a CentOS base repository: fix its baseurl, disable it (yum-config-manager" \\
      "--disable <id>) or remove its file from /etc/yum.repos.d" >&2
  elif [ -n "$bad" ]; then
    echo "yum cannot download the metadata of repository $bad (see above): can the node" \\
      "reach {vault}? Set [mirrors] vault_url in lab.toml to a reachable CentOS 7 vault" \\
      "or mirror" >&2
  else
    repos=$(sed -n 's/^\\[\\(.*\\)\\]$/\\1/p' "$root"/etc/yum.repos.d/*.repo 2>/dev/null |
      tr '\\n' ' ' | sed 's/ $//')
    echo "the node cannot download the repository metadata (see above). yum gives up" \\
      "when any repository fails; the node has: $repos. For {base_ids}: can it reach" \\
      "{vault}? ([mirrors] vault_url in lab.toml). For another one: fix, disable or" \\
      "remove its file in /etc/yum.repos.d" >&2
  fi""".strip("\n")


def base_repos_step(spec: LabSpec) -> ProvisionStep:
    vault = spec.packages.vault_url.rstrip("/")
    content = base_repo_file(vault)
    failed = _makecache_failed(vault)
    body = f"""
if ! command -v yum >/dev/null 2>&1; then
  echo "this node has no yum: platform centos7 needs a CentOS 7 box" >&2
  exit 1
fi
repo="$root{BASE_REPO_FILE}"
want=$(mktemp)
yumlog=$(mktemp)
trap 'rm -f "$want" "$yumlog"' EXIT
cat > "$want" {heredoc(content)}
changed=0
if [ -f "$repo" ] && cmp -s "$want" "$repo"; then
  echo "base repositories point at {vault}"
else
  if [ -f "$repo" ] && [ ! -f "$repo.mesoslab-orig" ]; then
    cp -p "$repo" "$repo.mesoslab-orig"
  fi
  mkdir -p "$(dirname "$repo")"
  cat "$want" > "$repo"
  echo "base repositories now point at {vault}"
  changed=1
fi
conf="$root{FASTESTMIRROR_CONF}"
if [ -f "$conf" ] && grep -Eq '^[[:space:]]*enabled[[:space:]]*=[[:space:]]*1' "$conf"; then
  sed -i 's/^[[:space:]]*enabled[[:space:]]*=.*/enabled=0/' "$conf"
  echo "yum's fastestmirror plugin disabled"
  changed=1
fi
if [ "$changed" = 1 ]; then
  yum -q clean all >/dev/null 2>&1 || true
  echo {CHANGED_MARK}
fi
if ! yum -q makecache fast >/dev/null 2>"$yumlog"; then
  cat "$yumlog" >&2
{failed}
  exit 1
fi
"""
    return ProvisionStep(
        id="base-repos",
        title=f"CentOS base repositories from {vault}",
        script=script(body),
    )


def time_sync_step() -> ProvisionStep:
    body = f"""
if ! rpm -q chrony >/dev/null 2>&1; then
  if yum -y install chrony; then
    echo {CHANGED_MARK}
  else
    echo "note: chrony is not available from the base repositories: time is not synced"
    exit 0
  fi
fi
if ! systemctl is-enabled chronyd >/dev/null 2>&1; then
  systemctl enable chronyd
  echo {CHANGED_MARK}
fi
if ! systemctl is-active chronyd >/dev/null 2>&1; then
  systemctl start chronyd
  echo "chronyd started"
  echo {CHANGED_MARK}
fi
echo "time synchronised by chronyd"
"""
    return ProvisionStep(
        id="time-sync", title="Time synchronisation (chronyd)", script=script(body)
    )
