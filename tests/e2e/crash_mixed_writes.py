#!/usr/bin/env python3
"""R2 crash-mixed-writes (SECURITY.md §3): the real `panorama serve` takes five kinds of write at once and is
SIGKILLed at random instants; after every kill the invariants of the row are checked on the files, and after
every restart through the API:

  writers   customers (POST /api/v1/customers), orders (POST /api/v1/orders on acknowledged customers),
            consent changes (PUT /api/v1/customers/{id}/consents), CSV import (POST /api/v1/imports/customers,
            IMPORT_ROWS rows tagged with the import's own tag), erasure (a customer with an order and a consent,
            then privacy request → verify → fulfil with --erasure-grace-days 0).
            The loyalty ledger of the row does not exist in Panorama yet: its invariant (balance = Σ ledger) is
            not checked.
  invariants  PRAGMA integrity_check = ok; no order without its customer; every acknowledged customer, order
            and import is there; an import's rows are 0 or IMPORT_ROWS (all-or-nothing; IMPORT_ROWS when
            acknowledged); the consent state of a (customer, channel) is the last acknowledged change or the
            one in flight at the kill; an erased subject is never partially readable: either the customer is
            whole (readable through the API with its email, its order and consent rows there) or it is gone
            everywhere (erasures row, no customers/identities/orders/consents rows, 404); an acknowledged
            erasure is gone; `panorama audit verify` passes.

Usage: crash_mixed_writes.py PANORAMA_BINARY [KILLS]. PANORAMA_CRASH_MIXED_KILLS overrides KILLS (default 6;
the nightly script uses 200), PANORAMA_CRASH_MIXED_SEED replays a run (the seed is printed). Server output goes
to $PANORAMA_TEST_LOG_DIR/crash_mixed_writes.log when set (log-hygiene scan, S17). Exit 0 on pass, 1 on failure.
"""
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

MASTER_KEY = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="  # test-only master key
PASSWORD = "crash-mixed-admin-password"
IMPORT_ROWS = 25
CHANNELS = ["email", "sms", "wechat"]


