#!/usr/bin/env bash
# Fetches the third-party MQTT broker test suite: the Eclipse Mosquitto 2.0.11 broker tests
# (test/broker, test/mosq_test.py, ...) from Debian bookworm's mosquitto source package, with
# apt-get (the only registry besides npm this project can reach), and unpacks the upstream
# tarball unmodified into $CACHE/mosquitto-2.0.11.
#
# Usage: tests/conformance/fetch_suite.sh [CACHE_DIR]   (default tests/conformance/.cache)
# Prints the suite directory on stdout.
#
# Thread-safety: not safe to run twice at once on the same CACHE_DIR.
# Invariants: the tarball's SHA-256 is pinned below (apt also checks it against Debian's signed
# index); a mismatch stops the script and nothing is unpacked. apt uses a private source list and
# state directory inside CACHE_DIR: the system's apt configuration is not touched.
set -euo pipefail

VERSION=2.0.11
DEB_VERSION=2.0.11-1.2+deb12u2
ORIG=mosquitto_${VERSION}.orig.tar.gz
ORIG_SHA256=7b36a7198bce85cf31b132f5c6ee36dcf5dadf86fb768501eb1e11ce95d4f78a

here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/.cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
suite="$cache/mosquitto-$VERSION"

if [ -f "$suite/.unpacked-ok" ]; then
  echo "$suite"
  exit 0
fi

if [ ! -f "$cache/$ORIG" ] || ! echo "$ORIG_SHA256  $cache/$ORIG" | sha256sum -c --status; then
  apt_dir="$cache/apt"
  mkdir -p "$apt_dir/lists/partial"
  cat >"$apt_dir/sources.list" <<EOF
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
  opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  echo "fetching mosquitto $DEB_VERSION source with apt-get (private source list in $apt_dir)" >&2
  apt-get "${opts[@]}" -qq update >&2
  (cd "$cache" && apt-get "${opts[@]}" -qq source --download-only "mosquitto=$DEB_VERSION" >&2)
fi

if ! echo "$ORIG_SHA256  $cache/$ORIG" | sha256sum -c --status; then
  echo "fetch_suite.sh: $cache/$ORIG does not have the pinned SHA-256 $ORIG_SHA256" >&2
  exit 1
fi

rm -rf "$suite"
tar -xzf "$cache/$ORIG" -C "$cache"
touch "$suite/.unpacked-ok"
echo "$suite"
