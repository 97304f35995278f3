"""Real Docker images and a real registry for the unified containerizer's loopback tests.

The images are written by the box recipe's own tool (``boxes/rehearsal-debian12/
docker_images.py``), the same way the rehearsal box writes its busybox image: a ``docker
save`` archive and a registry's filesystem storage. The registry is Debian's real
``docker-registry`` (distribution 2.8) serving that storage over plain HTTP on a loopback
address, with the lab's configuration minus nothing but the address and the folder.

Images (busybox-static from the host, two layers so whiteouts are exercised):

* ``busybox:latest`` — layer 1: busybox and its applets, ``/etc/passwd``, ``/etc/motd``,
  ``/srv/old/file``; layer 2: ``/etc/.wh.motd`` (removes motd), ``/srv/old/.wh..wh..opq``
  (empties ``/srv/old``), ``/srv/old/new``, ``/srv/hello``. Cmd ``["sh"]``, Env PATH=/bin
  and ``IMAGE_GREETING=from-the-image``.
* ``echo:1`` — busybox with ``Entrypoint ["echo", "entry"]`` and ``Cmd ["from-cmd"]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.prerequisites import missing

TOOL = REPO / "boxes" / "rehearsal-debian12" / "docker_images.py"
CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {address}:{port}
"""


def require() -> tuple[str, str]:
    """The paths of ``docker-registry`` and ``busybox`` (./dev installs both)."""
    registry, busybox = shutil.which("docker-registry"), shutil.which("busybox")
    if registry is None:
        missing("docker-registry is not installed (apt-get install docker-registry)")
    if busybox is None:
        missing("busybox is not installed (apt-get install busybox-static)")
    return registry, busybox


def _busybox_layer(folder: Path, busybox: str) -> None:
    (folder / "bin").mkdir(parents=True)
    shutil.copy2(busybox, folder / "bin" / "busybox")
    applets = subprocess.run(
        [busybox, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (folder / "bin" / applet).symlink_to("busybox")
    (folder / "etc").mkdir()
    (folder / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (folder / "etc" / "motd").write_text("removed by the upper layer\n")
    (folder / "srv" / "old").mkdir(parents=True)
    (folder / "srv" / "old" / "file").write_text("hidden by an opaque whiteout\n")
    (folder / "tmp").mkdir()
    (folder / "tmp").chmod(0o1777)


def _upper_layer(folder: Path) -> None:
    (folder / "etc").mkdir(parents=True)
    (folder / "etc" / ".wh.motd").write_text("")
    (folder / "srv" / "old").mkdir(parents=True)
    (folder / "srv" / "old" / ".wh..wh..opq").write_text("")
    (folder / "srv" / "old" / "new").write_text("new in the upper layer\n")
    (folder / "srv" / "hello").write_text("hello from the image\n")


def build_images(base: Path) -> tuple[Path, Path]:
    """Write the images; (archives folder, registry storage folder)."""
    _, busybox = require()
    lower, upper = base / "layer-busybox", base / "layer-upper"
    _busybox_layer(lower, busybox)
    _upper_layer(upper)
    archives, storage = base / "archives", base / "registry"
    common = [sys.executable, str(TOOL), "image", "--archives", str(archives),
              "--registry", str(storage), "--label", "org.mesoslab.test=true"]  # fmt: skip
    subprocess.run(
        [*common, "--layer", str(lower), "--layer", str(upper), "--tag", "busybox:latest",
         "--cmd", '["sh"]', "--env", "PATH=/bin", "--env", "IMAGE_GREETING=from-the-image"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [*common, "--layer", str(lower), "--tag", "echo:1", "--entrypoint",
         '["echo", "entry"]', "--cmd", '["from-cmd"]', "--env", "PATH=/bin"],
        check=True, capture_output=True,
    )  # fmt: skip
    return archives, storage


@dataclass
class Registry:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_registry(base: Path, storage: Path, address: str = "127.0.0.1") -> Registry:
    """Debian's ``docker-registry serve`` on ``address``; waits until ``/v2/`` answers."""
    binary, _ = require()
    port = free_port([address])
    config = base / "registry.yml"
    config.write_text(CONFIG.format(root=storage, address=address, port=port))
    log = base / "registry.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    registry = Registry(process, f"http://{address}:{port}", log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"docker-registry exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(registry.url + "/v2/", timeout=2) as answer:
                if answer.status == 200:
                    return registry
        except OSError:
            time.sleep(0.1)
    registry.stop()
    raise AssertionError(f"docker-registry did not answer:\n{log.read_text()[-2000:]}")
