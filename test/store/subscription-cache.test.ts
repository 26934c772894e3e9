// The fan-out's in-process subscription cache across processes: two Hooklines share one Redis
// prefix; a PATCH through one's API is seen by the other's fan-out within a second (pub/sub
// invalidation; the cache's own max age is a minute, so only invalidation can explain it).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const T = 'cache';
let api: Harness;
let worker: Harness;
let rx: Receiver;

beforeAll(async () => {
  const REDIS_PREFIX = `{hl-test-${randomBytes(6).toString('hex')}}`;
  api = await startHarness({ REDIS_PREFIX }, { workers: false });
  worker = await startHarness({ REDIS_PREFIX }, { api: false });
  rx = await startReceiver();
});
afterAll(async () => {
  await worker.close();
  await api.close();
  await rx.close();
});

async function publish(channel: string): Promise<string> {
  const res = await api.request<{ id: string }>({
    method: 'POST',
    url: '/v1/events',
    body: {
      tenantId: T,
      type: 'message.delivered',
      channel,
      messageId: `m-${randomBytes(4).toString('hex')}`,
    },
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

it('a PATCH in one instance reaches the other instance’s fan-out within 1 s', async () => {
  const created = await api.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${T}`,
    body: { webhookUrl: `${rx.url}/cache`, events: ['message.delivered'], channels: ['sms'] },
  });
  const id = created.body.id;
  // Only the worker instance fans out; an sms event fills its cache for the tenant.
  const first = await publish('sms');
  await rx.waitFor(1, { filter: (r) => r.headers['webhook-id'] === first });
  const cache = worker.hookline.ctx.subscriptions;
  expect((await cache.forTenant(T)).find((s) => s.id === id)?.channels).toEqual(['sms']);

  const patched = await api.request({
    method: 'PATCH',
    url: `/v1/subscriptions/${id}`,
    body: { channels: ['whatsapp'] },
  });
  expect(patched.status).toBe(200);
  const start = Date.now();
  await worker.until(
    async () => (await cache.forTenant(T)).find((s) => s.id === id)?.channels[0] === 'whatsapp',
    1000,
  );
  expect(Date.now() - start).toBeLessThan(1000);

  const second = await publish('whatsapp');
  await rx.waitFor(1, { filter: (r) => r.headers['webhook-id'] === second, timeoutMs: 10_000 });
});

it('a delete in one instance stops the other instance’s fan-out within 1 s', async () => {
  const created = await api.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${T}`,
    body: { webhookUrl: `${rx.url}/cache-del`, events: ['message.delivered'] },
  });
  const id = created.body.id;
  const cache = worker.hookline.ctx.subscriptions;
  await worker.until(async () => (await cache.forTenant(T)).some((s) => s.id === id), 1000);
  await api.request({ method: 'DELETE', url: `/v1/subscriptions/${id}` });
  await worker.until(async () => !(await cache.forTenant(T)).some((s) => s.id === id), 1000);
  expect((await cache.get(id))?.deletedAt).toEqual(expect.any(String));
});
