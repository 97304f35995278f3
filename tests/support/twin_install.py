"""The twin's install.sh run into a folder standing for a node's root (DESTDIR), as the
rehearsal provisioning runs it on the nodes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

TWIN_DIR = REPO / "src" / "mesoslab_twin"


def install_env(dest: Path) -> dict[str, str]:
    """The environment install.sh (and the tools it installs) run with: DESTDIR, and this
    Python first on the PATH."""
    return {
        **os.environ,
        "DESTDIR": str(dest),
        "PATH": f"{Path(sys.executable).parent}:" + os.environ.get("PATH", ""),
    }


def install_twin(prefix: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    """Copy the twin to ``prefix/mesoslab_twin`` (once) and run its install.sh into
    ``dest``; it must succeed."""
    if not (prefix / "mesoslab_twin").exists():
        shutil.copytree(TWIN_DIR, prefix / "mesoslab_twin")
    done = subprocess.run(
        ["sh", str(TWIN_DIR / "install.sh"), str(prefix)],
        env=install_env(dest),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done
