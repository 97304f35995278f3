#!/usr/bin/env bash
# Build the mesoslab rehearsal box: Debian 12 (bookworm) for the vagrant-lxc provider.
#
#   sudo boxes/rehearsal-debian12/build.sh [--force] [OUTPUT.box]
#
# The box holds systemd, sshd, sudo, python3, curl, the `vagrant` user (password `vagrant`,
# passwordless sudo, Vagrant's insecure public key), Debian's ZooKeeper, Docker Engine and
# Docker registry, HAProxy and Prometheus (installed, disabled: the lessons and the lab turn
# them on), dnsutils (dig) and Docker
# images built here from Debian packages (busybox, debian, python, nginx), as `docker save`
# archives in /var/lib/mesoslab/images and in the registry's storage. See README.md.
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
# docker.io: Docker Engine for lessons 2, 7 and 9; docker-registry: the lab's registry (on
# master1); busybox-static: the busybox image's one binary; apparmor: on a host with
# AppArmor the node sees it enabled, and dockerd then needs apparmor_parser to load its
# docker-default profile ("AppArmor enabled on system but the docker-default profile could
# not be loaded"); where the kernel has no AppArmor it does nothing.
# haproxy: the real load balancer behind the emulated marathon-lb (lesson 5); prometheus: the
# real monitoring server scraping the emulated mesos_exporter (lesson 8); dnsutils: `dig`
# against the emulated Mesos-DNS (lesson 5). All installed here so a class downloads nothing.
EXTRA_PACKAGES=(default-jre-headless zookeeper zookeeperd python3-kazoo netcat-openbsd
    docker.io docker-registry busybox-static apparmor haproxy prometheus dnsutils)
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

