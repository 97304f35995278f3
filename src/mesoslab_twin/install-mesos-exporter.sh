#!/bin/sh
# Install the mesoslab twin's mesos_exporter on a rehearsal node (Debian 12, systemd), laid
# out as lesson 8 lays out the real release binary on CentOS 7:
#
#   program   /usr/local/bin/mesos_exporter (runs python3 -m mesoslab_twin mesos_exporter)
#   unit      mesos_exporter.service: EnvironmentFile=/etc/default/mesos_exporter,
#             ExecStart=/usr/local/bin/mesos_exporter $MESOS_EXPORTER_ARGS
#
# It writes no /etc/default/mesos_exporter (the lesson does: -master or -slave, per node)
# and enables nothing.
#
# Usage (as root): install-mesos-exporter.sh [PREFIX]
#   PREFIX   the folder that holds the copied package, i.e. PREFIX/mesoslab_twin/
#            (default /opt/mesoslab-twin)
# Environment: DESTDIR (write everything under this folder; for tests), NO_SYSTEMCTL=1
# (do not call systemctl). Idempotent.
set -eu

prefix=${1:-/opt/mesoslab-twin}
dest=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source-path=SCRIPTDIR source=install-lib.sh
. "$here/install-lib.sh"
require_twin

launcher /usr/local/bin/mesos_exporter mesos_exporter "mesos_exporter 1.1.2"
install_unit mesos_exporter

if [ -z "${NO_SYSTEMCTL:-}" ] && [ -z "$dest" ]; then
  systemctl daemon-reload
fi
echo "mesoslab twin: mesos_exporter installed from $prefix (an emulation; not enabled)"
