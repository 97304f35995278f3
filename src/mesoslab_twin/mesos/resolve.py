"""``mesos-resolve`` as the lessons use it (lesson 1, step 6).

``mesos-resolve [--timeout=5secs] <zk://.../mesos | host:port>`` prints the leading master's
``ip:port`` (the lowest ``json.info_`` znode).
"""

from __future__ import annotations

import sys

from mesoslab_twin.common.config import tool_options
from mesoslab_twin.common.values import duration_seconds


def main(args: list[str]) -> int:
    options, positional = tool_options(args)
    master = options.get("master") or (positional[0] if positional else "")
    if not master:
        print(
            "Usage: mesos-resolve [options] <master>\n\nMissing required option --master",
            file=sys.stderr,
        )
        return 1
    try:
        timeout = duration_seconds(options.get("timeout", "5secs"))
    except ValueError as exc:
        print(f"Failed to load flag 'timeout': {exc}", file=sys.stderr)
        return 1
    from mesoslab_twin.common.zk import LeaderWatch  # kazoo: only once the options are sound

    try:
        watch = LeaderWatch(master)
    except ValueError as exc:
        print(f"Failed to create a master detector for '{master}': {exc}", file=sys.stderr)
        return 1
    watch.start()
    try:
        address = watch.wait(timeout)
    finally:
        watch.stop()
    if address is None:
        print(
            f"Failed to detect master from '{master}' within {options.get('timeout', '5secs')}",
            file=sys.stderr,
        )
        return 1
    print(address)
    return 0
