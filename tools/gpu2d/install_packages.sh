#!/bin/sh
# Installs what the gpu2d end-to-end test and benchmarks need (run as root).
# Idempotent: does nothing when everything is already present.
set -eu
need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need=1
[ -x /usr/lib/qemu/vhost-user-gpu ] || need=1
[ -x /bin/busybox ] && busybox --list 2>/dev/null | grep -q '^insmod$' || need=1
[ -f /usr/include/libdrm/drm.h ] || need=1
command -v cpio >/dev/null 2>&1 || need=1
command -v gcc >/dev/null 2>&1 || need=1
if [ -n "$need" ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/vesper-bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q -t bookworm-backports --no-install-recommends \
    qemu-system-x86 qemu-system-gui busybox-static libdrm-dev cpio gcc libc6-dev
fi
qemu-system-x86_64 --version | head -1
