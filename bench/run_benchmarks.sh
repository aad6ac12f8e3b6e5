#!/usr/bin/env bash
# Panorama end-to-end benchmarks against the DESIGN.md §5 targets, on 127.0.0.1 only, every load run bounded.
#
#   bench/run_benchmarks.sh                     # 1,000,000 customers (~9M orders, ~5M events): slow demo step
#   bench/run_benchmarks.sh --customers 100000  # quicker
#
# Options: --customers N (1000000)  --seed S (42)  --data DIR (bench-data/demo-N-sS; reused when complete)
#          --port P (18480)  --duration SECONDS per load run (20, at most 60)  --skip-build  --perf
#          --fresh (regenerate the data even when DIR is complete)
#
# Steps: build (Release) -> demo data -> (a) cold start to /readyz 200, 3 runs -> (b) 360° view at 64
# connections over 20k random customer ids -> (c) /v1/batch ingest with durable acks at 8, 32, 64
# connections, then a check that every acknowledged event is in the database -> (d) the peer: Beast
# hello-JSON on the same cores (the ceiling of HTTP on this machine) -> Google Benchmarks -> results table.
# Load generator and server share the machine's cores; results and raw JSON go to DIR/results-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."

CUSTOMERS=1000000
SEED=42
DATA=""
PORT=18480
DURATION=20
BUILD=1
PERF=0
FRESH=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) CUSTOMERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --perf) PERF=1; shift ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if (( DURATION > 60 )); then echo "--duration is at most 60 s" >&2; exit 2; fi
DATA=${DATA:-bench-data/demo-$CUSTOMERS-s$SEED}
BUILD_DIR=${BUILD_DIR:-build}
BIN=$BUILD_DIR/src/app/panorama
HTTP_LOAD=$BUILD_DIR/bench/panorama_http_load
INGEST_LOAD=$BUILD_DIR/bench/panorama_ingest_load
export PANORAMA_ADMIN_PASSWORD=${PANORAMA_ADMIN_PASSWORD:-bench-admin-password-1}
export PANORAMA_WRITE_KEY=${PANORAMA_WRITE_KEY:-bench-write-key-0123456789}
URL=http://127.0.0.1:$PORT

for tool in curl sqlite3 python3; do
  command -v $tool >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 2; }
done

log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- build
if (( BUILD )); then
  log "build (Release) in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPANORAMA_WERROR=ON >/dev/null
  ninja -C "$BUILD_DIR" -j2 panorama panorama_http_load panorama_ingest_load panorama_http_hello \
    features_bench demo_bench
fi

# ---------------------------------------------------------------- data
DEMO_SECONDS="reused"
if (( FRESH )) || [[ ! -f "$DATA/.bench-complete" ]]; then
  log "demo data: $CUSTOMERS customers, seed $SEED, in $DATA"
  rm -rf "$DATA"
  mkdir -p "$DATA"
  start=$(date +%s.%N)
  "$BIN" demo --data "$DATA" --customers "$CUSTOMERS" --seed "$SEED" | grep -v -i 'login\|key' || true
  DEMO_SECONDS=$(python3 -c "print(f'{$(date +%s.%N) - $start:.0f} s')")
  touch "$DATA/.bench-complete"
fi
DB=$DATA/panorama.db
RESULTS=$DATA/results-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS"
DB_BYTES=$(du -cb "$DB"* | tail -1 | cut -f1)
read -r N_CUSTOMERS N_ORDERS N_EVENTS < <(sqlite3 -separator ' ' "$DB" \
  "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT count(*) FROM events)")
log "data: $N_CUSTOMERS customers, $N_ORDERS orders, $N_EVENTS events, $((DB_BYTES / 1048576)) MiB"

# 20k random customer ids for the 360° view; 50k user ids of existing customers for ingestion.
sqlite3 "$DB" "SELECT id FROM customers ORDER BY random() LIMIT 20000" |
  awk '{print "GET /api/v1/customers/" $1 "/360?timeline_limit=20"}' >"$RESULTS/requests-360.txt"
sqlite3 "$DB" "SELECT value FROM identities WHERE type = 'user_id' ORDER BY random() LIMIT 50000" \
  >"$RESULTS/existing-users.txt"

# ---------------------------------------------------------------- server control
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

