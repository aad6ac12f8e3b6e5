#!/usr/bin/env python3
"""SECURITY.md §3 R8 at size, R12, R15–R18: backup round trip, load, overload, slow-client, soak and invariant-history
harnesses.

Each starts its own `panorama serve` on 127.0.0.1 (port 0, a fresh data directory), drives it, checks the
row's pass figures in code and exits non-zero naming every figure that failed. `--short` is the bounded
self-test (<= 30 s each, registered in ctest); without it the full size runs (scripts/security-nightly.sh).

  security_load.py r8 --bin B --ingest-bin I [--short] [--events 1000000]
  security_load.py r12 --bin build/src/app/panorama [--short] [--ops-per-client 10000]
  security_load.py r12-self-test           # the R12 checker flags a broken history (no server)
  security_load.py r15 --bin B --load-bin build/bench/panorama_http_load --ingest-bin build/bench/panorama_ingest_load
  security_load.py r16 --bin B --load-bin L [--short]
  security_load.py r17 --bin B --load-bin L [--short] [--slowloris 1000] [--slow-bodies 100]
  security_load.py r18 --bin B --load-bin L --ingest-bin I [--duration 2h]

Everything stays on 127.0.0.1 and every run is bounded by its duration. Figures are printed as one JSON
line per run ("figures: {...}") for docs/security.md.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import resource
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ADMIN_PASSWORD = "load-harness-admin-password-1"
WRITE_KEY = "load-harness-write-key-0123456789"
TEST_MASTER_KEY = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="  # the test-only key (scripts/tsan.sh)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------------------ the server
class Server:
    def __init__(self, binary, extra_args=(), data=None):
        self.data = data or tempfile.mkdtemp(prefix="panorama-load-")
        self.own_data = data is None
        env = dict(os.environ, PANORAMA_ADMIN_PASSWORD=ADMIN_PASSWORD, PANORAMA_WRITE_KEY=WRITE_KEY)
        env.setdefault("PANORAMA_MASTER_KEY", TEST_MASTER_KEY)
        if self.own_data:
            # The harness signs in with a password alone: a fresh admin would otherwise have to enrol TOTP.
            subprocess.run([binary, "mfa", "--data", self.data, "relax", "admin"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Under ctest or the nightly script the server's log joins the others for the S17 log-hygiene scan.
        log_dir = os.environ.get("PANORAMA_TEST_LOG_DIR") or self.data
        self.log_path = os.path.join(log_dir, f"security-load-{os.getpid()}-{random.randrange(1 << 20)}.log")
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--data", self.data, "--listen", "127.0.0.1:0", "--no-access-log", *extra_args],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=env)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline and self.port is None:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited ({self.process.returncode}):\n{open(self.log_path).read()[-3000:]}")
            if m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(self.log_path).read()):
                self.port = int(m.group(1))
            else:
                time.sleep(0.05)
        if self.port is None:
            raise SystemExit("server did not start in 60 s")
        self.pid = self.process.pid

    def proc_status(self, field):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def rss_kb(self):
        return self.proc_status("VmRSS")

    def threads(self):
        return self.proc_status("Threads")

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self, keep_data=False):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        if self.own_data and not keep_data:
            shutil.rmtree(self.data, ignore_errors=True)


class Api:
    """One keep-alive connection (one per thread); reconnects after an error."""

    def __init__(self, port, token=None, timeout=30):
        self.port, self.token, self.timeout, self.conn = port, token, timeout, None

    def request(self, method, path, body=None, headers=None, write_key=False):
        all_headers = {"Content-Type": "application/json"}
        if write_key:
            all_headers["Authorization"] = "Basic " + base64.b64encode((WRITE_KEY + ":").encode()).decode()
        elif self.token:
            all_headers["Authorization"] = "Bearer " + self.token
        all_headers.update(headers or {})
        payload = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, payload, all_headers)
                response = self.conn.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    return response.status, json.loads(raw) if raw else None
                except ValueError:
                    return response.status, raw
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                # A kept-alive connection the server closed before this request: only then retry once.
                self.close()
                if attempt == 2 or method not in ("GET",):
                    return 0, str(error)
            except (OSError, http.client.HTTPException) as error:
                self.close()
                return 0, str(error)
        return 0, "unreachable"

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def login(port):
    status, body = Api(port).request("POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
    if status != 200 or "token" not in body:
        raise SystemExit(f"login failed: {status} {body}")
    return body["token"]


class Checks:
    def __init__(self, name):
        self.name, self.failures, self.figures = name, [], {}

    def expect(self, ok, what):
        log(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            self.failures.append(what)

    def finish(self):
        print("figures: " + json.dumps({"row": self.name, **self.figures}, sort_keys=True), flush=True)
        if self.failures:
            log(f"{self.name}: {len(self.failures)} check(s) failed")
            return 1
        log(f"{self.name}: all checks passed")
        return 0


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * (len(values) - 1) + 0.5))]


def run_load(load_bin, port, *args):
    """panorama_http_load / panorama_ingest_load --json; returns its JSON report."""
    result = subprocess.run([load_bin, "--port", str(port), *args, "--json"], capture_output=True, text=True)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"{load_bin} failed ({result.returncode}): {result.stderr[-2000:]}")


def write_requests_file(directory, lines):
    path = os.path.join(directory, f"requests-{random.randrange(1 << 30)}.txt")
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


def seed_customers(port, token, n, prefix):
    """n customers through /v1/batch identify calls; returns their ids (found by their e-mail)."""
    api = Api(port, token)
    for start in range(0, n, 100):
        batch = [{"type": "identify", "userId": f"{prefix}-{i}", "messageId": f"{prefix}-seed-{i}",
                  "traits": {"email": f"{prefix}{i}@example.com", "name": f"Load {i}", "country": "CN"}}
                 for i in range(start, min(n, start + 100))]
        status, body = api.request("POST", "/v1/batch", {"batch": batch}, write_key=True)
        if status != 200:
            raise SystemExit(f"seeding failed: {status} {body}")
    ids = []
    for i in range(n):
        status, body = api.request("GET", f"/api/v1/customers?q={prefix}{i}@example.com")
        if status != 200 or len(body.get("data", [])) != 1:
            raise SystemExit(f"seeded customer {prefix}{i} not found: {status} {body}")
        ids.append(body["data"][0]["id"])
    return ids


# ------------------------------------------------------------------------------------------------ R8
def master_key_env():
    return dict(os.environ, PANORAMA_MASTER_KEY=os.environ.get("PANORAMA_MASTER_KEY", TEST_MASTER_KEY))


def events_digest(db_path, max_id):
    """(count, SHA-256 of every (id, message_id) with id <= max_id in id order): equal digests mean equal rows."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        digest, count = hashlib.sha256(), 0
        for row_id, message_id in db.execute("SELECT id, message_id FROM events WHERE id <= ? ORDER BY id", (max_id,)):
            digest.update(f"{row_id}:{message_id}\n".encode())
            count += 1
        return count, digest.hexdigest()
    finally:
        db.close()


