// The analytics and segment pages in Debian's headless Chromium against the real server filled with
// demo data (customers, orders, web events): every number the pages show is compared with what the
// API returns for the same question, each chart must have drawn its canvas (ECharts loads as a lazy
// chunk), and the segment builder shows a rule error at its line:column, the live count of a good
// rule, and a saved segment in the list.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

import { consoleSuite, dataset } from '../js/console.mjs';
import { totp } from '../js/totp.mjs';

const suite = consoleSuite({ server: { demo: { customers: 200, seed: 11 } }, timeoutMs: 15_000, timezoneId: 'Asia/Shanghai' });
const { call, post, withPage, signIn, open } = suite;

// ECharts draws into a <canvas> it creates inside the container once the lazy chunk has loaded.
async function assertChartDrawn(page, testid) {
  const chartEl = page.locator(`[data-testid=${testid}][data-rendered=true]`);
  await chartEl.waitFor();
  const size = await chartEl.locator('canvas').first().evaluate((c) => [c.width, c.height]);
  assert.ok(size[0] > 0 && size[1] > 0, `${testid} canvas is ${size}`);
}

// The series of the ECharts instance drawn in a chart container. The page loads ECharts as a lazy chunk;
// importing the same chunk URL again yields the same module, whose registry knows the instance.
async function chartSeries(page, testid) {
  return page.locator(`[data-testid=${testid}][data-rendered=true]`).evaluate(async (el) => {
    const url = performance.getEntriesByType('resource').map((e) => e.name).find((n) => /\/assets\/echarts-setup-[^/]*\.js$/.test(n));
    const { echarts } = await import(url);
    const option = echarts.getInstanceByDom(el).getOption();
    return option.series.map((s) => ({ type: s.type, data: s.data, links: s.links }));
  });
}

// The sankey the paths page should draw, from GET /analytics/paths: a node per step position and event
// ("2. Product Added"), a link per consecutive pair carrying the customers of every path that has it.
function sankeyOf(paths) {
  const nodes = new Set();
  const links = new Map();
  for (const p of paths.paths) {
    p.steps.forEach((event, i) => {
      nodes.add(`${i + 1}. ${event}`);
      if (i + 1 < p.steps.length) {
        const key = `${i + 1}. ${event} → ${i + 2}. ${p.steps[i + 1]}`;
        links.set(key, (links.get(key) ?? 0) + p.customers);
      }
    });
  }
  return { nodes: [...nodes], links: [...links].map(([key, value]) => `${key} = ${value}`) };
}

