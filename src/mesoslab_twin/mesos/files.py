"""The agent's ``/files`` endpoints over its tasks' sandboxes, as Mesos 1.4's files process
serves them (src/files/files.cpp at 1.4.3): ``browse``, ``read``, ``download`` and ``debug``,
each also under its old ``.json`` name.

Mesos *attaches* each executor's sandbox twice, under its real path and under
``<work_dir>/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/latest``
(slave.cpp, Executor creation). A requested path resolves through the longest attached
prefix and must stay inside it; anything else is a 404. The web UI's Sandbox link and
``mesos-tail``-style tools read ``stdout`` and ``stderr`` this way.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mesoslab_twin.common.httpd import Reply, Request, Router, json_reply, text_reply

READ_CAP = 16 * os.sysconf("SC_PAGE_SIZE")  # files.cpp: "Cap the read length at 16 pages"
NEED_PATH = "Expecting 'path=value' in query.\n"

Attached = Callable[[], Iterable[Path]]  # the sandboxes to serve, asked afresh each request


class Files:
    def __init__(self, sandboxes: Attached) -> None:
        self.sandboxes = sandboxes

    def add_routes(self, router: Router) -> None:
        endpoints: dict[str, Callable[[Request], Reply]] = {
            "browse": self.browse,
            "read": self.read,
            "download": self.download,
            "debug": self.debug,
        }
        for name, handler in endpoints.items():
            router.add("GET", rf"/files/{name}(?:\.json)?", _ignoring_match(handler))

    # ------------------------------------------------------------------ attach / resolve

    def attached(self) -> dict[str, Path]:
        """Attached name -> real folder: each sandbox by its real path and by ``runs/latest``."""
        out: dict[str, Path] = {}
        for sandbox in self.sandboxes():
            try:
                real = sandbox.resolve(strict=True)
            except OSError:
                continue  # not created yet, or already gone
            out[str(sandbox).rstrip("/")] = real
            latest = sandbox.parent / "latest"
            if latest.is_symlink() and latest.resolve() == real:
                out[str(latest)] = real
        return out

    def resolve(self, path: str) -> Path | None:
        """The file ``path`` names, or None (404): through the longest attached prefix,
        never outside it (files.cpp FilesProcess::resolve)."""
        attached = self.attached()
        tokens = path.rstrip("/").split("/")
        suffix: list[str] = []
        while tokens:
            prefix = "/".join(tokens) or "/"
            root = attached.get(prefix)
            if root is not None:
                target = root.joinpath(*suffix) if suffix else root
                try:
                    real = target.resolve(strict=True)
                except OSError:
                    return None
                if real != root and root not in real.parents:
                    return None  # a link that leads out of the sandbox
                return real
            suffix.insert(0, tokens.pop())
        return None

    # ------------------------------------------------------------------ endpoints

    def browse(self, request: Request) -> Reply:
        path = request.arg("path")
        if not path:
            return text_reply(NEED_PATH, 400)
        folder = self.resolve(path)
        if folder is None or not folder.is_dir():
            return text_reply("", 404)
        listing = []
        for entry in sorted(os.listdir(folder)):
            try:
                info = os.stat(folder / entry)
            except OSError:
                continue
            listing.append(_file_info(path.rstrip("/") + "/" + entry, info))
        return json_reply(listing)

    def read(self, request: Request) -> Reply:
        path = request.arg("path")
        if not path:
            return text_reply(NEED_PATH, 400)
        offset, length, problem = _offset_and_length(request)
        if problem:
            return text_reply(problem, 400)
        target = self.resolve(path)
        if target is None:
            return text_reply("", 404)
        if target.is_dir():
            return text_reply("Cannot read a directory.\n", 400)
        size = target.stat().st_size
        start = 0 if offset == -1 else offset
        if offset == -1:  # the web UI's pailer asks for the size first
            length = 0
        if start >= size or length == 0:
            return json_reply({"data": "", "offset": size if offset == -1 else offset})
        count = min(size - start if length is None else length, READ_CAP)
        with target.open("rb") as handle:
            handle.seek(start)
            data = handle.read(count)
        return json_reply({"data": data.decode("utf-8", "replace"), "offset": offset})

    def download(self, request: Request) -> Reply:
        path = request.arg("path")
        if not path:
            return text_reply(NEED_PATH, 400)
        target = self.resolve(path)
        if target is None:
            return text_reply("", 404)
        if target.is_dir():
            return text_reply("Cannot download a directory.\n", 400)
        return Reply(
            body=target.read_bytes(),
            content_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename={target.name}"},
        )

    def debug(self, request: Request) -> Reply:
        return json_reply({name: str(real) for name, real in sorted(self.attached().items())})


def _ignoring_match(handler: Callable[[Request], Reply]) -> Callable[[Request, Any], Reply]:
    return lambda request, _match: handler(request)


def _offset_and_length(request: Request) -> tuple[int, int | None, str]:
    """``offset`` (-1 when absent) and ``length`` (None: to the end), or Mesos's complaint."""
    offset, problem = _count(request, "offset")
    if problem:
        return 0, None, problem
    length, problem = _count(request, "length")
    if problem:
        return 0, None, problem
    # the pailer's length=-1 means "to the end", as no length does
    return (-1 if offset is None else offset), (None if length == -1 else length), ""


def _count(request: Request, name: str) -> tuple[int | None, str]:
    """Query parameter ``name`` as a number of -1 or more (None when absent), or why not."""
    raw = request.arg(name)
    if raw is None:
        return None, ""
    try:
        value = int(raw)
    except ValueError:
        return None, f"Failed to parse {name}: Failed to convert '{raw}' to number.\n"
    if value < -1:
        return None, f"Negative {name} provided: {value}.\n"
    return value, ""


def _file_info(path: str, info: os.stat_result) -> dict[str, Any]:
    """One entry of a listing, as Mesos's model(FileInfo) writes it (common/http.cpp)."""
    try:
        uid = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        uid = str(info.st_uid)
    try:
        gid = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        gid = str(info.st_gid)
    return {
        "path": path,
        "nlink": info.st_nlink,
        "size": info.st_size,
        "mtime": float(int(info.st_mtime)),
        "mode": stat.filemode(info.st_mode),
        "uid": uid,
        "gid": gid,
    }
