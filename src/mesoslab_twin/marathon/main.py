"""``python3 -m mesoslab_twin marathon``: start Marathon as the package's
``marathon-framework`` script does: options from ``/etc/marathon/conf`` and
``/etc/default/marathon``, ``--master`` from ``/etc/mesos/zk`` (and ``--zk`` beside it)
when not given, then the REST API and the scheduler until a stop signal."""

from __future__ import annotations

import logging
import sys

from mesoslab_twin import MARATHON_VERSION, MESOS_VERSION
from mesoslab_twin.common.config import Root, load_options, mesos_zk
from mesoslab_twin.common.httpd import serve
from mesoslab_twin.common.process import wait_for_signal
from mesoslab_twin.marathon.daemon import Marathon

log = logging.getLogger("mesoslab_twin.marathon")


def marathon_options(root: Root, args: list[str]) -> dict[str, str]:
    """Marathon's options as the 1.4 package gives them: ``/etc/marathon/conf/<name>``,
    ``MARATHON_<NAME>`` in ``/etc/default/marathon``, the command line; only what none of
    them sets comes from ``/etc/mesos/zk`` (``--master`` it, ``--zk`` its hosts with
    ``/marathon``; MARATHON@v1.4.0 ``bin/marathon-framework`` L99-109). So the
    ``MARATHON_MASTER`` and ``MARATHON_ZK`` lines that Marathon 1.5+ needs win here too."""
    options = load_options(
        root, args, "/etc/marathon/conf", "/etc/default/marathon", "MARATHON_", disable=True
    )
    zk = mesos_zk(root)
    if zk and not options.get("master"):
        options["master"] = zk
    if zk and not options.get("zk"):
        options["zk"] = "/".join(zk.split("/")[:3]) + "/marathon"
    return options


def run(root: Root, args: list[str]) -> int:
    options = marathon_options(root, args)
    if not options.get("master"):
        print("[scallop] Error: Required option 'master' not found", file=sys.stderr)
        return 1
    marathon = Marathon(options, root)
    try:
        from mesoslab_twin.marathon.api import MarathonApi

        api = MarathonApi(marathon)
        server = serve(marathon.bind, marathon.port, api.routes(), "marathon-http")
    except OSError as exc:
        print(
            f"Failed to bind to {marathon.bind}:{marathon.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    log.info(
        "Marathon %s (mesoslab twin: an emulation) on %s, master %s, Mesos twin %s",
        MARATHON_VERSION,
        marathon.me,
        marathon.master,
        MESOS_VERSION,
    )
    try:
        marathon.start()
    except ValueError as exc:  # an unusable ZooKeeper URL
        print(f"Invalid --zk: {exc}", file=sys.stderr)
        return 1
    wait_for_signal()
    marathon.stopping.set()
    server.shutdown()
    if marathon.zk is not None:  # a clean stop gives up leadership at once, as Marathon does
        if marathon.elected:
            marathon.save()
        marathon.zk.stop()
    return 0
