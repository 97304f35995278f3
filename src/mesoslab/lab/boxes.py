"""Vagrant boxes mesoslab builds itself (``boxes/``): build, cache, add with a version.

* ``rehearsal`` + ``lxc``: ``boxes/rehearsal-debian12/build.sh`` (debootstrap of Debian 12)
  writes a vagrant-lxc box. The result is cached in ``$XDG_CACHE_HOME/mesoslab/boxes``
  under the hash of the recipe's files, so a changed recipe builds a new box and an
  unchanged one is never built twice.
* ``centos7`` + ``virtualbox``/``libvirt``: a pre-baked box for offline classrooms is a
  provisioned machine turned into a box by ``vagrant package`` (vagrant-libvirt implements
  the same command). That needs a hypervisor; :func:`prebake_plan` is the command plan.

A box is added through a local catalog (metadata) file, so ``vagrant box list`` shows its
version and Vagrant picks the newest build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mesoslab.errors import LabError
from mesoslab.lab.machines import install_vagrantfile, write_machines
from mesoslab.lab.spec import parse_lab
from mesoslab.lab.vagrant import VagrantDriver, box_add, box_list
from mesoslab.lab.vagrant_up import OnLine, failure_error, run_streaming

REHEARSAL_BOX = "mesoslab/rehearsal-debian12"
CENTOS7_PREBAKED_BOX = "mesoslab/centos7-prebaked"
CENTOS7_BASE_BOX = "centos/7"
PREBAKE_MACHINE = "prebake"


@dataclass(frozen=True)
class Recipe:
    """How to build one box: a folder in ``boxes/`` and what it produces."""

    platform: str
    provider: str
    folder: str  # under boxes/
    box_name: str


RECIPES: dict[tuple[str, str], Recipe] = {
    ("rehearsal", "lxc"): Recipe("rehearsal", "lxc", "rehearsal-debian12", REHEARSAL_BOX),
}
PREBAKE_PROVIDERS = ("virtualbox", "libvirt")


def boxes_source() -> Path | None:
    """The ``boxes/`` folder shipped with mesoslab (a checkout, or a packaged copy)."""
    package = Path(__file__).resolve().parents[1]  # src/mesoslab
    for candidate in (package / "_data" / "boxes", package.parents[1] / "boxes"):
        if candidate.is_dir():
            return candidate
    return None


def cache_dir() -> Path:
    """Where built boxes are kept: ``$XDG_CACHE_HOME/mesoslab/boxes`` (~/.cache/...)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mesoslab" / "boxes"


def recipe_for(platform: str, provider: str) -> Recipe:
    recipe = RECIPES.get((platform, provider))
    if recipe is None:
        if platform == "rehearsal":
            raise LabError(
                f"the rehearsal box is built for the lxc provider only, not {provider}",
                hint='set provider = "lxc" in lab.toml for a rehearsal lab',
            )
        raise LabError(f"no box recipe for platform {platform!r} with provider {provider!r}")
    return recipe


def recipe_path(recipe: Recipe) -> Path:
    source = boxes_source()
    folder = source / recipe.folder if source is not None else None
    if folder is None or not (folder / "build.sh").is_file():
        raise LabError(
            f"the box recipe boxes/{recipe.folder}/build.sh is not part of this installation",
            hint="run mesoslab from its source checkout to build boxes",
        )
    return folder


