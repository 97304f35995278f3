"""Emulated DC/OS for the rehearsal lab (lesson 10): the installer and what it installs.

DC/OS cannot be installed fresh in 2026 (support ended 2021-10-31, the download sites closed
in 2023), so this package stands in for the parts lesson 10 teaches, each saying that it is
an emulation:

* :mod:`.genconf` -- ``dcos_generate_config.sh --genconf``: reads ``genconf/config.yaml`` and
  ``genconf/ip-detect``, validates with DC/OS's messages, writes ``genconf/serve/``;
* :mod:`.install` -- ``dcos_install.sh <role>``: preflight, the ``/opt/mesosphere`` layout,
  the ``dcos-*`` systemd units (names of DC/OS 1.10);
* :mod:`.adminrouter` -- Admin Router on a master's port 80;
* :mod:`.exhibitor` -- Exhibitor's cluster status over the real ZooKeeper;
* :mod:`.overlay_master`, :mod:`.overlay_agent` -- the overlay modules of the Mesos master
  and agent (subnet allocation, the CNI file, the Docker network ``dcos``);
* :mod:`.navstar` -- what dcos-navstar does for the overlay: the real ``vtep1024`` vxlan
  device, its neighbour, fdb and route entries.

Mesos (1.4) and Marathon are the twin's own daemons, as DC/OS 1.10.0 ships Mesos 1.4.
"""

DCOS_VERSION = "1.10.0"
# dcos/dcos at tag 1.10.0 is commit e38ab2aa...; the bootstrap id of a real build is the
# hash of its packages. The emulation's ids are fixed strings of the same form.
DCOS_IMAGE_COMMIT = "e38ab2aa2e3bb0b0a9a2eb9bbd07c4e3a3bdc3a4"
EMULATION_NOTE = "mesoslab twin: an emulation of DC/OS " + DCOS_VERSION + " for the rehearsal lab"
OPT = "/opt/mesosphere"
