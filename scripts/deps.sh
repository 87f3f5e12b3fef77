#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages dnsd needs to build and test that are missing,
# and any more named as arguments (scripts/fuzz.sh: clang; scripts/soak.sh: dnsperf).
set -euo pipefail
packages=(
  g++ meson ninja-build pkg-config cmake python3
  libc-ares-dev libldns-dev libyaml-cpp-dev libsimdjson-dev libspdlog-dev doctest-dev libcli11-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev openssl help2man
  dnsutils knot-dnsutils iproute2
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root (or install these with sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