# ---------------------------------------------------------------- Docker images, offline
# Debian packages, not Docker Hub: a minbase layer (debian:bookworm), python3 on it
# (python:3.11, python:3) and nginx-light on it (nginx:latest), and busybox-static alone
# (busybox:latest). docker_images.py writes each as a `docker save` archive and into the
# registry's storage; every image says in its labels that it was built here.
IMAGES=$WORK/images
image_root() { # NAME PACKAGE...: base + PACKAGES in $IMAGES/NAME, then its own layer
    local name=$1
    shift
    cp -a "$IMAGES/base" "$IMAGES/$name-full"
    mount -t proc proc "$IMAGES/$name-full/proc"
    MOUNTS+=("$IMAGES/$name-full/proc")
    mount --bind "$CACHE_DIR/apt" "$IMAGES/$name-full/var/cache/apt/archives"
    MOUNTS+=("$IMAGES/$name-full/var/cache/apt/archives")
    chroot "$IMAGES/$name-full" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive sh -c \
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends $* >/dev/null"
    umount "$IMAGES/$name-full/var/cache/apt/archives" "$IMAGES/$name-full/proc"
    MOUNTS=("${MOUNTS[@]:0:${#MOUNTS[@]}-2}")
}
slim() { # ROOT: what an image does not need (package lists, caches, logs, policy-rc.d)
    rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb \
        "$1"/var/log/*.log "$1"/var/log/apt/* "$1"/tmp/* "$1"/usr/sbin/policy-rc.d
}
log "Docker images: debootstrap of the debian:$SUITE base layer"
mkdir -p "$IMAGES"
debootstrap --variant=minbase --arch="$ARCH" --cache-dir="$CACHE_DIR/debootstrap" \
    "$SUITE" "$IMAGES/base" "$MIRROR" >/dev/null
cp "$ROOT/etc/dpkg/dpkg.cfg.d/01-mesoslab-nodoc" "$IMAGES/base/etc/dpkg/dpkg.cfg.d/"
cp "$ROOT/etc/apt/sources.list" "$IMAGES/base/etc/apt/sources.list"
cp /etc/resolv.conf "$IMAGES/base/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' >"$IMAGES/base/usr/sbin/policy-rc.d"
chmod 0755 "$IMAGES/base/usr/sbin/policy-rc.d"
find "$IMAGES/base/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$IMAGES"/base/usr/share/man/* "$IMAGES"/base/usr/share/info/* \
    "$IMAGES"/base/usr/share/locale/*
log "Docker images: python3 and nginx-light on the base"
image_root python python3
image_root nginx nginx-light
ln -sf python3 "$IMAGES/python-full/usr/bin/python" # as the python image has it
# as the nginx image does: the logs go to the container's output (`docker logs`)
ln -sf /dev/stdout "$IMAGES/nginx-full/var/log/nginx/access.log"
ln -sf /dev/stderr "$IMAGES/nginx-full/var/log/nginx/error.log"
for root in base python-full nginx-full; do slim "$IMAGES/$root"; done
: >"$IMAGES/base/etc/resolv.conf" # Docker writes the container's own
python3 "$HERE/docker_images.py" diff "$IMAGES/base" "$IMAGES/python-full" "$IMAGES/python"
python3 "$HERE/docker_images.py" diff "$IMAGES/base" "$IMAGES/nginx-full" "$IMAGES/nginx"
mkdir -p "$IMAGES/busybox/bin" "$IMAGES/busybox/etc" "$IMAGES/busybox/tmp"
chmod 1777 "$IMAGES/busybox/tmp"
cp "$ROOT/bin/busybox" "$IMAGES/busybox/bin/busybox"
for applet in $(chroot "$ROOT" /bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$IMAGES/busybox/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$IMAGES/busybox/etc/passwd"
echo 'root:x:0:' >"$IMAGES/busybox/etc/group"

# shellcheck disable=SC2016 # ${Version} is dpkg-query's field, not the shell's
version_of() { chroot "$1" dpkg-query -W -f='${Version}' "$2"; }
DOCKER_ARCH=$ARCH # Debian's and Docker's names agree for amd64 and arm64
ARCHIVES=$ROOT/var/lib/mesoslab/images
REGISTRY=$ROOT/var/lib/docker-registry
LOCAL="org.mesoslab.built-locally=true"
image() { python3 "$HERE/docker_images.py" image --arch "$DOCKER_ARCH" \
    --archives "$ARCHIVES" --registry "$REGISTRY" --label "$LOCAL" "$@"; }
image --layer "$IMAGES/busybox" --tag busybox:latest --cmd '["sh"]' --env PATH=/bin \
    --label "org.opencontainers.image.description=busybox $(version_of "$ROOT" busybox-static) from Debian $SUITE, built locally by mesoslab's box recipe (no Docker Hub)"
image --layer "$IMAGES/base" --tag "debian:$SUITE" --tag debian:latest --cmd '["bash"]' \
    --label "org.opencontainers.image.description=Debian $SUITE minbase, built locally by mesoslab's box recipe (no Docker Hub)"
image --layer "$IMAGES/base" --layer "$IMAGES/python" --tag python:3.11 --tag python:3 \
    --tag python:latest --cmd '["python3"]' \
    --label "org.opencontainers.image.description=Debian $SUITE python3 $(version_of "$IMAGES/python-full" python3), built locally by mesoslab's box recipe (no Docker Hub)"
image --layer "$IMAGES/base" --layer "$IMAGES/nginx" --tag nginx:latest --tag nginx:1.22 \
    --cmd '["nginx", "-g", "daemon off;"]' --expose 80/tcp --stop-signal SIGQUIT \
    --label "org.opencontainers.image.description=Debian $SUITE nginx-light $(version_of "$IMAGES/nginx-full" nginx-light), built locally by mesoslab's box recipe (no Docker Hub)"
cat >"$ARCHIVES/README" <<'README'
Docker images built by mesoslab's box recipe from Debian packages (the lab has no Docker
Hub): busybox, debian, python, nginx. Each NAME:TAG.tar is a `docker save` archive:
  docker load -i NAME:TAG.tar        (docker.service does it as it starts)
  mesos-slave --docker_registry=/var/lib/mesoslab/images   (Mesos's local puller reads them)
The lab registry on master1 (:5000) serves the same images.
README
in_root chown -R docker-registry:docker-registry /var/lib/docker-registry

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
# Docker and the registry stay off until a lesson (Docker, lesson 2) or the lab (the
# registry, on master1) turns them on. As Docker starts, the box's images are loaded.
in_root systemctl disable docker.service docker.socket containerd.service docker-registry.service
# HAProxy and Prometheus too: lessons 5 and 8 turn them on where they belong (Prometheus's
# :9090 is marathon-lb's stats port, so the two never share a node).
in_root systemctl disable haproxy.service prometheus.service
install -m 0755 "$HERE/mesoslab-load-images" "$ROOT/usr/local/sbin/mesoslab-load-images"
install -D -m 0644 "$HERE/docker-images.conf" "$ROOT/etc/systemd/system/docker.service.d/mesoslab-images.conf"
# Debian's registry config turns on htpasswd auth, which answers every request 401: the
# lab's registry is plain HTTP without auth (the agents' dockerd trusts it as insecure).
install -m 0644 "$HERE/registry-config.yml" "$ROOT/etc/docker/registry/config.yml"

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
