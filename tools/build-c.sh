#!/bin/sh
# Builds the Vulkan C programs of SRC (every SRC/*.c, with SRC/*.h, and the
# GLSL shaders in SRC/shaders/ compiled to OUT/shaders/<name>_<ext>.h) into
# OUT, only when a source or this script changed. Runs inside the trixie
# chroot (gcc, libvulkan-dev, glslang-tools): src/harness/chroot.ts
# buildInChroot() calls it for tests/workloads, tests/robustness and
# bench/workloads.
#
#   build-c.sh SRC OUT
set -eu
src="$(cd "$1" && pwd)"
out="$2"
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
stamp="$(
  cd "$src"
  {
    cat "$self"
    for f in ./*.h ./*.c shaders/*; do
      if [ -f "$f" ]; then sha256sum "$f"; fi
    done
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then exit 0; fi
rm -f "$out/.stamp"
mkdir -p "$out/shaders"
if [ -d "$src/shaders" ]; then
  for s in "$src"/shaders/*; do
    name="$(basename "$s" | tr . _)"
    glslangValidator -V --quiet --vn "$name" -o "$out/shaders/$name.h" "$s"
  done
fi
for c in "$src"/*.c; do
  gcc -std=gnu11 -O2 -Wall -Wextra -Wno-unused-function -Werror -I"$src" -I"$out/shaders" \
    -o "$out/$(basename "$c" .c)" "$c" -lvulkan -lm
done
echo "$stamp" >"$out/.stamp"
echo "build-c.sh: built $(ls "$src"/*.c | wc -l) programs of $src into $out" >&2
