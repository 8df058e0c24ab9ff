#!/usr/bin/env bash
# The README's second command (and what CI runs via .ci/run): installs what is needed, builds,
# and runs every test:
#   0. formatting check (clang-format)
#   1. g++ build; unit tests (ctest) and functional tests (pytest, real imetd/imet processes)
#   2. clang ASan+UBSan build; unit tests once more under the sanitizers
#   3. every libFuzzer target for IMET_FUZZ_SECONDS (default 20) each, one per core at a time
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "==== $* ($(( $(date +%s) - start ))s)"; }

step "install dependencies"
bash scripts/setup.sh

# Line tables only (stack traces, sanitizer reports): about 30 % less compile time than -g.
export IMET_DEBUG_INFO="${IMET_DEBUG_INFO:--g1}"

step "format check (.clang-format)"
unformatted=$(git ls-files '*.cpp' '*.h' | xargs -r clang-format --dry-run -Werror 2>&1 | grep -c 'error:' || true)
if [ "$unformatted" -ne 0 ]; then
  git ls-files '*.cpp' '*.h' | xargs -r clang-format --dry-run -Werror 2>&1 | head -20
  echo "clang-format: $unformatted problems; run: clang-format -i \$(git ls-files '*.cpp' '*.h')" >&2
  exit 1
fi

step "build (g++)"
bash scripts/build.sh default

step "unit tests"
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300

step "functional tests"
# One pytest-xdist worker per core: most of these tests wait on daemons (timers, restarts), so two
# workers halve the step (162 s -> 82-88 s on the 2-core VM, also with a CPU hog running alongside).
IMET_BUILD_DIR="$PWD/build" /usr/bin/python3 -m pytest -q -n "$(nproc)" tests/functional

step "build (clang, ASan+UBSan: unit test programs and fuzz targets)"
bash scripts/build.sh asan-fuzz

step "unit tests under ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 600 -L unit

step "fuzz targets"
bash scripts/fuzz.sh "${IMET_FUZZ_SECONDS:-20}"

step "all tests passed"
