#!/usr/bin/env bash
# S10 TLS scan (SECURITY.md §3), about 10 s: serves a fresh data directory over HTTPS twice — with an RSA
# certificate made by `openssl req` (`--tls-cert/--tls-key`) and with `--tls-self-signed` (P-256) — and scans
# each listener with sslscan (Debian package `sslscan`; `--xml=-` parsed below). Fails on: SSLv2/3, TLS 1.0 or
# 1.1 enabled; any accepted suite that is not forward-secret (ECDHE/DHE, or TLS 1.3), not AEAD (GCM,
# ChaCha20-Poly1305, CCM), or that sslscan rates null/weak/medium (CBC, RC4, 3DES, NULL, EXPORT, anonymous,
# MD5); client renegotiation; heartbleed; TLS compression (checked with `openssl s_client`, as Debian's sslscan
# does not report it); a missing or short HSTS header (max-age >= 63072000) on the console and the API; any
# HTTP answer to plain HTTP on the TLS port (no silent redirect). The XML rules are in scripts/tls-scan-check.py
# (`--self-test` feeds it a weak server's scan and checks every rule fires).
# Usage: scripts/tls-scan.sh [path/to/panorama]   exit 0 pass, 1 finding, 77 sslscan not installed.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/src/app/panorama}
command -v sslscan >/dev/null || { echo "sslscan is not installed (apt-get install sslscan, or scripts/setup.sh)"; exit 77; }
[[ -x "$BIN" ]] || { echo "no binary at $BIN"; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
"$BIN" key init --out "$tmp/master.key" >/dev/null || exit 1
openssl req -x509 -newkey rsa:3072 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$tmp/rsa.key" -out "$tmp/rsa.crt" 2>/dev/null || { echo "openssl req failed"; exit 1; }

# serve NAME ARGS...: starts the server, sets $port.
serve() {
  local name=$1
  shift
  PANORAMA_ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64) "$BIN" serve --master-key-file "$tmp/master.key" \
    --data "$tmp/data-$name" --listen 127.0.0.1:0 "$@" >"$tmp/serve-$name.log" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(grep -soE 'listening on https://127.0.0.1:[0-9]+' "$tmp/serve-$name.log" | grep -oE '[0-9]+$')
    [[ -n "$port" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: $name: serve did not start: $(tail -3 "$tmp/serve-$name.log")"
  return 1
}

check() {
  local name=$1 label=$2
  echo "== $label on 127.0.0.1:$port"
  timeout 120 sslscan --no-colour --xml="$tmp/scan-$name.xml" "127.0.0.1:$port" >"$tmp/scan-$name.txt" 2>&1
  python3 scripts/tls-scan-check.py "$tmp/scan-$name.xml" || failures=$((failures + 1))
  local comp
  comp=$(openssl s_client -connect "127.0.0.1:$port" -tls1_2 -comp </dev/null 2>/dev/null | grep -m1 '^Compression:')
  if [[ "$comp" == "Compression: NONE" ]]; then echo "ok: no TLS compression"; else
    echo "FAIL: TLS compression: ${comp:-no answer}"; failures=$((failures + 1)); fi
  local path hsts
  for path in / /api/v1/auth/me; do
    hsts=$(curl -sk -o /dev/null -D - "https://127.0.0.1:$port$path" | tr -d '\r' |
      grep -i '^strict-transport-security:' | grep -oE 'max-age=[0-9]+' | cut -d= -f2)
    if [[ -n "$hsts" && "$hsts" -ge 63072000 ]]; then echo "ok: HSTS max-age=$hsts on $path"; else
      echo "FAIL: HSTS missing or short on $path (${hsts:-none})"; failures=$((failures + 1)); fi
  done
  local plain
  plain=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
  if [[ "$plain" == "000" ]]; then echo "ok: plain HTTP on the TLS port gets no HTTP answer"; else
    echo "FAIL: plain HTTP on the TLS port answered $plain"; failures=$((failures + 1)); fi
  kill "$pid"
  wait "$pid" 2>/dev/null
  pid=
}

if serve rsa --tls-cert "$tmp/rsa.crt" --tls-key "$tmp/rsa.key"; then check rsa "RSA --tls-cert/--tls-key"; else failures=$((failures + 1)); fi
if serve ec --tls-self-signed; then check ec "--tls-self-signed (P-256)"; else failures=$((failures + 1)); fi
echo "tls scan: $failures failure(s)"
[[ $failures -eq 0 ]]
