#!/usr/bin/env bash
# Configures and builds Panorama (Release, Ninja, ccache) and the web console. Extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
# Relative paths in the cache key: git worktrees and clean clones share one ccache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C "$BUILD_DIR" -j "${JOBS:-$(nproc)}"

# The console: npm ci only when the lock file changed since the last install.
if [[ ! -d web/node_modules || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd web && npm run --silent build)