def max_event_id(db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    finally:
        db.close()


def r8(args):
    """Backup round trip at size (the CI tier runs it on small files in tests/integration/backup_restore_test.cc):
    /v1/batch ingest over --users customers until the database holds --events events (1M; short: 20k), then an
    online `panorama backup` while panorama_ingest_load keeps ingesting, then `panorama restore` (data, then
    keystore) into an empty directory. Checks: both exit 0 and the restore reports the ledger ok; integrity_check
    ok on the restored file; the restored events are exactly a prefix of the source's (same (id, message_id) rows
    up to the restored maximum — one commit's state, as events are never deleted here) and hold every event
    committed before the backup began; 0 ingest errors during the backup. Full run: backup and restore each
    <= 60 s per GB of database (SECURITY.md: 1 GB backup <= 60 s, restore <= 60 s), ingest rate reported."""
    checks = Checks("R8")
    target_events = args.events or (20_000 if args.short else 1_000_000)
    users = 2_000 if args.short else 100_000
    server = Server(args.bin, ["--no-rate-limit"])
    work = tempfile.mkdtemp(prefix="panorama-r8-")
    backups, target = os.path.join(work, "backups"), os.path.join(work, "target")
    db_path = os.path.join(server.data, "panorama.db")
    try:
        keygen = subprocess.run([args.bin, "backup", "keygen", "--out", backups], capture_output=True, text=True)
        if keygen.returncode != 0:
            raise SystemExit(f"backup keygen failed: {keygen.stderr}")
        # The restore checks the ledger's signed checkpoints with the source's key, as an operator would.
        pubkey = subprocess.run([args.bin, "audit", "pubkey", "--data", server.data], capture_output=True, text=True,
                                env=master_key_env())
        if pubkey.returncode != 0:
            raise SystemExit(f"audit pubkey failed: {pubkey.stderr}")
        fill_started, rounds, fill_errors = time.monotonic(), 0, 0
        while max_event_id(db_path) < target_events:
            rounds += 1
            report = run_load(args.ingest_bin, server.port, "--write-key", WRITE_KEY, "-c", "8",
                              "-d", "2s" if args.short else "20s",
                              "--timeout", "30s", "--users", str(users), "--batch-size", "100",
                              "--run-id", f"r8fill{rounds}")
            fill_errors += report["errors"] + report["non_2xx"]
            log(f"fill round {rounds}: {max_event_id(db_path)} events, {report['events_per_second']:.0f} events/s")
            if rounds > 2000:
                raise SystemExit("fill did not reach the target")
        fill_seconds = time.monotonic() - fill_started

        before_backup = max_event_id(db_path)  # committed before the backup began (all of them acknowledged)
        during = {}

        def ingest_during_backup():
            during["report"] = run_load(args.ingest_bin, server.port, "--write-key", WRITE_KEY, "-c", "8", "-d",
                                        "3s" if args.short else "30s", "--timeout", "30s", "--users", str(users),
                                        "--batch-size", "100", "--run-id", "r8during")

        ingest = threading.Thread(target=ingest_during_backup)
        ingest.start()
        time.sleep(0.5)  # the load is running when the backup starts
        db_bytes = os.path.getsize(db_path)
        started = time.monotonic()
        backup = subprocess.run([args.bin, "backup", "--data", server.data, "--to", backups, "--public-key",
                                 os.path.join(backups, "backup.pub")], capture_output=True, text=True,
                                env=master_key_env())
        backup_seconds = time.monotonic() - started
        keystore = subprocess.run([args.bin, "backup", "--data", server.data, "--to", os.path.join(work, "ks"),
                                   "--public-key", os.path.join(backups, "backup.pub"), "--keystore"],
                                  capture_output=True, text=True, env=master_key_env())
        ingest.join()
        server.stop(keep_data=True)
        source_max = max_event_id(db_path)
        files = sorted(f for f in os.listdir(backups) if f.endswith(".pnbk"))
        checks.expect(backup.returncode == 0 and len(files) == 1,
                      f"online backup exits 0 with one file ({backup.returncode}: {backup.stderr.strip()[-200:]})")
        checks.expect(keystore.returncode == 0, f"keystore backup exits 0 ({keystore.stderr.strip()[-200:]})")
        if backup.returncode != 0 or not files:
            return checks.finish()
        backup_file = os.path.join(backups, files[0])
        secret = os.path.join(backups, "backup.sec")
        started = time.monotonic()
        restore = subprocess.run([args.bin, "restore", "--data", target, "--from", backup_file, "--secret-key", secret,
                                  "--ledger-pubkey", pubkey.stdout.strip()], capture_output=True, text=True,
                                 env=master_key_env())
        restore_seconds = time.monotonic() - started
        ks_files = sorted(f for f in os.listdir(os.path.join(work, "ks")) if f.endswith(".pnbk"))
        ks_restore = subprocess.run([args.bin, "restore", "--data", target, "--from",
                                     os.path.join(work, "ks", ks_files[0]), "--secret-key", secret],
                                    capture_output=True, text=True, env=master_key_env()) if ks_files else None
        checks.expect(restore.returncode == 0 and "ledger ok" in restore.stdout and "NOT checked" not in restore.stdout,
                      f"restore into an empty directory exits 0, ledger and signatures ok ({restore.stdout.strip()[-120:]}"
                      f"{restore.stderr.strip()[-200:]})")
        checks.expect(ks_restore is not None and ks_restore.returncode == 0, "keystore restore exits 0")
        restored_db = os.path.join(target, "panorama.db")
        integrity = "missing"
        if os.path.exists(restored_db):
            db = sqlite3.connect(f"file:{restored_db}?mode=ro", uri=True)
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            db.close()
        checks.expect(integrity == "ok", f"integrity_check of the restored database: {integrity}")
        restored_max = max_event_id(restored_db) if integrity == "ok" else 0
        restored_rows = events_digest(restored_db, restored_max) if integrity == "ok" else (0, "")
        source_rows = events_digest(db_path, restored_max)
        checks.expect(restored_rows == source_rows,
                      f"restored events are the source's first {restored_rows[0]} rows exactly (a prefix)")
        checks.expect(before_backup <= restored_max <= source_max,
                      f"restored events hold all committed before the backup ({before_backup} <= {restored_max} "
                      f"<= {source_max})")
        report = during.get("report", {"errors": -1, "non_2xx": -1, "events_per_second": 0})
        checks.expect(report["errors"] == 0 and report["non_2xx"] == 0,
                      f"0 ingest errors during the backup ({report['errors']} errors, {report['non_2xx']} non-2xx)")
        gb = db_bytes / 1e9
        checks.figures.update(events=source_max, events_at_backup=before_backup, restored_events=restored_max,
                              users=users, fill_seconds=round(fill_seconds), fill_errors=fill_errors,
                              db_mb=round(db_bytes / 1e6), backup_mb=round(os.path.getsize(backup_file) / 1e6),
                              backup_s=round(backup_seconds, 2), restore_s=round(restore_seconds, 2),
                              backup_s_per_gb=round(backup_seconds / gb, 1), restore_s_per_gb=round(restore_seconds / gb, 1),
                              ingest_during_backup_events_per_s=round(report["events_per_second"]))
        if not args.short:
            checks.expect(backup_seconds / gb <= 60, f"backup {backup_seconds / gb:.1f} s per GB (<= 60)")
            checks.expect(restore_seconds / gb <= 60, f"restore {restore_seconds / gb:.1f} s per GB (<= 60)")
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return checks.finish()


# ------------------------------------------------------------------------------------------------ R12
class UnionFind:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def read_key(api, customer_id):
    """Every R12 append in the customer's (survivor's) 360° timeline: (survivor id, [values], merges)."""
    values, cursor, survivor, merges = [], "", None, []
    for _ in range(10000):
        path = f"/api/v1/customers/{customer_id}/360?timeline_limit=200"
        if cursor:
            path += "&timeline_cursor=" + cursor
        status, body = api.request("GET", path)
        if status != 200:
            return None, f"GET {path}: {status} {str(body)[:200]}", []
        survivor = body["customer"]["id"]
        merges = body.get("merges", [])
        for item in body["timeline"]["data"]:
            if item.get("kind") == "event" and item.get("name") == "R12 Append":
                values.append(item["properties"]["v"])
        cursor = body["timeline"].get("next_cursor") or ""
        if not cursor:
            break
    return survivor, values, merges


def r12(args):
    """8 clients of appends (Segment track events on a customer's timeline), reads (the 360° view), identity
    merges (alias calls within fixed groups of keys) and segment edits (PATCH of one segment's name), all
    concurrent. Recorded history, then: no lost, duplicated or phantom appends (also across merges); every read
    holds the appends acknowledged before it began; reads never lose values seen by an earlier completed read;
    every group of merged keys shows one survivor and distinct groups distinct survivors; merge lineage acyclic;
    the segment name is one a write could have left last (a register's real-time order)."""
    checks = Checks("R12")
    keys, group = (8, 4) if args.short else (64, 4)
    ops = args.ops_per_client or (150 if args.short else 10000)
    clients = 8
    server = Server(args.bin, ["--no-rate-limit"])
    try:
        token = login(server.port)
        ids = seed_customers(server.port, token, keys, "r12k")
        status, segment = Api(server.port, token).request(
            "POST", "/api/v1/segments", {"name": "r12-register", "rule": 'country = "CN"'})
        if status != 201:
            raise SystemExit(f"segment create failed: {status} {segment}")
        lock = threading.Lock()
        history = []  # (kind, key, value, invoke, complete, ok, extra)
        errors = []

        def client(c):
            rng = random.Random(args.seed * 100 + c)
            api = Api(server.port, token)
            for n in range(ops):
                roll = rng.random()
                k = rng.randrange(keys)
                invoke = time.monotonic()
                if roll < 0.6:
                    value = f"c{c}-{n}"
                    status, body = api.request("POST", "/v1/batch", {"batch": [{
                        "type": "track", "userId": f"r12k-{k}", "event": "R12 Append", "messageId": f"r12-{value}",
                        "properties": {"v": value}}]}, write_key=True)
                    entry = ("append", k, value, invoke, time.monotonic(), status == 200, None)
                elif roll < 0.85:
                    survivor, values, _ = read_key(api, ids[k])
                    ok = survivor is not None
                    entry = ("read", k, values if ok else None, invoke, time.monotonic(), ok, survivor)
                    if not ok:
                        status, body = 0, values
                elif roll < 0.95:
                    # Merges only inside a key's group, so the run ends with keys/group survivors, not one.
                    other = (k // group) * group + rng.randrange(group)
                    status, body = api.request("POST", "/v1/batch", {"batch": [{
                        "type": "alias", "userId": f"r12k-{k}", "previousId": f"r12k-{other}",
                        "messageId": f"r12-m-c{c}-{n}"}]}, write_key=True)
                    entry = ("merge", k, other, invoke, time.monotonic(), status == 200, None)
                else:
                    value = f"r12-name-c{c}-{n}"
                    status, body = api.request("PATCH", f"/api/v1/segments/{segment['id']}", {"name": value})
                    entry = ("register", 0, value, invoke, time.monotonic(), status == 200, None)
                with lock:
                    history.append(entry)
                    if not entry[5]:
                        errors.append(f"{entry[0]} by client {c}: {status} {str(body)[:200]}")

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        api = Api(server.port, token)
        checks.figures.update(clients=clients, ops=len(history), seconds=round(elapsed, 1), keys=keys,
                              appends=sum(1 for h in history if h[0] == "append"),
                              merges=sum(1 for h in history if h[0] == "merge" and h[5]),
                              reads=sum(1 for h in history if h[0] == "read"), errors=len(errors))
        for e in errors[:5]:
            log("error: " + e)
        checks.expect(not errors, f"0 failed operations ({len(errors)} of {len(history)})")

        finals = {}
        for k in range(keys):
            survivor, values, merges = read_key(api, ids[k])
            if survivor is None:
                checks.expect(False, f"final read of key {k}: {values}")
                continue
            finals[k] = (survivor, values, merges)
        status, final = api.request("GET", f"/api/v1/segments/{segment['id']}")
        check_history(checks, history, finals, keys, final.get("name") if status == 200 else None)
    finally:
        server.stop()
    return checks.finish()


def check_history(checks, history, finals, keys, final_name):
    """The R12 model check over a recorded history: entries (kind, key, value, invoke, complete, ok, extra) of
    kind append/read/merge/register; finals: key -> (survivor id, [values], merge lineage) read after the run."""
    # Groups from acknowledged merges; a key's appends belong to its group's survivor.
    uf = UnionFind(keys)
    for kind, k, other, _, _, ok, _ in history:
        if kind == "merge" and ok:
            uf.union(k, other)
    attempted = {h[2] for h in history if h[0] == "append"}
    acked_by_group = {}
    for kind, k, value, _, _, ok, _ in history:
        if kind == "append" and ok:
            acked_by_group.setdefault(uf.find(k), set()).add(value)

    lost = duplicated = phantom = 0
    survivors = {}
    lineage_ok = True
    for k, (survivor, values, merges) in finals.items():
        got = set(values)
        duplicated += len(values) - len(got)
        phantom += len(got - attempted)
        lost += len(acked_by_group.get(uf.find(k), set()) - got)
        survivors.setdefault(uf.find(k), set()).add(survivor)
        into = {m["from"]: m["into"] for m in merges}
        for start in into:
            seen, node = set(), start
            while node in into:
                if node in seen or into[node] == node:
                    lineage_ok = False
                    break
                seen.add(node)
                node = into[node]
    checks.figures.update(lost=lost, duplicated=duplicated, phantom=phantom, groups=len(survivors))
    checks.expect(lost == 0, f"0 lost updates (acknowledged appends missing from the final read: {lost})")
    checks.expect(duplicated == 0, f"0 duplicated appends ({duplicated})")
    checks.expect(phantom == 0, f"0 phantom values ({phantom})")
    one_each = all(len(s) == 1 for s in survivors.values())
    distinct = len({next(iter(s)) for s in survivors.values()}) == len(survivors)
    checks.expect(one_each and distinct, f"each merged group has exactly one survivor, groups distinct "
                  f"({len(survivors)} groups)")
    checks.expect(lineage_ok, "merge lineage has no cycle")

    # Reads during the run (same key): real-time read-after-ack and monotonic reads.
    stale = non_monotonic = 0
    for k in range(keys):
        appends = sorted((h[4], h[2]) for h in history if h[0] == "append" and h[1] == k and h[5])
        reads = [h for h in history if h[0] == "read" and h[1] == k and h[5]]
        for r in reads:
            seen = set(r[2])
            stale += sum(1 for done, v in appends if done < r[3] and v not in seen)
        by_complete = sorted(reads, key=lambda r: r[4])
        for r in reads:
            union = set()
            for earlier in by_complete:
                if earlier[4] >= r[3]:
                    break
                union |= set(earlier[2])
            non_monotonic += len(union - set(r[2]))
    checks.figures.update(stale_reads=stale, non_monotonic_values=non_monotonic)
    checks.expect(stale == 0, f"every read holds the appends acknowledged before it began ({stale} missing)")
    checks.expect(non_monotonic == 0, f"no read lost a value an earlier completed read saw ({non_monotonic})")

    # The segment name register: the final value's write must not precede (in real time) another acked write.
    writes = [h for h in history if h[0] == "register" and h[5]]
    mine = [w for w in writes if w[2] == final_name]
    register_ok = (bool(mine) and not any(w[3] > mine[0][4] for w in writes)) if writes else True
    checks.expect(register_ok, f"segment name {final_name!r} is a value the last concurrent writes could leave "
                  f"({len(writes)} writes)")


def r12_self_test(_args):
    """The checker must pass a clean history and flag each kind of anomaly in a broken one (no server)."""
    clean = [("append", 0, "a", 0, 1, True, None), ("append", 1, "b", 0, 1, True, None),
             ("merge", 0, 1, 2, 3, True, None), ("read", 0, ["a", "b"], 4, 5, True, 10),
             ("read", 0, ["a", "b"], 6, 7, True, 10), ("register", 0, "n1", 0, 1, True, None),
             ("register", 0, "n2", 2, 3, True, None)]
    clean_finals = {0: (10, ["a", "b"], [{"from": 11, "into": 10}]), 1: (10, ["a", "b"], [{"from": 11, "into": 10}])}
    ok = Checks("R12 checker, clean history")
    check_history(ok, clean, clean_finals, 2, "n2")
    broken = clean + [("append", 0, "c", 8, 9, True, None),           # acked, never read: lost
                      ("read", 0, ["a"], 6, 7, True, 10),            # misses b (stale) after a read saw it
                      ("read", 0, ["a", "b"], 10, 11, True, 10),    # began after c was acked: stale
                      ("append", 2, "d", 0, 1, True, None)]
    broken_finals = {0: (10, ["a", "b", "b", "zz"], [{"from": 11, "into": 12}, {"from": 12, "into": 11}]),
                     1: (11, ["a", "b"], []), 2: (12, ["d"], [])}
    bad = Checks("R12 checker, broken history")
    check_history(bad, broken, broken_finals, 3, "n1")  # n1's write ended before n2's began
    expected = {"0 lost updates", "0 duplicated appends", "0 phantom values", "each merged group",
                "merge lineage", "every read holds", "no read lost", "segment name"}
    missed = [e for e in expected if not any(f.startswith(e) for f in bad.failures)]
    result = Checks("R12 checker self-test")
    result.expect(not ok.failures, f"a clean history passes ({ok.failures})")
    result.expect(not missed, f"every anomaly of the broken history is flagged (missed: {missed})")
    return result.finish()


# ------------------------------------------------------------------------------------------------ R15
def r15(args):
    """DESIGN §5 targets: 360° view p99 < 5 ms, /v1/batch durable-ack p99 < 50 ms, a filtered list; error rate
    0. The short run asserts only the error rate (this machine's 2 cores are shared); the full run also asserts
    the latency targets unless --no-latency-assert."""
    checks = Checks("R15")
    seconds = 3 if args.short else 60
    conns = 16 if args.short else 64
    customers = 50 if args.short else 2000
    server = Server(args.bin, ["--no-rate-limit"])
    try:
        token = login(server.port)
        ids = seed_customers(server.port, token, customers, "r15k")
        auth = f"Authorization: Bearer {token}"
        view = write_requests_file(server.data, [f"GET /api/v1/customers/{i}/360?timeline_limit=20" for i in ids])
        listing = write_requests_file(server.data, ["GET /api/v1/customers?country=CN&limit=50",
                                                    "GET /api/v1/customers?country=CN&tag=vip&limit=50"])
        run_load(args.load_bin, server.port, "-c", str(conns), "-d", "2s", "--requests-file", view, "-H", auth)
        v = run_load(args.load_bin, server.port, "-c", str(conns), "-d", f"{seconds}s", "--requests-file", view,
                     "-H", auth)
        lst = run_load(args.load_bin, server.port, "-c", str(conns), "-d", f"{seconds}s", "--requests-file",
                       listing, "-H", auth)
        ing = run_load(args.ingest_bin, server.port, "--write-key", WRITE_KEY, "-c", str(min(conns, 32)),
                       "-d", f"{seconds}s", "--timeout", "30s", "--users", "10000")
        checks.figures.update(
            view_rps=round(v["requests_per_second"]), view_p99_ms=v["latency_ms"]["p99"],
            list_rps=round(lst["requests_per_second"]), list_p99_ms=lst["latency_ms"]["p99"],
            ingest_events_per_s=round(ing["events_per_second"]), ingest_ack_p99_ms=ing["ack_latency_ms"]["p99"],
            connections=conns, seconds=seconds)
        for name, report in (("360° view", v), ("filtered list", lst), ("/v1/batch", ing)):
            bad = report["errors"] + report["non_2xx"]
            checks.expect(bad == 0, f"{name}: error rate 0 ({report['errors']} errors, {report['non_2xx']} non-2xx)")
        if not args.short and shutil.which("wrk"):
            # The row names wrk: its view of one customer's 360° (-t1 -c64), reported beside ours.
            out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-H", auth,
                                  f"http://127.0.0.1:{server.port}/api/v1/customers/{ids[0]}/360?timeline_limit=20"],
                                 capture_output=True, text=True).stdout
            if m := re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
                checks.figures["wrk_view_p99_ms"] = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
            checks.expect("Non-2xx" not in out and "Socket errors" not in out, "wrk: error rate 0")
        if not args.short and not args.no_latency_assert:
            checks.expect(v["latency_ms"]["p99"] < 5, f"360° p99 {v['latency_ms']['p99']:.2f} ms < 5 ms")
            checks.expect(ing["ack_latency_ms"]["p99"] < 50,
                          f"ingest ack p99 {ing['ack_latency_ms']['p99']:.1f} ms < 50 ms")
    finally:
        server.stop()
    return checks.finish()


