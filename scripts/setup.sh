#!/usr/bin/env bash
# Installs every Debian 12 package IMET needs to build, run and test.
# Idempotent; run as root (or with sudo available). One `apt-get update`, non-interactive.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang clang-format clang-tidy
  libclang-rt-14-dev
  # libraries (see ARCHITECTURE.md and docs/design/dependencies.md)
  libsodium-dev librocksdb-dev libssl-dev
  libboost1.81-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  libjemalloc-dev  # the simulation's allocator (tests/sim/CMakeLists.txt)
  python3 python3-pytest python3-pytest-xdist  # functional tests run one worker per core
  # MQTT: real clients for functional tests, mosquitto as the benchmark's comparison broker
  mosquitto mosquitto-clients python3-paho-mqtt
  openssl  # the TLS functional tests make their test certificates with it
  # functional tests drive real processes
  procps
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup.sh: must run as root (or with sudo installed)" >&2; exit 1
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup.sh: all ${#PACKAGES[@]} packages already installed"
else
  echo "setup.sh: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian starts the mosquitto service on install where systemd runs. IMET needs only the binary (the
# benchmark starts its own instance on a free port); a system mosquitto on 1883 would keep a dev
# node from binding its MQTT port, so it is stopped and disabled.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  echo "setup.sh: stopping and disabling the system mosquitto service (port 1883 is imetd's)"
  $SUDO systemctl disable --now mosquitto || true
fi
