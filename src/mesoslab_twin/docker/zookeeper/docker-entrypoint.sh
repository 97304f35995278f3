#!/bin/sh
# The mesoslab/zookeeper entrypoint: like the official image's, it writes /conf/zoo.cfg from
# ZOO_* variables only when there is none (a mounted config wins), and myid from ZOO_MY_ID.
#   ZOO_PORT (2181)  ZOO_MY_ID (1)  ZOO_SERVERS ("server.1=zk1:2888:3888;2181 ...")
#   ZOO_TICK_TIME (2000)  ZOO_INIT_LIMIT (5)  ZOO_SYNC_LIMIT (2)  ZOO_MAX_CLIENT_CNXNS (60)
#   ZOO_4LW_COMMANDS_WHITELIST (srvr,ruok,stat,mntr)
# The AdminServer (ZooKeeper 3.5+, port 8080 by default) is off: with --net=host it would
# take Marathon's port.
set -eu
mkdir -p /conf /data /datalog
if [ ! -f /conf/zoo.cfg ]; then
  {
    echo "dataDir=/data"
    echo "dataLogDir=/datalog"
    echo "clientPort=${ZOO_PORT:-2181}"
    echo "tickTime=${ZOO_TICK_TIME:-2000}"
    echo "initLimit=${ZOO_INIT_LIMIT:-5}"
    echo "syncLimit=${ZOO_SYNC_LIMIT:-2}"
    echo "maxClientCnxns=${ZOO_MAX_CLIENT_CNXNS:-60}"
    echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr,ruok,stat,mntr}"
    echo "admin.enableServer=false"
    if [ -n "${ZOO_SERVERS:-}" ]; then
      echo "standaloneEnabled=false"
      for server in $ZOO_SERVERS; do echo "$server"; done
    fi
  } >/conf/zoo.cfg
  cp /etc/zookeeper/conf/log4j.properties /conf/ 2>/dev/null || true
fi
[ -f /data/myid ] || echo "${ZOO_MY_ID:-1}" >/data/myid
exec "$@"
