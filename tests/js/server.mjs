// Starts the real `panorama` binary for a test file, the way an operator would:
//
//   panorama demo  --data DIR --customers N --seed S            (optional, fills the store first)
//   panorama serve --data DIR --listen 127.0.0.1:0 --static-dir <repo>/web/dist
//
// with PANORAMA_ADMIN_PASSWORD and PANORAMA_WRITE_KEY in its environment, waits for the stdout line
// `listening on http://127.0.0.1:<port>`, and returns { baseUrl, adminPassword, writeKey, stop() }.
// The binary is $PANORAMA_BIN, else build/src/app/panorama under the repository root.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, appendFileSync, constants, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const staticDir = path.join(repoRoot, 'web', 'dist');
export const adminUsername = 'admin';

const kListeningLine = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
const kStartTimeoutMs = 30_000;
const kDemoTimeoutMs = 180_000;
const kStopTimeoutMs = 10_000;
const kLogTailLines = 40;

// With PANORAMA_TEST_LOG_DIR set (scripts/test.sh sets build/test-logs), every server's whole output is also
// kept there for the log-hygiene scan (SECURITY.md S17, scripts/check-logs.sh).
function keepLog(child, name) {
  const dir = process.env.PANORAMA_TEST_LOG_DIR;
  if (!dir) {
    return;
  }
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `node-${name}-${process.pid}-${child.pid}.log`);
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => appendFileSync(file, chunk));
  }
}

export function panoramaBin() {
  const configured = process.env.PANORAMA_BIN || 'build/src/app/panorama';
  return path.resolve(repoRoot, configured);
}

// Throws a message that says what to do when the binary is missing, so a test run without a build
// fails on one clear line rather than a spawn ENOENT.
export function requireBinary() {
  const bin = panoramaBin();
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `panorama binary not found or not executable at ${bin}; build it first ` +
        `(cmake -S . -B build -G Ninja && cmake --build build) or set PANORAMA_BIN to its path`,
    );
  }
  return bin;
}

export function requireConsoleBuild() {
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    throw new Error(`console build not found at ${staticDir}; run: cd web && npm ci && npm run build`);
  }
}

// Keeps the last lines a child printed, for error messages.
class LogTail {
  constructor(limit) {
    this.limit = limit;
    this.lines = [];
    this.partial = '';
  }
  push(chunk) {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.limit) {
        this.lines.shift();
      }
    }
    return parts;
  }
  toString() {
    return [...this.lines, this.partial].filter(Boolean).join('\n');
  }
}

function run(bin, args, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    keepLog(child, args[0]);
    const log = new LogTail(kLogTailLines);
    child.stdout.setEncoding('utf8').on('data', (d) => log.push(d));
    child.stderr.setEncoding('utf8').on('data', (d) => log.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`panorama ${args.join(' ')} did not finish within ${timeoutMs} ms\n${log}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
      } else {
        reject(new Error(`panorama ${args.join(' ')} exited with ${signal ?? code}\n${log}`));
      }
    });
  });
}

/**
 * @param {{ demo?: { customers: number, seed?: number }, mfa?: boolean, verbose?: boolean, serveArgs?: string[] }} [options]
 *   serveArgs: extra `serve` flags (e.g. ['--step-up-window-seconds', '2']).
 * @returns {Promise<{ baseUrl: string, adminUsername: string, adminPassword: string,
 *   writeKey: string, dataDir: string, masterKey: string, stop: () => Promise<void>, log: () => string }>}
 */
export async function startServer(options = {}) {
  const bin = requireBinary();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'panorama-test-'));
  const adminPassword = `pw-${randomBytes(12).toString('hex')}`;
  const writeKey = `wk_${randomBytes(12).toString('hex')}`;
  // A fresh master key per server (field encryption refuses to start without one); it never touches disk.
  const masterKey = randomBytes(32).toString('base64');
  const env = {
    ...process.env,
    PANORAMA_ADMIN_PASSWORD: adminPassword,
    PANORAMA_WRITE_KEY: writeKey,
    PANORAMA_MASTER_KEY: masterKey,
  };
  const verbose = options.verbose ?? Boolean(process.env.PANORAMA_TEST_VERBOSE);

  try {
    if (options.demo) {
      const { customers, seed = 42 } = options.demo;
      await run(bin, ['demo', '--data', dataDir, '--customers', String(customers), '--seed', String(seed)], env, kDemoTimeoutMs);
    }
    // Staff need TOTP by default; these tests sign the admin in with a password unless they test MFA
    // (a demo data directory starts relaxed already).
    await run(bin, ['mfa', '--data', dataDir, options.mfa ? 'require' : 'relax', 'admin'], env, kDemoTimeoutMs);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const args = ['serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--static-dir', staticDir, ...(options.serveArgs ?? [])];
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  keepLog(child, 'serve');
  const log = new LogTail(200);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const port = await new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, value) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        fn(value);
      }
    };
    const timer = setTimeout(() => {
      finish(reject, new Error(`panorama serve printed no "listening on http://127.0.0.1:<port>" line within ${kStartTimeoutMs} ms\n${log}`));
    }, kStartTimeoutMs);
    // Both streams are drained for the server's whole life so a full pipe never blocks it.
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      if (verbose) {
        process.stderr.write(chunk);
      }
      for (const line of log.push(chunk)) {
        const m = kListeningLine.exec(line);
        if (m) {
          finish(resolve, Number(m[1]));
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      if (verbose) {
        process.stderr.write(chunk);
      }
      log.push(chunk);
    });
    child.once('error', (err) => finish(reject, new Error(`cannot run ${bin}: ${err.message}`)));
    exited.then(({ code, signal }) =>
      finish(reject, new Error(`panorama serve exited with ${signal ?? code} before listening\n${log}`)),
    );
  }).catch(async (err) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });

  let stopped = null;
  async function stop() {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        let timer;
        const timeout = new Promise((resolve) => {
          timer = setTimeout(() => resolve('timeout'), kStopTimeoutMs);
        });
        const outcome = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          child.kill('SIGKILL');
          await exited;
          throw new Error(`panorama serve did not exit within ${kStopTimeoutMs} ms of SIGTERM`);
        }
      }
      if (!process.env.PANORAMA_KEEP_DATA) {
        await rm(dataDir, { recursive: true, force: true });
      }
    })();
    return stopped;
  }

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    adminUsername,
    adminPassword,
    writeKey,
    dataDir,
    masterKey,
    stop,
    log: () => log.toString(),
  };
}

// A small JSON client for the API, logged in as the admin.
export async function apiClient(server) {
  const login = await fetch(`${server.baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: server.adminUsername, password: server.adminPassword }),
  });
  if (login.status !== 200) {
    throw new Error(`login as ${server.adminUsername} failed: HTTP ${login.status} ${await login.text()}`);
  }
  const { token } = await login.json();
  async function get(pathAndQuery) {
    const response = await fetch(`${server.baseUrl}${pathAndQuery}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`GET ${pathAndQuery}: HTTP ${response.status} ${text}`);
    }
    return JSON.parse(text);
  }
  return {
    token,
    get,
    searchCustomers: (q, limit = 25) => get(`/api/v1/customers?q=${encodeURIComponent(q)}&limit=${limit}`),
    customer360: (id, timelineLimit = 50) => get(`/api/v1/customers/${id}/360?timeline_limit=${timelineLimit}`),
  };
}

// Retries `fn` until it stops throwing or the time is up: ingestion is acknowledged before every
// derived view (search index, aggregates) is guaranteed to show it.
export async function eventually(fn, { timeoutMs = 5000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) {
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
