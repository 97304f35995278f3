"""Emulated Mesos master and agent, Marathon and Chronos for the rehearsal lab (DESIGN §5).

Real Mesos cannot be installed in the rehearsal lab, so these small daemons stand in for
``mesos-master``, ``mesos-slave``, ``marathon`` and ``chronos``. They read the same
configuration files as the Mesosphere packages, elect a leader through the real ZooKeeper,
run tasks as real processes and serve the endpoints and formats of
``reference/mesos-api-facts.md``. Every HTTP answer says that it comes from an emulation
(``X-Mesoslab-Twin: emulation``).

This package runs on the lab nodes with the system python3 and Debian packages only: it
imports the standard library and ``kazoo``, and nothing of ``mesoslab`` (which only locates
this folder to copy it onto the nodes). Entry point: ``python3 -m mesoslab_twin <daemon>
[options]`` (see :mod:`.cli`).

Layout: :mod:`.common` holds what the daemons share; each emulated product has its own
subpackage -- :mod:`.mesos`, :mod:`.marathon`, :mod:`.chronos` -- and a
new one (mesos-dns, marathon-lb, an exporter, DC/OS) gets its own beside them, with its
command in :mod:`.cli`. ``install.sh`` and the unit templates in ``systemd/`` lay the
daemons out on a node like the packages do.
"""

# The Mesos release whose behaviour is emulated. Lesson 3 shows the 1.0-1.4 wording of the
# "Incompatible agent info detected" failure, so the twin reports itself as a 1.4 release.
MESOS_VERSION = "1.4.3"
MARATHON_VERSION = "1.4.12"
CHRONOS_VERSION = "2.5.1"
BUILD_USER = "mesoslab-twin"

TWIN_HEADER = "X-Mesoslab-Twin"
TWIN_HEADER_VALUE = "emulation"
SERVER_NAME = "mesoslab-twin"
