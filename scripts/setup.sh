#!/usr/bin/env bash
# Installs what Panorama needs on Debian 12, idempotently: only missing packages are fetched.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.74-dev libsimdjson-dev rapidjson-dev libsqlite3-dev sqlite3 libssl-dev libsodium-dev
  libphonenumber-dev libicu-dev libspdlog-dev libfmt-dev libcli11-dev libroaring-dev libxlsxwriter-dev libarchive-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  liboath-dev libqrencode-dev oathtool faketime libfaketime strace clang libclang-rt-14-dev
  sslscan  # the S10 TLS scan of scripts/security-nightly.sh (scripts/tls-scan.sh)
  wrk  # R15 in scripts/security-nightly.sh: a second opinion on the 360° latency beside panorama_http_load
  nodejs npm chromium python3 python3-pandas
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node may come from outside Debian (nodesource, nvm); accept any node >= 18 with npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
