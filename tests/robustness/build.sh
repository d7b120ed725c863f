#!/bin/sh
# Builds the robustness programs into OUT (only when a source changed). Runs
# inside the trixie chroot (gcc, libvulkan-dev): tests/robustness_test.ts calls it.
set -eu
src="$(cd "$(dirname "$0")" && pwd)"
out="$1"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
stamp="$(cd "$src" && sha256sum build.sh ./*.h ./*.c | sha256sum | cut -d' ' -f1)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then exit 0; fi
rm -f "$out/.stamp"
for c in "$src"/*.c; do
  gcc -std=gnu11 -O2 -Wall -Wextra -Wno-unused-function -Werror -I"$src" -o "$out/$(basename "$c" .c)" "$c" -lvulkan
done
echo "$stamp" >"$out/.stamp"
