// Hookline with DATABASE_URL (the machine's PostgreSQL, a schema of this file's own): deliveries
// that end move to PostgreSQL and leave Redis; the API shows one truth wherever a record is; the
// list filters PostgreSQL serves; re-drive of a moved record; and nothing of an ended delivery
// stays in Redis but its event's idempotency claim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/domain/delivery-record.js';
import { claimOf, claimValue } from '../../src/pipeline/publisher.js';
import { startHarness, scanKeys, type Harness } from '../helpers/harness.js';
import { dropSchema, PG_URL, randomSchema } from '../helpers/pg.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
const schema = randomSchema();
const tenant = `t_${Math.random().toString(36).slice(2)}`;
const other = `o_${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  rx = await startReceiver((r) => (r.path === '/fail' ? { status: 400, body: 'no' } : { status: 200 }));
  h = await startHarness({
    DATABASE_URL: PG_URL,
    DATABASE_SCHEMA: schema,
    HISTORY_FLUSH_INTERVAL_MS: '20',
    // /fail answers 400 to all: the breaker must not hold its later deliveries.
    BREAKER_FAILURES: '1000',
  });
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
  await dropSchema(schema);
});

async function subscribe(path: string, tenantId = tenant, events = ['message.*']) {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenantId}`,
    body: { webhookUrl: `${rx.url}${path}`, events, maxRetries: 0 },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body.id;
}

const event = (extra: Record<string, unknown> = {}) => ({
  id: `evt_${Math.random().toString(36).slice(2)}`,
  tenantId: tenant,
  type: 'message.delivered',
  channel: 'sms',
  messageId: 'sms_123',
  ...extra,
});

async function publish(e: Record<string, unknown>) {
  const res = await h.request({ method: 'POST', url: '/v1/events', body: e });
  expect(res.status, res.raw).toBe(202);
}

/** Every Redis key of this Hookline, but the ones that are not about one event (queues, etc.). */
async function redisKeysAbout(id: string): Promise<string[]> {
  const found: string[] = [];
  for await (const keys of scanKeys(h.hookline.ctx.redis, h.config.REDIS_PREFIX))
    found.push(...keys.filter((k) => k.includes(id)));
  return found;
}