class Server:
    def __init__(self, binary, data, log_path):
        self.binary, self.data, self.log_path = binary, data, log_path
        self.proc, self.port = None, None

    def env(self, first):
        env = dict(os.environ, PANORAMA_MASTER_KEY=MASTER_KEY, PANORAMA_WRITE_KEY="crash-mixed-write-key-0001")
        if first:
            env["PANORAMA_ADMIN_PASSWORD"] = PASSWORD
        return env

    def start(self, first=False):
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        log = open(self.log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data", self.data, "--listen", "127.0.0.1:0", "--no-access-log",
             "--no-rate-limit", "--erasure-grace-days", "0"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env(first))
        log.close()
        while time.monotonic() - started < 15:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return time.monotonic() - started
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError(f"server did not start; see {self.log_path}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def cli(self, *args):
        return subprocess.run([self.binary, *args], env=self.env(False), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60)


def request(port, method, path, body=None, token=None, content_type="application/json", timeout=10):
    """(status, parsed JSON or None); status 0 when the server is gone."""
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, None
    except (OSError, urllib.error.URLError):
        return 0, None


class State:
    """What was acknowledged, and what was in flight at a kill. Guarded by `mu`."""

    def __init__(self):
        self.mu = threading.Lock()
        self.customers = {}       # id → email (acknowledged creates)
        self.orders = {}          # external id → customer id (acknowledged)
        self.consent_acked = {}   # (customer, channel) → granted (last acknowledged)
        self.consent_flight = {}  # (customer, channel) → granted (sent, not answered)
        self.imports = {}         # tag → acknowledged?
        self.erasures = {}        # customer id → {"email":…, "acked": bool} once the subject exists
        self.counter = 0
        self.failures = []

    def next(self):
        with self.mu:
            self.counter += 1
            return self.counter

    def fail(self, message):
        with self.mu:
            self.failures.append(message)
        print("FAIL:", message, flush=True)


def writer_customers(port, token, st, run, stop):
    while not stop.is_set():
        n = st.next()
        email = f"mixed{run}-{n}@example.cn"
        status, body = request(port, "POST", "/api/v1/customers",
                               {"name": f"客户 {n}", "email": email, "city": "杭州", "tags": ["mixed"]}, token)
        if status == 0:
            return
        if status == 201:
            with st.mu:
                st.customers[body["id"]] = email


def pick_customer(st, rng):
    with st.mu:
        ids = list(st.customers)
    return rng.choice(ids) if ids else None


def writer_orders(port, token, st, run, stop, rng):
    while not stop.is_set():
        customer = pick_customer(st, rng)
        if customer is None:
            time.sleep(0.01)
            continue
        external = f"SO-{run}-{st.next()}"
        status, _ = request(port, "POST", "/api/v1/orders", {
            "customer_id": customer, "order_id": external, "currency": "CNY",
            "items": [{"sku": "TEE-01", "name": "T恤", "quantity": 1, "unit_price_minor": 9990}]}, token)
        if status == 0:
            return
        if status == 201:
            with st.mu:
                st.orders[external] = customer


def writer_consents(port, token, st, stop, rng):
    while not stop.is_set():
        customer = pick_customer(st, rng)
        if customer is None:
            time.sleep(0.01)
            continue
        channel, granted = rng.choice(CHANNELS), rng.random() < 0.5
        key = (customer, channel)
        with st.mu:
            st.consent_flight[key] = granted
        status, _ = request(port, "PUT", f"/api/v1/customers/{customer}/consents", {
            "source": "api", "policy_version": "2026-01",
            "consents": [{"purpose": "marketing", "channel": channel, "granted": granted}]}, token)
        if status == 0:
            return  # stays in flight: either value may be the state
        with st.mu:
            del st.consent_flight[key]
            if status == 200:
                st.consent_acked[key] = granted


def writer_imports(port, token, st, run, stop):
    while not stop.is_set():
        tag = f"imp-{run}-{st.next()}"
        rows = "\n".join(f"导入 {tag} {i},{tag}.{i}@example.cn,{tag}" for i in range(IMPORT_ROWS))
        with st.mu:
            st.imports[tag] = False
        status, _ = request(port, "POST", "/api/v1/imports/customers?mapping=name%3Dname,email%3Demail,tags%3Dtags",
                            "name,email,tags\n" + rows + "\n", token, content_type="text/csv")
        if status == 0:
            return
        with st.mu:
            if status == 200:
                st.imports[tag] = True
            else:
                del st.imports[tag]
        if status != 200:
            st.fail(f"import {tag} answered {status}")


def writer_erasures(port, token, st, run, stop):
    while not stop.is_set():
        n = st.next()
        email = f"erase{run}-{n}@example.cn"
        status, body = request(port, "POST", "/api/v1/customers", {"name": f"删除 {n}", "email": email}, token)
        if status != 201:
            return
        customer = body["id"]
        with st.mu:
            st.erasures[customer] = {"email": email, "acked": False, "started": False}
        if request(port, "POST", "/api/v1/orders", {"customer_id": customer, "order_id": f"SE-{run}-{n}",
                                                    "currency": "CNY", "total_minor": 100}, token)[0] != 201:
            return
        if request(port, "PUT", f"/api/v1/customers/{customer}/consents", {
                "source": "api", "consents": [{"purpose": "marketing", "channel": "email", "granted": True}]},
                token)[0] != 200:
            return
        status, req = request(port, "POST", "/api/v1/privacy/requests",
                              {"customer_id": customer, "kind": "erase", "jurisdiction": "pipl"}, token)
        if status != 201:
            return
        if request(port, "POST", f"/api/v1/privacy/requests/{req['id']}/verify", {"method": "id_document"},
                   token)[0] != 200:
            return
        with st.mu:
            st.erasures[customer]["started"] = True
        status, body = request(port, "POST", f"/api/v1/privacy/requests/{req['id']}/fulfil", None, token)
        if status == 0:
            return
        if status == 403 and body and "reauth" in body.get("type", ""):
            request(port, "POST", "/api/v1/auth/step-up", {"password": PASSWORD}, token)
            status, body = request(port, "POST", f"/api/v1/privacy/requests/{req['id']}/fulfil", None, token)
        if status in (200, 202):
            with st.mu:
                st.erasures[customer]["acked"] = True
        elif status != 0:
            st.fail(f"erasure of {customer} answered {status}: {body}")
            return


def check_files(data, st, kill_no, binary_server):
    """Invariants on the files, server down."""
    db = sqlite3.connect(f"file:{data}/panorama.db?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            st.fail(f"kill {kill_no}: integrity_check {integrity}")
        orphans = db.execute("SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id "
                             "WHERE c.id IS NULL").fetchone()[0]
        if orphans:
            st.fail(f"kill {kill_no}: {orphans} orders without their customer")
        customers = {r[0] for r in db.execute("SELECT id FROM customers")}
        erased = {r[0] for r in db.execute("SELECT customer_id FROM erasures")}
        orders = {r[0]: r[1] for r in db.execute("SELECT external_id, customer_id FROM orders")}
        with st.mu:
            acked_customers = dict(st.customers)
            acked_orders = dict(st.orders)
            imports = dict(st.imports)
            erasures = {k: dict(v) for k, v in st.erasures.items()}
        missing = [c for c in acked_customers if c not in customers]
        if missing:
            st.fail(f"kill {kill_no}: acknowledged customers lost: {missing[:5]}")
        lost_orders = [o for o, c in acked_orders.items() if orders.get(o) != c]
        if lost_orders:
            st.fail(f"kill {kill_no}: acknowledged orders lost: {lost_orders[:5]}")
        for tag, acked in imports.items():
            n = db.execute("SELECT count(*) FROM customers WHERE tags LIKE ?", (f'%"{tag}"%',)).fetchone()[0]
            if n not in (0, IMPORT_ROWS) or (acked and n != IMPORT_ROWS):
                st.fail(f"kill {kill_no}: import {tag} ({'acked' if acked else 'in flight'}) has {n} of "
                        f"{IMPORT_ROWS} rows")
            if not acked and n == IMPORT_ROWS:
                with st.mu:
                    st.imports[tag] = True  # committed before the kill: must stay
            elif not acked:
                with st.mu:
                    del st.imports[tag]  # never committed: a new import takes over
        for customer, e in erasures.items():
            gone = customer in erased
            rows = {t: db.execute(f"SELECT count(*) FROM {t} WHERE {col} = ?", (customer,)).fetchone()[0]
                    for t, col in (("customers", "id"), ("identities", "customer_id"), ("orders", "customer_id"),
                                   ("consents", "customer_id"))}
            if e["acked"] and not gone:
                st.fail(f"kill {kill_no}: acknowledged erasure of {customer} is not recorded")
            if gone and any(rows.values()):
                st.fail(f"kill {kill_no}: erased subject {customer} partly left: {rows}")
            if not gone and rows["customers"] == 0:
                st.fail(f"kill {kill_no}: subject {customer} vanished without an erasure record")
        consents = {}
        for customer, channel, granted in db.execute(
                "SELECT customer_id, channel, granted FROM consents c WHERE purpose = 'marketing' AND id = "
                "(SELECT max(id) FROM consents d WHERE d.customer_id = c.customer_id AND d.purpose = c.purpose "
                "AND d.channel = c.channel)"):
            consents[(customer, channel)] = bool(granted)
        with st.mu:
            for key, granted in st.consent_acked.items():
                allowed = {granted}
                if key in st.consent_flight:
                    allowed.add(st.consent_flight[key])
                if consents.get(key) not in allowed:
                    st.fail(f"kill {kill_no}: consent {key} is {consents.get(key)}, acknowledged {granted}")
            for key in list(st.consent_flight):  # settled by the kill
                if key in consents:
                    st.consent_acked[key] = consents[key]
                del st.consent_flight[key]
    finally:
        db.close()
    verify = binary_server.cli("audit", "verify", "--data", data)
    if verify.returncode != 0:
        st.fail(f"kill {kill_no}: audit verify failed: {verify.stdout.decode(errors='replace')[-500:]}")


def check_api(port, token, st, kill_no):
    """After a restart: subjects of erasures are whole or gone, never partly readable."""
    with st.mu:
        erasures = {k: dict(v) for k, v in st.erasures.items()}
    for customer, e in erasures.items():
        status, body = request(port, "GET", f"/api/v1/customers/{customer}", None, token)
        if status == 404:
            continue
        if status != 200 or body.get("email") != e["email"]:
            st.fail(f"kill {kill_no}: subject {customer} partly readable: {status} {str(body)[:200]}")
    with st.mu:
        sample = random.sample(sorted(st.customers.items()), min(20, len(st.customers)))
    for customer, email in sample:
        status, body = request(port, "GET", f"/api/v1/customers/{customer}", None, token)
        if status != 200 or body.get("email") != email:
            st.fail(f"kill {kill_no}: acknowledged customer {customer} not readable: {status}")


def login(port):
    status, body = request(port, "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})
    if status != 200 or body.get("status") != "ok":
        raise RuntimeError(f"login failed: {status} {body}")
    return body["token"]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    kills = int(os.environ.get("PANORAMA_CRASH_MIXED_KILLS") or (sys.argv[2] if len(sys.argv) > 2 else 6))
    seed = int(os.environ.get("PANORAMA_CRASH_MIXED_SEED") or random.SystemRandom().randrange(2**32))
    print(f"[ crash-mixed ] seed {seed}, {kills} kills (PANORAMA_CRASH_MIXED_SEED, PANORAMA_CRASH_MIXED_KILLS)",
          flush=True)
    rng = random.Random(seed)
    random.seed(seed)
    data = tempfile.mkdtemp(prefix="panorama-crash-mixed-")
    log_dir = os.environ.get("PANORAMA_TEST_LOG_DIR") or data
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, "crash_mixed_writes.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    server = Server(binary, data, log_path)
    st = State()
    startups = []
    token = None
    try:
        server.start(first=True)
        server.kill()
        relaxed = server.cli("mfa", "--data", data, "relax", "admin")
        if relaxed.returncode != 0:
            raise RuntimeError(f"mfa relax failed: {relaxed.stdout.decode(errors='replace')}")
        for kill_no in range(kills + 1):
            startups.append(server.start())
            # Sessions live in the database: the token of an earlier round must survive the kill (argon2 on
            # every round would also dominate the run time).
            if kill_no == 0 or request(server.port, "GET", "/api/v1/me", None, token)[0] != 200:
                if kill_no > 0:
                    st.fail(f"kill {kill_no}: the session did not survive the restart")
                token = login(server.port)
            if kill_no > 0:
                check_api(server.port, token, st, kill_no)
            if kill_no == kills or st.failures:
                server.kill()
                break
            stop = threading.Event()
            threads = [threading.Thread(target=f, args=a) for f, a in (
                (writer_customers, (server.port, token, st, kill_no, stop)),
                (writer_orders, (server.port, token, st, kill_no, stop, random.Random(rng.random()))),
                (writer_consents, (server.port, token, st, stop, random.Random(rng.random()))),
                (writer_imports, (server.port, token, st, kill_no, stop)),
                (writer_erasures, (server.port, token, st, kill_no, stop)))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 1.5))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            check_files(data, st, kill_no + 1, server)
        with st.mu:
            summary = (f"{len(st.customers)} customers, {len(st.orders)} orders, {len(st.consent_acked)} consent "
                       f"states, {sum(st.imports.values())} imports, "
                       f"{sum(1 for e in st.erasures.values() if e['acked'])} erasures acknowledged "
                       f"({len(st.erasures)} subjects)")
        startups.sort()
        print(f"[ crash-mixed ] {kills} kills: {summary}; start-up median {startups[len(startups) // 2]:.2f} s; "
              f"{len(st.failures)} failures", flush=True)
        if kills > 0 and (not st.customers or not st.orders or not st.imports):
            st.fail("the writers did not get going")
    except Exception as e:  # a broken harness run is a failure too, with its reason
        st.fail(f"harness: {e}")
        if server.proc and server.proc.poll() is None:
            server.kill()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 1 if st.failures else 0


if __name__ == "__main__":
    sys.exit(main())
