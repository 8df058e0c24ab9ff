#!/usr/bin/env bash
# Configures and builds IMET. Usage: scripts/build.sh [default|asan-fuzz] [ninja targets...]
#   default    g++, RelWithDebInfo, into build/          (binaries in build/bin/)
#   asan-fuzz  clang, ASan+UBSan, libFuzzer targets, into build-asan/; without targets named, only
#              what runs under the sanitizers: the unit test programs and the fuzz targets. A unity
#              build (8 sources per compilation: 20-30 % less compile time in CI); the default build
#              stays one compilation per source, so every file is still checked to compile alone.
# IMET_DEBUG_INFO (default -g) is the debug-info flag a new build directory is configured with;
# -g1 (line tables: enough for stack traces, sanitizer reports and profiles) compiles about 30 %
# faster, which is what the CI run (scripts/test-all.sh) uses.
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-default}"
shift || true
jobs="${IMET_JOBS:-$(nproc)}"
dbg="${IMET_DEBUG_INFO:--g}"
targets=("$@")
case "$variant" in
  default)
    dir=build
    [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 $dbg -DNDEBUG" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $dbg -DNDEBUG"
    ;;
  asan-fuzz)
    dir=build-asan
    [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DIMET_SANITIZE=address,undefined -DIMET_FUZZ=ON -DIMET_BENCH=OFF \
      -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 \
      -DCMAKE_C_FLAGS_DEBUG="-O1 $dbg" -DCMAKE_CXX_FLAGS_DEBUG="-O1 $dbg"
    [ ${#targets[@]} -gt 0 ] || targets=(unit_tests fuzz_targets)
    ;;
  *) echo "build.sh: unknown variant '$variant' (default|asan-fuzz)" >&2; exit 2 ;;
esac
ninja -C "$dir" -j "$jobs" "${targets[@]}"
