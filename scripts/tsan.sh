#!/usr/bin/env bash
# R13, TSan half (SECURITY.md §3): builds the concurrency suites with ThreadSanitizer (gcc, build-tsan/, -O1,
# CMake option PANORAMA_TSAN) and runs them with halt_on_error; any report fails the run.
#   the audit ledger service (group-committed appends, Flush) — panorama_audit_tests
#   the segment service and its evaluation worker — panorama_segment_service_tests
#   the ingest queue and group-commit pipeline under concurrent requests — panorama_ingest_flow_tests
#   the rate limiter and login throttle shared by HTTP workers — panorama_security_tests (RateLimiter*, LoginThrottle*)
#   the HTTP server (I/O threads, worker pool, async responders, graceful stop) — panorama_http_e2e_tests
#   the background-job thread (start, stop during a run or a long wait) — panorama_core_tests (PeriodicTask*)
#   the feature store read while written — panorama_features_tests (one test)
#   the audience index and consent bitmaps evaluated while customers and consents change —
#     panorama_segments_tests (the two AudienceIndexTest writer/reader tests)
#   libphonenumber's first use from several import threads — panorama_ingest_tests (one test)
#   online backup under a concurrent writer, and the backup scheduler's thread beside RunNow() —
#     panorama_backup_integration_tests (two tests)
# Before the suites, tests/tsan/race_canary.cc (a deliberate race) must be reported, so a build in which TSan
# silently detects nothing fails rather than passing.
# Suppressions: scripts/tsan.supp (at most 5 entries, each with its reason; SECURITY.md R13).
#   scripts/tsan.sh            build + run (only these targets: ~110 objects cold, about 8 min on 2 free cores;
#                              tests about 1 min); scripts/test.sh runs this in CI.
#   scripts/tsan.sh --all      also the API e2e suites through the whole application (api, privacy, segments,
#                              authz: a server in-process with its jobs, requests from the test thread), ~30 more
#                              objects and ~5 min more of tests — over the CI budget, so security-nightly.sh only.
set -euo pipefail
cd "$(dirname "$0")/.."
all=0
case "${1:-}" in
  "") ;;
  --all) all=1 ;;
  *) echo "usage: scripts/tsan.sh [--all]" >&2; exit 2 ;;
esac

BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
start=$(date +%s)
# No -Werror, as in sanitize.sh: GCC 12 gives false -Wmaybe-uninitialized under sanitizers.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DPANORAMA_TSAN=ON -DPANORAMA_WERROR=OFF >/dev/null
targets=(panorama_tsan_canary panorama_audit_tests panorama_segment_service_tests panorama_ingest_flow_tests
         panorama_security_tests panorama_http_e2e_tests panorama_core_tests panorama_features_tests
         panorama_segments_tests panorama_ingest_tests panorama_backup_integration_tests)
app_suites=(panorama_api_e2e_tests panorama_privacy_e2e_tests panorama_segments_e2e_tests panorama_authz_e2e_tests)
if [[ $all -eq 1 ]]; then targets+=("${app_suites[@]}"); fi
ninja -C "$BUILD_DIR" -j "${JOBS:-2}" "${targets[@]}"
built=$(date +%s)

export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$PWD/scripts/tsan.supp}
export PANORAMA_MASTER_KEY=${PANORAMA_MASTER_KEY:-AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=}  # the test-only key
# gcc 12's TSan cannot map its shadow memory with the 32-bit mmap randomisation of newer kernels; without ASLR
# it can (setarch -R only changes this process tree).
run=()
if [[ $(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28) -gt 28 ]]; then run=(setarch "$(uname -m)" -R); fi
failed=0
suite() {
  local binary=$1 filter=${2:-*}
  echo "== tsan: $binary --gtest_filter=$filter"
  "${run[@]}" "$BUILD_DIR/$binary" --gtest_filter="$filter" --gtest_brief=1 || failed=1
}
echo "== tsan: tests/panorama_tsan_canary (a deliberate race; must be reported)"
if canary=$("${run[@]}" "$BUILD_DIR/tests/panorama_tsan_canary" 2>&1) ||
   ! grep -q 'WARNING: ThreadSanitizer: data race' <<<"$canary"; then
  printf '%s\n' "$canary"
  echo "tsan: the canary's race was not reported, so a clean run below would prove nothing"
  failed=1
fi
suite src/audit/panorama_audit_tests
suite src/segments/service/panorama_segment_service_tests
suite tests/panorama_ingest_flow_tests
suite src/security/panorama_security_tests 'RateLimiter*:LoginThrottle*'
suite tests/panorama_http_e2e_tests
suite src/core/panorama_core_tests 'PeriodicTask.*'
suite src/features/panorama_features_tests 'FeatureStoreTest.ReadersAndWritersRunConcurrently'
suite src/segments/panorama_segments_tests \
  'AudienceIndexTest.EvaluatesWhileCustomersChangeOnOtherThreads:AudienceIndexTest.ConsentRulesSeeWholeChanges*'
suite src/ingest/panorama_ingest_tests 'NormalizePhone.IsSafeToCallFromSeveralThreads'
suite tests/panorama_backup_integration_tests \
  'BackupRestoreTest.OnlineBackupUnderContinuousWrites*:BackupRestoreTest.ScheduledAndManualRuns*'
if [[ $all -eq 1 ]]; then
  for binary in "${app_suites[@]}"; do suite "tests/$binary"; done
fi
echo "tsan: build $(( built - start )) s, tests $(( $(date +%s) - built )) s, $([[ $failed -eq 0 ]] && echo ok || echo FAILED)"
exit $failed
