#!/usr/bin/env bash
# Quick start: installs what is missing, builds, generates a demo company on first use and serves it.
#   PANORAMA_DATA (default ./panorama-data), PANORAMA_LISTEN (default 127.0.0.1:8080),
#   PANORAMA_DEMO_CUSTOMERS (default 10000); PANORAMA_ADMIN_PASSWORD / PANORAMA_WRITE_KEY to choose secrets.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh

DATA=${PANORAMA_DATA:-./panorama-data}
if [[ ! -f "$DATA/panorama.db" ]]; then
  build/src/app/panorama demo --data "$DATA" --customers "${PANORAMA_DEMO_CUSTOMERS:-10000}" --seed 42
fi
exec build/src/app/panorama serve --data "$DATA" --listen "${PANORAMA_LISTEN:-127.0.0.1:8080}" --static-dir web/dist