function monthOf(date, delta) {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + delta, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

test('the RFM page draws the R×F heatmap and shows the API figures, in Chinese and English', async () => {
  const rfm = await suite.api.get('/api/v1/rfm');
  assert.equal(rfm.grid.length, 25);
  assert.ok(rfm.scored > 0, 'the demo data has customers with orders');

  await withPage('rfm', async (page) => {
    await signIn(page);
    assert.equal(await page.getByTestId('nav-analytics').textContent(), '数据分析');
    assert.equal(await page.getByTestId('nav-segments').textContent(), '客户细分');
    await page.getByTestId('nav-analytics').click();
    await page.getByTestId('rfm-page').waitFor();
    assert.equal(await page.locator('[data-testid=rfm-page] h1').textContent(), 'RFM 分析');
    await assertChartDrawn(page, 'rfm-heatmap');

    assert.equal(await page.getByTestId('rfm-scored-value').textContent(), new Intl.NumberFormat('zh-CN').format(rfm.scored));
    const cells = await page.locator('[data-testid=rfm-cell]').evaluateAll((els) =>
      els.map((el) => `${el.dataset.r}${el.dataset.f}=${el.dataset.customers}`).sort());
    assert.deepEqual(cells, rfm.grid.map((c) => `${c.r}${c.f}=${c.customers}`).sort());

    const rows = page.locator('[data-testid=rfm-segment-row]');
    assert.equal(await rows.count(), rfm.segments.length);
    for (const [i, s] of rfm.segments.entries()) {
      assert.equal(await rows.nth(i).getAttribute('data-segment'), s.name);
      assert.equal(await rows.nth(i).getByTestId('rfm-segment-customers').textContent(), new Intl.NumberFormat('zh-CN').format(s.customers));
    }
    if (rfm.segments.some((s) => s.name === 'Champions')) {
      assert.equal(await page.locator('[data-testid=rfm-segment-row][data-segment=Champions] td').first().textContent(), '冠军客户');
    }
    // The admin may edit the score map: one editable row per rule.
    const map = await suite.api.get('/api/v1/rfm/score-map');
    assert.equal(await page.getByTestId('map-rule').count(), map.rules.length);

    await page.getByTestId('lang-en').click();
    assert.equal(await page.locator('[data-testid=rfm-page] h1').textContent(), 'RFM analysis');
    assert.equal(await page.getByTestId('tab-lifecycle').textContent(), 'Lifecycle');
    await assertChartDrawn(page, 'rfm-heatmap');
    if (rfm.segments.some((s) => s.name === 'Champions')) {
      assert.equal(await page.locator('[data-testid=rfm-segment-row][data-segment=Champions] td').first().textContent(), 'Champions');
    }
    await page.getByTestId('lang-zh-CN').click();
  });
});

test('the lifecycle page shows the six stages as the API counts them and the history chart', async () => {
  const lifecycle = await suite.api.get('/api/v1/lifecycle');
  await withPage('lifecycle', async (page) => {
    await signIn(page);
    await open(page, '/analytics/lifecycle');
    await page.getByTestId('lifecycle-stages').waitFor();
    assert.equal(await page.locator('[data-testid=lifecycle-page] h1').textContent(), '客户生命周期');
    const shown = await page.locator('[data-testid=lifecycle-stages] [data-stage]').evaluateAll((els) =>
      els.map((el) => `${el.dataset.stage}=${el.dataset.customers}`));
    assert.deepEqual(shown, lifecycle.stages.map((s) => `${s.stage}=${s.customers}`));
    assert.deepEqual(lifecycle.stages.map((s) => s.stage), ['prospect', 'new', 'active', 'loyal', 'at_risk', 'churned']);
    assert.equal(await page.locator('[data-stage=churned] .stat-label').textContent(), '已流失');
    await assertChartDrawn(page, 'lifecycle-chart');
    await assertChartDrawn(page, 'lifecycle-history-chart');
  });
});

test('the cohorts page shows the retention triangle of the API', async () => {
  const now = new Date();
  const from = monthOf(now, -23);
  const to = monthOf(now, 0);
  const cohorts = await suite.api.get(`/api/v1/analytics/cohorts?from=${from}&to=${to}&months=12`);
  assert.ok(cohorts.cohorts.length > 0, 'the demo data has first orders in the last two years');

  await withPage('cohorts', async (page) => {
    await signIn(page);
    await open(page, '/analytics/cohorts');
    await page.getByTestId('cohorts-form').waitFor();
    await page.getByTestId('cohorts-from').fill(from);
    await page.getByTestId('cohorts-to').fill(to);
    await page.getByTestId('cohorts-months').fill('12');
    await page.getByTestId('cohorts-apply').click();
    await page.getByTestId('cohort-table').waitFor();
    await assertChartDrawn(page, 'cohort-heatmap');
    const rows = await page.locator('[data-testid=cohort-row]').evaluateAll((els) =>
      els.map((el) => `${el.dataset.cohort}=${el.dataset.size}`));
    assert.deepEqual(rows, cohorts.cohorts.map((c) => `${c.cohort}=${c.size}`));
    assert.match(cohorts.through, /^\d{4}-\d{2}$/);
    assert.notEqual(cohorts.through, to, 'the running month is not complete');
    assert.match(await page.getByTestId('cohorts-through').textContent(), new RegExp(cohorts.through));
    const first = cohorts.cohorts[0];
    const firstCell = await page.locator('[data-testid=cohort-row]').first().getByTestId('cohort-cell').first().textContent();
    assert.equal(firstCell, `${new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 1 }).format(first.retention[0] * 100)}%`);
  });
});

test('the funnels page draws the funnel and the paths the API computes', async () => {
  const request = { steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Order Completed' }], window: '7d' };
  const funnel = await post('/api/v1/analytics/funnel', request);
  assert.ok(funnel.steps[0].customers > 0, 'the demo data has product views');
  const paths = await suite.api.get('/api/v1/analytics/paths?from_event=Product%20Viewed&to_event=Order%20Completed&max_steps=5&limit=10&window=7d');

  await withPage('funnels', async (page) => {
    await signIn(page);
    await open(page, '/analytics/funnels');
    await page.getByTestId('funnel-form').waitFor();
    await page.getByTestId('funnel-add-step').click();
    const events = page.getByTestId('funnel-step-event');
    await events.nth(0).fill('Product Viewed');
    await events.nth(1).fill('Product Added');
    await events.nth(2).fill('Order Completed');
    await page.getByTestId('funnel-window').fill('7d');
    await page.getByTestId('funnel-run').click();
    await page.getByTestId('funnel-table').waitFor();
    await assertChartDrawn(page, 'funnel-chart');
    assert.deepEqual(await dataset(page, '[data-testid=funnel-row]', 'customers'), funnel.steps.map((s) => String(s.customers)));

    await page.getByTestId('paths-from').fill('Product Viewed');
    await page.getByTestId('paths-to').fill('Order Completed');
    await page.getByTestId('paths-max-steps').fill('5');
    await page.getByTestId('paths-window').fill('7d');
    await page.getByTestId('paths-run').click();
    if (paths.paths.length === 0) {
      await page.getByTestId('paths-empty').waitFor();
      assert.equal(await page.getByTestId('paths-sankey').count(), 0);
    } else {
      await page.getByTestId('paths-table').waitFor();
      assert.deepEqual(await dataset(page, '[data-testid=path-row]', 'customers'), paths.paths.map((p) => String(p.customers)));
      // The sankey above the table: its nodes and links, read from the chart itself, are the API's paths.
      await assertChartDrawn(page, 'paths-sankey');
      const [series] = await chartSeries(page, 'paths-sankey');
      assert.equal(series.type, 'sankey');
      const expected = sankeyOf(paths);
      assert.deepEqual(series.data.map((n) => n.name).sort(), expected.nodes.sort());
      assert.deepEqual(series.links.map((l) => `${l.source} → ${l.target} = ${l.value}`).sort(), expected.links.sort());
    }
  });
});

// The smallest group size (min_group_size) on the funnel page: with a size chosen from the API's own
// per-city counts, the page's breakdown rows are the API's rows (no city below the size listed, the rest
// in "(other)"), and a size the API refuses shows its reason beside the field.
test('the funnel breakdown by city folds small groups into (other) as the API does, and shows the API\'s error for a bad size', async () => {
  const base = { steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }], window: '7d', breakdown: 'city' };
  const every = await post('/api/v1/analytics/funnel', { ...base, min_group_size: 1 });
  const listed = every.breakdown.filter((b) => b.value !== '(other)').map((b) => b.steps[0].customers);
  const sizes = [...new Set(listed)].sort((a, b) => a - b);
  assert.ok(sizes.length >= 2, `the demo cities have groups of different sizes: ${JSON.stringify(every.breakdown)}`);
  const minSize = sizes[Math.floor(sizes.length / 2)];
  const folded = await post('/api/v1/analytics/funnel', { ...base, min_group_size: minSize });
  const other = folded.breakdown.find((b) => b.value === '(other)');
  assert.ok(other, 'some city is below the size');
  assert.ok(other.steps[0].customers >= listed.filter((n) => n < minSize).reduce((a, n) => a + n, 0));
  for (const b of folded.breakdown) {
    assert.ok(b.value === '(other)' || b.steps[0].customers >= minSize, `${b.value} listed below ${minSize}`);
  }
  assert.equal(folded.breakdown.reduce((a, b) => a + b.steps[0].customers, 0), folded.steps[0].customers);
  const refusals = {};
  for (const bad of ['0', '2.5', '1001']) {
    const r = await call('POST', '/api/v1/analytics/funnel', { ...base, min_group_size: Number(bad) });
    assert.equal(r.status, 400, r.text);
    refusals[bad] = r.json.errors.find((e) => e.field === 'min_group_size').reason;
  }

  await withPage('funnel-min-group-size', async (page) => {
    await signIn(page);
    await open(page, '/analytics/funnels');
    await page.getByTestId('funnel-form').waitFor();
    while ((await page.getByTestId('funnel-step').count()) > 2) {
      await page.getByTestId('funnel-step-remove').last().click();
    }
    const events = page.getByTestId('funnel-step-event');
    await events.nth(0).fill('Product Viewed');
    await events.nth(1).fill('Order Completed');
    await page.getByTestId('funnel-window').fill('7d');
    await page.getByTestId('funnel-breakdown-key').fill('city');
    await page.getByTestId('funnel-min-group-size').fill(String(minSize));
    await page.getByTestId('funnel-run').click();
    await page.getByTestId('funnel-breakdown').waitFor();
    assert.deepEqual(await dataset(page, '[data-testid=breakdown-row]', 'value'), folded.breakdown.map((b) => b.value));
    assert.deepEqual(await dataset(page, '[data-testid=breakdown-row]', 'customers'), folded.breakdown.map((b) => String(b.steps[0].customers)));
    const otherRow = page.locator('[data-testid=breakdown-row][data-value="(other)"] th');
    assert.equal(await otherRow.textContent(), '（其他）');

    for (const [bad, reason] of Object.entries(refusals)) {
      await page.getByTestId('funnel-min-group-size').fill(bad);
      await page.getByTestId('funnel-run').click();
      const error = page.getByTestId('funnel-min-group-size-error');
      await error.filter({ hasText: reason }).waitFor();
      assert.equal(await page.getByTestId('funnel-min-group-size').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByTestId('funnel-result').count(), 0, `no result for ${bad}`);
    }
    // A good size again: the error goes and the API's rows come back.
    await page.getByTestId('funnel-min-group-size').fill(String(minSize));
    await page.getByTestId('funnel-run').click();
    await page.getByTestId('funnel-breakdown').waitFor();
    assert.equal(await page.getByTestId('funnel-min-group-size-error').count(), 0);
    assert.deepEqual(await dataset(page, '[data-testid=breakdown-row]', 'value'), folded.breakdown.map((b) => b.value));
  });
});

