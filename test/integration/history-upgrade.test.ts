// Switching a 0.3 installation to PostgreSQL (docs/history-postgres.md, "Upgrading from 0.3"):
// nothing to import. Records 0.3 left in Redis are read from there until they expire, and one
// 0.3 left under way moves to PostgreSQL once it ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/domain/delivery-record.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { storeV03Event } from '../helpers/legacy.js';
import { dropSchema, PG_URL, randomSchema } from '../helpers/pg.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
const schema = randomSchema();
const tenant = `t_up_${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  rx = await startReceiver();
  h = await startHarness({ DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, HISTORY_FLUSH_INTERVAL_MS: '20' });
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
  await dropSchema(schema);
});

const event03 = (): HooklineEvent => ({
  id: `evt_03_${Math.random().toString(36).slice(2)}`,
  tenantId: tenant,
  type: 'message.delivered',
  channel: 'sms',
  messageId: `m-${Math.random().toString(36).slice(2)}`,
  occurredAt: new Date(Date.now() - 60_000).toISOString(),
  acceptedAt: Date.now() - 60_000,
});

describe('upgrading a 0.3 installation to the PostgreSQL history', () => {
  let subId = '';
  beforeAll(async () => {
    const res = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: `${rx.url}/hook`, events: ['message.*'] },
    });
    expect(res.status, res.raw).toBe(201);
    subId = res.body.id;
  });

  it('reads a delivery 0.3 finished from Redis: by id, in its event, in the lists', async () => {
    const { redis, keys } = h.hookline.ctx;
    const e = event03();
    const [id] = await storeV03Event(redis, keys, e, [subId]);
    const attempt = {
      n: 1,
      startedAt: e.occurredAt,
      durationMs: 5,
      statusCode: 200,
      error: null,
      responseHeaders: {},
      responseBody: 'ok',
    };
    await redis
      .multi()
      .hset(keys.delivery(id!), 'status', 'succeeded')
      .rpush(keys.deliveryAttempts(id!), JSON.stringify(attempt))
      .exec();

    const one = await h.request<DeliveryRecord>({
      method: 'GET',
      url: `/v1/deliveries/${id}?tenantId=${tenant}`,
    });
    expect(one.status, one.raw).toBe(200);
    expect(one.body).toMatchObject({ id, status: 'succeeded', attempts: [{ n: 1, statusCode: 200 }] });
    const evt = await h.request<{ deliveries: { id: string }[] }>({
      method: 'GET',
      url: `/v1/events/${e.id}?tenantId=${tenant}`,
    });
    expect(evt.status, evt.raw).toBe(200);
    expect(evt.body.deliveries.map((d) => d.id)).toEqual([id]);
    const list = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&subscriptionId=${subId}`,
    });
    expect(list.body.data.map((d) => d.id)).toContain(id);
    // It stays in Redis (nothing moved it): PostgreSQL has no copy.
    expect(await h.hookline.ctx.historyStore!.getDelivery(id!)).toBeUndefined();
  });

  it('moves a delivery 0.3 left under way to PostgreSQL once its job delivers it', async () => {
    const { redis, keys, deliveriesQueue } = h.hookline.ctx;
    const e = event03();
    const [id] = await storeV03Event(redis, keys, e, [subId]);
    // A job as 0.3 queued it: named after the event type, the event by id alone.
    await deliveriesQueue.add(e.type, { d: id!, s: subId, e: e.id }, { jobId: id, attempts: 3 });
    await rx.waitFor(1, { filter: (r) => r.headers['webhook-id'] === e.id });
    const moved = await h.until(async () => {
      const r = await h.hookline.ctx.historyStore!.getDelivery(id!);
      return r?.status === 'succeeded' && !(await redis.exists(keys.delivery(id!))) ? r : undefined;
    });
    expect(moved).toMatchObject({
      id,
      eventId: e.id,
      tenantId: tenant,
      attempts: [{ n: 1, statusCode: 200 }],
    });
    const one = await h.request<DeliveryRecord>({
      method: 'GET',
      url: `/v1/deliveries/${id}?tenantId=${tenant}`,
    });
    expect(one.body.status).toBe('succeeded');
  });
});
