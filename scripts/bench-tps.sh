#!/usr/bin/env bash
# Consensus finality benchmark (issue 5; results in docs/benchmarks.md "Consensus"): a local
# 4-node testnet with 500 ms slots (`imet testnet start`), driven by imet-tps-load with signed
# transfers at each offered rate in turn; prints finalized transfers/s, submit-to-final latency
# and the nodes' CPU per transfer for each rate.
# Usage: scripts/bench-tps.sh [--build DIR] [--nodes N] [--slot-ms MS] [--rates "1000 2000 5000"]
#                             [--seconds S] [--warmup S] [--senders N] [--base-port P] [--keep]
# Needs build/bin/{imet,imetd,imet-tps-load} (ninja -C build imet imetd imet-tps-load).
# Each rate runs on a fresh network (same genesis parameters), so one rate's backlog cannot
# slow the next. Writes bench-tps-results.json (one object per rate) in the current directory.
set -euo pipefail
build="$(cd "$(dirname "$0")/.." && pwd)/build"
nodes=4 slot_ms=500 rates="1000 2500 5000" seconds=30 warmup=10 senders=1000 base_port=29000
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --slot-ms) slot_ms="$2"; shift 2 ;;
    --rates) rates="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --senders) senders="$2"; shift 2 ;;
    --base-port) base_port="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "bench-tps.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for b in imet imetd imet-tps-load; do
  [ -x "$build/bin/$b" ] || { echo "bench-tps.sh: $build/bin/$b missing (ninja -C $build $b)" >&2; exit 2; }
done
work="$(mktemp -d /tmp/imet-bench-tps.XXXXXX)"
out="$PWD/bench-tps-results.json"
echo "[" > "$out"
stop() { "$build/bin/imet" testnet stop --dir "$work/net" >/dev/null 2>&1 || true; }
trap 'stop; [ $keep = 1 ] || rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
first=1
for rate in $rates; do
  stop
  rm -rf "$work/net"
  "$build/bin/imet" testnet start --dir "$work/net" --nodes "$nodes" --slot-ms "$slot_ms" \
    --base-port "$base_port" --imetd "$build/bin/imetd" >/dev/null
  # Let the network finalize its first blocks before loading it.
  for _ in $(seq 1 100); do
    h=$(curl -s "127.0.0.1:$((base_port + 1))/v1/status" | sed -n 's/.*"height":\([0-9]*\).*/\1/p')
    [ -n "$h" ] && [ "$h" -ge 3 ] && break
    sleep 0.2
  done
  echo "== offered $rate transfers/s, $nodes nodes, $slot_ms ms slots"
  [ $first = 1 ] || echo "," >> "$out"
  first=0
  "$build/bin/imet-tps-load" --testnet "$work/net" --rate "$rate" --seconds "$seconds" \
    --warmup "$warmup" --senders "$senders" --json "$work/r.json" || true
  cat "$work/r.json" >> "$out"
done
echo "]" >> "$out"
echo "results: $out"