# ------------------------------------------------------------------------------------------------ R16
def r16(args):
    """Overload: 8x connections (512) against a rate-limited server at >= 4x its limit. >= 99 % of answers
    2xx/429/503 (connection errors and timeouts count against it), RSS growth < 10 % across a second overload
    (the first sets the allocator's high-water mark; reported as rss_cold_kb), and p99 of a light probe
    back within 1.5x (+2 ms) of its baseline <= 10 s after the overload stops."""
    checks = Checks("R16")
    limit = 200  # requests/s per user (burst 2x)
    seconds = 4 if args.short else 60
    server = Server(args.bin, ["--rate-limit-user", str(limit), "--rate-limit-ip", str(limit * 4)])
    try:
        token = login(server.port)
        ids = seed_customers(server.port, token, 50, "r16k")
        auth = f"Authorization: Bearer {token}"
        view = write_requests_file(server.data, [f"GET /api/v1/customers/{i}/360?timeline_limit=5" for i in ids])
        probe_args = ["-c", "2", "-d", "1s", "--requests-file", view, "-H", auth]
        run_load(args.load_bin, server.port, *probe_args)  # warm-up
        time.sleep(1.1)  # refill the buckets
        baseline = run_load(args.load_bin, server.port, *probe_args)["latency_ms"]["p99"]
        time.sleep(1.1)
        # A first overload sets the allocator's high-water mark (512 sessions' buffers stay in malloc's pools);
        # growth is measured across the second, so it shows memory that each overload keeps (a leak).
        rss_cold = server.rss_kb()
        run_load(args.load_bin, server.port, "-c", "512", "-d", f"{seconds}s", "--timeout", "10s",
                 "--requests-file", view, "-H", auth)
        time.sleep(1.1)
        rss_before = server.rss_kb()
        over = run_load(args.load_bin, server.port, "-c", "512", "-d", f"{seconds}s", "--timeout", "10s",
                        "--requests-file", view, "-H", auth)
        stopped = time.monotonic()
        answered = sum(over["statuses"].values())
        good = sum(n for s, n in over["statuses"].items() if s.startswith("2") or s in ("429", "503"))
        attempts = answered + over["errors"]
        share = good / attempts if attempts else 0
        offered = answered / over["seconds"]
        recovered_after = None
        while time.monotonic() - stopped < 10:
            p99 = run_load(args.load_bin, server.port, *probe_args)["latency_ms"]["p99"]
            if p99 <= baseline * 1.5 + 2:
                recovered_after = time.monotonic() - stopped
                break
        rss_after = server.rss_kb()
        growth = (rss_after - rss_before) / rss_before
        checks.figures.update(connections=512, limit_per_s=limit, offered_per_s=round(offered),
                              statuses=over["statuses"], errors=over["errors"], good_share=round(share, 4),
                              rss_cold_kb=rss_cold, rss_before_kb=rss_before, rss_after_kb=rss_after, rss_growth=round(growth, 3),
                              baseline_p99_ms=baseline, recovered_after_s=recovered_after and round(recovered_after, 1))
        checks.expect(offered >= 4 * limit, f"offered {offered:.0f}/s >= 4x the limit ({limit}/s)")
        checks.expect(share >= 0.99, f"{share:.2%} of {attempts} attempts answered 2xx/429/503 (>= 99 %)")
        checks.expect(growth < 0.10, f"RSS growth {growth:.1%} < 10 % ({rss_before} -> {rss_after} kB)")
        checks.expect(recovered_after is not None, f"probe p99 back to baseline ({baseline:.2f} ms) within 10 s "
                      f"(after {recovered_after and round(recovered_after, 1)} s)")
    finally:
        server.stop()
    return checks.finish()


