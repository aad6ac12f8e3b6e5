#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each for SECONDS (default 30) over
# its committed seed corpus fuzz/corpus/<target>/. New interesting inputs go to build-fuzz/corpus/<target>/
# (not committed); a crash leaves build-fuzz/artifacts/<target>/crash-* and fails the script — minimise it,
# fix the bug and commit the input as a regression seed in fuzz/corpus/<target>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 3600 (nightly), scripts/fuzz.sh 30 (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-30}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPANORAMA_FUZZ=ON -DPANORAMA_BUILD_TESTS=OFF >/dev/null
ninja -C "$BUILD_DIR" -j "${JOBS:-2}" fuzzers

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(fuzz_segment_batch fuzz_csv_import fuzz_normalize fuzz_api_query fuzz_rule_parser)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for target in "${targets[@]}"; do
  corpus="$BUILD_DIR/corpus/$target"
  artifacts="$BUILD_DIR/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  start=$(date +%s)
  # -timeout=1: an input taking over 1 s is a finding (SECURITY.md R14); -rss_limit_mb=2048 likewise.
  if "$BUILD_DIR/fuzz/$target" "$corpus" "fuzz/corpus/$target" -max_total_time="$SECONDS_PER_TARGET" \
      -timeout=1 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      >"$BUILD_DIR/$target.log" 2>&1; then
    echo "fuzz $target: ok in $(( $(date +%s) - start )) s, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD_DIR/$target.log" | grep -o '[0-9]*$') runs, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "fuzz $target: FAILED (see $BUILD_DIR/$target.log and $artifacts/)"
    grep -m5 -E 'ERROR|runtime error|SUMMARY' "$BUILD_DIR/$target.log" || true
    failed=1
  fi
done
exit $failed
