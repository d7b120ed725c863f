#!/bin/sh
# Builds the gpu2d test guest: a pinned Debian bookworm 6.1 kernel (cached
# under $CACHE) and an initramfs with busybox, the virtio-gpu modules and
# drmtest (rebuilt from tools/gpu2d/guest/ every time: it takes ~1 s).
# Prints "KERNEL=<path>" and "INITRD=<path>". Needs tools/gpu2d/install_packages.sh first.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${VESPER_GPU2D_CACHE:-/var/cache/vesper/gpu2d}
# Pinned: a 6.1 guest sends one flush per clip rect (6.12 flushes full frames).
KPKG=${VESPER_GPU2D_KERNEL:-linux-image-6.1.0-56-amd64}
mkdir -p "$CACHE"
kdir="$CACHE/$KPKG"
if [ ! -f "$kdir/done" ]; then
  tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
  if ! (cd "$tmp" && apt-get download -q "$KPKG" >/dev/null 2>&1); then
    # Security updates rename the package; fall back to bookworm's current 6.1 kernel.
    alt=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1\.[^ ]*\)/\1/p' | head -1)
    echo "build_guest: $KPKG not available, using $alt" >&2
    KPKG=$alt
    kdir="$CACHE/$KPKG"
    (cd "$tmp" && apt-get download -q "$KPKG" >/dev/null)
  fi
  mkdir -p "$kdir.part"
  dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$kdir.part" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/drivers/gpu/drm/*' './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/dma-buf/*' 2>/dev/null || true
  ls "$kdir.part"/boot/vmlinuz-* >/dev/null
  rm -rf "$tmp" "$kdir"
  mv "$kdir.part" "$kdir"
  touch "$kdir/done"
fi
kernel=$(ls "$kdir"/boot/vmlinuz-* | head -1)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/modules"
cp /bin/busybox "$root/bin/busybox"
cp "$here/guest/init" "$root/init"
chmod +x "$root/init"
gcc -static -O2 -Wall -I/usr/include/libdrm -o "$root/drmtest" "$here/guest/drmtest.c"
: > "$root/modules.order"
for m in drm drm_kms_helper virtio_ring virtio drm_shmem_helper virtio_dma_buf virtio-gpu \
  virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci; do
  f=$(find "$kdir/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
  [ -n "$f" ] || continue # built in
  case "$f" in
  *.xz) xz -dc "$f" > "$root/modules/$m.ko" ;;
  *) cp "$f" "$root/modules/$m.ko" ;;
  esac
  echo "$m.ko" >> "$root/modules.order"
done
out="$CACHE/initrd-$$.cpio.gz"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$CACHE/initrd.cpio.gz"
echo "KERNEL=$kernel"
echo "INITRD=$CACHE/initrd.cpio.gz"
