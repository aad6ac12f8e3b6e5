#!/usr/bin/env bash
# Quick start: installs what is missing, builds, generates a demo company on first use and serves it.
#   PANORAMA_DATA (default ./panorama-data), PANORAMA_LISTEN (default 127.0.0.1:8080),
#   PANORAMA_DEMO_CUSTOMERS (default 10000); PANORAMA_ADMIN_PASSWORD / PANORAMA_WRITE_KEY to choose secrets;
#   PANORAMA_MASTER_KEY_FILE (default ./.panorama/master.key, created on first use) or PANORAMA_MASTER_KEY.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh

DATA=${PANORAMA_DATA:-./panorama-data}
# The master key lives OUTSIDE the data directory (and so outside its backups); created once, mode 0600.
KEY=${PANORAMA_MASTER_KEY_FILE:-./.panorama/master.key}
if [[ -z "${PANORAMA_MASTER_KEY:-}" && ! -f "$KEY" ]]; then
  mkdir -p "$(dirname "$KEY")" && chmod 700 "$(dirname "$KEY")"
  build/src/app/panorama key init --out "$KEY"
fi
KEY_ARGS=()
[[ -z "${PANORAMA_MASTER_KEY:-}" ]] && KEY_ARGS=(--master-key-file "$KEY")
if [[ ! -f "$DATA/panorama.db" ]]; then
  build/src/app/panorama demo --data "$DATA" "${KEY_ARGS[@]}" --customers "${PANORAMA_DEMO_CUSTOMERS:-10000}" --seed 42
fi
exec build/src/app/panorama serve --data "$DATA" "${KEY_ARGS[@]}" --listen "${PANORAMA_LISTEN:-127.0.0.1:8080}" --static-dir web/dist
