#!/usr/bin/env bash
# S17 (SECURITY.md §3) log hygiene: scans the logs of a test run for secrets and personal data.
#   scripts/check-logs.sh [BUILD_DIR]
# Reads <build>/test-logs/* (servers started by the e2e tests and the node tests) and the log lines of ctest's
# full output (<build>/Testing/Temporary/LastTest.log; in-process servers log to stderr). Only log lines are
# checked there — lines starting with a timestamp — because test assertions legitimately print test data.
# Fails on: the passwords and keys the tests use, session/refresh/device/API/write-key tokens (pst_/prt_/pdv_/pak_/pwk_ + secret),
# full email addresses and full phone numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${BUILD_DIR:-build}}

files=()
if [[ -d "$BUILD_DIR/test-logs" ]]; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$BUILD_DIR/test-logs" -type f -name '*.log' -print0)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -f "$BUILD_DIR/Testing/Temporary/LastTest.log" ]]; then
  # spdlog lines: "[2026-01-02 03:04:05.678] [info] …" (default pattern) or "2026-01-02T03:04:05.678Z info …".
  grep -aE '^\[?20[0-9]{2}-[0-9]{2}-[0-9]{2}[ T][0-9:.]+Z?\]? ' "$BUILD_DIR/Testing/Temporary/LastTest.log" \
    >"$tmp/ctest-log-lines.log" || true
  files+=("$tmp/ctest-log-lines.log")
fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "check-logs: no logs under $BUILD_DIR (run the tests first)" >&2
  exit 2
fi

# Literal secrets the tests use: every string assigned to a password or key constant or environment variable.
grep -rhoE '(kPassword|kWriteKey|kAdminPassword|PANORAMA_ADMIN_PASSWORD|PANORAMA_WRITE_KEY|password)"?[^"]{0,12}"[^"]{8,}"' \
  tests src/*/*_test.cc 2>/dev/null | grep -oE '"[^"]{8,}"$' | tr -d '"' | grep -vE '^[A-Za-z_ ]+$' | sort -u >"$tmp/secrets" || true

patterns=(
  'token=\b(pst|prt|pdv|pak|pwk)_[A-Za-z0-9_-]{16,}'              # session, refresh, device, API key, write key
  'test password=\bpw-[0-9a-f]{24}\b'                              # node tests' random admin passwords
  'test write key=\bwk_[0-9a-f]{24}\b'                             # node tests' random write keys
  'email=[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}'
  'phone=\+[1-9][0-9]{7,14}\b'
  'CN mobile=\b1[3-9][0-9]{9}\b'
)
found=0
for entry in "${patterns[@]}"; do
  name=${entry%%=*}
  regex=${entry#*=}
  if hits=$(grep -aHnE -- "$regex" "${files[@]}" | head -5) && [[ -n "$hits" ]]; then
    echo "check-logs: $name found in logs:"
    # Show where, not the value itself.
    sed -E 's/^([^:]*:[0-9]+):.*/  \1/' <<<"$hits"
    found=1
  fi
done
if [[ -s "$tmp/secrets" ]]; then
  if hits=$(grep -aHnF -f "$tmp/secrets" "${files[@]}" | head -5) && [[ -n "$hits" ]]; then
    echo "check-logs: a password or key used by the tests found in logs:"
    sed -E 's/^([^:]*:[0-9]+):.*/  \1/' <<<"$hits"
    found=1
  fi
fi
lines=$(cat "${files[@]}" | wc -l)
if [[ $found -ne 0 ]]; then
  exit 1
fi
echo "check-logs: ${#files[@]} files, $lines lines, $(wc -l <"$tmp/secrets") test secrets: clean"
