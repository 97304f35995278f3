"""What the ``docker/runtime`` isolator takes from the image (MESOS@1.4.3
src/slave/containerizer/mesos/isolators/docker/runtime.cpp L171-380).

* Command: with ``shell: true`` the task's own ``/bin/sh -c <value>`` (an error without a
  value); with ``shell: false`` and a value, the value is the program and ``arguments`` its
  argv; with ``shell: false`` and no value, the image's ``Entrypoint`` (the task's arguments
  replace the image's ``Cmd``, else ``Cmd`` follows), or ``Cmd`` alone; neither is
  ``No executable is found``.
* Environment: the image's ``Env`` (``NAME=value`` entries; others are skipped), under the
  task's own variables.
* Working directory: the image's ``WorkingDir`` when it is not empty.
"""

from __future__ import annotations

from typing import Any


class RuntimeError_(Exception):
    pass


def command(task_command: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The argv to run inside the container."""
    value = str(task_command.get("value") or "")
    arguments = [str(a) for a in task_command.get("arguments") or []]
    if task_command.get("shell", True) is not False:
        if not value:
            raise RuntimeError_("Shell specified but no command value provided")
        return ["/bin/sh", "-c", value]
    if value:
        return [value, *arguments[1:]] if arguments else [value]
    entrypoint = [str(x) for x in config.get("Entrypoint") or []]
    cmd = [str(x) for x in config.get("Cmd") or []]
    if entrypoint:
        return [*entrypoint, *(arguments if arguments else cmd)]
    if cmd:
        return [cmd[0], *(arguments if arguments else cmd[1:])]
    raise RuntimeError_("No executable is found")


def environment(config: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in config.get("Env") or []:
        name, equals, value = str(entry).partition("=")
        if equals:
            found[name] = value
    return found


def working_dir(config: dict[str, Any]) -> str | None:
    return str(config.get("WorkingDir") or "") or None
