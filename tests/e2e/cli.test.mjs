// The `panorama` command line as an operator or a script uses it: every command has --help, CSV import
// reports bad rows with line numbers and writes nothing, re-import creates no duplicates, export round-trips.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { apiClient, panoramaBin, requireBinary, startServer } from '../js/server.mjs';

// One master key for the whole file: every command of a test reopens the same encrypted data directory.
const kMasterKey = Buffer.alloc(32, 7).toString('base64');

function run(args, env = {}) {
  const result = spawnSync(panoramaBin(), args, {
    encoding: 'utf8',
    env: { ...process.env, PANORAMA_MASTER_KEY: kMasterKey, ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function exportedCustomers(data, env = {}) {
  const out = run(['export', 'customers', '--data', data], env);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.replace(/^\uFEFF/, '').trim().split(/\r?\n/).slice(1);
}

test('every command answers --help', () => {
  requireBinary();
  for (const command of [[], ['serve'], ['demo'], ['import'], ['export'], ['user'], ['key'], ['backup'], ['backup', 'keygen'], ['restore'], ['rfm'], ['lifecycle'], ['segments'], ['cohorts'], ['funnel'], ['paths'], ['role'], ['team'], ['user', 'access']]) {
    const out = run([...command, '--help']);
    assert.equal(out.code, 0, `${command.join(' ')} --help: ${out.stderr}`);
    assert.match(out.stdout, /Usage:/);
  }
});

test('import reports broken rows with their lines, writes nothing, and re-import makes no duplicates', async () => {
  requireBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'panorama-cli-'));
  try {
    const data = path.join(dir, 'data');
    const good = path.join(dir, 'good.csv');
    const broken = path.join(dir, 'broken.csv');
    await writeFile(good, '\uFEFF编号,姓名,手机,邮箱\nC1,王芳,138 0013 8000,Fang@QQ.com\nC2,Jane Doe,+1 415 555 2671,jane@example.com\n');
    await writeFile(broken, '编号,姓名,手机,邮箱\nC3,李雷,13912345678,lilei@163.com\nC4,坏号码,12,\nC5,坏邮箱,,not-an-email\n');
    const mapping = 'external_id=编号,name=姓名,phone=手机,email=邮箱';

    const rejected = run(['import', 'customers', broken, '--data', data, '--mapping', mapping]);
    assert.equal(rejected.code, 1);
    assert.match(rejected.stderr, /broken\.csv:3: phone: /);
    assert.match(rejected.stderr, /broken\.csv:4: email: /);
    assert.match(rejected.stdout, /nothing was written/);
    assert.equal(exportedCustomers(data).length, 0);

    assert.equal(run(['import', 'customers', good, '--data', data, '--mapping', mapping]).code, 0);
    const again = run(['import', 'customers', good, '--data', data, '--mapping', mapping]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 created, 2 updated/);

    const rows = exportedCustomers(data);
    assert.equal(rows.length, 2);
    assert.ok(rows.some((row) => row.includes('王芳') && row.includes('+8613800138000') && row.includes('fang@qq.com')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rfm and lifecycle print the grid, segments, stages and per-customer csv; a bad --as-of is refused', async () => {
  requireBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'panorama-cli-'));
  try {
    const data = path.join(dir, 'data');
    const orders = path.join(dir, 'orders.csv');
    let csv = 'order_id,customer_external_id,placed_at,currency,total\n';
    for (let c = 1; c <= 10; c++) {
      for (let k = 0; k < c; k++) csv += `O${c}-${k},c${c},2011-11-${String(c + k).padStart(2, '0')}T10:00:00Z,CNY,10.00\n`;
    }
    await writeFile(orders, csv);
    assert.equal(run(['import', 'orders', orders, '--data', data]).code, 0);
    const asOf = '2011-12-10T00:00:00Z';

    const table = run(['rfm', '--data', data, '--as-of', asOf]);
    const rows = run(['rfm', '--data', data, '--as-of', asOf, '--format', 'csv']);
    const json = run(['rfm', '--data', data, '--as-of', asOf, '--format', 'json']);
    const stages = run(['lifecycle', '--data', data, '--as-of', asOf, '--format', 'json']);
    const history = run(['lifecycle', '--data', data, '--from', '2011-10', '--to', '2011-11', '--format', 'csv']);
    const bad = run(['rfm', '--data', data, '--as-of', 'yesterday']);

    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /10 customers, 10 with orders/);
    assert.match(table.stdout, /Champions/);
    assert.equal(rows.code, 0, rows.stderr);
    const lines = rows.stdout.trim().split('\n');
    assert.equal(lines[0], 'customer_id,recency_days,frequency,monetary_minor,r,f,m,score,segment');
    assert.equal(lines.length, 11);
    const summary = JSON.parse(json.stdout);
    assert.equal(summary.scored, 10);
    assert.equal(summary.grid.length, 25);
    assert.equal(JSON.parse(stages.stdout).stages.reduce((n, s) => n + s.customers, 0), 10);
    assert.equal(history.code, 0, history.stderr);
    assert.deepEqual(history.stdout.trim().split('\n').map((l) => l.split(',')[0]), ['month', '2011-10', '2011-11']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /as-of/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('segments: create, bad rule with line:column, list, show, export csv and xlsx, evaluate without re-emitting, delete', async () => {
  requireBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'panorama-cli-'));
  try {
    const data = path.join(dir, 'data');
    const customers = path.join(dir, 'customers.csv');
    await writeFile(customers, 'external_id,name,email,country,city\nS1,王芳,fang@qq.com,CN,上海\nS2,Jane Doe,jane@example.com,US,Boston\n');
    assert.equal(run(['import', 'customers', customers, '--data', data]).code, 0);
    for (const sub of ['list', 'show', 'create', 'delete', 'evaluate', 'export']) {
      const help = run(['segments', sub, '--help']);
      assert.equal(help.code, 0, help.stderr);
    }

    const bad = run(['segments', 'create', '--data', data, '--name', 'Bad', '--rule', 'country =']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rule: 1:10: /);
    const created = run(['segments', 'create', '--data', data, '--name', '中国', '--rule', 'country = "CN"']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /中国\t1 members/);
    assert.match(run(['segments', 'list', '--data', data]).stdout, /中国/);
    assert.match(run(['segments', 'show', '中国', '--data', data]).stdout, /rule: country = "CN"/);
    const csv = run(['segments', 'export', '中国', '--data', data]);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /王芳,fang@qq.com,CN,上海/);
    assert.doesNotMatch(csv.stdout, /Jane/);
    const xlsx = path.join(dir, 'members.xlsx');
    assert.equal(run(['segments', 'export', '中国', '--format', 'xlsx', '-o', xlsx, '--data', data]).code, 0);
    assert.equal((await readFile(xlsx)).subarray(0, 2).toString(), 'PK');
    assert.equal(run(['segments', 'export', '中国', '--format', 'xlsx', '--data', data]).code, 1);
    assert.match(run(['segments', 'evaluate', '--data', data]).stdout, /0 entered, 0 exited/);
    assert.equal(run(['segments', 'delete', '中国', '--data', data]).code, 0);
    assert.equal(run(['segments', 'show', '中国', '--data', data]).code, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});


test('a bad option is a usage error naming it', () => {
  requireBinary();
  const out = run(['demo', '--customers', '0']);
  assert.equal(out.code, 2);
  assert.match(out.stderr + out.stdout, /--customers/);
});

test('key init, master and customer key rotation keep the data readable; no or wrong key is refused', async () => {
  requireBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'panorama-cli-key-'));
  try {
    const data = path.join(dir, 'data');
    const key = path.join(dir, 'master.key');
    const noEnv = { PANORAMA_MASTER_KEY: '' };
    const withKey = (args) => run([...args, '--data', data, '--master-key-file', key], noEnv);
    assert.equal(run(['key', 'init', '--out', key]).code, 0);
    assert.equal(run(['key', 'init', '--out', key]).code, 1, 'an existing key file is never overwritten');
    const csv = path.join(dir, 'c.csv');
    await writeFile(csv, 'name,email\n王芳,fang@qq.com\nJane Doe,jane@example.com\n');
    assert.equal(withKey(['import', 'customers', csv]).code, 0);
    const before = withKey(['export', 'customers']).stdout;

    const refused = run(['export', 'customers', '--data', data], noEnv);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no master key/);
    const wrong = run(['export', 'customers', '--data', data]);  // the file-wide test key: wrong here
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong master key/);

    const rotated = run(['key', '--data', data, '--master-key-file', key, 'rotate', '--master'], noEnv);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /v1 -> v2/);
    const customer = run(['key', '--data', data, '--master-key-file', key, 'rotate', '--customer', '1'], noEnv);
    assert.equal(customer.code, 0, customer.stderr);
    assert.equal(withKey(['export', 'customers']).stdout, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// A hash of every file directly in `dir`: "untouched" means equal before and after.
async function dirFingerprint(dir) {
  const out = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = createHash('sha256').update(await readFile(path.join(dir, name))).digest('hex');
  }
  return out;
}

test('backup of a running server, rotation, refused tampered restore, restore over a running server refused', async () => {
  requireBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'panorama-cli-backup-'));
  const server = await startServer({ demo: { customers: 50 } });
  try {
    const keys = path.join(dir, 'keys');
    const backups = path.join(dir, 'backups');
    assert.equal(run(['backup', 'keygen', '--out', keys]).code, 0);
    const pub = path.join(keys, 'backup.pub');
    const sec = path.join(keys, 'backup.sec');
    for (let i = 0; i < 3; i++) {
      const out = run(['backup', '--data', server.dataDir, '--to', backups, '--public-key', pub, '--keep', '2']);
      assert.equal(out.code, 0, out.stderr);
    }
    const files = (await readdir(backups)).filter((f) => f.endsWith('.pnbk')).sort();
    assert.equal(files.length, 2);
    const backup = path.join(backups, files[1]);

    const busy = run(['restore', '--data', server.dataDir, '--from', backup, '--secret-key', sec]);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /in use by a running server/);

    // Customer key rotation from the CLI would race the server's cached key: refused, pointing at the route.
    const rotateBusy = run(['key', '--data', server.dataDir, 'rotate', '--customer', '1'],
      { PANORAMA_MASTER_KEY: server.masterKey });
    assert.equal(rotateBusy.code, 1, rotateBusy.stdout);
    assert.match(rotateBusy.stderr, /in use by a running server.*POST \/api\/v1\/customers\/1\/rotate-key/);

    // The keystore is backed up on its own (data backups never hold the data keys) and restored beside it.
    const keystoreBackups = path.join(dir, 'keystore-backups');
    const ks = run(['backup', '--data', server.dataDir, '--to', keystoreBackups, '--public-key', pub, '--keystore']);
    assert.equal(ks.code, 0, ks.stderr);
    const keystoreBackup = path.join(keystoreBackups, (await readdir(keystoreBackups)).find((f) => f.endsWith('.pnbk')));

    const target = path.join(dir, 'target');
    const restored = run(['restore', '--data', target, '--from', backup, '--secret-key', sec]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /ledger ok: [1-9]\d* entries/);
    assert.equal(run(['restore', '--data', target, '--from', keystoreBackup, '--secret-key', sec]).code, 0);
    const serverKey = { PANORAMA_MASTER_KEY: server.masterKey };
    const expected = exportedCustomers(server.dataDir, serverKey);
    assert.deepEqual(exportedCustomers(target, serverKey), expected);
    assert.equal(expected.length, 50);

    const before = await dirFingerprint(target);
    const bytes = await readFile(backup);
    bytes[bytes.length - 100] ^= 0x01;
    const tampered = path.join(dir, 'tampered.pnbk');
    await writeFile(tampered, bytes);
    const refused = run(['restore', '--data', target, '--from', tampered, '--secret-key', sec]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /failed authentication/);
    const wrongKey = run(['restore', '--data', target, '--from', backup, '--secret-key', pub]);
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.stderr, /secret-key/);
    assert.deepEqual(await dirFingerprint(target), before);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('key create --allow-cidr limits where the key works; a bad network is refused naming the flag', async () => {
  requireBinary();
  const server = await startServer();
  try {
    const env = { PANORAMA_MASTER_KEY: server.masterKey };
    const listKeys = () => {
      const out = run(['key', '--data', server.dataDir, 'list'], env);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim().split('\n').filter(Boolean);
    };
    const secretOf = (out) => /: (pak_\S+)/.exec(out.stdout)?.[1];
    const before = listKeys();

    for (const bad of [['10.0.0.1/8'], ['not-a-network'], ['127.0.0.1/33'], ['10.0.0.0/8', '10.0.0.0/8']]) {
      const args = ['key', '--data', server.dataDir, 'create', '--name', 'bad', '--scope', 'read'];
      for (const cidr of bad) {
        args.push('--allow-cidr', cidr);
      }
      const refused = run(args, env);
      assert.equal(refused.code, 1, `${bad.join(' ')} was accepted`);
      assert.match(refused.stderr, /--allow-cidr\[\d+\]/);
    }
    assert.deepEqual(listKeys(), before);

    const local = run(['key', '--data', server.dataDir, 'create', '--name', 'local', '--scope', 'read',
      '--allow-cidr', '127.0.0.0/8', '--allow-cidr', '2001:db8::/32'], env);
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /allowed from: 127\.0\.0\.0\/8,2001:db8::\/32/);
    const elsewhere = run(['key', '--data', server.dataDir, 'create', '--name', 'elsewhere', '--scope', 'read',
      '--allow-cidr', '10.0.0.0/8'], env);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.match(listKeys().join('\n'), /elsewhere.*10\.0\.0\.0\/8/);

    const call = (secret) => fetch(`${server.baseUrl}/api/v1/customers?limit=1`, { headers: { Authorization: `Bearer ${secretOf(secret)}` } });
    assert.equal((await call(local)).status, 200);
    assert.equal((await call(elsewhere)).status, 403);
  } finally {
    await server.stop();
  }
});

test('role, team and user access: the CLI builds roles and teams the running server enforces, ledgered as cli', async () => {
  requireBinary();
  const server = await startServer();
  try {
    const env = { PANORAMA_MASTER_KEY: server.masterKey, PANORAMA_USER_PASSWORD: 'cli-access-password-42' };
    const cli = (...args) => run([args[0], '--data', server.dataDir, ...args.slice(1)], env);
    const api = await apiClient(server);
    const ok = (out) => { assert.equal(out.code, 0, out.stderr); return out.stdout; };

    // Bad input is refused naming what is wrong, and writes nothing.
    const rolesBefore = ok(cli('role', 'list'));
    for (const [args, pattern] of [
      [['role', 'add', 'Bad Name', '--permission', 'customers.read'], /name: must be 2 to 32/],
      [['role', 'add', 'reviewer', '--permission', 'customers.read,no.such'], /permissions\[1\]/],
      [['role', 'add', 'reviewer'], /permission: at least one is required/],
      [['role', 'set', 'sales', '--permission', 'customers.read'], /built-in roles cannot be changed/],
      [['role', 'remove', 'admin'], /built-in roles cannot be deleted/],
      [['team', 'add', ''], /name: must not be empty/],
      [['team', 'add', 'a\u0001b'], /name: must not contain control characters/],
    ]) {
      const refused = cli(...args);
      assert.equal(refused.code, 1, `${args.join(' ')} was accepted`);
      assert.match(refused.stderr, pattern);
    }
    assert.equal(ok(cli('role', 'list')), rolesBefore);
    assert.equal(ok(cli('team', 'list')), '');

    assert.match(ok(cli('role', 'add', 'reviewer', '--permission', 'customers.read', '--permission', 'audit.read',
      '--description', '只读审阅')), /created role reviewer\tcustom\tcustomers\.read,audit\.read/);
    assert.match(ok(cli('team', 'add', '华东销售')), /created team 华东销售 \(id (\d+)\)/);
    const teamId = Number(/^(\d+)\t华东销售$/m.exec(ok(cli('team', 'list')))[1]);
    ok(cli('user', 'add', 'liwei', '--role', 'sales'));

    for (const [args, pattern] of [
      [['user', 'access', 'liwei', '--role', 'nobody'], /role: is not a known role/],
      [['user', 'access', 'liwei', '--team', 'no such team'], /team: no team named no such team/],
      [['user', 'access', 'liwei', '--team', '华东销售', '--no-team'], /team: give --team or --no-team/],
      [['user', 'access', 'liwei'], /role: --role, --team or --no-team is required/],
      [['user', 'access', 'nobody', '--role', 'sales'], /user nobody not found/],
    ]) {
      const refused = cli(...args);
      assert.equal(refused.code, 1, `${args.join(' ')} was accepted`);
      assert.match(refused.stderr, pattern);
    }

    assert.match(ok(cli('user', 'access', 'liwei', '--role', 'reviewer', '--team', '华东销售')),
      new RegExp(`liwei: role reviewer, team ${teamId}`));
    const userOf = async () => (await api.get('/api/v1/users')).data.find((u) => u.username === 'liwei');
    const liwei = await userOf();
    assert.equal(liwei.role, 'reviewer');
    assert.equal(liwei.team_id, teamId);

    // The server sees the role as the CLI left it; a role still held cannot be removed.
    const roleOf = async () => (await api.get('/api/v1/roles')).data.find((r) => r.name === 'reviewer');
    assert.deepEqual((await roleOf()).permissions.sort(), ['audit.read', 'customers.read']);
    assert.match(ok(cli('role', 'set', 'reviewer', '--permission', 'customers.read')), /customers\.read\t只读审阅/);
    assert.deepEqual((await roleOf()).permissions, ['customers.read']);
    const held = cli('role', 'remove', 'reviewer');
    assert.equal(held.code, 1);
    assert.match(held.stderr, /still held by user/);

    assert.match(ok(cli('user', 'access', 'liwei', '--role', 'sales', '--no-team')), /liwei: role sales, team none/);
    assert.equal((await userOf()).team_id ?? null, null);
    assert.match(ok(cli('role', 'remove', 'reviewer')), /removed role reviewer/);
    assert.equal(await roleOf(), undefined);

    // Every change is in the audit ledger with the operator as actor.
    const ledger = (await api.get('/api/v1/audit?actor=cli&limit=100')).data.map((e) => e.action);
    for (const action of ['role.put', 'team.create', 'role.delete']) assert.ok(ledger.includes(action), `${action} in ${ledger}`);
  } finally {
    await server.stop();
  }
});
