#!/bin/sh
# mesoslab twin: lay Debian's ZooKeeper out as mesosphere-zookeeper does. Run by install.sh
# and by the rehearsal repository's mesosphere-zookeeper package when it is installed.
# Environment: DESTDIR (work under this folder; for tests). Idempotent.
set -eu
dest=${DESTDIR:-}

# ZooKeeper laid out as mesosphere-zookeeper lays it out: zoo.cfg says
# dataDir=/var/lib/zookeeper, and an ensemble member reads its id from <dataDir>/myid only;
# that package has no /etc/zookeeper/conf/myid. Debian's zookeeper package instead ships
# /var/lib/zookeeper/myid as a link to /etc/zookeeper/conf/myid (a placeholder text): the link
# goes, so that a myid written under /etc/zookeeper/conf is ignored here as it is on CentOS.
# A node set up by an earlier install.sh has the link the other way round
# (/etc/zookeeper/conf/myid -> /var/lib/zookeeper/myid): that link goes too and the id it
# pointed at stays in /var/lib/zookeeper/myid, the file ZooKeeper reads.
zk_conf=$dest/etc/zookeeper/conf
zk_data=/var/lib/zookeeper
if [ -f "$zk_conf/zoo.cfg" ]; then
  mkdir -p "$dest$zk_data"
  sed -i "s|^dataDir=.*|dataDir=$zk_data|" "$zk_conf/zoo.cfg"
  myid=$dest$zk_data/myid
  if [ -L "$zk_conf/myid" ]; then
    rm -f "$zk_conf/myid"
    echo "mesoslab twin: removed the link /etc/zookeeper/conf/myid (the id is $zk_data/myid)"
  fi
  if [ -L "$myid" ]; then
    rm -f "$myid"
    echo "mesoslab twin: $zk_data/myid is no longer a link into /etc/zookeeper/conf"
  fi
  # Debian's placeholder text, moved here by an earlier install.sh, is no server id.
  if [ -f "$myid" ] && ! grep -Eq '^[[:space:]]*[0-9]+[[:space:]]*$' "$myid"; then
    rm -f "$myid"
  fi
  if getent passwd zookeeper >/dev/null 2>&1; then chown -R zookeeper: "$dest$zk_data"; fi
fi
