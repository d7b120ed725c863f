#!/bin/sh
# Builds the workload programs and their shaders into OUT (default
# tests/workloads/build), only when a source changed. Runs inside the trixie
# chroot (gcc, libvulkan-dev, glslang-tools): src/harness/workloads.ts calls it.
set -eu
src="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$src/build}"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
stamp="$(cd "$src" && sha256sum build.sh ./*.h ./*.c shaders/* | sha256sum | cut -d' ' -f1)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then exit 0; fi
rm -f "$out/.stamp"
mkdir -p "$out/shaders"
for s in "$src"/shaders/*; do
  name="$(basename "$s" | tr . _)"
  glslangValidator -V --quiet --vn "$name" -o "$out/shaders/$name.h" "$s"
done
for c in "$src"/*.c; do
  gcc -std=gnu11 -O2 -Wall -Wextra -Wno-unused-function -Werror -I"$src" -I"$out/shaders" \
    -o "$out/$(basename "$c" .c)" "$c" -lvulkan -lm
done
echo "$stamp" >"$out/.stamp"
echo "build.sh: built $(ls "$src"/*.c | wc -l) workloads into $out" >&2
