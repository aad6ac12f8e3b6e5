// The console's sign-in with TOTP in Debian's headless Chromium: a fresh admin (MFA required) enrols
// by scanning — here, reading — the key, gets the recovery codes once, lands on the customer list,
// then signs out everywhere from the security page.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { requireBinary, requireConsoleBuild, startServer } from '../js/server.mjs';

const kChromium = process.env.PANORAMA_CHROMIUM || '/usr/bin/chromium';

let server;
let profileDir;
let context;

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238 with SHA-1, 6 digits, 30 s steps (an independent implementation from the server's liboath).
function totp(secret, unixSeconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

before(async () => {
  requireBinary();
  requireConsoleBuild();
  server = await startServer({ mfa: true });
  profileDir = await mkdtemp(path.join(tmpdir(), 'panorama-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: kChromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    locale: 'en-GB',
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(10_000);
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (profileDir) {
    await rm(profileDir, { recursive: true, force: true });
  }
});

test('a fresh admin enrols TOTP, sees the recovery codes once, and can sign out everywhere', async () => {
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  await page.goto(`${server.baseUrl}/`);
  await page.getByTestId('login-username').fill(server.adminUsername);
  await page.getByTestId('login-password').fill(server.adminPassword);
  await page.getByTestId('login-submit').click();

  await page.getByTestId('mfa-qr').waitFor();
  assert.match(await page.getByTestId('mfa-qr').getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  const secret = (await page.getByTestId('mfa-secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  await page.getByTestId('login-code').fill(totp(secret));
  await page.getByTestId('login-code-submit').click();

  await page.getByTestId('recovery-codes').waitFor();
  assert.equal(await page.locator('[data-testid=recovery-codes] li').count(), 10);
  await page.getByTestId('mfa-continue').click();
  await page.getByTestId('nav-customers').waitFor();

  await page.getByTestId('nav-security').click();
  await page.getByTestId('session-item').first().waitFor();
  await page.getByTestId('sign-out-everywhere').click();
  await page.getByTestId('login-form').waitFor();
  assert.deepEqual(pageErrors, []);
  await page.close();
});
