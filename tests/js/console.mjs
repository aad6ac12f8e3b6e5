// The shared set-up of the browser tests: one real server and one headless Chromium per test file,
// started in node:test's before() and stopped in after(), and the small helpers every console test
// uses (an API caller logged in as the admin, a page runner that screenshots failures, sign-in).
//
//   const suite = consoleSuite({ server: { demo: { customers: 200, seed: 7 } }, timezoneId: 'Asia/Shanghai' });
//   test('…', () => suite.withPage('name', async (page) => { await suite.signIn(page); … }));
//
// suite.server / .api / .browser / .context are set once before() has run.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import { launchConsoleBrowser } from './browser.mjs';
import { apiClient, requireBinary, requireConsoleBuild, startServer } from './server.mjs';

/**
 * @param {{ server?: object, api?: boolean, timeoutMs?: number, timezoneId?: string, locale?: string }} [options]
 *   server: startServer()'s options; api: false skips the admin's API sign-in (a test of the first
 *   sign-in itself); the rest go to launchConsoleBrowser().
 */
export function consoleSuite({ server: serverOptions = {}, api = true, timeoutMs = 10_000, timezoneId, locale } = {}) {
  const suite = {
    server: null,
    api: null,
    browser: null,
    context: null,

    // { status, json, text } of any call as the admin; never throws on an HTTP error.
    async call(method, pathAndQuery, body) {
      const response = await fetch(`${suite.server.baseUrl}${pathAndQuery}`, {
        method,
        headers: {
          Authorization: `Bearer ${suite.api.token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : null, text };
    },

    // The JSON answer of a POST that must succeed.
    async post(pathAndQuery, body) {
      const r = await suite.call('POST', pathAndQuery, body);
      assert.ok(r.status >= 200 && r.status < 300, `POST ${pathAndQuery}: HTTP ${r.status} ${r.text}`);
      return r.json;
    },

    // Runs a browser scenario in a new page; uncaught page errors fail it; on failure a full-page
    // screenshot is saved and named in the error.
    async withPage(name, scenario) {
      const page = await suite.context.newPage();
      const pageErrors = [];
      page.on('pageerror', (err) => pageErrors.push(err));
      try {
        await scenario(page);
        assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
      } catch (err) {
        const dir = await mkdtemp(path.join(tmpdir(), 'panorama-browser-failure-'));
        const file = path.join(dir, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        const where = `screenshot: ${file}\nURL: ${page.url()}`;
        err.message += `\n${where}`;
        if (typeof err.stack === 'string') {
          err.stack += `\n${where}`;
        }
        throw err;
      } finally {
        await page.close();
      }
    },

    // Fills the sign-in form as the admin and submits it; with `waitForConsole` (the default) waits for the
    // customer list the console opens on.
    async signIn(page, { password = suite.server.adminPassword, waitForConsole = true } = {}) {
      await page.goto(`${suite.server.baseUrl}/`);
      await page.getByTestId('login-username').fill(suite.server.adminUsername);
      await page.getByTestId('login-password').fill(password);
      await page.getByTestId('login-submit').click();
      if (waitForConsole) {
        await page.locator('[data-testid=customers-page] h1').waitFor();
      }
    },

    async open(page, hash) {
      await page.goto(`${suite.server.baseUrl}/#${hash}`);
    },
  };

  before(async () => {
    requireBinary();
    requireConsoleBuild();
    suite.server = await startServer(serverOptions);
    if (api) {
      suite.api = await apiClient(suite.server);
    }
    suite.browser = await launchConsoleBrowser({ timeoutMs, timezoneId, locale });
    suite.context = suite.browser.context;
  });

  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });

  return suite;
}

// The `data-field` of every field error the page shows (errors.ts), in order.
export const fieldErrors = (page) =>
  page.locator('[data-testid=error-field]').evaluateAll((els) => els.map((el) => el.dataset.field));

// One data-* value of every element matching `selector`, in order.
export const dataset = (page, selector, key) =>
  page.locator(selector).evaluateAll((els, k) => els.map((el) => el.dataset[k]), key);
