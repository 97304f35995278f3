# Shell functions the twin's installers share (install.sh and install-<package>.sh).
# Sourced, not run: the caller sets $prefix (the folder holding mesoslab_twin/), $dest
# (DESTDIR or "") and $here (the folder of the installers).
# shellcheck shell=sh disable=SC2154 # prefix, dest and here are the caller's

fail() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# A file written only when it does not exist yet (the learner's changes stay).
default_file() {
  path=$dest$1
  shift
  [ -e "$path" ] && return 0
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$@" >"$path"
}

# A small launcher: `exec python3 -m mesoslab_twin <command> "$@"`.
launcher() {
  path=$dest$1
  mkdir -p "$(dirname "$path")"
  cat >"$path" <<EOF
#!/bin/sh
# mesoslab twin: an emulation of $3 for the rehearsal lab
PYTHONPATH=$prefix\${PYTHONPATH:+:\$PYTHONPATH}
export PYTHONPATH
exec python3 -m mesoslab_twin $2 "\$@"
EOF
  chmod 0755 "$path"
}

# Install a unit template from systemd/ with @PREFIX@ filled in: install_unit NAME
install_unit() {
  mkdir -p "$dest/usr/lib/systemd/system"
  sed "s|@PREFIX@|$prefix|g" "$here/systemd/$1.service" >"$dest/usr/lib/systemd/system/$1.service"
}

# The twin's code must be in place and importable (python3-kazoo comes with the box):
# in PREFIX, or under DESTDIR when the packages are staged there (STAGING=1: on the machine
# that builds them, where nothing runs, only the files count).
require_twin() {
  code=$prefix
  [ -n "$dest" ] && [ -f "$dest$prefix/mesoslab_twin/__init__.py" ] && code=$dest$prefix
  [ -f "$code/mesoslab_twin/__init__.py" ] ||
    fail "$prefix/mesoslab_twin is missing: copy src/mesoslab_twin there first"
  [ -n "${STAGING:-}" ] && return 0
  command -v python3 >/dev/null 2>&1 || fail "python3 is missing"
  PYTHONPATH=$code python3 -c 'import kazoo, mesoslab_twin' 2>/dev/null ||
    fail "python3 cannot import kazoo and mesoslab_twin: apt-get install python3-kazoo"
}
