#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and starts a dev node in the
# foreground (Ctrl-C stops it). Extra arguments go to imetd, e.g. --data-dir /tmp/imet-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh default imetd imet
exec build/bin/imetd --dev "$@"
