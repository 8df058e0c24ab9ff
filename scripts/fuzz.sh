#!/usr/bin/env bash
# Runs every libFuzzer target in build-asan/fuzz for a fixed time each, starting from its seed
# corpus in fuzz/corpus/<name>/ (a scratch copy, so the committed corpus is not modified).
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
mkdir -p fuzz/artifacts
status=0
for bin in build-asan/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name="${bin##*/fuzz_}"
  work="$(mktemp -d)"
  cp -r "fuzz/corpus/$name/." "$work/" 2>/dev/null || true
  echo "== fuzz $name for ${secs}s"
  if ! "$bin" "$work" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix=fuzz/artifacts/"$name"- -print_final_stats=1 2>&1 | tail -n 15; then
    echo "fuzz target $name FAILED (artifacts in fuzz/artifacts/)" >&2
    status=1
  fi
  rm -rf "$work"
done
exit $status
