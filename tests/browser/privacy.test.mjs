// Data-subject requests in the console (隐私请求), in Debian's headless Chromium against the real server: a request
// created through the API is verified and fulfilled on the request page (an erasure, so fulfilling schedules it
// for the grace period and restricts the customer), then cancelled during the grace period; the API must show
// each step's state, and the customer must still exist.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { consoleSuite } from '../js/console.mjs';

const suite = consoleSuite();
const { post, withPage, signIn } = suite;

test('an erase request is verified, scheduled and cancelled in the console, and the API agrees at each step', async () => {
  const customer = await post('/api/v1/customers', { name: '薛宝钗', email: 'xbc@example.cn' });
  const request = await post('/api/v1/privacy/requests', { customer_id: customer.id, kind: 'erase', jurisdiction: 'pipl' });
  assert.equal(request.verification, 'unverified');

  await withPage('privacy-request', async (page) => {
    await signIn(page);
    await page.getByTestId('nav-privacy').click();
    const row = page.locator(`[data-testid="privacy-row"][data-id="${request.id}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId('privacy-status').textContent(), '待处理');
    await page.getByTestId(`privacy-open-${request.id}`).click();

    // Fulfilling waits for the requester's identity.
    assert.equal(await page.getByTestId('privacy-fulfil').isDisabled(), true);
    await page.getByTestId('privacy-verify-method').selectOption('id_document');
    await page.getByTestId('privacy-verify').click();
    await page.getByTestId('privacy-detail-verification').filter({ hasText: '已核验' }).waitFor();
    let state = await suite.api.get(`/api/v1/privacy/requests/${request.id}`);
    assert.equal(state.verification, 'verified');
    assert.equal(state.verification_method, 'id_document');

    await page.getByTestId('privacy-fulfil').click();
    await page.getByTestId('privacy-grace-notice').waitFor();
    assert.equal(await page.getByTestId('privacy-detail-status').textContent(), '已排期删除');
    state = await suite.api.get(`/api/v1/privacy/requests/${request.id}`);
    assert.equal(state.status, 'scheduled');
    assert.ok(state.scheduled_for, 'scheduled_for is set');
    assert.ok(await page.getByTestId('privacy-detail-scheduled').isVisible());

    await page.getByTestId('privacy-cancel').click();
    await page.getByTestId('privacy-detail-status').filter({ hasText: '已撤销' }).waitFor();
    state = await suite.api.get(`/api/v1/privacy/requests/${request.id}`);
    assert.equal(state.status, 'cancelled');
    assert.match(await page.getByTestId('privacy-result').textContent(), /cancelled_by/);
    const still = await suite.api.get(`/api/v1/customers/${customer.id}`);
    assert.equal(still.id, customer.id);
  });
});
