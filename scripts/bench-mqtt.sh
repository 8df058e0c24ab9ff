#!/usr/bin/env bash
# MQTT broker benchmark: imetd and mosquitto side by side on this machine, same load, same run.
# Usage: scripts/bench-mqtt.sh [--brokers mosquitto,imetd] [--quick] [--reps N] [--duration S]
#                              [--scenarios qos0-fanin,...] [--load PATH] [--imetd-cmd T]
#                              [--mosquitto-cmd T] [--gen-args '...'] [--out FILE]
# Needs the load generator (ninja -C build imet-mqtt-load; build-bench/ and build/ are searched)
# and /usr/sbin/mosquitto. Writes bench-mqtt-results.md (+ .json) in the current directory.
# Exit status 1 if any run failed, lost a message or did not hold every idle connection.
# The work is done by scripts/bench_mqtt/bench.py (Python standard library only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec /usr/bin/python3 "$here/bench_mqtt/bench.py" "$@"
