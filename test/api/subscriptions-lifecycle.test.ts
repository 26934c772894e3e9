// Soft-delete lifecycle end to end: deliveries retrying against a failing receiver end
// `cancelled` once the subscription is deleted, fan-out never matches it again, its URL can be
// registered again, and restoring the old one is then refused with 409.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/store/delivery-store.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const T = 'lifecycle';
let rx: Receiver;
let n = 0;

beforeAll(async () => {
  rx = await startReceiver(() => ({ status: 500, body: 'down' }));
});
afterAll(async () => {
  await rx.close();
});

async function create(h: Harness, webhookUrl: string) {
  return h.request<{ id: string; code?: string; errors?: { path: string }[] }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${T}`,
    body: { webhookUrl, events: ['message.*'] },
  });
}

async function publish(h: Harness): Promise<string> {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: '/v1/events',
    body: { tenantId: T, type: 'message.delivered', channel: 'sms', messageId: `m-${++n}` },
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

async function records(h: Harness, subId: string): Promise<DeliveryRecord[]> {
  const withScores = await h.hookline.ctx.deliveries.idsForSubscription(subId, { limit: 100 });
  const ids = withScores.filter((_, i) => i % 2 === 0);
  return h.hookline.ctx.deliveries.getMany(ids);
}

const allIn = (rs: DeliveryRecord[], count: number, status: string) =>
  rs.length === count && rs.every((r) => r.status === status);

describe('with retries far apart (RETRY_BASE_MS 60 s)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ RETRY_BASE_MS: '60000', RETRY_MAX_DELAY_MS: '600000' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('create → retrying deliveries → delete → cancelled → URL reused → restore refused (409)', async () => {
    const webhookUrl = `${rx.url}/life/1`;
    const sub = (await create(h, webhookUrl)).body;
    for (let i = 0; i < 3; i++) await publish(h);
    await h.until(async () => allIn(await records(h, sub.id), 3, 'retrying'));
    const seen = rx.requests.filter((r) => r.path === '/life/1').length;
    expect(seen).toBe(3);

    const del = await h.request({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(204);
    // Cancelled by the DELETE itself, not by a later worker run.
    const after = await records(h, sub.id);
    expect(after.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    for (const r of after) expect(await h.hookline.ctx.deliveriesQueue.getJob(r.id)).toBeUndefined();
    expect(after.every((r) => r.attempts.length === 1)).toBe(true);

    // Fan-out never matches it again.
    const eventId = await publish(h);
    const event = await h.until(async () => {
      const res = await h.request<{ deliveries: { subscriptionId: string }[] }>({
        method: 'GET',
        url: `/v1/events/${eventId}?tenantId=${T}`,
      });
      return res.status === 200 ? res.body : undefined;
    });
    expect(event.deliveries.map((d) => d.subscriptionId)).not.toContain(sub.id);

    // Its URL may be registered again; then the old one cannot come back.
    const again = await create(h, webhookUrl);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(sub.id);
    const restore = await h.request<{ code: string; errors: { path: string }[] }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/restore`,
    });
    expect(restore.status).toBe(409);
    expect(restore.body.code).toBe('conflict');
    expect(restore.body.errors.map((e) => e.path)).toContain('/webhookUrl');

    // Once the new one is gone, the old one can be restored; its cancelled deliveries stay so.
    await h.request({ method: 'DELETE', url: `/v1/subscriptions/${again.body.id}` });
    expect((await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/restore` })).status).toBe(
      200,
    );
    expect((await records(h, sub.id)).filter((r) => r.status === 'cancelled')).toHaveLength(3);
    expect(rx.requests.filter((r) => r.path === '/life/1')).toHaveLength(seen);
  });

  it('cancels deliveries held while paused', async () => {
    const sub = (await create(h, `${rx.url}/life/2`)).body;
    await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/pause` });
    await publish(h);
    await publish(h);
    const { redis, keys } = h.hookline.ctx;
    await h.until(async () => (await redis.scard(keys.subHeld(sub.id))) === 2);
    await h.request({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(allIn(await records(h, sub.id), 2, 'cancelled')).toBe(true);
    expect(await redis.exists(keys.subHeld(sub.id))).toBe(0);
    expect(rx.requests.filter((r) => r.path === '/life/2')).toHaveLength(0);
  });
});

describe('with a delivery in flight at delete time', () => {
  let h: Harness;
  let release: (() => void) | undefined;
  beforeAll(async () => {
    h = await startHarness({ RETRY_BASE_MS: '100', RETRY_MAX_DELAY_MS: '200' });
  });
  afterEach(() => release?.());
  afterAll(async () => {
    await h.close();
  });

  it('lets the running attempt finish, then the worker cancels its next run', async () => {
    const path = '/life/inflight';
    rx.respond((req) => {
      if (req.path !== path) return { status: 500 };
      return new Promise((resolve) => {
        release = () => resolve({ status: 500, body: 'late' });
      });
    });
    const sub = (await create(h, `${rx.url}${path}`)).body;
    await publish(h);
    await rx.waitFor(1, { filter: (r) => r.path === path });

    expect((await h.request({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` })).status).toBe(204);
    // The attempt under way (the fan-out's direct first attempt) is not cut short: its record is
    // untouched until it ends, and the retry it queues sees the deletion.
    expect((await records(h, sub.id))[0]!.status).toBe('pending');
    release!();
    const [record] = await h.until(async () => {
      const rs = await records(h, sub.id);
      return allIn(rs, 1, 'cancelled') ? rs : undefined;
    });
    expect(record!.attempts).toHaveLength(1);
    expect(rx.requests.filter((r) => r.path === path)).toHaveLength(1);
  });
});
