"""machines.json: what the generic Vagrantfile needs to define the lab's machines.

mesoslab writes ``<lab>/.mesoslab/machines.json`` from lab.toml before every Vagrant
command; the Vagrantfile (repository root, copied into the lab by ``mesoslab init``) only
reads it. The format (``schema`` 1) is private to the two of them.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
from pathlib import Path
from typing import Any

from mesoslab.files import write_atomic
from mesoslab.lab.host_labs import folder_digest
from mesoslab.lab.spec import LabSpec

MACHINES_FILE = "machines.json"
SCHEMA = 1
VAGRANTFILE = "Vagrantfile"


def machine_prefix(spec: LabSpec) -> str:
    """The prefix of the lab's container/VM names: ``mesoslab-<lab>-<hash>-``.

    Containers (LXC) and VirtualBox VMs are host-wide, so two labs with the same name in
    different directories must not collide: a short hash of the lab directory tells them
    apart while the lab name keeps ``lxc-ls`` readable.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", spec.name.lower()).strip("-")[:20].strip("-") or "lab"
    return f"mesoslab-{slug}-{folder_digest(spec.directory)}-"


def machines_doc(spec: LabSpec) -> dict[str, Any]:
    """The machines.json document for ``spec`` (pure: no file system access)."""
    network = ipaddress.ip_network(spec.subnet, strict=False)
    prefix = machine_prefix(spec)
    return {
        "schema": SCHEMA,
        "lab": spec.name,
        "provider": spec.provider,
        "platform": spec.platform,
        "subnet": str(network),
        "prefix": network.prefixlen,
        "netmask": str(network.netmask),
        "gateway": spec.gateway,
        "machines": [
            {
                "name": node.name,
                "hostname": node.name,
                "vm_name": prefix + node.name,
                "box": spec.box,
                "address": node.address,
                "cpus": node.cpus,
                "memory": node.memory,
                "roles": list(node.roles),
            }
            for node in spec.nodes
        ],
    }


def machines_path(spec: LabSpec) -> Path:
    return spec.state_dir / MACHINES_FILE


def write_machines(spec: LabSpec) -> Path:
    """Write ``<lab>/.mesoslab/machines.json`` atomically; return its path.

    The file is only replaced when its content changes, so Vagrant sees a stable file.
    """
    path = machines_path(spec)
    text = json.dumps(machines_doc(spec), indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    return write_atomic(path, text)


def vagrantfile_source() -> Path | None:
    """The generic Vagrantfile shipped with mesoslab (a checkout, or a packaged copy)."""
    package = Path(__file__).resolve().parents[1]  # src/mesoslab
    for candidate in (package / "_data" / VAGRANTFILE, package.parents[1] / VAGRANTFILE):
        if candidate.is_file():
            return candidate
    return None


def install_vagrantfile(lab_dir: Path) -> Path:
    """Copy the generic Vagrantfile into ``lab_dir`` (what ``mesoslab init`` does)."""
    source = vagrantfile_source()
    if source is None:
        raise FileNotFoundError("mesoslab's Vagrantfile is not part of this installation")
    target = Path(lab_dir) / VAGRANTFILE
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    return target