def recipe_hash(folder: Path) -> str:
    """sha256 over the recipe's files (names, modes and contents; not its .md files)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if "__pycache__" in relative or path.suffix == ".md":
            continue  # documentation does not change the box
        digest.update(relative.encode() + b"\0")
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cached_box_path(recipe: Recipe, folder: Path) -> Path:
    return cache_dir() / f"{recipe.folder}-{recipe.provider}-{recipe_hash(folder)[:12]}.box"


def build_box(
    platform: str = "rehearsal",
    provider: str = "lxc",
    on_line: OnLine | None = None,
    cancel: threading.Event | None = None,
    *,
    force: bool = False,
) -> Path:
    """Build the box for ``platform``/``provider`` (or reuse the cached build); its path.

    ``on_line("", line)`` receives the recipe's output as it runs; ``cancel`` stops it
    (LabCancelled). For centos7 see :func:`prebake_plan`: it needs a hypervisor.
    """
    if platform == "centos7":
        # A real VM has to be provisioned: see prebake_box() (needs the provisioner).
        raise _prebake_error(provider)
    recipe = recipe_for(platform, provider)
    folder = recipe_path(recipe)
    output = cached_box_path(recipe, folder)
    if output.is_file() and not force:
        if on_line is not None:
            on_line("", f"using the cached box {output}")
        return output
    if os.geteuid() != 0:
        raise LabError(
            f"building the {platform} box needs root (debootstrap, file ownership)",
            hint="run it as root, e.g. `sudo mesoslab box build`",
        )
    if shutil.which("debootstrap") is None:
        raise LabError(
            "building the rehearsal box needs debootstrap",
            hint="apt-get install debootstrap",
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    command = ["bash", str(folder / "build.sh"), "--force", str(output)]
    outcome = run_streaming(
        command,
        cwd=folder,
        env={**os.environ, "CACHE_DIR": str(cache_dir().parent / "debs")},
        machines=(),
        on_line=on_line,
        cancel=cancel,
        grace=10.0,
        action="box build",
    )
    if outcome.returncode != 0 or not output.is_file():
        error = failure_error(outcome, (), action=f"building the {platform} box")
        error.hint = f"see the output above; the recipe is {folder / 'build.sh'}"
        raise error
    _prune_old_builds(recipe, keep=output)
    return output


def _prune_old_builds(recipe: Recipe, keep: Path) -> None:
    """Remove cached builds of older versions of the same recipe (they are large)."""
    for old in cache_dir().glob(f"{recipe.folder}-{recipe.provider}-*"):
        if old.name.startswith(keep.stem):
            continue
        old.unlink(missing_ok=True)


def box_version(box: Path) -> str:
    """A version Vagrant orders by build time: ``YYYY.MMDD.HHMMSS`` of the box file (UTC)."""
    stamp = time.gmtime(box.stat().st_mtime)
    return (
        f"{stamp.tm_year}.{stamp.tm_mon * 100 + stamp.tm_mday}."
        f"{stamp.tm_hour * 10000 + stamp.tm_min * 100 + stamp.tm_sec}"
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def catalog_doc(box: Path, name: str, provider: str, version: str, checksum: str) -> dict[str, Any]:
    """The local catalog (``vagrant box add`` metadata) for one box file."""
    return {
        "name": name,
        "description": f"built by mesoslab from {box.name}",
        "versions": [
            {
                "version": version,
                "providers": [
                    {
                        "name": provider,
                        "url": box.resolve().as_uri(),
                        "checksum_type": "sha256",
                        "checksum": checksum,
                    }
                ],
            }
        ],
    }


def write_catalog(box: Path, name: str, provider: str) -> Path:
    """Write ``<box>.json`` beside the box (atomically); its path."""
    doc = catalog_doc(box, name, provider, box_version(box), sha256_file(box))
    path = box.with_suffix(".json")
    fd, tmp = tempfile.mkstemp(prefix=".catalog-", dir=box.parent)
    os.fchmod(fd, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def installed_versions(name: str, provider: str) -> list[str]:
    """The versions of box ``name`` Vagrant has for ``provider``, oldest first."""
    versions = [b.version or "0" for b in box_list() if b.name == name and b.provider == provider]
    return sorted(versions, key=_version_key)


def add_box(box: Path, name: str, provider: str, on_line: OnLine | None = None) -> str:
    """Add a built box to Vagrant through its catalog file (skipped when that version is
    already there); the version."""
    version = box_version(box)
    if version in installed_versions(name, provider):
        return version
    catalog = write_catalog(box, name, provider)
    if on_line is not None:
        on_line("", f"adding box {name} {version} ({provider}) from {catalog}")
    box_add(catalog, provider=provider)
    return version


def ensure_box(
    name: str = REHEARSAL_BOX,
    platform: str = "rehearsal",
    provider: str = "lxc",
    on_line: OnLine | None = None,
    cancel: threading.Event | None = None,
    *,
    current: bool = False,
) -> str:
    """Make sure Vagrant has box ``name`` for ``provider``; build and add it if not.

    Any installed version will do, unless ``current``: then the build of the current
    recipe (built now if it is not cached) is added too, and Vagrant, which uses the
    newest version, uses it. Returns the version Vagrant will use.
    """
    installed = installed_versions(name, provider)
    if installed and not current:
        return installed[-1]
    recipe = RECIPES.get((platform, provider))
    if recipe is None or recipe.box_name != name:
        if installed:
            return installed[-1]
        raise LabError(
            f"box {name!r} ({provider}) is not installed, and mesoslab has no recipe for it",
            hint=f"add it with `vagrant box add {name}`, or use the box mesoslab builds: "
            f"{RECIPES[('rehearsal', 'lxc')].box_name!r} (platform rehearsal, provider lxc)",
        )
    box = build_box(platform, provider, on_line=on_line, cancel=cancel)
    add_box(box, name, provider, on_line)
    return installed_versions(name, provider)[-1]


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        parts.append(int(part) if part.isdigit() else 0)
    return tuple(parts)


# ---------------------------------------------------------------------- centos7 pre-baked


@dataclass(frozen=True)
class PlanStep:
    """One step of making a pre-baked box: a command, or mesoslab's own provisioning."""

    what: str
    argv: tuple[str, ...] = ()  # () = done by mesoslab itself (provisioning over SSH)

    def __str__(self) -> str:
        return " ".join(self.argv) if self.argv else f"({self.what})"