# Starts the server; sets READY_MS to the milliseconds from process start to the first /readyz 200.
# (Not called in $(...): SERVER_PID must be set in this shell so stop_server can end it.)
start_server() {
  local out=$1
  local t0 t1
  if curl -s -o /dev/null "$URL/readyz"; then echo "something already listens on port $PORT" >&2; exit 1; fi
  t0=$(date +%s%N)
  "$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" --no-access-log --no-rate-limit ${WORKERS:+--worker-threads "$WORKERS"} \
    >"$out" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 6000); do
    if curl -fs -o /dev/null "$URL/readyz" 2>/dev/null; then
      t1=$(date +%s%N)
      READY_MS=$(((t1 - t0) / 1000000))
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$out" >&2; echo "server exited" >&2; exit 1; }
    sleep 0.01
  done
  echo "server not ready after 60 s" >&2
  exit 1
}

# ---------------------------------------------------------------- (a) cold start
log "(a) cold start to /readyz 200 (3 runs; new process each time; the page cache is not controlled)"
COLD=()
for run in 1 2 3; do
  start_server "$RESULTS/server-start-$run.log"
  COLD+=("$READY_MS")
  echo "run $run: $READY_MS ms" >&2
  [[ $run -lt 3 ]] && stop_server
done
COLD_MEDIAN=$(printf '%s\n' "${COLD[@]}" | sort -n | sed -n 2p)
FEATURE_LINE=$(grep -o 'feature store loaded: .*' "$RESULTS/server-start-3.log" | head -1 || true)
FEATURE_MS=$(sed -E 's/.* in ([0-9]+) ms.*/\1/' <<<"$FEATURE_LINE")
FEATURE_BYTES=$(sed -E 's/.*, ([0-9]+) bytes.*/\1/' <<<"$FEATURE_LINE")
FEATURE_N=$(sed -E 's/.*loaded: ([0-9]+) customers.*/\1/' <<<"$FEATURE_LINE")
BYTES_PER_CUSTOMER=$(python3 -c "print(f'{$FEATURE_BYTES / max(1, $FEATURE_N):.0f}')")
RSS_MB=$(($(ps -o rss= -p "$SERVER_PID") / 1024))
echo "$FEATURE_LINE; server RSS ${RSS_MB} MiB" >&2

