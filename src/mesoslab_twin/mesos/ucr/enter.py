"""The last step of a container's launch, inside its namespaces: chroot into the rootfs,
change to the working directory, exec the task's program with exactly the container's
environment (``python -m mesoslab_twin.mesos.ucr.enter ROOTFS WORKDIR ENV_JSON -- ARGV``).

The program is looked up on the container's ``PATH`` inside the rootfs. A failure prints
one line on stderr (the sandbox's ``stderr``) and exits 1, as ``mesos-containerizer
launch`` does.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: enter ROOTFS WORKDIR ENV_JSON -- ARGV...", file=sys.stderr)
        return 2
    rootfs, workdir, env_text, program = argv[0], argv[1], argv[2], argv[4:]
    env = {str(k): str(v) for k, v in json.loads(env_text).items()}
    try:
        os.chroot(rootfs)
        os.chdir(workdir)
    except OSError as exc:
        print(f"Failed to enter the container's rootfs '{rootfs}' ({workdir}): {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        os.execvpe(program[0], program, env)
    except OSError as exc:
        print(f"Failed to execute '{program[0]}': {exc.strerror}", file=sys.stderr)
        return 1
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
