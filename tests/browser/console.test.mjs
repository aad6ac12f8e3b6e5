// The console in Debian's headless Chromium against the real server filled with demo data: sign
// in, switch language, search a customer by a Chinese name and check the 360 page shows what the
// API returns for that customer.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { consoleSuite } from '../js/console.mjs';

const suite = consoleSuite({ server: { demo: { customers: 300, seed: 7 } }, timezoneId: 'Asia/Shanghai' });
const { withPage } = suite;
// These tests look at the page right after the sign-in form is sent (a wrong password stays on it).
const signIn = (page, password) => suite.signIn(page, { password, waitForConsole: false });

const kTimelinePage = 20; // the console's timeline page size
const kHan = /[\u3400-\u9fff]/;

// A demo customer with a Chinese name that searching for that name finds on the first page and
// that has a timeline, so the test depends on no particular generated data.
async function pickChineseCustomer() {
  let cursor = null;
  for (let pages = 0; pages < 10; pages++) {
    const list = await suite.api.get(`/api/v1/customers?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const c of list.data) {
      if (!c.name || !kHan.test(c.name)) {
        continue;
      }
      const found = await suite.api.searchCustomers(c.name);
      if (!found.data.some((x) => x.id === c.id)) {
        continue;
      }
      const view = await suite.api.customer360(c.id, kTimelinePage);
      if (view.timeline.data.length > 0 && view.identities.length > 0) {
        return { customer: c, view };
      }
    }
    cursor = list.next_cursor;
    if (!cursor) {
      break;
    }
  }
  throw new Error('the demo data has no customer with a Chinese name, identities and a timeline');
}

test('a wrong password shows the problem on the login form', async () => {
  await withPage('wrong-password', async (page) => {
    await signIn(page, 'not-the-password');

    const error = page.getByTestId('error');
    await error.waitFor();
    assert.match(await error.textContent(), /用户名或密码错误/);
    assert.equal(await page.getByTestId('customers-page').count(), 0);
  });
});

test('sign in, switch language, search by Chinese name and open the 360 page', async () => {
  const { customer, view } = await pickChineseCustomer();

  await withPage('console', async (page) => {
    await signIn(page);
    const heading = page.locator('[data-testid=customers-page] h1');
    await heading.waitFor();
    assert.equal(await heading.textContent(), '客户列表');

    await page.getByTestId('lang-en').click();
    assert.equal(await heading.textContent(), 'Customers');
    assert.equal(await page.getByTestId('logout').textContent(), 'Sign out');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.getByTestId('lang-zh-CN').click();
    assert.equal(await heading.textContent(), '客户列表');
    assert.equal(await page.getByTestId('logout').textContent(), '退出登录');

    await page.getByTestId('customer-search').fill(customer.name);
    await page.getByTestId('customer-search').press('Enter');
    const row = page.locator(`[data-testid=customer-row][data-customer-id="${customer.id}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId('customer-name').textContent(), customer.name);
    await row.click();

    await page.getByTestId('customer-360-name').waitFor();
    assert.equal(await page.getByTestId('customer-360-name').textContent(), customer.name);

    const shownIdentities = await page
      .locator('[data-testid=identity]')
      .evaluateAll((els) =>
        els.map((el) => `${el.dataset.type}=${el.querySelector('[data-testid=identity-value]').textContent}`),
      );
    const apiIdentities = view.identities.map((i) => `${i.type}=${i.value}`);
    assert.deepEqual([...shownIdentities].sort(), [...apiIdentities].sort());

    const items = page.locator('[data-testid=timeline-item]');
    await items.first().waitFor();
    assert.equal(await items.count(), view.timeline.data.length);
    const first = view.timeline.data[0];
    const shownFirst = items.first();
    assert.equal(await shownFirst.getAttribute('data-kind'), first.kind);
    assert.equal(await shownFirst.getAttribute('data-id'), String(first.id));
    const title = await shownFirst.getByTestId('timeline-title').textContent();
    const expected = first.kind === 'order' ? first.external_id : first.kind === 'event' ? first.name : first.subject;
    if (expected) {
      assert.ok(title.includes(expected), `timeline title ${JSON.stringify(title)} lacks ${JSON.stringify(expected)}`);
    }
    assert.equal(
      await page.getByTestId('agg-order-count-value').textContent(),
      new Intl.NumberFormat('zh-CN').format(view.aggregates.order_count),
    );

    if (view.timeline.next_cursor) {
      await page.getByTestId('timeline-load-more').click();
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid=timeline-item]').length > n,
        view.timeline.data.length,
      );
    }
  });
});