TOKEN=$(curl -fs -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PANORAMA_ADMIN_PASSWORD\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
first=$(head -1 "$RESULTS/requests-360.txt" | cut -d' ' -f2)
curl -fs -o "$RESULTS/sample-360.json" -H "Authorization: Bearer $TOKEN" "$URL$first"
echo "sample 360 answer: $(wc -c <"$RESULTS/sample-360.json") bytes" >&2

perf_during() {  # perf_during NAME SECONDS: profile the server while a load run is going
  if (( PERF )); then
    perf record -F 499 -g -p "$SERVER_PID" -o "$RESULTS/perf-$1.data" -- sleep "$2" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
}
perf_report() {
  if (( PERF )); then
    wait "$PERF_PID" || true
    perf report -i "$RESULTS/perf-$1.data" --no-children --percent-limit 1.5 --stdio 2>/dev/null |
      grep -v '^$' | grep -E '^ +[0-9]' | head -25 >"$RESULTS/perf-$1.txt" || true
    echo "perf top symbols ($1):" >&2
    cat "$RESULTS/perf-$1.txt" >&2
  fi
}

# ---------------------------------------------------------------- (b) 360° view
log "(b) 360° view: 64 connections, ${DURATION} s over 20k random customers (after a 3 s warm-up)"
"$HTTP_LOAD" --port "$PORT" --connections 64 --duration 3s --requests-file "$RESULTS/requests-360.txt" \
  --header "Authorization: Bearer $TOKEN" --json >/dev/null || true
perf_during view360 $((DURATION / 2))
"$HTTP_LOAD" --port "$PORT" --connections 64 --duration "${DURATION}s" \
  --requests-file "$RESULTS/requests-360.txt" --header "Authorization: Bearer $TOKEN" --json \
  | tee "$RESULTS/view360.json" >&2
perf_report view360

# ---------------------------------------------------------------- (c) ingest
INGEST_CONNS=(8 32 64)
TOTAL_ACKED=0
RUN_IDS=()
for c in "${INGEST_CONNS[@]}"; do
  log "(c) ingest /v1/batch, 100 events per batch, $c connections, ${DURATION} s"
  run_id="bench$(date +%s)c$c"
  RUN_IDS+=("$run_id")
  [[ $c == 32 ]] && perf_during ingest $((DURATION / 2))
  "$INGEST_LOAD" --port "$PORT" --write-key "$PANORAMA_WRITE_KEY" --connections "$c" \
    --duration "${DURATION}s" --timeout 30s --users 100000 --users-file "$RESULTS/existing-users.txt" \
    --existing-fraction 0.5 --run-id "$run_id" --json | tee "$RESULTS/ingest-$c.json" >&2 || true
  [[ $c == 32 ]] && perf_report ingest
  acked=$(python3 -c "import json; print(json.load(open('$RESULTS/ingest-$c.json'))['events_acked'])")
  TOTAL_ACKED=$((TOTAL_ACKED + acked))
done
stop_server

# Every acknowledged event must be on disk, once (a fast wrong answer fails the run).
STORED=0
for run_id in "${RUN_IDS[@]}"; do
  n=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE message_id >= '$run_id-' AND message_id < '$run_id.'")
  STORED=$((STORED + n))
done
INGEST_CHECK="acked $TOTAL_ACKED, stored $STORED"
if (( STORED < TOTAL_ACKED )); then
  echo "FAIL: fewer events stored than acknowledged ($INGEST_CHECK)" >&2
  INGEST_CHECK="FAIL $INGEST_CHECK"
fi
echo "ingest check: $INGEST_CHECK" >&2

# ---------------------------------------------------------------- (d) peer
log "(d) peer: Beast hello-JSON on the same cores, 64 connections, 10 s"
"$BUILD_DIR/bench/panorama_http_hello" --port "$PORT" --duration 20 >"$RESULTS/hello.log" 2>&1 &
HELLO_PID=$!
for _ in $(seq 1 200); do curl -fs -o /dev/null "$URL/hello" && break; sleep 0.05; done
"$HTTP_LOAD" --port "$PORT" --connections 64 --duration 10s --path /hello --json |
  tee "$RESULTS/hello.json" >&2 || true
kill -TERM "$HELLO_PID"; wait "$HELLO_PID" 2>/dev/null || true

# ---------------------------------------------------------------- Google Benchmarks
log "Google Benchmarks (Release, 5 repetitions, medians)"
"$BUILD_DIR/bench/features_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$RESULTS/features_bench.json" --benchmark_out_format=json 2>&1 | grep -E 'median|^-|Bench' >&2 || true

# ---------------------------------------------------------------- table
python3 - "$RESULTS" <<EOF
import json, sys, os
r = sys.argv[1]
def j(name):
    try: return json.load(open(os.path.join(r, name)))
    except Exception: return None
cold = "${COLD[*]}".split()
v = j("view360.json"); h = j("hello.json")
rows = []
rows.append(("data", "$N_CUSTOMERS customers / $N_ORDERS orders / $N_EVENTS events, DB $((DB_BYTES / 1048576)) MiB, demo: $DEMO_SECONDS", ""))
rows.append(("(a) cold start to /readyz 200 (median of 3)", f"{$COLD_MEDIAN} ms (runs: {', '.join(cold)} ms; feature store {$FEATURE_MS} ms)", "< 5 s with 1M customers"))
rows.append(("feature store memory", f"{$BYTES_PER_CUSTOMER} B/customer ({$FEATURE_BYTES/1e6:.1f} MB for {$FEATURE_N}); server RSS $RSS_MB MiB", "<= 200 B/customer"))
if v:
    l = v["latency_ms"]
    rows.append(("(b) 360° view, 64 conns", f"{v['requests_per_second']:.0f} req/s; p50 {l['p50']:.2f} ms, p99 {l['p99']:.2f} ms, max {l['max']:.1f} ms; errors {v['errors']}, non-2xx {v['non_2xx']}", ">= 20,000 req/s; p99 < 5 ms"))
for c in "${INGEST_CONNS[*]}".split():
    i = j(f"ingest-{c}.json")
    if i:
        l = i["ack_latency_ms"]
        rows.append((f"(c) ingest, {c} conns x 100-event batches", f"{i['events_per_second']:.0f} events/s; ack p50 {l['p50']:.1f} ms, p99 {l['p99']:.1f} ms, max {l['max']:.1f} ms; errors {i['errors']}, non-2xx {i['non_2xx']}", ">= 100,000 events/s; p99 < 50 ms"))
rows.append(("ingest durability check", "$INGEST_CHECK", "stored == acked"))
if h:
    l = h["latency_ms"]
    rows.append(("(d) peer: Beast hello-JSON, 64 conns", f"{h['requests_per_second']:.0f} req/s; p50 {l['p50']:.2f} ms, p99 {l['p99']:.2f} ms", "~110k req/s (DESIGN §5)"))
w = [max(len(x[k]) for x in rows) for k in range(3)]
out = []
out.append("| " + " | ".join(["measure".ljust(w[0]), "result".ljust(w[1]), "target".ljust(w[2])]) + " |")
out.append("| " + " | ".join("-" * n for n in w) + " |")
for x in rows:
    out.append("| " + " | ".join(x[k].ljust(w[k]) for k in range(3)) + " |")
text = "\n".join(out)
open(os.path.join(r, "results.md"), "w").write(text + "\n")
print(text)
EOF
echo "raw results in $RESULTS" >&2
