#!/bin/sh
# Install the mesoslab twin services on a rehearsal node (Debian 12, systemd), laid out like
# the Mesosphere packages so the lessons' commands work unchanged:
#
#   units      mesos-master, mesos-slave, marathon, chronos (Restart=always, RestartSec=20)
#   tools      mesos-init-wrapper, /usr/sbin/mesos-{master,slave,agent}, mesos-execute, mesos-resolve, marathon, chronos,
#              /opt/mesosphere/zookeeper/bin/zkCli.sh (runs Debian's zkCli.sh)
#   config     /etc/mesos/zk, /etc/mesos-master/{quorum,work_dir}, /etc/mesos-slave/work_dir,
#              /etc/default/mesos*, /etc/chronos/conf/http_port (4400), /etc/marathon/conf/
#
# Usage (as root): install.sh [PREFIX]
#   PREFIX   the folder that holds the copied package, i.e. PREFIX/mesoslab_twin/
#            (default /opt/mesoslab-twin)
# Environment: DESTDIR (write everything under this folder; for tests), NO_SYSTEMCTL=1
# (do not call systemctl). Idempotent: configuration files that exist are left alone.
# Like the packages on their first install, it enables both mesos-master and mesos-slave
# (lesson 1 disables the one a node must not run) and neither marathon nor chronos; run
# again (as `yum install` of an installed package), it leaves the services' state alone.
set -eu

prefix=${1:-/opt/mesoslab-twin}
dest=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source-path=SCRIPTDIR source=install-lib.sh
. "$here/install-lib.sh"
require_twin

units=$dest/usr/lib/systemd/system
mkdir -p "$units"

# The daemons themselves, where the packages put them (mesos-init-wrapper runs these on a
# real node; a Docker image's ENTRYPOINT runs them directly: MESOS_* and flags only).
launcher /usr/sbin/mesos-master mesos-master "mesos-master"
launcher /usr/sbin/mesos-slave mesos-slave "mesos-slave"
launcher /usr/sbin/mesos-agent mesos-agent "mesos-agent"
launcher /usr/bin/mesos-execute mesos-execute "mesos-execute"
launcher /usr/bin/mesos-resolve mesos-resolve "mesos-resolve"
launcher /usr/bin/marathon marathon "Marathon"
launcher /usr/bin/chronos chronos "Chronos"
mkdir -p "$dest/usr/bin"
cat >"$dest/usr/bin/mesos-init-wrapper" <<EOF
#!/bin/sh
# mesoslab twin: mesos-init-wrapper (master|slave) reads /etc/default/mesos*, /etc/mesos/zk
# and /etc/mesos-master|mesos-slave/* like the package's script, in the emulated daemon.
case "\${1:-}" in
  master) command=master ;;
  slave|agent) command=slave ;;
  *) echo "Please use \\\`master' or \\\`slave'." >&2; exit 1 ;;
esac
shift
PYTHONPATH=$prefix\${PYTHONPATH:+:\$PYTHONPATH}
export PYTHONPATH
exec python3 -m mesoslab_twin "\$command" "\$@"
EOF
chmod 0755 "$dest/usr/bin/mesos-init-wrapper"

default_file /etc/mesos/zk "zk://localhost:2181/mesos"
default_file /etc/mesos-master/quorum "1"
default_file /etc/mesos-master/work_dir "/var/lib/mesos"
default_file /etc/mesos-slave/work_dir "/var/lib/mesos"
default_file /etc/default/mesos "LOGS=/var/log/mesos" 'ULIMIT="-n 8192"'
# shellcheck disable=SC2016 # the packages' files hold the backquotes, unexpanded
default_file /etc/default/mesos-master "PORT=5050" 'ZK=`cat /etc/mesos/zk`'
# shellcheck disable=SC2016
default_file /etc/default/mesos-slave 'MASTER=`cat /etc/mesos/zk`'
default_file /etc/chronos/conf/http_port "4400"
mkdir -p "$dest/etc/marathon/conf" "$dest/var/lib/mesos" "$dest/var/log/mesos"

# ZooKeeper laid out as mesosphere-zookeeper lays it out (the mesosphere-zookeeper
# package runs the same script when it is installed).
DESTDIR=$dest sh "$here/zookeeper-layout.sh"

# zkCli.sh where mesosphere-zookeeper has it (lesson 4 runs it from there). Not ZooKeeper's
# code: a wrapper that runs Debian's client. It execs the real script by its own path
# (a symlink would not do: zkCli.sh finds zkEnv.sh beside the path it was started as).
zk_bin=$dest/opt/mesosphere/zookeeper/bin
mkdir -p "$zk_bin"
cat >"$zk_bin/zkCli.sh" <<'EOF'
#!/bin/sh
# mesoslab twin: the rehearsal lab runs Debian's ZooKeeper package, whose client is
# /usr/share/zookeeper/bin/zkCli.sh. mesosphere-zookeeper (CentOS) installs it as
# /opt/mesosphere/zookeeper/bin/zkCli.sh; this wrapper makes that path work here too.
exec /usr/share/zookeeper/bin/zkCli.sh "$@"
EOF
chmod 0755 "$zk_bin/zkCli.sh"

# First install (no unit yet): enable both Mesos services afterwards, as the packages do.
first_install=1
[ -e "$units/mesos-master.service" ] && first_install=0
for unit in mesos-master mesos-slave marathon chronos; do
  install_unit "$unit"
done

if [ -z "${NO_SYSTEMCTL:-}" ] && [ -z "$dest" ]; then
  systemctl daemon-reload
  if [ "$first_install" = 1 ]; then
    systemctl enable mesos-master.service mesos-slave.service
  fi
fi
echo "mesoslab twin installed from $prefix (an emulation of Mesos, Marathon and Chronos)"
