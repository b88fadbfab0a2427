#!/usr/bin/env bash
# Installs the Debian packages Herald builds against, if any is missing.
# Idempotent and quiet when everything is present (a second `make` costs ~0.1 s here).
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libcaf-dev             # the actor runtime (CAF 0.17.6)
  libboost-json1.81-dev  # payload validation and JSON output
  libboost1.81-dev       # Boost headers (CRC fallback; Beast and Asio for the /metrics HTTP server)
  libspdlog-dev          # structured logging
  libbenchmark-dev       # micro-benchmarks in bench/
  catch2                 # unit and integration tests
  libsqlite3-dev         # durable read models of projections (docs/PROJECTIONS.md)
)
# Optional: clang and its libFuzzer runtime (Debian ships libFuzzer in libclang-rt-14-dev,
# which clang does not pull in by itself), for `make fuzz`.
if [[ "${HERALD_FUZZ:-0}" == "1" ]]; then
  packages+=(clang libclang-rt-dev)
fi
# Extra packages a target may ask for, e.g. HERALD_EXTRA_PACKAGES="clang".
if [[ -n "${HERALD_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"${HERALD_EXTRA_PACKAGES}"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "herald: installing missing Debian packages: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "herald: these packages are missing and this user cannot install them: ${missing[*]}" >&2
    echo "herald: run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
