#!/usr/bin/env bash
# RFM from raw orders, Panorama vs DuckDB on the same generated orders (docs/benchmarks.md "RFM").
# Usage: bench/run_rfm_bench.sh ORDERS [BUILD_DIR]   e.g. 1000000 (check) or 100000000 (the issue's size)
# Writes the orders CSV under bench-data/, prints one JSON line per engine and fails when the checksums
# differ. Then runs the Google Benchmark program at that size (5 repetitions, medians).
set -euo pipefail
cd "$(dirname "$0")/.."
ORDERS=${1:?usage: bench/run_rfm_bench.sh ORDERS [BUILD_DIR]}
BUILD_DIR=${2:-build}
THREADS=${THREADS:-$(nproc)}
mkdir -p bench-data
CSV=bench-data/rfm_orders_${ORDERS}.csv

ours=$("$BUILD_DIR/bench/rfm_bench" --write_orders="$CSV" --orders="$ORDERS")
echo "$ours"
as_of=$(sed -E 's/.*"as_of_ms":([0-9]+).*/\1/' <<<"$ours")
if [[ ! -d bench/duckdb/node_modules ]]; then
  (cd bench/duckdb && npm install --no-audit --no-fund --loglevel=error)
fi
theirs=$(node bench/duckdb/rfm_duckdb.mjs "$CSV" "$as_of" "$THREADS")
echo "$theirs"
sum() { sed -E 's/.*"checksum":([0-9]+).*/\1/' <<<"$1"; }
if [[ "$(sum "$ours")" != "$(sum "$theirs")" ]]; then
  echo "checksums differ: the two engines disagree" >&2
  exit 1
fi
echo "checksums equal"
"$BUILD_DIR/bench/rfm_bench" --benchmark_filter="BM_RfmFromOrders/${ORDERS}\$" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