# ------------------------------------------------------------------------------------------------ R17
def r17(args):
    """Slowloris connections (one header byte per interval, never finishing) and slow bodies (a full header,
    then one body byte per interval) during a normal load. Each stalled connection must be closed by the server
    within the header timeout (10 s) / body timeout (30 s) plus 2 s slack; the server's fd count stays bounded
    and returns to its baseline; the legitimate p99 is reported (asserted < 2x baseline in the full run)."""
    checks = Checks("R17")
    header_timeout, body_timeout = (3, 6) if args.short else (10, 30)
    loris = args.slowloris or (100 if args.short else 1000)
    bodies = args.slow_bodies or (20 if args.short else 100)
    interval = 1.0 if args.short else 10.0
    server = Server(args.bin, ["--no-rate-limit", "--header-timeout", str(header_timeout),
                               "--body-timeout", str(body_timeout)])
    try:
        token = login(server.port)
        ids = seed_customers(server.port, token, 50, "r17k")
        auth = f"Authorization: Bearer {token}"
        view = write_requests_file(server.data, [f"GET /api/v1/customers/{i}/360?timeline_limit=5" for i in ids])
        base = run_load(args.load_bin, server.port, "-c", "8", "-d", "2s", "--requests-file", view, "-H", auth)
        fds_before = server.fds()
        closed_after = {}  # socket index -> seconds from its deadline start to the server's close
        kinds = {}
        socks = []
        started = {}
        header = b"GET /api/v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        body_header = (b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       b"Authorization: Basic " + base64.b64encode((WRITE_KEY + ":").encode()) +
                       b"\r\nContent-Length: 100000\r\n\r\n")
        for i in range(loris + bodies):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.setblocking(False)
            kind = "header" if i < loris else "body"
            s.send(header[:1] if kind == "header" else body_header)
            started[i] = time.monotonic()
            kinds[i] = kind
            socks.append(s)
        fds_peak = server.fds()
        result = {}
        load_thread = threading.Thread(target=lambda: result.update(during=run_load(
            args.load_bin, server.port, "-c", "8", "-d", f"{body_timeout + 3}s", "--requests-file", view,
            "-H", auth)))
        load_thread.start()
        sent = {i: 1 for i in range(len(socks))}
        # One poll() for every socket and a send only when one is due, so the harness itself stays light beside
        # the legitimate load it measures.
        poller = select.poll()
        index = {}
        for i, s in enumerate(socks):
            poller.register(s.fileno(), select.POLLIN)
            index[s.fileno()] = i
        answered = set()  # got an answer (408/400) before the close: send no more
        deadline = time.monotonic() + body_timeout + 5
        next_fd_sample = 0
        while time.monotonic() < deadline and len(closed_after) < len(socks):
            for fd, _ in poller.poll(50):
                i = index[fd]
                try:
                    data = socks[i].recv(4096)
                except OSError:
                    data = b""
                if data == b"":
                    closed_after[i] = time.monotonic() - started[i]
                    poller.unregister(fd)
                else:
                    answered.add(i)
            now = time.monotonic()
            for i, s in enumerate(socks):
                if i in closed_after or i in answered or now - started[i] < sent[i] * interval:
                    continue
                try:
                    j = sent[i]  # the header's next byte, then an endless X-Slow value; a body's next byte
                    s.send(header[j:j + 1] if kinds[i] == "header" and j < len(header) else
                           b"a" if kinds[i] == "header" else b"{")
                    sent[i] += 1
                except OSError:
                    pass  # reset: the poll above sees the close
            if now >= next_fd_sample:
                fds_peak = max(fds_peak, server.fds())
                next_fd_sample = now + 0.5
        load_thread.join()
        for s in socks:
            s.close()
        time.sleep(0.5)
        fds_after = server.fds()
        during = result["during"]
        header_times = [closed_after[i] for i in closed_after if kinds[i] == "header"]
        body_times = [closed_after[i] for i in closed_after if kinds[i] == "body"]
        checks.figures.update(slowloris=loris, slow_bodies=bodies, header_timeout_s=header_timeout,
                              body_timeout_s=body_timeout, header_closed=len(header_times),
                              header_close_max_s=round(max(header_times, default=0), 1),
                              body_closed=len(body_times), body_close_max_s=round(max(body_times, default=0), 1),
                              fds_before=fds_before, fds_peak=fds_peak, fds_after=fds_after,
                              legit_p99_base_ms=base["latency_ms"]["p99"],
                              legit_p99_during_ms=during["latency_ms"]["p99"],
                              legit_errors=during["errors"] + during["non_2xx"])
        checks.expect(len(header_times) == loris and max(header_times, default=0) <= header_timeout + 2,
                      f"{len(header_times)}/{loris} slowloris connections closed, the slowest after "
                      f"{max(header_times, default=0):.1f} s (<= {header_timeout} s + 2 s)")
        checks.expect(len(body_times) == bodies and max(body_times, default=0) <= body_timeout + 2,
                      f"{len(body_times)}/{bodies} slow bodies closed, the slowest after "
                      f"{max(body_times, default=0):.1f} s (<= {body_timeout} s + 2 s)")
        checks.expect(fds_peak <= fds_before + loris + bodies + 64,
                      f"fd count bounded: {fds_before} -> peak {fds_peak} (<= +{loris + bodies + 64})")
        checks.expect(fds_after <= fds_before + 16, f"fd count back to baseline: {fds_before} -> {fds_after}")
        checks.expect(during["errors"] + during["non_2xx"] == 0, "legitimate load: 0 errors while stalled")
        if not args.short:
            checks.expect(during["latency_ms"]["p99"] < 2 * base["latency_ms"]["p99"] + 1,
                          f"legitimate p99 {during['latency_ms']['p99']:.2f} ms < 2x baseline "
                          f"{base['latency_ms']['p99']:.2f} ms")
    finally:
        server.stop()
    return checks.finish()


