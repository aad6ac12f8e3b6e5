#!/usr/bin/env python3
"""R4 (SECURITY.md §3): every acknowledged /v1/batch was fsynced before its 200 was sent.

Runs `panorama serve` under `strace -f -ttt -y -e trace=fsync,fdatasync`, sends BATCHES batches (default 1000,
20 events each) from 4 keep-alive connections, and records when each request was sent and its 200 received.
Pass: for every acknowledged batch, strace saw a successful fsync/fdatasync of the WAL (or the database file)
that started after the request was sent and returned before the response arrived — group commit may share one
sync among several batches. Exit 77 (ctest: skipped) when strace cannot trace here.
  fsync_before_ack.py PANORAMA_BINARY [BATCHES]
"""
import base64
import bisect
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

WRITE_KEY = "fsync-test-write-key-0001"
SYNC_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (fsync|fdatasync)\((\d+)<([^>]*)>\)\s+= 0")
SYNC_RESUMED = re.compile(r"^(\d+)\s+(\d+\.\d+) <\.\.\. (fsync|fdatasync) resumed>\)\s+= 0")
SYNC_UNFINISHED = re.compile(r"^(\d+)\s+(\d+\.\d+) (fsync|fdatasync)\((\d+)<([^>]*)> <unfinished \.\.\.>")


def parse_syncs(trace_path):
    """(start, end) of every successful sync of the database or its WAL."""
    syncs, pending = [], {}
    with open(trace_path, encoding="utf-8", errors="replace") as trace:
        for line in trace:
            if m := SYNC_LINE.match(line):
                if m.group(5).endswith(("panorama.db", "panorama.db-wal")):
                    t = float(m.group(2))
                    syncs.append((t, t))
            elif m := SYNC_UNFINISHED.match(line):
                if m.group(5).endswith(("panorama.db", "panorama.db-wal")):
                    pending[m.group(1)] = float(m.group(2))
            elif m := SYNC_RESUMED.match(line):
                if m.group(1) in pending:
                    syncs.append((pending.pop(m.group(1)), float(m.group(2))))
    return sorted(syncs)


def main():
    binary = sys.argv[1]
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    if shutil.which("strace") is None or subprocess.run(["strace", "-o", "/dev/null", "true"]).returncode != 0:
        print("strace is not available or cannot trace here; skipping")
        return 77
    data = tempfile.mkdtemp(prefix="panorama-fsync-")
    trace_path = os.path.join(data, "strace.txt")
    env = dict(os.environ, PANORAMA_WRITE_KEY=WRITE_KEY, PANORAMA_ADMIN_PASSWORD="fsync-test-admin-password")
    server = subprocess.Popen(
        ["strace", "-f", "-ttt", "-y", "-e", "trace=fsync,fdatasync", "-o", trace_path, binary, "serve", "--data",
         data, "--listen", "127.0.0.1:0", "--no-access-log"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        port = None
        for line in server.stdout:
            if m := re.search(r"listening on http://127\.0\.0\.1:(\d+)", line):
                port = int(m.group(1))
                break
        if port is None:
            print("server did not start")
            return 1
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()

        auth = "Basic " + base64.b64encode((WRITE_KEY + ":").encode()).decode()
        windows, failures, lock = [], [], threading.Lock()
        counter = iter(range(batches))

        def sender():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                events = ",".join(
                    f'{{"type":"track","event":"E","userId":"u{n % 50}","messageId":"fs-{n}-{i}"}}' for i in range(20))
                body = f'{{"batch":[{events}]}}'
                sent = time.time()
                conn.request("POST", "/v1/batch", body, {"Authorization": auth, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                received = time.time()
                with lock:
                    (windows if response.status == 200 else failures).append((sent, received, response.status))

        start = time.time()
        threads = [threading.Thread(target=sender) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - start
    finally:
        # SIGTERM to strace would only detach it; stop the traced server itself, and strace exits with it.
        try:
            with open(f"/proc/{server.pid}/task/{server.pid}/children", encoding="ascii") as f:
                children = [int(pid) for pid in f.read().split()]
        except OSError:
            children = []
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            server.kill()
            server.wait()
    syncs = parse_syncs(trace_path)
    starts = [s for s, _ in syncs]
    unsynced = 0
    for sent, received, _ in windows:
        # Any sync that started after the send and finished before the receive covers this batch.
        i = bisect.bisect_left(starts, sent)
        if not any(end <= received for s, end in syncs[i:i + 64] if s <= received):
            unsynced += 1
    shutil.rmtree(data, ignore_errors=True)
    print(f"fsync-before-ack: {len(windows)} batches acknowledged in {elapsed:.1f} s, {len(failures)} not, "
          f"{len(syncs)} syncs of the database/WAL, {unsynced} acknowledged without a sync in their window")
    if failures:
        print(f"unexpected statuses: {sorted(set(f[2] for f in failures))}")
    return 0 if windows and not failures and unsynced == 0 and len(windows) == batches else 1


if __name__ == "__main__":
    sys.exit(main())
