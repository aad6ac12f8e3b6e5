#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test: C++ unit, integration and
# end-to-end tests and benchmark smoke runs (ctest), then the Segment SDK and browser tests (node --test)
# against the real server binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh -DPANORAMA_WERROR=ON

ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 600

if [[ ! -d tests/node_modules || tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd tests && PANORAMA_BIN="${BUILD_DIR:-build}/src/app/panorama" node --test)
