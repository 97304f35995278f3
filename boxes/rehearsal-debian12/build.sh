#!/usr/bin/env bash
# Build the mesoslab rehearsal box: Debian 12 (bookworm) for the vagrant-lxc provider.
#
#   sudo boxes/rehearsal-debian12/build.sh [--force] [OUTPUT.box]
#
# The box holds systemd, sshd, sudo, python3, curl, the `vagrant` user (password `vagrant`,
# passwordless sudo, Vagrant's insecure public key) and Debian's ZooKeeper (installed,
# disabled: the lessons enable it). See README.md beside this script.
#
# Environment:
#   MIRROR      Debian mirror (default http://deb.debian.org/debian)
#   SUITE       Debian suite (default bookworm)
#   CACHE_DIR   where downloaded .deb files are kept between builds
#               (default ${XDG_CACHE_HOME:-$HOME/.cache}/mesoslab/debs)
#   VAGRANT_PUBKEY  the public key to authorise for `vagrant` (default: the insecure key
#               shipped with Vagrant)
#
# Idempotent: an OUTPUT newer than this script is kept (use --force to rebuild); the box is
# written to a temporary file and renamed, so an interrupted build never leaves half a box.
set -euo pipefail

FORCE=0
OUTPUT=""
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h | --help)
            sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        -*)
            echo "build.sh: unknown option $arg (try --help)" >&2
            exit 2
            ;;
        *) OUTPUT=$arg ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
OUTPUT=${OUTPUT:-$PWD/rehearsal-debian12-lxc.box}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesoslab/debs}
# Packages of the base system (debootstrap resolves their dependencies).
# dbus: `systemctl` run by a user other than root talks to systemd over the system bus.
BASE_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,sudo,python3,curl,ca-certificates,iproute2,iputils-ping,procps,netbase,less
# Installed with apt inside the new system (their maintainer scripts need /proc).
# python3-kazoo: the twin Mesos daemons (src/mesoslab_twin) talk to ZooKeeper with it.
# netcat-openbsd: `echo ruok | nc master1 2181`, ZooKeeper's four-letter words (lesson 1).
EXTRA_PACKAGES=(default-jre-headless zookeeper zookeeperd python3-kazoo netcat-openbsd)
HOSTNAME_PLACEHOLDER=rehearsal

log() { printf 'build.sh: %s\n' "$*"; }
die() {
    printf 'build.sh: error: %s\n' "$*" >&2
    exit 1
}

if [ -f "$OUTPUT" ] && [ "$FORCE" -eq 0 ] && [ "$OUTPUT" -nt "$HERE/build.sh" ]; then
    log "$OUTPUT is already built (newer than the recipe); pass --force to rebuild"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and the rootfs ownership need it)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

find_pubkey() {
    if [ -n "${VAGRANT_PUBKEY:-}" ]; then
        echo "$VAGRANT_PUBKEY"
        return
    fi
    local candidate
    if command -v dpkg >/dev/null && dpkg -s vagrant >/dev/null 2>&1; then
        candidate=$(dpkg -L vagrant | grep -E '/keys/vagrant\.pub$' | head -n 1 || true)
        if [ -n "$candidate" ] && [ -f "$candidate" ]; then
            echo "$candidate"
            return
        fi
    fi
    for candidate in /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
        /opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub \
        /opt/vagrant/embedded/gems/*/gems/vagrant-*/keys/vagrant.pub; do
        if [ -f "$candidate" ]; then
            echo "$candidate"
            return
        fi
    done
    die "cannot find Vagrant's insecure public key (keys/vagrant.pub); set VAGRANT_PUBKEY"
}
PUBKEY=$(find_pubkey)

ARCH=$(dpkg --print-architecture)
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mesoslab-box.XXXXXX")
ROOT=$WORK/rootfs
MOUNTS=()

cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${MOUNTS[$i]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
    rm -f "$OUTPUT.partial"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

mkdir -p "$CACHE_DIR/debootstrap" "$CACHE_DIR/apt/partial"

log "debootstrap $SUITE ($ARCH) from $MIRROR into $ROOT"
debootstrap --variant=minbase --arch="$ARCH" --include="$BASE_PACKAGES" \
    --cache-dir="$CACHE_DIR/debootstrap" "$SUITE" "$ROOT" "$MIRROR"

# Services must not start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

cat >"$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SOURCES
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# No documentation, manual pages or translations: a lab machine does not need them.
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/01-mesoslab-nodoc" <<'NODOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
NODOC
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/var/cache/apt/archives/*.deb
# openjdk's maintainer script links its manual page there and fails without the folder.
mkdir -p "$ROOT/usr/share/man/man1"

# zookeeper depends on default-jre, the desktop Java runtime (X11, GTK, Mesa/LLVM: ~300 MB).
# ZooKeeper only needs the headless runtime: a stub `default-jre` that depends on
# default-jre-headless satisfies the dependency. Its version sorts after Debian's, so an
# apt upgrade keeps it.
STUB=$WORK/default-jre-stub
mkdir -p "$STUB/DEBIAN"
cat >"$STUB/DEBIAN/control" <<CONTROL
Package: default-jre
Version: 2:1.17-74+mesoslab1
Architecture: all
Maintainer: mesoslab <mesoslab@localhost>
Depends: default-jre-headless
Section: java
Priority: optional
Description: mesoslab stub: the headless Java runtime is enough for ZooKeeper
 Satisfies dependencies on default-jre without the desktop libraries.
CONTROL
dpkg-deb --build --root-owner-group "$STUB" "$ROOT/tmp/default-jre-stub.deb" >/dev/null

mount -t proc proc "$ROOT/proc"
MOUNTS+=("$ROOT/proc")
mount --bind "$CACHE_DIR/apt" "$ROOT/var/cache/apt/archives"
MOUNTS+=("$ROOT/var/cache/apt/archives")

log "installing ${EXTRA_PACKAGES[*]}"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends /tmp/default-jre-stub.deb \
    "${EXTRA_PACKAGES[@]}"
in_root apt-get clean

umount "$ROOT/var/cache/apt/archives"
umount "$ROOT/proc"
MOUNTS=()

log "configuring the vagrant user, sshd, systemd"
in_root useradd --create-home --shell /bin/bash --user-group vagrant
echo 'vagrant:vagrant' | in_root chpasswd
install -d -m 0700 -o 0 -g 0 "$ROOT/home/vagrant/.ssh"
install -m 0600 "$PUBKEY" "$ROOT/home/vagrant/.ssh/authorized_keys"
in_root chown -R vagrant:vagrant /home/vagrant/.ssh
cat >"$ROOT/etc/sudoers.d/vagrant" <<'SUDOERS'
vagrant ALL=(ALL) NOPASSWD:ALL
Defaults:vagrant !requiretty
SUDOERS
chmod 0440 "$ROOT/etc/sudoers.d/vagrant"

cat >"$ROOT/etc/ssh/sshd_config.d/mesoslab.conf" <<'SSHD'
# mesoslab rehearsal box: fast logins from the host
UseDNS no
GSSAPIAuthentication no
SSHD
# Every container gets its own host keys at first boot.
rm -f "$ROOT"/etc/ssh/ssh_host_*
cat >"$ROOT/etc/systemd/system/ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
UNIT
in_root systemctl enable ssh.service ssh-host-keys.service
# systemd-networkd manages no link here (LXC sets the address), but Vagrant restarts it
# after changing the hostname; without it Vagrant tries ifup@eth0, which does not exist.
in_root systemctl enable systemd-networkd.service
in_root systemctl mask systemd-networkd-wait-online.service
in_root systemctl disable zookeeper.service 2>/dev/null || in_root systemctl disable zookeeper

echo "$HOSTNAME_PLACEHOLDER" >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<HOSTS
127.0.0.1 localhost
127.0.1.1 $HOSTNAME_PLACEHOLDER
::1 localhost ip6-localhost ip6-loopback
HOSTS
# lxc-net's dnsmasq answers DNS on the bridge (10.0.3.1 on Debian).
echo 'nameserver 10.0.3.1' >"$ROOT/etc/resolv.conf"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/log/*.log \
    "$ROOT"/tmp/* "$ROOT"/var/tmp/*

log "writing the box"
BOX=$WORK/box
mkdir -p "$BOX"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$WORK" -czf "$BOX/rootfs.tar.gz" ./rootfs
cat >"$BOX/lxc-config" <<CONFIG
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.arch = $ARCH
CONFIG
# vagrant-lxc accepts box format versions 1.0.0, 2 and 3 only.
cat >"$BOX/metadata.json" <<METADATA
{
  "provider": "lxc",
  "version": "1.0.0",
  "built-on": "$(date -u '+%Y-%m-%dT%H:%M:%SZ')",
  "mesoslab-recipe": "rehearsal-debian12",
  "debian-suite": "$SUITE"
}
METADATA
mkdir -p "$(dirname "$OUTPUT")"
tar -C "$BOX" -cf "$OUTPUT.partial" metadata.json lxc-config rootfs.tar.gz
mv -f "$OUTPUT.partial" "$OUTPUT"
log "built $OUTPUT ($(du -h "$OUTPUT" | cut -f1))"
