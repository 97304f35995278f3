#!/bin/sh
# Install the mesoslab twin's marathon-lb on a rehearsal node (Debian 12, systemd), beside
# Debian's real HAProxy (the box has the haproxy package, disabled):
#
#   launcher  /usr/bin/marathon-lb  (marathon_lb.py's options: --marathon, --group, --sse, ...)
#   unit      marathon-lb.service   (ExecStart=/usr/bin/marathon-lb $OPTIONS)
#   config    /etc/default/marathon-lb  (OPTIONS=...; marathon-lb's own default --marathon is
#             http://master.mesos:8080, a Mesos-DNS name)
#   TLS       /etc/ssl/cert.pem, a self-signed certificate for the :443 frontend, made as the
#             Docker image's `run` makes it when none is given
#
# Usage (as root): install-marathon-lb.sh [PREFIX]   (default /opt/mesoslab-twin)
# Environment: DESTDIR (write under this folder; for tests). Enables and starts nothing.
set -eu

prefix=${1:-/opt/mesoslab-twin}
dest=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source-path=SCRIPTDIR source=install-lib.sh
. "$here/install-lib.sh"
require_twin
[ -f "$prefix/mesoslab_twin/marathonlb/lua/marathon_lb.lua" ] ||
  fail "$prefix/mesoslab_twin/marathonlb is missing: copy the whole twin package"
command -v haproxy >/dev/null 2>&1 || [ -n "$dest" ] ||
  fail "haproxy is missing: apt-get install -y --no-install-recommends haproxy"

launcher /usr/bin/marathon-lb marathon-lb "marathon-lb"
install_unit marathon-lb
default_file /etc/default/marathon-lb \
  "# marathon_lb.py's options (python3 -m mesoslab_twin marathon-lb --help)" \
  'OPTIONS="--marathon http://master.mesos:8080 --group external --sse"'
mkdir -p "$dest/var/run/haproxy" "$dest/var/state/haproxy"

cert=$dest/etc/ssl/cert.pem
if [ ! -e "$cert" ] && command -v openssl >/dev/null 2>&1; then
  mkdir -p "$(dirname "$cert")"
  work=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=*' \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  cat "$work/cert.pem" "$work/key.pem" >"$cert"
  chmod 0600 "$cert"
  rm -rf "$work"
fi
[ -n "$dest" ] || systemctl daemon-reload 2>/dev/null || true
echo "marathon-lb installed: set OPTIONS in /etc/default/marathon-lb, then start haproxy and marathon-lb"
