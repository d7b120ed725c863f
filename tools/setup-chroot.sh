#!/usr/bin/env bash
# Builds (once) and mounts the Debian trixie chroot that holds the real client
# stack: virglrenderer 1.1.0's virgl_test_server and the C reference
# /usr/libexec/virgl_render_server, Mesa 25.0.7's venus guest driver and
# lavapipe, vulkan-tools. Needs root and Debian's package mirror.
#
#   tools/setup-chroot.sh [REPO]     prints the chroot path when ready
#
# The chroot lives outside the repository ($VESPER_CHROOT, default
# /var/cache/vesper/trixie). /dev and /proc are bind-mounted into it, and the
# repository at the same absolute path, so bin/vesper runs unchanged inside.
set -euo pipefail
root="${VESPER_CHROOT:-/var/cache/vesper/trixie}"
repo="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
mirror="${VESPER_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages="virgl-server mesa-vulkan-drivers vulkan-tools libvulkan1"
# the toolchain the workload programs (tests/workloads, bench) are built with
tool_packages="gcc libc6-dev libvulkan-dev glslang-tools"

log() { echo "setup-chroot: $*" >&2; }

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

if [ ! -e "$root/.vesper-ready" ]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
  rm -rf "$root.tmp"
  log "debootstrap trixie into $root (about 30 s)"
  debootstrap --variant=minbase trixie "$root.tmp" "$mirror" >&2
  mount --bind /dev "$root.tmp/dev"
  mount -t proc proc "$root.tmp/proc"
  log "installing $packages"
  if ! chroot "$root.tmp" /bin/sh -c \
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages" >&2; then
    umount "$root.tmp/proc" "$root.tmp/dev"
    exit 1
  fi
  umount "$root.tmp/proc" "$root.tmp/dev"
  touch "$root.tmp/.vesper-ready"
  mv "$root.tmp" "$root"
fi

mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"

if [ ! -e "$root/.vesper-tools-ready" ]; then
  log "installing $tool_packages"
  chroot "$root" /bin/sh -c \
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $tool_packages" >&2
  touch "$root/.vesper-tools-ready"
fi
# Bind mounts left by earlier checkouts whose directory has since been deleted
# (a CI clone, a scratch clone) go first: a new checkout at the same path must
# not find the old, deleted tree mounted there.
awk -v r="$root/" 'index($5, r) == 1 && $4 ~ /\/\/deleted$/ { print $5 }' /proc/self/mountinfo |
  sort -r | while read -r stale; do
  log "unmounting stale $stale"
  umount -l "$(printf '%b' "$stale")" || true
done
mkdir -p "$root$repo" "$root/run/xdg"
# the repository must be this very directory (same device and inode), not
# something else mounted at the same path earlier
if mountpoint -q "$root$repo" &&
  [ "$(stat -Lc %d:%i "$root$repo")" != "$(stat -Lc %d:%i "$repo")" ]; then
  log "unmounting $root$repo: another directory is mounted there"
  umount -l "$root$repo"
fi
mountpoint -q "$root$repo" || mount --bind "$repo" "$root$repo"
if [ "$(stat -Lc %d:%i "$root$repo")" != "$(stat -Lc %d:%i "$repo")" ]; then
  log "the repository is not visible at $root$repo"
  exit 1
fi
echo "$root"
