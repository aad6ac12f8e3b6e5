// The console's write paths for segmentation, in Debian's headless Chromium against the real server filled
// with demo data: saving the RFM score map and the lifecycle thresholds (a good value is stored and survives
// a reload; a bad one shows the server's field error on the field and changes nothing), the segment Excel
// export (the downloaded workbook holds the API's members), and editing and deleting a segment. Every
// outcome is checked through the API, not only on the page. Its own server: these tests change settings
// the read-only page tests in analytics.test.mjs compare against.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import ExcelJS from 'exceljs';

import { consoleSuite, fieldErrors } from '../js/console.mjs';

const suite = consoleSuite({ server: { demo: { customers: 200, seed: 7 } }, timeoutMs: 15_000, timezoneId: 'Asia/Shanghai' });
const { call, post, withPage, signIn, open } = suite;

// Every item of a cursor-paged list as the admin sees it, following the cursor.
async function allPages(path) {
  const out = [];
  let cursor = null;
  do {
    const page = await suite.api.get(`${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

const allMembers = (id) => allPages(`/api/v1/segments/${id}/members`);
const allEvents = (id) => allPages(`/api/v1/segments/${id}/events`);

test('the score-map editor saves an edited rule, and a bad range shows its field error and changes nothing', async () => {
  const before = await suite.api.get('/api/v1/rfm/score-map');
  assert.ok(before.rules.length >= 2, JSON.stringify(before));
  const renamed = `${before.rules[0].segment} 精选`;
  const expected = structuredClone(before);
  expected.rules[0].segment = renamed;
  expected.rules[1].m = [1, 5];

  await withPage('score-map-save', async (page) => {
    await signIn(page);
    await open(page, '/analytics/rfm');
    const rules = page.getByTestId('map-rule');
    await rules.first().waitFor();
    assert.equal(await rules.count(), before.rules.length);
    assert.equal(await rules.nth(0).getByTestId('map-segment').inputValue(), before.rules[0].segment);

    await rules.nth(0).getByTestId('map-segment').fill(renamed);
    await rules.nth(1).getByTestId('map-m-min').fill('1');
    await rules.nth(1).getByTestId('map-m-max').fill('5');
    await page.getByTestId('map-save').click();
    await page.getByTestId('score-map-saved').waitFor();
    assert.equal(await page.getByTestId('error').count(), 0);
    assert.deepEqual(await suite.api.get('/api/v1/rfm/score-map'), expected);

    // Saving recomputed the scores: the segment table is the API's report under the new map.
    const rfm = await suite.api.get('/api/v1/rfm');
    const shown = await page.locator('[data-testid=rfm-segment-row]').evaluateAll((els) => els.map((el) => el.dataset.segment));
    assert.deepEqual(shown, rfm.segments.map((s) => s.name));

    await page.reload();
    await rules.first().waitFor();
    assert.equal(await rules.nth(0).getByTestId('map-segment').inputValue(), renamed);
    assert.equal(await rules.nth(1).getByTestId('map-m-min').inputValue(), '1');
    assert.equal(await rules.nth(1).getByTestId('map-m-max').inputValue(), '5');

    // min above max: the server names rules[0].r, the inputs of that range are marked, nothing is stored.
    await rules.nth(0).getByTestId('map-r-min').fill('4');
    await rules.nth(0).getByTestId('map-r-max').fill('2');
    await page.getByTestId('map-save').click();
    await page.getByTestId('error-field').first().waitFor();
    assert.deepEqual(await fieldErrors(page), ['rules[0].r']);
    assert.equal(await page.getByTestId('score-map-saved').count(), 0);
    const marked = await page.locator('[aria-invalid=true]').evaluateAll((els) => els.map((el) => el.dataset.testid));
    assert.deepEqual(marked, ['map-r-min', 'map-r-max']);
    // The draft keeps what was typed, so it can be corrected.
    assert.equal(await rules.nth(0).getByTestId('map-r-min').inputValue(), '4');
    assert.deepEqual(await suite.api.get('/api/v1/rfm/score-map'), expected);

    // Reset goes back to the stored map.
    await page.getByTestId('map-reset').click();
    assert.equal(await page.getByTestId('error').count(), 0);
    assert.equal(await rules.nth(0).getByTestId('map-r-min').inputValue(), String(expected.rules[0].r[0]));
    assert.equal(await rules.nth(0).getByTestId('map-r-max').inputValue(), String(expected.rules[0].r[1]));
  });
});

test('the lifecycle thresholds save, survive a reload, and an inconsistent value is refused on its field', async () => {
  const before = await suite.api.get('/api/v1/lifecycle/thresholds');
  const expected = { ...before, loyal_min_orders: before.loyal_min_orders + 1 };

  await withPage('thresholds-save', async (page) => {
    await signIn(page);
    await open(page, '/analytics/lifecycle');
    const loyal = page.getByTestId('threshold-loyal_min_orders');
    await loyal.waitFor();
    for (const [key, value] of Object.entries(before)) {
      assert.equal(await page.getByTestId(`threshold-${key}`).inputValue(), String(value), key);
    }

    await loyal.fill(String(expected.loyal_min_orders));
    await page.getByTestId('thresholds-save').click();
    await page.getByTestId('thresholds-saved').waitFor();
    assert.deepEqual(await suite.api.get('/api/v1/lifecycle/thresholds'), expected);
    // The stage counts on the page are the API's under the new thresholds.
    const lifecycle = await suite.api.get('/api/v1/lifecycle');
    assert.deepEqual(lifecycle.thresholds, expected);
    const stages = await page.locator('[data-testid=lifecycle-stages] [data-stage]').evaluateAll((els) =>
      els.map((el) => `${el.dataset.stage}=${el.dataset.customers}`));
    assert.deepEqual(stages, lifecycle.stages.map((s) => `${s.stage}=${s.customers}`));

    await page.reload();
    await loyal.waitFor();
    assert.equal(await loyal.inputValue(), String(expected.loyal_min_orders));

    // churned_days must exceed active_days: the browser lets it through, the server refuses it by name.
    await page.getByTestId('threshold-churned_days').fill(String(expected.active_days));
    await page.getByTestId('thresholds-save').click();
    await page.getByTestId('error-field').first().waitFor();
    assert.deepEqual(await fieldErrors(page), ['churned_days']);
    assert.equal(await page.getByTestId('thresholds-saved').count(), 0);
    assert.equal(await page.getByTestId('threshold-churned_days').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('threshold-active_days').getAttribute('aria-invalid'), null);
    assert.deepEqual(await suite.api.get('/api/v1/lifecycle/thresholds'), expected);

    await page.reload();
    await loyal.waitFor();
    assert.equal(await page.getByTestId('threshold-churned_days').inputValue(), String(expected.churned_days));
  });
});

test('the segment Excel export downloads a workbook holding the API\'s members', async () => {
  const seg = await post('/api/v1/segments', { name: `Excel buyers ${Date.now()}`, rule: 'order_count >= 1' });
  const members = await allMembers(seg.id);
  assert.ok(members.length > 0, 'the demo data has buyers');
  assert.equal(members.length, seg.size);

  await withPage('segment-xlsx', async (page) => {
    await signIn(page);
    await open(page, `/segments/${seg.id}`);
    await page.getByTestId('segment-page').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-xlsx').click()]);
    assert.equal(download.suggestedFilename(), `segment-${seg.id}.xlsx`);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(await download.path());
    const sheet = workbook.getWorksheet('members');
    assert.ok(sheet, `sheets: ${workbook.worksheets.map((w) => w.name)}`);
    const rows = [];
    sheet.eachRow({ includeEmpty: false }, (row) => rows.push([1, 2, 3, 4, 5].map((i) => row.getCell(i).text)));
    assert.deepEqual(rows[0], ['id', 'name', 'email', 'country', 'city']);
    assert.deepEqual(rows.slice(1), members.map((m) => [String(m.id), m.name ?? '', m.email ?? '', m.country ?? '', m.city ?? '']));
  });
});

test('editing a segment\'s rule (and clearing its description) updates its count, members and feed; the detail page shows the new rule', async () => {
  const seg = await post('/api/v1/segments', { name: `Editable ${Date.now()}`, description: 'buyers, to be narrowed', rule: 'order_count >= 1' });
  const narrower = 'order_count >= 3';
  const preview = await post('/api/v1/segments/preview', { rule: narrower });
  assert.ok(preview.size < seg.size, `${narrower} (${preview.size}) is narrower than order_count >= 1 (${seg.size})`);
  const fmt = new Intl.NumberFormat('zh-CN');

  await withPage('segment-edit', async (page) => {
    await signIn(page);
    await open(page, `/segments/${seg.id}`);
    await page.getByTestId('segment-page').waitFor();
    assert.equal(await page.getByTestId('rule-input').inputValue(), seg.rule);
    assert.equal(await page.getByTestId('segment-size-value').textContent(), fmt.format(seg.size));

    assert.equal(await page.getByTestId('segment-description-input').inputValue(), seg.description);
    await page.getByTestId('segment-description-input').fill('');
    await page.getByTestId('rule-input').fill(narrower);
    const count = page.locator(`[data-testid=preview-count][data-size="${preview.size}"]`);
    await count.waitFor();
    await page.getByTestId('segment-save').click();
    await page.locator('[data-testid=segment-size-value]', { hasText: new RegExp(`^${fmt.format(preview.size)}$`) }).waitFor();

    const saved = await suite.api.get(`/api/v1/segments/${seg.id}`);
    assert.equal(saved.rule, narrower);
    assert.equal(saved.description, '');
    assert.equal(saved.name, seg.name);
    assert.equal(saved.size, preview.size);
    // Every customer who left is in the feed as "exited" (order_count >= 3 is a subset of >= 1).
    const events = await allEvents(seg.id);
    assert.equal(events.filter((e) => e.kind === 'exited').length, seg.size - preview.size);
    // The feed on the page is the API's first page.
    const first = events.slice(0, 25);
    await page.locator(`[data-testid=segment-event]:nth-child(${first.length})`).waitFor();
    const feed = await page.locator('[data-testid=segment-event]').evaluateAll((els) =>
      els.map((el) => `${el.dataset.kind} ${el.querySelector('a')?.getAttribute('href')}`));
    assert.deepEqual(feed, first.map((e) => `${e.kind} #/customers/${e.customer_id}`));

    await page.reload();
    await page.getByTestId('segment-page').waitFor();
    assert.equal(await page.getByTestId('rule-input').inputValue(), narrower);
    assert.equal(await page.getByTestId('segment-size-value').textContent(), fmt.format(preview.size));
    const members = await suite.api.get(`/api/v1/segments/${seg.id}/members?limit=25`);
    await page.getByTestId('members-table').waitFor();
    const shown = await page.locator('[data-testid=member-row]').evaluateAll((els) => els.map((el) => el.dataset.customerId));
    assert.deepEqual(shown, members.data.map((m) => String(m.id)));

    // The list shows the new size too.
    await page.getByTestId('back-to-segments').click();
    const row = page.locator(`[data-testid=segment-row][data-segment-id="${seg.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-size'), String(preview.size));
  });
});

test('deleting a segment asks first; cancelling keeps it, confirming removes it from the list and the API', async () => {
  const seg = await post('/api/v1/segments', { name: `Doomed ${Date.now()}`, rule: 'order_count >= 2' });

  await withPage('segment-delete', async (page) => {
    await signIn(page);
    await open(page, `/segments/${seg.id}`);
    await page.getByTestId('segment-page').waitFor();

    // The console asks with window.confirm, naming the segment; dismissing it deletes nothing.
    const asked = new Promise((resolve) => page.once('dialog', async (dialog) => {
      resolve([dialog.type(), dialog.message()]);
      await dialog.dismiss();
    }));
    await page.getByTestId('segment-delete').click();
    const [kind, message] = await asked;
    assert.equal(kind, 'confirm');
    assert.ok(message.includes(seg.name), message);
    assert.equal((await call('GET', `/api/v1/segments/${seg.id}`)).status, 200);
    assert.ok(page.url().endsWith(`#/segments/${seg.id}`), page.url());

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('segment-delete').click();
    await page.getByTestId('segments-page').waitFor();
    await page.locator('[data-testid=segment-table], [data-testid=segments-empty]').waitFor();
    assert.equal(await page.locator(`[data-testid=segment-row][data-segment-id="${seg.id}"]`).count(), 0);
    const gone = await call('GET', `/api/v1/segments/${seg.id}`);
    assert.equal(gone.status, 404, gone.text);
  });
});
