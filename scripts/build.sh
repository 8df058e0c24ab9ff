#!/usr/bin/env bash
# Configures and builds IMET. Usage: scripts/build.sh [default|asan-fuzz] [ninja targets...]
#   default    g++, RelWithDebInfo, into build/          (binaries in build/bin/)
#   asan-fuzz  clang, ASan+UBSan, libFuzzer targets, into build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-default}"
shift || true
jobs="${IMET_JOBS:-$(nproc)}"
case "$variant" in
  default)
    dir=build
    [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
    ;;
  asan-fuzz)
    dir=build-asan
    [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DIMET_SANITIZE=address,undefined -DIMET_FUZZ=ON -DIMET_BENCH=OFF \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"
    ;;
  *) echo "build.sh: unknown variant '$variant' (default|asan-fuzz)" >&2; exit 2 ;;
esac
ninja -C "$dir" -j "$jobs" "$@"