describe('history in PostgreSQL', () => {
  let okSub = '';
  let failSub = '';
  const sent: ReturnType<typeof event>[] = [];

  beforeAll(async () => {
    okSub = await subscribe('/ok');
    failSub = await subscribe('/fail');
    for (let i = 0; i < 20; i++) {
      // Status events of one rank: none of them is stale (superseded) by another.
      const e = event({ messageId: i < 5 ? 'sms_123' : `sms_${i}` });
      sent.push(e);
      await publish(e);
    }
    // A reply to the message: a different event type on the same messageId.
    const reply = event({ type: 'message.reply', messageId: 'sms_123', data: { text: 'STOP' } });
    sent.push(reply);
    await publish(reply);
    await rx.waitFor(sent.length * 2);
  });

  it('moves every ended delivery to PostgreSQL and drops its Redis copies', async () => {
    const ids = await h.until(async () => {
      const res = await h.request<{ data: DeliveryRecord[] }>({
        method: 'GET',
        url: `/v1/deliveries?tenantId=${tenant}&limit=250`,
      });
      const data = res.body.data ?? [];
      return data.length === sent.length * 2 ? data : undefined;
    });
    // Each record is in PostgreSQL now, and none is left in Redis.
    const pg = h.hookline.ctx.historyStore!;
    await h.until(async () => {
      for (const r of ids) if (!(await pg.getDelivery(r.id))) return false;
      for (const r of ids) if (await h.hookline.ctx.deliveries.getStatus(r.id)) return false;
      return true;
    });
    // Only the idempotency claim stays: a field of its slot's table, no key of the event's own.
    for (const e of sent) {
      expect(await redisKeysAbout(e.id), e.id).toEqual([]);
      const c = claimOf(h.hookline.ctx.keys, tenant, e.id);
      expect(await claimValue(h.hookline.ctx.redis, c)).toBe('0');
    }
    expect(new Set(ids.map((r) => r.status))).toEqual(new Set(['succeeded', 'failed']));
  });

  it('answers GET /v1/deliveries/:id and GET /v1/events/:id from PostgreSQL with the same shape', async () => {
    const e = sent[0]!;
    const res = await h.request<{
      event: { id: string };
      deliveries: { id: string; status: string; attempts: number }[];
    }>({
      method: 'GET',
      url: `/v1/events/${e.id}?tenantId=${tenant}`,
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.event.id).toBe(e.id);
    expect(res.body.deliveries.map((d) => d.status).sort()).toEqual(['failed', 'succeeded']);
    const one = await h.request<DeliveryRecord>({
      method: 'GET',
      url: `/v1/deliveries/${res.body.deliveries[0]!.id}?tenantId=${tenant}`,
    });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ eventId: e.id, tenantId: tenant, attempts: [{ n: 1 }] });
  });

  it('finds every webhook about a message in one call, and each filter narrows it', async () => {
    const about = await h.request<{ data: DeliveryRecord[]; nextCursor: string | null }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&messageId=sms_123`,
    });
    expect(about.status, about.raw).toBe(200);
    // 5 status events and the reply, two subscriptions each.
    expect(about.body.data).toHaveLength(12);
    const replies = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&messageId=sms_123&eventType=message.reply`,
    });
    expect(replies.body.data).toHaveLength(2);
    const failed = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&messageId=sms_123&status=failed&subscriptionId=${failSub}`,
    });
    expect(failed.body.data).toHaveLength(6);
    expect(failed.body.data.every((d) => d.subscriptionId === failSub && d.status === 'failed')).toBe(true);
    const byEvent = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&eventId=${sent[3]!.id}&subscriptionId=${okSub}`,
    });
    expect(byEvent.body.data.map((d) => d.eventId)).toEqual([sent[3]!.id]);
    const future = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&since=${Date.now() + 60_000}`,
    });
    expect(future.body.data).toEqual([]);
  });

  it('pages newest first with a cursor, no record twice', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: DeliveryRecord[]; nextCursor: string | null } } = await h.request({
        method: 'GET',
        url: `/v1/deliveries?tenantId=${tenant}&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      });
      seen.push(...res.body.data.map((d) => d.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(sent.length * 2);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('lists events by messageId and type', async () => {
    const res = await h.request<{ data: { id: string; type: string }[] }>({
      method: 'GET',
      url: `/v1/events?tenantId=${tenant}&messageId=sms_123`,
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.data).toHaveLength(6);
    const replies = await h.request<{ data: { id: string; type: string }[] }>({
      method: 'GET',
      url: `/v1/events?tenantId=${tenant}&type=message.reply`,
    });
    expect(replies.body.data.map((e) => e.type)).toEqual(['message.reply']);
  });

  it('shows another tenant nothing of this one', async () => {
    const res = await h.request<{ data: unknown[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${other}&messageId=sms_123`,
    });
    expect(res.body.data).toEqual([]);
    const evt = await h.request({ method: 'GET', url: `/v1/events/${sent[0]!.id}?tenantId=${other}` });
    expect(evt.status).toBe(404);
  });

  it('re-drives a delivery that lives in PostgreSQL only, and links it there', async () => {
    const failed = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&status=failed&eventId=${sent[1]!.id}`,
    });
    const old = failed.body.data[0]!;
    expect(await h.hookline.ctx.deliveries.getStatus(old.id)).toBeUndefined();
    const retry = await h.request<DeliveryRecord>({
      method: 'POST',
      url: `/v1/deliveries/${old.id}/retry?tenantId=${tenant}`,
    });
    expect(retry.status, retry.raw).toBeLessThan(300);
    const linked = await h.until(async () => {
      const r = await h.request<DeliveryRecord>({
        method: 'GET',
        url: `/v1/deliveries/${old.id}?tenantId=${tenant}`,
      });
      return r.body.redrivenTo ? r.body : undefined;
    });
    expect(linked.redrivenTo).toBe(retry.body.id);
    const again = await h.until(async () => {
      const r = await h.request<DeliveryRecord>({
        method: 'GET',
        url: `/v1/deliveries/${retry.body.id}?tenantId=${tenant}`,
      });
      return r.body.status === 'failed' ? r.body : undefined;
    });
    expect(again).toMatchObject({ retryOf: old.id, series: 1 });
  });
});