test('the segment builder marks a rule error at line:column, counts a good rule live and saves it', async () => {
  const bad = 'country = "CN" and\n  totl_spend > 5';
  const badAnswer = await call('POST', '/api/v1/segments/preview', { rule: bad });
  assert.equal(badAnswer.status, 400, badAnswer.text);
  const where = badAnswer.json.errors.find((e) => e.line !== undefined);
  assert.ok(where, `the error names its line and column: ${badAnswer.text}`);
  const good = 'order_count >= 2';
  const goodAnswer = await post('/api/v1/segments/preview', { rule: good });
  const name = `Repeat buyers ${Date.now()}`;

  await withPage('segment-builder', async (page) => {
    await signIn(page);
    await page.getByTestId('nav-segments').click();
    await page.getByTestId('segments-page').waitFor();
    await page.getByTestId('segment-new').click();
    await page.getByTestId('segment-builder').waitFor();
    await page.getByTestId('field-chip').first().waitFor();

    await page.getByTestId('rule-input').fill(bad);
    const error = page.getByTestId('rule-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-line'), String(where.line));
    assert.equal(await error.getAttribute('data-column'), String(where.column));
    assert.equal(await page.getByTestId('rule-error-position').textContent(), `第 ${where.line} 行，第 ${where.column} 列：`);
    const marker = (await page.getByTestId('rule-error-marker').textContent()).split('\n');
    assert.equal(marker[0], bad.split('\n')[where.line - 1]);
    assert.equal(marker[1].indexOf('^'), where.column - 1);
    assert.equal(await page.getByTestId('rule-input').getAttribute('aria-invalid'), 'true');

    await page.getByTestId('rule-input').fill(good);
    const count = page.getByTestId('preview-count');
    await count.waitFor();
    assert.equal(await count.getAttribute('data-size'), String(goodAnswer.size));
    assert.equal(await page.getByTestId('rule-error').count(), 0);

    await page.getByTestId('segment-name-input').fill(name);
    await page.getByTestId('segment-save').click();
    await page.getByTestId('segment-page').waitFor();
    const id = /#\/segments\/(\d+)$/.exec(page.url())?.[1];
    assert.ok(id, page.url());
    const saved = await suite.api.get(`/api/v1/segments/${id}`);
    assert.equal(saved.name, name);
    assert.equal(saved.rule, good);
    assert.equal(saved.size, goodAnswer.size);
    assert.equal(await page.getByTestId('segment-size-value').textContent(), new Intl.NumberFormat('zh-CN').format(saved.size));

    const members = await suite.api.get(`/api/v1/segments/${id}/members?limit=25`);
    if (members.data.length > 0) {
      await page.getByTestId('members-table').waitFor();
      assert.deepEqual(await dataset(page, '[data-testid=member-row]', 'customerId'), members.data.map((m) => String(m.id)));
    } else {
      await page.getByTestId('members-empty').waitFor();
    }

    await page.getByTestId('back-to-segments').click();
    const row = page.locator(`[data-testid=segment-row][data-segment-id="${id}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId('segment-name').textContent(), name);
    assert.equal(await row.getAttribute('data-size'), String(saved.size));
  });
});

test('the segment list shows the overlap of selected segments and combines them', async () => {
  const a = await post('/api/v1/segments', { name: `Buyers ${Date.now()}`, rule: 'order_count >= 1' });
  const b = await post('/api/v1/segments', { name: `Viewers ${Date.now()}`, rule: 'did "Product Viewed"' });
  const overlap = await suite.api.get(`/api/v1/segments/overlap?ids=${a.id},${b.id}`);
  const minus = await post('/api/v1/segments/combine', { op: 'minus', segments: [a.id, b.id] });

  await withPage('segment-overlap', async (page) => {
    await signIn(page);
    await open(page, '/segments');
    for (const s of [a, b]) {
      await page.locator(`[data-testid=segment-row][data-segment-id="${s.id}"] [data-testid=segment-select]`).check();
    }
    await page.getByTestId('overlap-show').click();
    await page.getByTestId('overlap-matrix').waitFor();
    const cells = await page.locator('[data-testid=overlap-cell]').evaluateAll((els) =>
      els.map((el) => `${el.dataset.i},${el.dataset.j}=${el.textContent}`));
    const fmt = new Intl.NumberFormat('zh-CN');
    assert.deepEqual(cells, overlap.matrix.flatMap((row, i) => row.map((n, j) => `${i},${j}=${fmt.format(n)}`)));

    await page.getByTestId('combine-op').selectOption('minus');
    await page.getByTestId('combine-run').click();
    const result = page.getByTestId('combine-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-size'), String(minus.size));

    // Export from the segment page: the downloaded file is the API's CSV for the admin.
    await open(page, `/segments/${a.id}`);
    await page.getByTestId('segment-page').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const saved = await download.path();
    // (fetch's text() drops a UTF-8 byte-order mark, which the file may start with for Excel)
    const csv = (await readFile(saved, 'utf8')).replace(/^\uFEFF/, '');
    const fromApi = await fetch(`${suite.server.baseUrl}/api/v1/segments/${a.id}/export?format=csv`, {
      headers: { Authorization: `Bearer ${suite.api.token}` },
    });
    assert.equal(fromApi.status, 200);
    assert.equal(csv, await fromApi.text());
    assert.ok(csv.split('\n').filter(Boolean).length >= Math.min(a.size, 1) + 1, 'a header and the members');
  });
});

test('the 360 page shows the customer\'s RFM scores, lifecycle stage and segments', async () => {
  const rfm = await suite.api.get('/api/v1/rfm');
  assert.ok(rfm.scored > 0);
  // A customer with orders: the first member of a segment of buyers.
  const seg = await post('/api/v1/segments', { name: `Has orders ${Date.now()}`, rule: 'order_count >= 1' });
  const members = await suite.api.get(`/api/v1/segments/${seg.id}/members?limit=1`);
  const id = members.data[0].id;
  const view = await suite.api.customer360(id, 5);

  await withPage('c360-analytics', async (page) => {
    await signIn(page);
    await open(page, `/customers/${id}`);
    await page.getByTestId('customer-analytics').waitFor();
    if (view.rfm) {
      assert.equal(await page.getByTestId('c360-rfm-score').getAttribute('data-score'), view.rfm.score ?? '');
    }
    if (view.lifecycle) {
      assert.equal(await page.getByTestId('c360-lifecycle-stage').getAttribute('data-stage'), view.lifecycle.stage);
    }
    const shown = await page.locator('[data-testid=c360-segment] a').evaluateAll((els) => els.map((a) => a.textContent));
    assert.deepEqual(shown, (view.segments ?? []).map((s) => s.name));
    assert.ok(shown.includes(seg.name), `${seg.name} among ${shown}`);
  });
});

// Signs a new staff member of `role` in through the API (enrolling TOTP) and returns the session (tokens in
// the body, as for any API client; useSession hands it to the console).
async function sessionFor(role) {
  const username = `${role.replace(/_/g, '')}${Date.now()}`;
  const password = `Pw-${Date.now()}-analytics-test`;
  const builtIn = ['admin', 'sales', 'marketing', 'support', 'analyst', 'auditor'].includes(role);
  // Staff are created with a built-in role; a custom role is then given through /users/{id}/access.
  const created = await call('POST', '/api/v1/users', { username, password, role: builtIn ? role : 'support' });
  assert.ok(created.status === 201 || created.status === 200, created.text);
  if (!builtIn) {
    const access = await call('PUT', `/api/v1/users/${created.json.id}/access`, { role });
    assert.equal(access.status, 200, access.text);
  }
  const unauth = async (p, body) => {
    const r = await fetch(`${suite.server.baseUrl}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const json = await r.json();
    assert.ok(r.ok, `${p}: HTTP ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  let login = await unauth('/api/v1/auth/login', { username, password });
  if (login.status === 'mfa_enrolment_required') {
    const enrolment = await unauth('/api/v1/auth/mfa/enroll', { mfa_token: login.mfa_token });
    login = await unauth('/api/v1/auth/mfa/confirm', { mfa_token: login.mfa_token, code: totp(enrolment.secret) });
  }
  assert.ok(login.token, JSON.stringify(login));
  return login;
}

// Hands a session signed in through the API to the console the way its own sign-in leaves it: the tokens
// in the __Host- cookies (HttpOnly, so only the browser context can set them) and the non-secret details
// in sessionStorage.
async function useSession(page, session) {
  const domain = new URL(suite.server.baseUrl).hostname;
  const cookie = (name, value) => ({ name, value, domain, path: '/', secure: true, httpOnly: true, sameSite: 'Strict' });
  await suite.context.addCookies([cookie('__Host-pn_session', session.token), cookie('__Host-pn_refresh', session.refresh_token)]);
  const { token: _token, refresh_token: _refresh, device_token: _device, ...details } = session;
  await page.evaluate((s) => sessionStorage.setItem('panorama.session', JSON.stringify(s)), { ...details, session: 'cookie' });
}

test('a role without analytics.read sees no analytics navigation and is sent back from its pages', async () => {
  const session = await sessionFor('support');
  assert.equal(session.user.role, 'support');
  const denied = await fetch(`${suite.server.baseUrl}/api/v1/rfm`, { headers: { Authorization: `Bearer ${session.token}` } });
  assert.equal(denied.status, 403);

  await withPage('no-analytics', async (page) => {
    await page.goto(`${suite.server.baseUrl}/`);
    await useSession(page, session);
    await open(page, '/analytics/rfm');
    await page.locator('[data-testid=customers-page] h1').waitFor();
    assert.equal(await page.getByTestId('nav-analytics').count(), 0);
    assert.equal(await page.getByTestId('nav-segments').count(), 0);
    assert.equal(await page.getByTestId('nav-customers').count(), 1);
  });
});

test('a custom role with analytics.read but not segments.manage sees the pages read-only', async () => {
  const role = `growth_${Date.now() % 1_000_000}`;
  const created = await call('POST', '/api/v1/roles', { name: role, permissions: ['customers.read', 'customers.read_all', 'analytics.read'] });
  assert.equal(created.status, 201, created.text);
  const session = await sessionFor(role);
  const map = await suite.api.get('/api/v1/rfm/score-map');

  await withPage('custom-role-analytics', async (page) => {
    await page.goto(`${suite.server.baseUrl}/`);
    await useSession(page, session);
    await open(page, '/analytics/rfm');
    await page.getByTestId('rfm-page').waitFor();
    await assertChartDrawn(page, 'rfm-heatmap');
    assert.equal(await page.getByTestId('nav-analytics').count(), 1);
    // The score map is shown, but not as an editor.
    assert.equal(await page.getByTestId('map-rule').count(), map.rules.length);
    assert.equal(await page.getByTestId('map-segment').count(), 0);
    assert.equal(await page.getByTestId('map-save').count(), 0);
    assert.equal(await page.getByTestId('rfm-recompute').count(), 0);
    await open(page, '/segments');
    await page.getByTestId('segments-page').waitFor();
    assert.equal(await page.getByTestId('segment-new').count(), 0);
  });
});