// SECURITY.md §2.4: the session lives in HttpOnly __Host- cookies, so a script in the page (XSS) reads no token
// from document.cookie or sessionStorage, and a request that carries only the cookie (as a cross-site form or
// fetch would) cannot change anything.
test('the session is an HttpOnly cookie scripts cannot read, and a change without the console header is refused', async () => {
  await withPage('cookie-session', async (page) => {
    await signIn(page);
    await page.locator('[data-testid=customers-page] h1').waitFor();

    const seen = await page.evaluate(() => ({
      cookie: document.cookie,
      storage: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)).join('\n') +
        Object.keys(localStorage).map((k) => localStorage.getItem(k)).join('\n'),
    }));
    for (const secret of [/pst_/, /prt_/, /pdv_/, /pn_session/, /pn_refresh/]) {
      assert.doesNotMatch(seen.cookie, secret);
      assert.doesNotMatch(seen.storage, secret);
    }
    const cookies = await suite.context.cookies(suite.server.baseUrl);
    const session = cookies.find((c) => c.name === '__Host-pn_session');
    assert.ok(session?.value.startsWith('pst_'), JSON.stringify(cookies.map((c) => c.name)));
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(cookies.some((c) => c.name === '__Host-pn_device' && c.httpOnly));

    const answers = await page.evaluate(async () => {
      const forged = await fetch('/api/v1/auth/logout-all', { method: 'POST', credentials: 'include' });
      const read = await fetch('/api/v1/me', { credentials: 'include' });
      return { forged: forged.status, read: read.status };
    });
    assert.equal(answers.forged, 403);
    assert.equal(answers.read, 200);

    // Still signed in: the console's own calls (with the header) keep working.
    await page.getByTestId('nav-security').click();
    await page.getByTestId('device-item').first().waitFor();
    assert.equal(await page.getByTestId('session-list').locator('[data-testid=session-item]').count() > 0, true);
  });
});

test('the audit page lists ledger entries and filters them like the API', async () => {
  await withPage('audit', async (page) => {
    await signIn(page);
    await page.getByTestId('nav-audit').click();
    const heading = page.locator('[data-testid=audit-page] h1');
    await heading.waitFor();
    assert.equal(await heading.textContent(), '审计日志');
    await page.getByTestId('audit-row').first().waitFor();

    await page.getByTestId('audit-filter-action').fill('session.create');
    await page.getByTestId('audit-search').click();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid=audit-row] td:nth-child(4)')].every((td) => td.textContent === 'session.create'),
    );

    const shown = await page.locator('[data-testid=audit-row]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
    const fromApi = await suite.api.get('/api/v1/audit?action=session.create&limit=50');
    assert.deepEqual(shown, fromApi.data.map((e) => e.seq));
    assert.ok(shown.length >= 2, 'the API client and this page each signed in');
  });
});

test('the 360 page shows the current consents in Chinese and English', async () => {
  const list = await suite.api.get('/api/v1/customers?limit=1');
  const id = list.data[0].id;
  const put = await fetch(`${suite.server.baseUrl}/api/v1/customers/${id}/consents`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${suite.api.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ source: 'console', consents: [{ purpose: 'marketing', channel: 'wechat', granted: true }] }),
  });
  assert.equal(put.status, 200, await put.text());

  await withPage('consents', async (page) => {
    await signIn(page);
    await page.locator('[data-testid=customers-page] h1').waitFor();
    await page.goto(`${suite.server.baseUrl}/#/customers/${id}`);
    const consent = page.getByTestId('consent');
    await consent.first().waitFor();

    assert.equal(await consent.count(), 1);
    assert.match(await consent.first().textContent(), /营销 · 微信: 已同意/);
    await page.getByTestId('lang-en').click();
    await page.getByTestId('consent').first().waitFor();
    assert.match(await page.getByTestId('consent').first().textContent(), /Marketing · WeChat: granted/);
    await page.getByTestId('lang-zh-CN').click();

    // Captured in the console: a profiling consent recorded from the card lands in the ledger as "console".
    await page.getByTestId('consent-purpose').selectOption('profiling');
    await page.getByTestId('consent-grant').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=consent]').length === 2);
    const history = await suite.api.get(`/api/v1/customers/${id}/consents/history`);
    assert.ok(
      history.data.some((c) => c.purpose === 'profiling' && c.granted === true && c.source === 'console'),
      JSON.stringify(history.data),
    );
  });
});