# ------------------------------------------------------------------------------------------------ R18
def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", text)
    if not m:
        raise SystemExit(f"bad --duration {text} (e.g. 90s, 2m, 2h)")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def r18(args):
    """Soak: cycles of 360° reads, filtered lists, /v1/batch ingest, an online backup (`panorama backup`), the
    retention job (POST /api/v1/privacy/retention/run) and a customer key rotation (POST
    /api/v1/customers/{id}/rotate-key) for --duration. RSS, fds and threads sampled each cycle: after the first
    quarter (warm-up) each stays within ±5 % of its post-warm-up median; 0 errors; `panorama audit verify` passes
    at the end."""
    checks = Checks("R18")
    duration = parse_duration(args.duration or ("12s" if args.short else "2h"))
    cycle = 3 if args.short else 30
    server = Server(args.bin, ["--no-rate-limit"])
    backups = tempfile.mkdtemp(prefix="panorama-soak-backups-")
    samples, errors = [], []
    try:
        token = login(server.port)
        ids = seed_customers(server.port, token, 30 if args.short else 100, "r18k")
        keygen = subprocess.run([args.bin, "backup", "keygen", "--out", backups], capture_output=True, text=True)
        if keygen.returncode != 0:
            raise SystemExit(f"backup keygen failed: {keygen.stderr}")
        auth = f"Authorization: Bearer {token}"
        view = write_requests_file(server.data, [f"GET /api/v1/customers/{i}/360?timeline_limit=20" for i in ids] +
                                   ["GET /api/v1/customers?country=CN&limit=50"])
        api = Api(server.port, token)
        started = signed_in = time.monotonic()
        n = 0
        while time.monotonic() - started < duration:
            n += 1
            step = max(1.0, min(cycle, duration - (time.monotonic() - started)) / 2)
            if time.monotonic() - signed_in > 600:  # sessions expire; a long soak signs in again
                api.token = token = login(server.port)
                auth = f"Authorization: Bearer {token}"
                signed_in = time.monotonic()
            r = run_load(args.load_bin, server.port, "-c", "8", "-d", f"{step:.1f}s", "--requests-file", view,
                         "-H", auth)
            i = run_load(args.ingest_bin, server.port, "--write-key", WRITE_KEY, "-c", "4", "-d", f"{step:.1f}s",
                         "--timeout", "30s", "--users", "5000", "--batch-size", "20", "--run-id", f"soak{n}")
            for name, report in (("reads", r), ("ingest", i)):
                if report["errors"] or report["non_2xx"]:
                    errors.append(f"cycle {n} {name}: {report['errors']} errors, {report['non_2xx']} non-2xx")
            backup = subprocess.run([args.bin, "backup", "--data", server.data, "--to", backups, "--public-key",
                                     os.path.join(backups, "backup.pub"), "--keep", "2"],
                                    capture_output=True, text=True,
                                    env=dict(os.environ, PANORAMA_MASTER_KEY=os.environ.get("PANORAMA_MASTER_KEY",
                                                                                            TEST_MASTER_KEY)))
            if backup.returncode != 0:
                errors.append(f"cycle {n} backup: {backup.stdout[-300:]} {backup.stderr[-300:]}")
            status, body = api.request("POST", "/api/v1/privacy/retention/run", {})
            if status != 200:
                errors.append(f"cycle {n} retention: {status} {str(body)[:200]}")
            status, body = api.request("POST", f"/api/v1/customers/{ids[n % len(ids)]}/rotate-key", {})
            if status == 403 and "step" in str(body).lower():
                api.request("POST", "/api/v1/auth/step-up", {"password": ADMIN_PASSWORD})
                status, body = api.request("POST", f"/api/v1/customers/{ids[n % len(ids)]}/rotate-key", {})
            if status != 200:
                errors.append(f"cycle {n} key rotation: {status} {str(body)[:200]}")
            samples.append((time.monotonic() - started, server.rss_kb(), server.fds(), server.threads()))
            log(f"cycle {n}: rss {samples[-1][1]} kB, fds {samples[-1][2]}, threads {samples[-1][3]}, "
                f"{r['requests_per_second']:.0f} reads/s, {i['events_per_second']:.0f} events/s")
        server.stop(keep_data=True)
        verify = subprocess.run([args.bin, "audit", "verify", "--data", server.data], capture_output=True, text=True,
                                env=dict(os.environ, PANORAMA_MASTER_KEY=os.environ.get("PANORAMA_MASTER_KEY",
                                                                                        TEST_MASTER_KEY)))
        steady = [s for s in samples if s[0] >= duration / 4] or samples
        flat = {}
        for index, name in ((1, "rss_kb"), (2, "fds"), (3, "threads")):
            values = [s[index] for s in steady]
            mid = sorted(values)[len(values) // 2]
            spread = max(abs(v - mid) / mid for v in values) if mid else 0
            flat[name] = (min(values), mid, max(values), spread)
        checks.figures.update(seconds=round(duration), cycles=n, errors=len(errors),
                              **{f"{k}_min_median_max": v[:3] for k, v in flat.items()},
                              ledger_verify=verify.returncode)
        for e in errors[:5]:
            log("error: " + e)
        checks.expect(not errors, f"0 errors over {n} cycles ({len(errors)})")
        for name, (low, mid, high, spread) in flat.items():
            if name == "rss_kb" and args.short:
                # Seconds of soak are all warm-up (SQLite page cache, feature store): reported, not asserted.
                log(f"info  rss_kb {low}..{high} around {mid} ({spread:.1%}; asserted only in the full run)")
                continue
            # Threads and fds are small integers: allow two either way besides the 5 %.
            ok = spread <= 0.05 or (name != "rss_kb" and high - low <= 2)
            checks.expect(ok, f"{name} flat after warm-up: {low}..{high} around {mid} ({spread:.1%}, <= 5 %)")
        checks.expect(verify.returncode == 0, f"ledger verifies at the end: {verify.stdout.strip()[-200:]}"
                      f"{verify.stderr.strip()[-200:]}")
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)
        shutil.rmtree(backups, ignore_errors=True)
    return checks.finish()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("row", choices=["r8", "r12", "r12-self-test", "r15", "r16", "r17", "r18"])
    parser.add_argument("--bin", help="the panorama binary")
    parser.add_argument("--load-bin", help="panorama_http_load")
    parser.add_argument("--ingest-bin", help="panorama_ingest_load")
    parser.add_argument("--short", action="store_true", help="the bounded self-test size")
    parser.add_argument("--ops-per-client", type=int, default=0)
    parser.add_argument("--events", type=int, default=0, help="R8: events in the database before the backup")
    parser.add_argument("--slowloris", type=int, default=0)
    parser.add_argument("--slow-bodies", type=int, default=0)
    parser.add_argument("--duration", default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-latency-assert", action="store_true",
                        help="R15 full run: report the latency targets without failing on them")
    args = parser.parse_args()
    if args.row != "r12-self-test" and not args.bin:
        parser.error("--bin is required")
    if args.row in ("r15", "r16", "r17", "r18") and not args.load_bin:
        parser.error("--load-bin is required for " + args.row)
    if args.row in ("r8", "r15", "r18") and not args.ingest_bin:
        parser.error("--ingest-bin is required for " + args.row)
    random.seed(args.seed)
    # R17 holds 1,100 sockets here and as many in the server, which inherits this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    return {"r8": r8, "r12": r12, "r12-self-test": r12_self_test, "r15": r15, "r16": r16, "r17": r17, "r18": r18}[args.row](args)


if __name__ == "__main__":
    sys.exit(main())
