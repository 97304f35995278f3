"""Emulated Mesos master and agent, Marathon and Chronos for the rehearsal lab (DESIGN §5).

Real Mesos cannot be installed in the rehearsal lab, so these small daemons stand in for
``mesos-master``, ``mesos-slave``, ``marathon`` and ``chronos``. They read the same
configuration files as the Mesosphere packages, elect a leader through the real ZooKeeper,
run tasks as real processes and serve the endpoints and formats of
``reference/mesos-api-facts.md``. Every HTTP answer says that it comes from an emulation
(``X-Mesoslab-Twin: emulation``).

This package runs on the lab nodes with the system python3 and Debian packages only: it
imports the standard library and ``kazoo``, and nothing from ``mesoslab`` outside ``twin``.
Entry point: ``python3 -m mesoslab.twin <daemon> [options]`` (see :mod:`.cli`).
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
