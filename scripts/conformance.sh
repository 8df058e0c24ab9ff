#!/usr/bin/env bash
# Runs a third-party MQTT 3.1.1 + 5.0 broker test suite, the Eclipse Mosquitto 2.0.11 broker tests
# (from Debian's mosquitto source package, unmodified), against imetd and, for comparison, against
# mosquitto 2.0.11. Builds nothing: give it an imetd binary.
#
#   scripts/conformance.sh [--imetd PATH] [--mosquitto PATH] [--no-mosquitto] [--diagnostic]
#                          [--jobs N] [--work DIR] [--only REGEX]...
#
#   --imetd PATH     imetd to test (default build/bin/imetd)
#   --mosquitto PATH mosquitto for the comparison run (default /usr/sbin/mosquitto)
#   --no-mosquitto   skip the comparison run
#   --diagnostic     also run imetd through the shim's CONNACK/DISCONNECT normaliser (see
#                    tests/conformance/mosquitto_shim.py); informational, never changes the verdict
#
# Each run prints one line per test (PASS, FAIL, XFAIL = known failure in
# tests/conformance/allowlist.txt, XPASS = stale allow-list entry, N/A = the test needs a mosquitto
# feature without an imetd equivalent) and a summary per MQTT version. Exit status: 0 when imetd
# has no FAIL, 1 otherwise (the mosquitto and diagnostic runs do not affect it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

imetd="build/bin/imetd"
mosquitto="/usr/sbin/mosquitto"
with_mosquitto=1
diagnostic=0
jobs=3
work="${TMPDIR:-/tmp}/imet-conformance-$$"
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --imetd) imetd="$2"; shift 2 ;;
    --mosquitto) mosquitto="$2"; shift 2 ;;
    --no-mosquitto) with_mosquitto=0; shift ;;
    --diagnostic) diagnostic=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --only) only+=(--only "$2"); shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "conformance.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ ! -x "$imetd" ]; then
  echo "conformance.sh: '$imetd' is not an executable imetd; build it first (scripts/build.sh)" >&2
  exit 2
fi
imetd="$(cd "$(dirname "$imetd")" && pwd)/$(basename "$imetd")"
suite="$(bash tests/conformance/fetch_suite.sh)"
mkdir -p "$work"
echo "suite: $suite"
echo "work:  $work (per-test output, broker logs and configs)"

py=/usr/bin/python3
runner=("$py" tests/conformance/run_suite.py --suite "$suite" --jobs "$jobs" "${only[@]}")

status=0
echo; echo "==== imetd: $imetd"
"${runner[@]}" --target imetd --imetd "$imetd" --work "$work/imetd-run" \
  --json "$work/imetd.json" | tee "$work/imetd.txt" || status=1

if [ "$diagnostic" = 1 ]; then
  echo; echo "==== imetd, DIAGNOSTIC (normalised CONNACK/DISCONNECT; informational only)"
  "${runner[@]}" --target imetd --imetd "$imetd" --normalise --work "$work/imetd-diag-run" \
    --json "$work/imetd-diagnostic.json" | tee "$work/imetd-diagnostic.txt" || true
fi

if [ "$with_mosquitto" = 1 ]; then
  echo; echo "==== mosquitto (comparison): $mosquitto"
  "${runner[@]}" --target mosquitto --mosquitto "$mosquitto" --work "$work/mosquitto-run" \
    --json "$work/mosquitto.json" | tee "$work/mosquitto.txt" || true
fi

echo; echo "==== summary"
for f in imetd imetd-diagnostic mosquitto; do
  [ -f "$work/$f.txt" ] && sed -n '/^== /,/^all /p' "$work/$f.txt"
done
if [ "$status" = 0 ]; then echo "imetd: no unexpected failures"; else echo "imetd: FAILURES (see above)"; fi
exit "$status"