def prebake_plan(
    provider: str,
    output: Path,
    *,
    base_box: str = CENTOS7_BASE_BOX,
    machine: str = PREBAKE_MACHINE,
) -> list[PlanStep]:
    """The steps that make the pre-baked CentOS 7 box (VirtualBox or libvirt).

    They run in a one-machine lab folder (machines.json defines ``machine`` on
    ``base_box``): bring the machine up, let mesoslab provision every role's packages over
    SSH, stop it, ``vagrant package`` it (vagrant-libvirt implements the same command for
    libvirt and writes a qcow2-based box), destroy it, then add the box through its catalog
    file so Vagrant knows its version. Running VMs needs a real hypervisor.
    """
    if provider not in PREBAKE_PROVIDERS:
        raise LabError(
            f"a pre-baked centos7 box is made for {' or '.join(PREBAKE_PROVIDERS)}, not {provider}"
        )
    box = str(output)
    catalog = str(Path(box).with_suffix(".json"))
    return [
        PlanStep(
            "start the base machine",
            ("vagrant", "up", f"--provider={provider}", "--no-provision", machine),
        ),
        PlanStep(f"provision {machine} with every role's packages (mesoslab, over SSH)"),
        PlanStep("stop it", ("vagrant", "halt", machine)),
        PlanStep("package it", ("vagrant", "package", machine, "--output", box)),
        PlanStep("remove the machine", ("vagrant", "destroy", "--force", machine)),
        PlanStep("add the box with its version", ("vagrant", "box", "add", catalog)),
    ]


def hypervisor_missing(provider: str) -> str:
    """Why ``provider`` cannot run VMs here ("" when it looks usable)."""
    if provider == "virtualbox":
        return "" if shutil.which("VBoxManage") else "VirtualBox (VBoxManage) is not installed"
    if provider == "libvirt":
        if shutil.which("virsh") is None:
            return "libvirt (virsh) is not installed"
        if not os.path.exists("/dev/kvm"):
            return "/dev/kvm is missing: no hardware virtualization here"
        return ""
    return f"the {provider} provider cannot run CentOS 7 virtual machines"


Provision = Callable[[VagrantDriver, str], None]


def prebake_box(
    provider: str,
    provision: Provision,
    on_line: OnLine | None = None,
    cancel: threading.Event | None = None,
    *,
    base_box: str = CENTOS7_BASE_BOX,
    name: str = CENTOS7_PREBAKED_BOX,
) -> Path:
    """Make the pre-baked CentOS 7 box with a real VM (see :func:`prebake_plan`).

    ``provision(driver, machine)`` installs everything on the running machine (the
    provisioner, over SSH). Raises LabError at once when the hypervisor is missing.
    """

    if provider not in PREBAKE_PROVIDERS or hypervisor_missing(provider):
        raise _prebake_error(provider)
    work = cache_dir() / f"prebake-centos7-{provider}"
    work.mkdir(parents=True, exist_ok=True)
    output = cache_dir() / f"centos7-{provider}-{time.strftime('%Y%m%d%H%M%S')}.box"
    spec = parse_lab(
        {
            "name": f"prebake-{provider}",
            "provider": provider,
            "platform": "centos7",
            "box": base_box,
            "node": [{"name": PREBAKE_MACHINE, "roles": list(_ALL_ROLES)}],
        },
        directory=work,
    )
    write_machines(spec)
    install_vagrantfile(work)
    driver = VagrantDriver(work)
    try:
        driver.up([PREBAKE_MACHINE], provider, on_line, cancel)
        provision(driver, PREBAKE_MACHINE)
        driver.halt([PREBAKE_MACHINE])
        driver.package(PREBAKE_MACHINE, output)
    finally:
        driver.destroy([PREBAKE_MACHINE])
    catalog = write_catalog(output, name, provider)

    box_add(catalog, provider=provider)
    return output


_ALL_ROLES = ("master", "agent", "zookeeper", "marathon", "chronos")


def _prebake_error(provider: str) -> LabError:
    if provider not in PREBAKE_PROVIDERS:
        return LabError(
            f"a pre-baked centos7 box is made with VirtualBox or libvirt, not {provider}"
        )
    reason = hypervisor_missing(provider) or "mesoslab must provision it"
    plan = "; ".join(str(step) for step in prebake_plan(provider, Path("centos7.box")))
    return LabError(
        f"the pre-baked centos7 box is made from a real {provider} VM, which cannot run "
        f"here: {reason}",
        hint=f"on a machine with {provider}: {plan}",
    )
