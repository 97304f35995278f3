#!/bin/sh
# Install the mesoslab twin's Mesos-DNS on a rehearsal node (Debian 12, systemd), laid out
# like the Mesos-DNS tutorial lays out the release binary (docs/docs/tutorial-systemd.md):
#
#   program  /usr/bin/mesos-dns (runs `python3 -m mesoslab_twin mesos-dns "$@"`)
#   unit     mesos-dns.service: ExecStart=/usr/bin/mesos-dns -config=/etc/mesos-dns/config.json
#            (installed, not enabled and not started: the lesson does that)
#   sample   /usr/share/doc/mesos-dns/config.json.sample (the values of the project's sample:
#            port 8053, IPSources ["mesos","host"], both zk and masters)
#
# No /etc/mesos-dns/config.json: the real release ships none, the learner writes it.
#
# Usage (as root): install-mesos-dns.sh [PREFIX]
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

launcher /usr/bin/mesos-dns mesos-dns "Mesos-DNS"
install_unit mesos-dns
mkdir -p "$dest/usr/share/doc/mesos-dns"
cp "$here/mesosdns/config.json.sample" "$dest/usr/share/doc/mesos-dns/config.json.sample"

if [ -z "${NO_SYSTEMCTL:-}" ] && [ -z "$dest" ]; then
  systemctl daemon-reload
fi
echo "mesoslab twin Mesos-DNS installed from $prefix (an emulation; not enabled)"
