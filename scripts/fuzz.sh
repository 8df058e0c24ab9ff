#!/usr/bin/env bash
# Runs every libFuzzer target in build-asan/fuzz for a fixed time each, starting from its seed
# corpus in fuzz/corpus/<name>/ (a scratch copy, so the committed corpus is not modified).
# Targets run IMET_FUZZ_JOBS at a time (default: one per core; each fuzzer is single-threaded, so
# every target still gets a whole core for its time). Each target's output is printed when it ends
# (its last 15 lines, or 80 if it failed); a crash leaves its input in fuzz/artifacts/.
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
jobs="${IMET_FUZZ_JOBS:-$(nproc)}"
mkdir -p fuzz/artifacts
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

status=0
running=0
declare -A name_of

# Waits for one running target, prints its output and records a failure.
reap() {
  local pid="" rc=0
  wait -n -p pid || rc=$?
  local name="${name_of[$pid]}"
  if [ "$rc" -eq 0 ]; then
    echo "== fuzz $name: ${secs}s, no findings"
    tail -n 15 "$scratch/$name.log"
  else
    echo "== fuzz $name: FAILED (exit $rc; artifacts in fuzz/artifacts/)"
    tail -n 80 "$scratch/$name.log"
    status=1
  fi
  running=$((running - 1))
}

for bin in build-asan/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name="${bin##*/fuzz_}"
  [ "$running" -lt "$jobs" ] || reap
  mkdir -p "$scratch/$name"
  cp -r "fuzz/corpus/$name/." "$scratch/$name/" 2>/dev/null || true
  "$bin" "$scratch/$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix=fuzz/artifacts/"$name"- -print_final_stats=1 >"$scratch/$name.log" 2>&1 &
  name_of[$!]="$name"
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do reap; done
exit $status
