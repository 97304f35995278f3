"""``python3 -m mesoslab_twin <daemon|tool> [options] [--flag=value ...]``.

Daemons (read their configuration files like the packages do):

  master            emulated mesos-master   (mesos-init-wrapper master)
  agent | slave     emulated mesos-slave    (mesos-init-wrapper slave)
  mesos-master      the mesos-master binary itself: flags from MESOS_* and the command
                    line only, no /etc/mesos* files (a Docker image's entrypoint)
  mesos-slave | mesos-agent   the same for the agent
  marathon          emulated Marathon 1.4   (/etc/default/marathon, /etc/marathon/conf)
  chronos           emulated Chronos 2.x    (/etc/default/chronos, /etc/chronos/conf)
  mesos-dns         emulated Mesos-DNS      (-config=/etc/mesos-dns/config.json)
  marathon-lb       emulated marathon-lb 1.15 (marathon_lb.py's options; drives real HAProxy)
  mesos_exporter    emulated mesos_exporter 1.1.2 (Go-style flags: -master URL | -slave URL)

DC/OS 1.10 (lesson 10; emulated): dcos-genconf (dcos_generate_config.sh), dcos-install
(dcos_install.sh), dcos-adminrouter, dcos-exhibitor, dcos-navstar.

Tools (same options as the real ones for what the lessons use):

  mesos-resolve     print the leading master's ip:port
  mesos-execute     run one task through the master and wait for it

Common option: ``--root DIR`` (or ``MESOSLAB_TWIN_ROOT``) puts every node path (/etc, /var)
under DIR. Any other ``--name=value`` is passed on as a flag, as to the real binaries.
"""

from __future__ import annotations

import sys

from mesoslab_twin import MESOS_VERSION
from mesoslab_twin.common.config import Root
from mesoslab_twin.common.process import setup_logging

USAGE = __doc__ or ""
# DC/OS (lesson 10): command -> module of mesoslab_twin.dcos with run(root, args)
DCOS_COMMANDS = {
    "dcos-install": "install",
    "dcos-adminrouter": "adminrouter",
    "dcos-exhibitor": "exhibitor",
    "dcos-navstar": "navstar",
}


def split_root(args: list[str]) -> tuple[Root, list[str]]:
    root_value = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--root" and i + 1 < len(args):
            root_value = args[i + 1]
            i += 2
            continue
        if arg.startswith("--root="):
            root_value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return Root.from_option(root_value), rest


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command in ("mesos_exporter", "mesos-exporter"):  # Go flags: no --root, no --help
        from mesoslab_twin.exporter import daemon as exporter

        return exporter.run(rest)
    if command == "dcos-genconf":  # its own options (--genconf, --version, --help, ...)
        from mesoslab_twin.dcos import genconf

        return genconf.run(rest)
    if command != "marathon-lb" and ("--help" in rest or "-h" in rest):
        print(USAGE)
        return 0
    root, rest = split_root(rest)
    if command in ("--version", "version"):
        print(f"mesos {MESOS_VERSION} (mesoslab twin: an emulation)")
        return 0
    if command in ("master", "mesos-master"):
        setup_logging("master.cpp")
        from mesoslab_twin.mesos import master

        return master.run(root, rest, use_wrapper=command == "master")
    if command in ("agent", "slave", "mesos-slave", "mesos-agent"):
        setup_logging("slave.cpp")
        from mesoslab_twin.mesos import agent

        return agent.run(root, rest, use_wrapper=not command.startswith("mesos-"))
    if command == "marathon":
        setup_logging("marathon")
        from mesoslab_twin.marathon import main as marathon

        return marathon.run(root, rest)
    if command == "chronos":
        setup_logging("chronos")
        from mesoslab_twin.chronos import daemon as chronos

        return chronos.run(root, rest)
    if command == "mesos-dns":
        from mesoslab_twin.mesosdns import daemon as mesos_dns

        return mesos_dns.run(root, rest)
    if command == "marathon-lb":
        setup_logging("marathon_lb")
        from mesoslab_twin.marathonlb import daemon as marathon_lb

        return marathon_lb.run(root, rest)
    if command == "mesos-resolve":
        from mesoslab_twin.mesos import resolve

        return resolve.main(rest)
    if command == "mesos-execute":
        from mesoslab_twin.mesos import execute

        return execute.main(rest)
    if command in DCOS_COMMANDS:
        import importlib

        module = importlib.import_module(f"mesoslab_twin.dcos.{DCOS_COMMANDS[command]}")
        result: int = module.run(root, rest)
        return result
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2
