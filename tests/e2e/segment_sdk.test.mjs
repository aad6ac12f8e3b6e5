// The unmodified Segment Node SDK sends to Panorama's /v1/batch; the API then shows one unified
// customer with normalised identities, the events and the order on its 360 view.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import { Analytics } from '@segment/analytics-node';

import { apiClient, eventually, startServer } from '../js/server.mjs';

let server;
let api;

before(async () => {
  server = await startServer();
  api = await apiClient(server);
});

after(async () => {
  await server?.stop();
});

function newAnalytics() {
  const analytics = new Analytics({ writeKey: server.writeKey, host: server.baseUrl, flushAt: 1 });
  const errors = [];
  analytics.on('error', (err) => errors.push(err));
  return { analytics, errors };
}

// Sends one call and resolves once the SDK reports it delivered (flushAt: 1 sends each at once),
// so calls reach the server in the order the test makes them.
function send(analytics, method, message) {
  return new Promise((resolve, reject) => {
    analytics[method](message, (err, ctx) => (err ? reject(err) : resolve(ctx)));
  });
}

async function findCustomerId(q) {
  return eventually(async () => {
    const page = await api.searchCustomers(q);
    assert.equal(page.data.length, 1, `expected one customer for search ${JSON.stringify(q)}, got ${page.data.length}`);
    return page.data[0].id;
  });
}

test('identify, track and Order Completed from analytics-node build one customer 360', async () => {
  const { analytics, errors } = newAnalytics();
  const suffix = randomUUID().slice(0, 8);
  const userId = `user-${suffix}`;
  const email = `Li.Lei.${suffix}@Example.COM`;
  const orderId = `order-${suffix}`;

  await send(analytics, 'identify', {
    userId,
    traits: { name: '李雷', email, phone: '138 0013 8000', address: { city: '北京', country: 'CN' } },
  });
  await send(analytics, 'track', {
    userId,
    event: 'Product Viewed',
    properties: { product_id: 'p-longjing', sku: 'TEA-LJ-250', name: '西湖龙井 250g', price: 88.5, currency: 'CNY' },
  });
  await send(analytics, 'track', {
    userId,
    event: 'Order Completed',
    properties: {
      order_id: orderId,
      total: 256.5,
      revenue: 256.5,
      currency: 'CNY',
      products: [
        { product_id: 'p-longjing', sku: 'TEA-LJ-250', name: '西湖龙井 250g', price: 88.5, quantity: 2 },
        { product_id: 'p-cup', sku: 'CUP-QC-01', name: '青瓷茶杯', price: 79.5, quantity: 1 },
      ],
    },
  });
  await analytics.closeAndFlush();
  assert.deepEqual(errors, [], 'the SDK reported delivery errors');

  const id = await findCustomerId(email.toLowerCase());
  const view = await eventually(async () => {
    const v = await api.customer360(id);
    assert.equal(v.aggregates.order_count, 1);
    return v;
  });

  const identities = view.identities.map((i) => `${i.type}=${i.value}`);
  assert.ok(identities.includes(`user_id=${userId}`), `identities: ${identities.join(', ')}`);
  assert.ok(identities.includes(`email=${email.toLowerCase()}`), `identities: ${identities.join(', ')}`);
  assert.ok(identities.includes('phone=+8613800138000'), `identities: ${identities.join(', ')}`);
  assert.equal(view.customer.name, '李雷');

  const timeline = view.timeline.data;
  const viewed = timeline.find((i) => i.kind === 'event' && i.name === 'Product Viewed');
  assert.ok(viewed, `no Product Viewed event in timeline: ${JSON.stringify(timeline)}`);
  assert.equal(viewed.properties.sku, 'TEA-LJ-250');

  const order = timeline.find((i) => i.kind === 'order');
  assert.ok(order, `no order in timeline: ${JSON.stringify(timeline)}`);
  assert.equal(order.external_id, orderId);
  assert.equal(order.total_minor, 25650);
  assert.equal(order.currency, 'CNY');
  const items = order.items
    .map(({ sku, name, quantity, unit_price_minor }) => ({ sku, name, quantity, unit_price_minor }))
    .sort((a, b) => a.sku.localeCompare(b.sku));
  assert.deepEqual(items, [
    { sku: 'CUP-QC-01', name: '青瓷茶杯', quantity: 1, unit_price_minor: 7950 },
    { sku: 'TEA-LJ-250', name: '西湖龙井 250g', quantity: 2, unit_price_minor: 8850 },
  ]);

  const times = timeline.map((i) => Date.parse(i.at));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'timeline is not newest first');
  assert.equal(view.aggregates.total_spend_minor, 25650);
});

test('an anonymous track keeps its customer once identify links the anonymousId', async () => {
  const { analytics, errors } = newAnalytics();
  const suffix = randomUUID().slice(0, 8);
  const anonymousId = `anon-${suffix}`;
  const email = `han.meimei.${suffix}@example.com`;
  const marker = `campaign-${suffix}`;

  await send(analytics, 'track', {
    anonymousId,
    event: 'Product Viewed',
    properties: { product_id: 'p-cup', sku: 'CUP-QC-01', name: '青瓷茶杯', marker },
  });
  await send(analytics, 'identify', {
    anonymousId,
    userId: `user-${suffix}`,
    traits: { name: '韩梅梅', email },
  });
  await analytics.closeAndFlush();
  assert.deepEqual(errors, [], 'the SDK reported delivery errors');

  const id = await findCustomerId(email);
  const view = await eventually(async () => {
    const v = await api.customer360(id);
    const earlier = v.timeline.data.find((i) => i.kind === 'event' && i.name === 'Product Viewed');
    assert.ok(earlier, `the anonymous event is not on the identified customer: ${JSON.stringify(v.timeline.data)}`);
    assert.equal(earlier.properties.marker, marker);
    return v;
  });
  const identities = view.identities.map((i) => `${i.type}=${i.value}`);
  assert.ok(identities.includes(`anonymous_id=${anonymousId}`), `identities: ${identities.join(', ')}`);
  assert.ok(identities.includes(`user_id=user-${suffix}`), `identities: ${identities.join(', ')}`);
});
